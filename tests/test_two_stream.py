"""Two-Stream: flow stacking order, mean-flow subtraction, late fusion, the streams alone, bad input."""

import pytest
import torch

from vidlearn import create_model
from vidlearn.models.two_stream import stack_flow_channels


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_flow_stack_has_2L_channels_ordered_x1_y1_x2_y2():
    L = 4
    flow = torch.zeros(1, 2, L, 3, 3)
    for l in range(L):
        flow[:, 0, l] = 10 * l  # x of field l
        flow[:, 1, l] = 10 * l + 1  # y of field l
    stacked = stack_flow_channels(flow)
    assert stacked.shape == (1, 2 * L, 3, 3)
    assert stacked[0, :, 0, 0].tolist() == [0, 1, 10, 11, 20, 21, 30, 31]


def test_temporal_stream_ignores_a_constant_camera_motion_per_field():
    model = create_model("two_stream_temporal", tiny=True).eval()
    flow = model.example_input(batch_size=2)
    shift = torch.randn(2, 2, model.cfg.flow_frames, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(model(flow + shift), model(flow), atol=1e-5, rtol=1e-5)
    raw = create_model("two_stream_temporal", tiny=True, subtract_mean_flow=False).eval()
    with torch.no_grad():
        assert not torch.allclose(raw(flow + shift), raw(flow), atol=1e-5)


@pytest.mark.parametrize("fusion", ["average", "linear"])
def test_tiny_two_stream_trains_with_both_fusions(fusion):
    torch.manual_seed(0)
    model = create_model("two_stream", num_classes=5, tiny=True, fusion=fusion)
    y = model(model.example_input(batch_size=3))
    assert y.shape == (3, 5)
    y.sum().backward()
    assert model.spatial.net.classifier.weight.grad.abs().sum() > 0
    assert model.temporal.net.classifier.weight.grad.abs().sum() > 0
    assert 50_000 <= n_params(model) <= 500_000


def test_average_fusion_is_the_mean_of_the_two_softmax_scores():
    model = create_model("two_stream", tiny=True).eval()
    x = model.example_input()
    with torch.no_grad():
        s, t = model.forward_streams(x)
        torch.testing.assert_close(model(x).exp(), (s.softmax(-1) + t.softmax(-1)) / 2)


def test_streams_work_alone_and_spatial_averages_over_frames():
    spatial = create_model("two_stream_spatial", tiny=True).eval()
    rgb = torch.randn(2, 3, 3, 32, 32)
    with torch.no_grad():
        per_frame = torch.stack([spatial(rgb[:, :, i:i + 1]) for i in range(3)]).mean(0)
        torch.testing.assert_close(spatial(rgb), per_frame)
    temporal = create_model("two_stream_temporal", tiny=True)
    assert temporal(temporal.example_input()).shape == (2, 10)


def test_paper_size_two_stream_has_cnn_m_2048_parameters_and_a_6x6_pool5():
    model = create_model("two_stream").eval()
    assert n_params(model.spatial) == 90_627_813
    assert n_params(model.temporal) == 90_707_781  # 20 flow channels in conv1, no second norm
    assert n_params(model) == 181_335_594
    assert model.temporal.net.convs[0].in_channels == 20
    with torch.no_grad():
        assert model(model.example_input(batch_size=1, small=True)).shape == (1, 101)
        pool5 = model.spatial.net.convs[:-1](torch.randn(1, 3, 224, 224))
    assert pool5.shape == (1, 512, 6, 6)


def test_bad_inputs_get_clear_errors():
    model = create_model("two_stream", tiny=True)
    rgb, flow = model.example_input()
    with pytest.raises(ValueError, match=r"one tuple \(rgb, flow\)"):
        model(rgb)
    with pytest.raises(ValueError, match=r"flow with T=4 frames, got T=3"):
        model((rgb, flow[:, :, :3]))
    with pytest.raises(ValueError, match=r"C=2 channels"):
        model((rgb, torch.randn(2, 3, 4, 32, 32)))
    with pytest.raises(ValueError, match="unknown fusion"):
        create_model("two_stream", tiny=True, fusion="svm")


def test_temporal_stream_stacks_flow_like_the_flow_package():
    stack = pytest.importorskip("vidlearn.flow.stack")
    if not hasattr(stack, "stack_clip"):
        pytest.skip("vidlearn.flow.stack.stack_clip not available")
    flow = torch.randn(2, 2, 5, 4, 4)
    torch.testing.assert_close(stack_flow_channels(flow), torch.as_tensor(stack.stack_clip(flow)))
