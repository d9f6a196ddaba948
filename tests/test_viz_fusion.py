"""The fusion-points figure: computed from the modules, one view per variant, static-friendly."""

import plotly.graph_objects as go
import pytest

from vidlearn import create_model
from vidlearn.viz.fusion import TRACES_PER_VARIANT, fusion_points_figure, temporal_graph, variant_stats


@pytest.fixture(scope="module")
def deepvideo():
    return {n: create_model(n, tiny=True) for n in ("single_frame", "late_fusion", "early_fusion", "slow_fusion")}


def test_fusion_column_is_where_each_variant_merges_time(deepvideo):
    cols = {n: temporal_graph(m) for n, m in deepvideo.items()}
    assert cols["single_frame"]["fusion_column"] is None and cols["single_frame"]["averaged"]
    assert cols["early_fusion"]["columns"][cols["early_fusion"]["fusion_column"]] == "conv1"
    assert cols["late_fusion"]["columns"][cols["late_fusion"]["fusion_column"]] == "fc6"
    slow = cols["slow_fusion"]
    assert slow["columns"][slow["fusion_column"]] == "conv1"
    assert [len(c) for c in slow["nodes"][:4]] == [8, 4, 2, 1]  # 8 frames -> 4 -> 2 -> 1 (tiny config)


def test_every_node_sees_the_frames_its_receptive_field_says(deepvideo):
    for m in deepvideo.values():
        g = temporal_graph(m)
        for col in g["nodes"][1:]:
            for _, rf, first, last in col:
                assert last - first + 1 <= max(rf, 1) * m.temporal_input[1]


def test_two_stream_fusion_model_starts_from_flow_stacks():
    g = temporal_graph(create_model("fusion_two_stream", tiny=True))
    assert g["span"] == 2 and g["fusion_column"] is not None
    assert g["columns"][g["fusion_column"]].startswith("conv")


def test_figure_has_one_view_per_variant_and_a_caption_with_stats(deepvideo):
    inputs = {n: m.example_input(1) for n, m in deepvideo.items()}
    stats = variant_stats(deepvideo, inputs)
    fig = fusion_points_figure(deepvideo, stats=stats)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == TRACES_PER_VARIANT * len(deepvideo)
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == list(deepvideo)
    for k, b in enumerate(buttons):
        visible = b.args[0]["visible"]
        assert sum(visible) == TRACES_PER_VARIANT and visible[k * TRACES_PER_VARIANT]
    assert "M parameters" in fig.layout.annotations[0].text
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    fig.to_json()  # serialisable: works in static HTML


def test_empty_models_are_rejected():
    with pytest.raises(ValueError, match="at least one model"):
        fusion_points_figure({})


def test_multires_figure_draws_the_fovea_box_and_both_streams():
    import numpy as np

    from vidlearn.viz.fusion import multires_streams_figure

    frame = np.zeros((64, 64, 3), np.uint8)
    fig = multires_streams_figure(frame, frame[16:48, 16:48], frame[::2, ::2])
    assert len(fig.data) == 3 and len(fig.layout.shapes) == 1
    box = fig.layout.shapes[0]
    assert (box.x0, box.x1) == (15.5, 47.5)


def test_accuracy_bars_one_trace_per_model_and_a_chance_line():
    from vidlearn.viz.fusion import accuracy_bars

    fig = accuracy_bars({"motion": {"a": 0.3, "b": 0.9}, "scene": {"a": 0.8, "b": 0.85}}, chance=0.25)
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[1].y) == [0.9, 0.85]
    assert any(s.y0 == 0.25 for s in fig.layout.shapes)
    with pytest.raises(ValueError):
        accuracy_bars({})


def test_binding_streams_figure_draws_four_images_per_clip():
    import numpy as np

    from vidlearn.data import SyntheticActions
    from vidlearn.flow import compute_flow
    from vidlearn.viz.fusion import binding_streams_figure

    ds = SyntheticActions("binding", 2, frames=4, size=32, transform=None)
    examples = {ds.classes[i]: (ds.clip(i)[0], compute_flow(ds.clip(i)[0])) for i in range(2)}
    fig = binding_streams_figure(examples)
    assert len(fig.data) == 8 and all(t.type == "image" for t in fig.data)
    assert {a.text for a in fig.layout.annotations} >= set(examples)  # one row title per clip
    with pytest.raises(ValueError, match="at least one"):
        binding_streams_figure({})
    assert np.isfinite(examples[ds.classes[0]][1]).all()


def test_binding_bars_draw_the_chance_and_the_no_binding_lines():
    from vidlearn.viz.fusion import binding_bars

    fig = binding_bars({"late": {"whole": 0.5}, "conv": {"whole": 0.95}}, chance=0.25, ceiling=0.5)
    assert sorted(s.y0 for s in fig.layout.shapes) == [0.25, 0.5]
    assert list(fig.data[0].y) == [0.5, 0.95]
