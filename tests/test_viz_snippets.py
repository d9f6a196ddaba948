"""The Beyond Short Snippets figures: what each model reads of a long clip, per-frame predictions (static-friendly)."""

import numpy as np
import plotly.graph_objects as go
import pytest

from vidlearn.data import SyntheticActions
from vidlearn.viz.snippets import frame_predictions_figure, long_clip_views_figure


@pytest.fixture(scope="module")
def long_data():
    return SyntheticActions("motion", num_samples=6, frames=24, size=16, long=True, seed=0)


def test_views_figure_has_one_row_per_model_and_shades_both_events(long_data):
    clip, _ = long_data.clip(0)
    events = long_data.describe(0)["events"]
    views = {"short clip": range(8, 16), "every 2nd frame": range(0, 24, 2)}
    fig = long_clip_views_figure(clip, events, views)
    assert isinstance(fig, go.Figure)
    assert [tr.name for tr in fig.data] == list(views)
    assert len(fig.layout.shapes) == len(events) == 2
    assert len(fig.layout.images) == 1 and fig.layout.images[0].source.startswith("data:image/png")
    assert fig.layout.title.text and fig.layout.xaxis.title.text == "frame"
    # the hover text says which events a view sees: the centre snippet sees none of them here
    assert "none" in fig.data[0].hovertemplate


def test_views_figure_rejects_frames_outside_the_clip(long_data):
    clip, _ = long_data.clip(0)
    with pytest.raises(ValueError, match="outside"):
        long_clip_views_figure(clip, [], {"bad": [30]})


def test_predictions_figure_shows_one_clip_at_a_time_with_a_working_slider(long_data):
    n, steps, k = 3, 12, long_data.num_classes
    clips = [long_data.clip(i)[0] for i in range(n)]
    probs = np.random.default_rng(0).dirichlet(np.ones(k), size=(n, steps))  # (N, S, K)
    events = [long_data.describe(i)["events"] for i in range(n)]
    labels = [long_data.describe(i)["label"] for i in range(n)]
    fig = frame_predictions_figure(clips, probs, long_data.classes, events, labels,
                                   frame_index=list(range(0, 24, 2)))
    assert len(fig.data) == n * k
    assert sum(bool(tr.visible) for tr in fig.data) == k  # the first clip only
    steps_ = fig.layout.sliders[0].steps
    assert len(steps_) == n
    for i, step in enumerate(steps_):
        visible = step.args[0]["visible"]
        assert sum(visible) == k and all(visible[i * k:(i + 1) * k])
        assert step.args[1]["images"][0]["source"].startswith("data:image/png")
    assert "true class" in fig.layout.annotations[0].text


def test_predictions_figure_checks_its_shapes(long_data):
    clip, _ = long_data.clip(0)
    with pytest.raises(ValueError, match="probs"):
        frame_predictions_figure([clip], np.zeros((1, 4, 2)), long_data.classes, [[]], [0])


def test_predictions_figure_shades_the_events_on_both_panels(long_data):
    k = long_data.num_classes
    events = long_data.describe(0)["events"]
    fig = frame_predictions_figure([long_data.clip(0)[0]], np.full((1, 24, k), 1 / k), long_data.classes,
                                   [events], [0])
    refs = {(s.xref, s.yref) for s in fig.layout.shapes}
    assert refs == {("x", "y"), ("x2", "y2")} and len(fig.layout.shapes) == 2 * len(events)
