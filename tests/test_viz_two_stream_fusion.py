"""The stream-fusion figure: where the RGB and flow streams meet, read from FusionTwoStream's modules."""

import plotly.graph_objects as go
import pytest

from vidlearn import create_model
from vidlearn.viz.two_stream_fusion import TRACES_PER_VARIANT, stream_fusion_figure, stream_graph


def _model(**kw):
    return create_model("fusion_two_stream", tiny=True, **kw)


def test_streams_meet_after_the_chosen_stage_and_node_parameters_add_up():
    for k in range(1, 6):
        m = _model(fuse_at=f"conv{k}", temporal_branch=False)
        g = stream_graph(m)
        assert g["fuse_column"] == k
        rgb, flow = g["paths"]["rgb"][0], g["paths"]["flow"][0]
        assert rgb[-2][0] == flow[-2][0] == k and rgb[-1] == flow[-1] == (k + 0.5, 0)
        assert sum(p for *_, p in g["nodes"]) == g["params"] == sum(p.numel() for p in m.parameters())


def test_kept_branches_run_on_to_the_prediction():
    g = stream_graph(_model(fuse_at="conv5+fc8", temporal_branch=True))
    assert len(g["paths"]["flow"]) == 2 and len(g["paths"]["rgb"]) == 2  # each stream: to the fusion, and on
    assert "temporal and spatial branches kept" in g["text"]
    g = stream_graph(_model(temporal_branch=False))
    assert len(g["paths"]["flow"]) == 1 and len(g["paths"]["rgb"]) == 1


def test_figure_has_one_view_per_variant_with_buttons_and_captions():
    models = {"conv3": _model(fuse_at="conv3"), "conv5": _model()}
    fig = stream_fusion_figure(models, accuracy={"conv5": 0.75}, title="t")
    assert isinstance(fig, go.Figure) and len(fig.data) == TRACES_PER_VARIANT * 2
    assert [bool(tr.visible) for tr in fig.data] == [True] * TRACES_PER_VARIANT + [False] * TRACES_PER_VARIANT
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == list(models)
    assert "0.75" in buttons[1].args[1]["annotations[0].text"]
    assert fig.layout.xaxis.title.text and fig.layout.title.text == "t"


def test_figure_rejects_other_models():
    with pytest.raises(TypeError, match="FusionTwoStream"):
        stream_graph(create_model("single_frame", tiny=True))
    with pytest.raises(ValueError):
        stream_fusion_figure({})


def test_results_figure_has_one_panel_per_experiment_with_parameters_in_hover():
    from vidlearn.viz.two_stream_fusion import fusion_results_figure

    res = {"function": {"sum": {"acc": 0.9, "params": 1000}, "max": {"acc": 0.8, "params": 1000}},
           "temporal": {"3d pool": {"acc": 0.95, "params": 2000}}}
    fig = fusion_results_figure(res, chance=0.25)
    assert len(fig.data) == 2 and list(fig.data[0].x) == ["sum", "max"]
    assert list(fig.data[1].customdata) == [2000] and "parameters" in fig.data[1].hovertemplate
    assert fig.layout.title.text and fig.layout.yaxis.title.text == "validation accuracy"
    with pytest.raises(ValueError):
        fusion_results_figure({"empty": {}})
