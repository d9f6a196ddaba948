"""Tests for weight inflation (vidlearn/layers/inflate.py): the boring-video equality and the mappings."""

import pytest
import torch
import torch.nn as nn
import torchvision

from vidlearn.layers.inflate import InflatedConv3d, inflate, inflate_state_dict, inflate_weight
from vidlearn.models.deepvideo import Tower2D

STRIDES = {"layer[234].0.conv1": 2, "layer[234].0.downsample.0": 2}  # downsample time with space


def _randomise_bn(model: nn.Module) -> nn.Module:
    """Non-trivial BN statistics and affine parameters, so a badly mapped BN would show."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.1, 0.1)
    return model.eval()


def _static_clip(img: torch.Tensor, t: int) -> torch.Tensor:
    return img.unsqueeze(2).expand(-1, -1, t, -1, -1).contiguous()  # (B, C, T, H, W), every frame = img


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    torch.manual_seed(0)
    return _randomise_bn(torchvision.models.resnet18(num_classes=10))


@pytest.mark.parametrize("method,padding", [("bootstrap", "replicate"), ("center", "zeros"),
                                            ("center", "replicate")])
def test_inflated_torchvision_resnet18_matches_2d_on_static_clip(resnet18, method, padding):
    img = torch.randn(2, 3, 32, 32)
    net3d = inflate(resnet18, time_kernel=3, method=method, time_stride=STRIDES, pool_time_kernel=3,
                    time_padding=padding).eval()
    with torch.no_grad():
        torch.testing.assert_close(net3d(_static_clip(img, 8)), resnet18(img), rtol=1e-4, atol=1e-5)


def test_bootstrap_with_zero_time_padding_differs_only_at_the_clip_ends(resnet18):
    img = torch.randn(1, 3, 32, 32)
    conv2d = resnet18.conv1
    conv3d = inflate(conv2d, 3, time_padding="zeros")
    with torch.no_grad():
        out2d, out3d = conv2d(img), conv3d(_static_clip(img, 5))  # (1, 64, 16, 16), (1, 64, 5, 16, 16)
        for t in range(1, 4):
            torch.testing.assert_close(out3d[:, :, t], out2d, rtol=1e-4, atol=1e-5)
        # the end frames see one zero frame: 2/3 of the response
        torch.testing.assert_close(out3d[:, :, 0], out2d * 2 / 3, rtol=1e-4, atol=1e-5)


def test_inflated_deepvideo_tower_matches_2d_on_static_clip():
    torch.manual_seed(1)
    tower = Tower2D(3, ((16, 5, 2), (32, 3, 1), (48, 3, 1), (48, 3, 1), (32, 3, 1))).eval()  # with LRN
    tower3d = inflate(tower, time_kernel="same", pool_time_kernel=3).eval()
    img = torch.randn(2, 3, 40, 40)
    with torch.no_grad():
        out = tower3d(_static_clip(img, 6))
        torch.testing.assert_close(out, tower(img), rtol=1e-4, atol=1e-5)
    assert tower3d.features[0].kernel_size == (5, 5, 5)  # "same": N x N -> N x N x N


def test_inflated_book_2d_cnns_match_2d_on_static_clip():
    from vidlearn.layers.cnn2d import TinyCNN
    from vidlearn.models.two_stream import CNNM, TwoStreamConfig

    torch.manual_seed(3)
    tiny = _randomise_bn(TinyCNN(3, (8, 16, 32)))
    cnnm = CNNM(3, TwoStreamConfig.tiny()).eval()  # conv, LRN, max pools, adaptive pool, fcs
    img = torch.randn(2, 3, 32, 32)
    clip = _static_clip(img, 4)
    with torch.no_grad():
        # TinyCNN.forward averages dims (2, 3), so its conv stack is inflated and pooled here
        tiny3d = inflate(tiny.blocks, 3).eval()
        torch.testing.assert_close(tiny3d(clip).mean(dim=(2, 3, 4)), tiny(img), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(inflate(cnnm, 3).eval()(clip), cnnm(img), rtol=1e-4, atol=1e-5)


def test_inflated_network_responds_to_motion():
    torch.manual_seed(2)
    conv3d = inflate(nn.Conv2d(1, 4, 3, padding=1), 3)
    clip = torch.randn(1, 1, 6, 8, 8)
    moved = clip.clone()
    moved[:, :, 3:] = moved[:, :, 3:].roll(1, dims=-1)
    with torch.no_grad():
        assert not torch.allclose(conv3d(clip), conv3d(moved))


def test_bootstrap_and_center_kernels():
    w = torch.randn(4, 3, 5, 5)
    boot, centre = inflate_weight(w, 3, "bootstrap"), inflate_weight(w, 3, "center")
    assert boot.shape == centre.shape == (4, 3, 3, 5, 5)
    torch.testing.assert_close(boot.sum(2), w)
    assert torch.equal(boot[:, :, 0], boot[:, :, 2])
    assert torch.equal(centre[:, :, 1], w) and centre[:, :, [0, 2]].abs().sum() == 0
    with pytest.raises(ValueError, match="method must be one of"):
        inflate_weight(w, 3, "mean")


def test_layers_map_with_chosen_temporal_kernels_and_strides(resnet18):
    net3d = inflate(resnet18, time_kernel={"conv1": 5, "layer1.*.conv1": 3}, time_stride={"maxpool": 2},
                    pool_time_kernel={"maxpool": 3})
    assert net3d.conv1.kernel_size == (5, 7, 7) and net3d.conv1.stride == (1, 2, 2)
    assert net3d.layer1[0].conv1.kernel_size == (3, 3, 3)
    assert net3d.layer1[0].conv2.kernel_size == (1, 3, 3)  # unmatched by the mapping: 1 x k x k
    assert net3d.layer2[0].downsample[0].kernel_size == (1, 1, 1)
    assert isinstance(net3d.bn1, nn.BatchNorm3d)
    assert net3d.maxpool.kernel_size == (3, 3, 3) and net3d.maxpool.stride == (2, 2, 2)
    assert isinstance(net3d.avgpool, nn.AdaptiveAvgPool3d) and net3d.avgpool.output_size == (1, 1, 1)
    assert isinstance(resnet18.conv1, nn.Conv2d)  # the 2D model is untouched (deep copy)
    # int time_kernel: 1x1 convs stay 1x1x1
    assert inflate(resnet18, 3).layer2[0].downsample[0].kernel_size == (1, 1, 1)


@pytest.mark.parametrize("t", [2, 4])
def test_even_temporal_kernels_with_stride_equal_to_kernel_give_t_over_stride_frames(t):
    x = torch.randn(1, 4, 8, 6, 6)
    conv = inflate(nn.Conv2d(4, 5, 3, padding=1), time_kernel=t, time_stride=t)
    maxpool = inflate(nn.MaxPool2d(2), pool_time_kernel=t, time_stride=t)
    avgpool = inflate(nn.AvgPool2d(2), pool_time_kernel=t, time_stride=t)
    assert conv(x).shape[2] == maxpool(x).shape[2] == avgpool(x).shape[2] == 8 // t  # I3D's 2x2x2 pool: 4, not 5
    # stride 1: the conv keeps the length, the unpadded pools lose t - 1 frames
    assert inflate(nn.Conv2d(4, 5, 3, padding=1), time_kernel=t)(x).shape[2] == 8
    assert inflate(nn.MaxPool2d(2, 1), pool_time_kernel=t)(x).shape[2] == 8 - t + 1


@pytest.mark.parametrize("t, stride", [(2, 2), (2, 1), (3, 1), (3, 2), (4, 4)])
def test_average_pool_of_a_constant_clip_stays_constant_at_the_clip_ends(t, stride):
    pool = inflate(nn.AvgPool2d(3, 1, padding=0), pool_time_kernel=t, time_stride=stride)
    x = torch.full((1, 2, 7, 5, 5), 3.0)
    out = pool(x)
    torch.testing.assert_close(out, torch.full_like(out, 3.0))  # no zero frame averaged in


def test_even_kernel_conv_of_a_ramp_uses_only_real_frames_when_tiling():
    conv = inflate(nn.Conv2d(1, 1, 1, bias=False), time_kernel={"": 2}, time_stride=2, time_padding="zeros")
    nn.init.ones_(conv.weight)
    x = torch.arange(1.0, 8.0).view(1, 1, 7, 1, 1)  # frames 1..7
    assert conv(x).flatten().tolist() == [3.0, 7.0, 11.0]  # (1+2), (3+4), (5+6): T // 2, no padded frame


def test_state_dict_keys_are_unchanged_so_2d_checkpoints_still_name_every_layer(resnet18):
    net3d = inflate(resnet18, 3)
    assert list(net3d.state_dict()) == list(resnet18.state_dict())
    assert isinstance(net3d.conv1, InflatedConv3d) and isinstance(net3d.conv1, nn.Conv3d)


def test_inflate_state_dict_inflates_kernels_and_reports_the_rest(resnet18):
    target = inflate(torchvision.models.resnet18(num_classes=5), 3, method="center")  # other weights
    report = inflate_state_dict(resnet18.state_dict(), target, method="bootstrap")
    assert "conv1.weight" in report.inflated and "bn1.running_var" in report.copied
    assert set(report.mismatched) == {"fc.weight", "fc.bias"}  # 10 classes into 5: skipped
    torch.testing.assert_close(target.conv1.weight.sum(2), resnet18.conv1.weight)
    with pytest.raises(ValueError, match="mismatched"):
        inflate_state_dict(resnet18.state_dict(), target, strict=True)


def test_inflate_state_dict_adapts_rgb_weights_to_flow_channels(resnet18):
    flow_net = inflate(torchvision.models.resnet18(num_classes=10), 3)
    flow_net.conv1 = InflatedConv3d(2, 64, (3, 7, 7), (1, 2, 2), (0, 3, 3), bias=False)
    report = inflate_state_dict(resnet18.state_dict(), flow_net)
    assert report.adapted == ["conv1.weight"]
    expected = resnet18.conv1.weight.mean(1, keepdim=True) / 3  # mean over RGB, bootstrapped over t=3
    torch.testing.assert_close(flow_net.conv1.weight[:, 1, 0], expected[:, 0])


def test_unknown_2d_layers_and_bad_options_get_clear_errors():
    with pytest.raises(TypeError, match="PixelUnshuffle|ConvTranspose2d"):
        inflate(nn.Sequential(nn.ConvTranspose2d(3, 3, 3)))
    with pytest.raises(ValueError, match="time_padding must be"):
        inflate(nn.Conv2d(3, 3, 3), 3, time_padding="reflect")
    with pytest.raises(ValueError, match="method must be one of"):
        inflate(nn.Conv2d(3, 3, 3), 3, method="random")
