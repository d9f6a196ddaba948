"""SlowFast figures: one slider step per (T, tau, alpha), Slow == Fast[::alpha], widths and FLOPs from the model."""

import numpy as np
import pytest

from vidlearn import create_model
from vidlearn.models.slowfast import flops_by_part
from vidlearn.viz.slowfast import (
    accuracy_flops_figure,
    flops_split_figure,
    paper_settings,
    pathway_widths_figure,
    slowfast_sampling_figure,
)


def test_paper_settings_drop_alpha_above_tau():
    grid = paper_settings()
    assert (4, 16, 8) in grid and (4, 4, 8) not in grid and len(grid) == 8


def test_sampling_figure_has_one_step_per_combo_and_slow_is_every_alpha_th_fast_frame():
    combos = [(4, 16, 8), (2, 8, 2)]
    fig = slowfast_sampling_figure(100, combos, thumbnail=lambda i: np.full((6, 8, 3), i, np.uint8))
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 2 and len(fig.data) == 3 * 2
    for k, (t, tau, alpha) in enumerate(combos):
        slow, fast = fig.data[3 * k + 1].x, fig.data[3 * k + 2].x
        assert len(slow) == t and len(fast) == alpha * t
        assert list(slow) == list(fast[::alpha])
        assert np.diff(slow).tolist() == [tau] * (t - 1)
        assert len(steps[k].args[1]["images"]) == t
        assert steps[k].args[0]["visible"].count(True) == 3
    assert [d.visible for d in fig.data] == [True] * 3 + [False] * 3  # the paper's (4, 16, 8) first
    assert fig.layout.sliders[0].active == 0
    fig = slowfast_sampling_figure(100, combos, active=(2, 8, 2))
    assert [d.visible for d in fig.data] == [False] * 3 + [True] * 3 and fig.layout.sliders[0].active == 1
    assert list(fig.layout.xaxis.range) == list(fig.layout.sliders[0].steps[1].args[1]["xaxis.range"])
    assert fig.layout.title.text and fig.layout.xaxis.title.text


def test_sampling_figure_rejects_no_combos():
    with pytest.raises(ValueError, match="combos"):
        slowfast_sampling_figure(50, [])


def test_widths_figure_reads_feature_shapes():
    model = create_model("slowfast_r50", tiny=True, num_classes=4)
    shapes = model.feature_shapes(model.example_input(1, small=True))
    fig = pathway_widths_figure(shapes)
    by_name = {d.name.split()[0]: d for d in fig.data}
    assert list(by_name["Slow"].y) == [shapes[f"slow {s}"][1] for s in ("pool1", "res2", "res3", "res4", "res5")]
    assert len(by_name["lateral"].y) == 4
    with pytest.raises(ValueError, match="feature_shapes"):
        pathway_widths_figure({"pooled": (1, 8)})


def test_flops_split_shares_add_up():
    model = create_model("slowfast_r50", tiny=True, num_classes=4)
    parts = flops_by_part(model, model.example_input(1, small=True))
    fig = flops_split_figure({"tiny": parts})
    total = sum(d.customdata[0] for d in fig.data)
    assert total == pytest.approx(100, abs=0.5)


def test_accuracy_flops_figure_one_trace_per_dataset():
    fig = accuracy_flops_figure({"Slow": {"flops": 2e6, "motion": 0.3, "scene": 0.9, "chance": 0.25},
                                 "Fast": {"flops": 4e6, "motion": 0.4}})
    assert [d.name for d in fig.data] == ["motion", "scene"]
    assert list(fig.data[0].x) == [1.0, 2.0]
    assert fig.layout.yaxis.title.text == "validation accuracy"
