"""Tests for I3D (vidlearn/models/i3d.py): Inception-v1 inflated to 3D, flow and two-stream variants."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

import vidlearn
from vidlearn.models.i3d import I3D, I3DConfig


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.fixture(scope="module")
def googlenet_state():
    torch.manual_seed(0)
    g = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False).eval()
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 1.5)
    return g, g.state_dict()


def test_paper_size_parameter_counts_match_the_paper():
    # paper Table 1: I3D 12M parameters (one stream), two-stream I3D 25M
    rgb, flow = vidlearn.create_model("i3d"), vidlearn.create_model("i3d_flow")
    assert n_params(rgb) == 12_697_264 and n_params(flow) == 12_675_312
    assert n_params(vidlearn.create_model("i3d_two_stream")) == 25_372_576 == n_params(rgb) + n_params(flow)


def test_layers_are_inflated_inception_v1_with_the_papers_pools():
    model = vidlearn.create_model("i3d")
    assert model.conv1.conv.kernel_size == (7, 7, 7) and model.conv1.conv.stride == (2, 2, 2)
    assert model.maxpool1.kernel_size == (1, 3, 3) and model.maxpool2.kernel_size == (1, 3, 3)
    assert model.maxpool3.kernel_size == 3 and model.maxpool4.kernel_size == 2
    assert model.inception3a.branch3[1].conv.kernel_size == (3, 3, 3)
    assert model.num_features == 1024 and model.fc.out_features == 400


def test_time_and_space_are_downsampled_by_8_and_32():
    model = vidlearn.create_model("i3d", tiny=True).eval()
    seen = {}
    model.inception5b.register_forward_hook(lambda m, i, o: seen.update({"5b": o.shape}))
    with torch.no_grad():
        assert model(torch.randn(1, 3, 16, 64, 64)).shape == (1, 10)
    assert seen["5b"][2:] == (2, 2, 2)


def test_inflate_from_googlenet_bootstraps_every_conv(googlenet_state):
    g, state = googlenet_state
    model = vidlearn.create_model("i3d")
    report = model.inflate_from(state)
    n_convs = sum(isinstance(m, nn.Conv3d) for m in model.modules())
    assert len(report.inflated) == n_convs == 57
    assert set(report.mismatched) == {"fc.weight", "fc.bias"} and not report.missing
    torch.testing.assert_close(model.conv1.conv.weight.sum(2), state["conv1.conv.weight"])
    torch.testing.assert_close(model.inception5b.branch1.bn.running_var,
                               state["inception5b.branch1.bn.running_var"])


def test_inflated_first_unit_sees_a_static_clip_as_the_2d_unit_sees_its_frame(googlenet_state):
    g, state = googlenet_state
    model = vidlearn.create_model("i3d").eval()
    model.inflate_from(state)
    img = torch.randn(1, 3, 32, 32)
    clip = img.unsqueeze(2).expand(-1, -1, 16, -1, -1)
    with torch.no_grad():
        # the 2D unit with the released I3D's 'SAME' padding (2 before, 3 after; torchvision pads 3 | 3)
        conv2d = F.conv2d(F.pad(img, (2, 3, 2, 3)), g.conv1.conv.weight, stride=2)
        out3d, out2d = model.conv1(clip), F.relu(g.conv1.bn(conv2d))  # (1, 64, 8, 16, 16), (1, 64, 16, 16)
        # away from the clip's ends (zero temporal padding there, as in the released I3D)
        for t in range(2, 6):
            torch.testing.assert_close(out3d[:, :, t], out2d, rtol=1e-4, atol=1e-4)


def test_flow_stream_gets_colour_averaged_rgb_kernels(googlenet_state):
    _, state = googlenet_state
    flow = vidlearn.create_model("i3d_flow")
    report = flow.inflate_from(state)
    assert report.adapted == ["conv1.conv.weight"]
    assert flow.conv1.conv.weight.shape[1] == 2
    expected = state["conv1.conv.weight"].mean(1) / 7  # mean over RGB, bootstrapped over 7 frames
    torch.testing.assert_close(flow.conv1.conv.weight[:, 0, 3], expected)


def test_two_stream_averages_the_streams_logits():
    torch.manual_seed(0)
    model = vidlearn.create_model("i3d_two_stream", tiny=True).eval()
    x = model.example_input()
    with torch.no_grad():
        rgb, flow = model.forward_streams(x)
        torch.testing.assert_close(model(x), (rgb + flow) / 2)
        torch.testing.assert_close(rgb, model.rgb(x[0]))
    assert model.flow.conv1.conv.in_channels == 2


def test_two_stream_bad_input_gets_clear_errors():
    model = vidlearn.create_model("i3d_two_stream", tiny=True)
    rgb, flow = model.example_input(batch_size=1)
    with pytest.raises(ValueError, match=r"expects one tuple \(rgb, flow\)"):
        model(rgb)
    with pytest.raises(ValueError, match="flow with C=2 channels"):
        model((rgb, rgb))
    with pytest.raises(ValueError, match="C=3 channels"):
        vidlearn.create_model("i3d", tiny=True)(flow)


def test_features_and_logits_agree_with_the_linear_head():
    model = I3D(I3DConfig.tiny()).eval()
    x = model.example_input()
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == (2, model.num_features)
        torch.testing.assert_close(model(x), model.fc(feats))


def test_tiny_i3d_trains_one_step():
    torch.manual_seed(0)
    model = vidlearn.create_model("i3d", tiny=True)
    assert 50_000 < n_params(model) < 500_000
    loss = nn.functional.cross_entropy(model(model.example_input()), torch.tensor([0, 1]))
    loss.backward()
    assert torch.isfinite(loss) and model.conv1.conv.weight.grad.abs().sum() > 0


def test_saved_weights_reload_through_the_weights_argument(tmp_path):
    torch.manual_seed(0)
    model = vidlearn.create_model("i3d_two_stream", tiny=True).eval()
    path = tmp_path / "i3d.pth"
    torch.save(model.state_dict(), path)
    again = vidlearn.create_model("i3d_two_stream", tiny=True, weights=str(path)).eval()
    x = model.example_input(1)
    with torch.no_grad():
        assert torch.equal(again(x), model(x))


def test_strided_layers_pad_like_tensorflow_same():
    # deepmind/kinetics-i3d: Conv3d_1a_7x7 and the max pools use snt.SAME: the extra pad goes after
    model = vidlearn.create_model("i3d", tiny=True).eval()
    x = torch.randn(1, 3, 8, 16, 16)
    unit = model.conv1
    with torch.no_grad():
        expected = F.relu(unit.bn(F.conv3d(F.pad(x, (2, 3, 2, 3, 2, 3)), unit.conv.weight, stride=2)))
        torch.testing.assert_close(unit(x), expected)
        inf = float("-inf")
        pools = {model.maxpool1: ((0, 1, 0, 1, 0, 0), (1, 3, 3), (1, 2, 2)),
                 model.maxpool3: ((0, 1, 0, 1, 0, 1), 3, 2), model.maxpool4: ((0, 0, 0, 0, 0, 0), 2, 2)}
        for pool, (pad, k, s) in pools.items():
            torch.testing.assert_close(pool(x), F.max_pool3d(F.pad(x, pad, value=inf), k, s))
        odd = torch.randn(1, 3, 7, 7, 7)  # 'SAME' on odd sizes: pads 1 | 1 for k=3, 0 | 1 for k=2
        torch.testing.assert_close(model.maxpool3(odd), F.max_pool3d(F.pad(odd, (1, 1) * 3, value=inf), 3, 2))
        torch.testing.assert_close(model.maxpool4(odd), F.max_pool3d(F.pad(odd, (0, 1) * 3, value=inf), 2, 2))
