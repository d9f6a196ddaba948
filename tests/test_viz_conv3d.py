"""The C3D receptive-field figure: the recursion matches hand-computed fields, the slider shows one network."""

import plotly.graph_objects as go
import pytest
import torch.nn as nn

from vidlearn import create_model
from vidlearn.viz.conv3d import receptive_fields, temporal_receptive_field_figure


def test_receptive_field_grows_by_k_minus_1_times_the_jump():
    net = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool3d((1, 2, 2)),
                        nn.Conv3d(4, 4, 3, padding=1), nn.MaxPool3d(2), nn.Conv3d(4, 4, (5, 3, 3)))
    rf = receptive_fields(net)
    assert [d["name"] for d in rf] == ["conv1", "pool1", "conv2", "pool2", "conv3"]
    assert [d["rf"] for d in rf] == [(3, 3, 3), (3, 4, 4), (5, 8, 8), (6, 10, 10), (14, 18, 18)]
    assert rf[-1]["jump"] == (2, 4, 4)


def test_paper_c3d_last_conv_sees_more_frames_than_a_16_frame_clip():
    rf = receptive_fields(create_model("c3d").features)
    convs = [d for d in rf if d["kind"] == "conv"]
    assert len(convs) == 8 and all(d["kernel"] == (3, 3, 3) for d in convs)
    assert convs[0]["rf"][0] == 3 and convs[-1]["rf"][0] > 16


def test_receptive_fields_need_3d_layers():
    with pytest.raises(ValueError, match="no Conv3d"):
        receptive_fields(nn.Sequential(nn.Linear(2, 2)))


def test_figure_has_one_trace_per_network_and_the_slider_shows_exactly_one():
    nets = {"a": receptive_fields(nn.Sequential(nn.Conv3d(1, 1, 3))),
            "b": receptive_fields(nn.Sequential(nn.Conv3d(1, 1, 3), nn.Conv3d(1, 1, 3)))}
    fig = temporal_receptive_field_figure(nets, frames=8, active=1)
    assert isinstance(fig, go.Figure) and fig.layout.title.text and fig.layout.xaxis.title.text
    assert [t.visible for t in fig.data] == [False, True]
    assert list(fig.data[1].x) == [3, 5]
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["a", "b"]
    assert [s.args[0]["visible"] for s in steps] == [[True, False], [False, True]]


def test_figure_rejects_empty_input():
    with pytest.raises(ValueError):
        temporal_receptive_field_figure({}, frames=8)
