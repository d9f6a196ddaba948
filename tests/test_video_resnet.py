"""Tests for the R(2+1)D family (vidlearn/models/video_resnet.py) and the conv builders."""

import pytest
import torch
import torch.nn as nn
import torchvision.models.video as tvv

import vidlearn
from vidlearn.layers.conv_builders import Conv2D, Conv2Plus1D, Conv3D, conv_builder, midplanes
from vidlearn.models.video_resnet import BasicBlock, VideoResNet, VideoResNetConfig, mixed_convs


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# paper-size parameter counts (Kinetics-400 head); torchvision publishes the same three numbers
PARAMS = {"r3d_18": 33_371_472, "mc3_18": 11_695_440, "r2plus1d_18": 31_505_325, "rmc3_18": 33_057_744,
          "r2d_18": 11_522_832, "fr2d_18": 11_381_712, "r3d_34": 63_681_104, "r2plus1d_34": 61_831_661}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_paper_size_parameter_counts(name):
    assert n_params(vidlearn.create_model(name)) == PARAMS[name]


@pytest.mark.parametrize("name,tv_factory", [("r3d_18", tvv.r3d_18), ("mc3_18", tvv.mc3_18),
                                             ("r2plus1d_18", tvv.r2plus1d_18)])
def test_torchvision_state_dict_gives_identical_output(name, tv_factory):
    torch.manual_seed(0)
    ref = tv_factory().eval()
    # non-trivial BN statistics, so a swapped BN would show
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    ours = vidlearn.create_model(name, weights=ref.state_dict()).eval()
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-5)


def test_weights_from_a_file_path_load(tmp_path):
    ref = tvv.mc3_18()
    path = tmp_path / "mc3.pth"
    torch.save(ref.state_dict(), path)
    ours = vidlearn.create_model("mc3_18", weights=str(path))
    torch.testing.assert_close(ours.fc.weight, ref.fc.weight)


def test_mismatched_weights_get_a_clear_error():
    with pytest.raises(ValueError, match="num_classes=400"):
        vidlearn.create_model("r3d_18", num_classes=10, weights=tvv.r3d_18().state_dict())


@pytest.mark.parametrize("n_in,n_out", [(64, 64), (64, 128), (128, 256), (256, 512), (3, 64)])
def test_midplanes_makes_2plus1d_conv_the_size_of_the_3d_conv(n_in, n_out):
    full = Conv3D(n_in, n_out)
    factored = Conv2Plus1D(n_in, n_out, midplanes(n_in, n_out))
    conv_params = sum(m.weight.numel() for m in factored if isinstance(m, nn.Conv3d))
    # equal up to the floor in M_i: at most one intermediate channel's worth (d^2 N_in + t N_out) fewer
    assert 0 <= full.weight.numel() - conv_params < 9 * n_in + 3 * n_out


def test_paper_mid_rule_makes_r2plus1d_blocks_and_networks_the_size_of_r3d():
    for n_in, n_out, stride in [(64, 64, 1), (64, 128, 2), (256, 512, 2)]:
        b3 = BasicBlock(n_in, n_out, Conv3D, stride)
        b21 = BasicBlock(n_in, n_out, Conv2Plus1D, stride, mid_rule="paper")
        mids = [m for m in b21.modules() if isinstance(m, nn.BatchNorm3d) and m.num_features not in (n_out,)]
        bn_extra = sum(2 * m.num_features for m in mids)  # the (2+1)D convs' own BN
        assert abs(n_params(b21) - bn_extra - n_params(b3)) < 2 * (9 * n_in + 3 * n_out)
    r3d, r21d = vidlearn.create_model("r3d_18"), vidlearn.create_model("r2plus1d_18", mid_rule="paper")
    assert abs(n_params(r21d) - n_params(r3d)) / n_params(r3d) < 0.001  # paper: 33.4M vs 33.3M
    # the released (torchvision) R(2+1)D-18 is smaller: its blocks' second conv reuses the first conv's M_i
    assert n_params(vidlearn.create_model("r2plus1d_18")) < 0.95 * n_params(r3d)


def test_mixed_convs_follow_the_paper_naming():
    assert mixed_convs(3) == ("3d", "3d", "2d", "2d", "2d")
    assert mixed_convs(3, reverse=True) == ("2d", "2d", "3d", "3d", "3d")
    assert mixed_convs(5) == ("3d", "3d", "3d", "3d", "2d")
    with pytest.raises(ValueError, match="x in 2..5"):
        mixed_convs(1)


@pytest.mark.parametrize("x", [2, 3, 4, 5])
@pytest.mark.parametrize("reverse", [False, True])
def test_every_mcx_and_rmcx_builds_and_runs(x, reverse):
    model = vidlearn.create_model("r3d_18", tiny=True, depth=10, convs=mixed_convs(x, reverse))
    n3d = sum(isinstance(m, Conv3D) for m in model.modules())
    n2d = sum(isinstance(m, Conv2D) for m in model.modules())
    # depth 10: one block (2 convs) per group 2..5; 3D groups are the bottom x-1 (MCx) or from x on (rMCx)
    n_3d_groups = 5 - x + 1 if reverse else x - 2
    assert (n3d, n2d) == (2 * n_3d_groups, 8 - 2 * n_3d_groups)
    with torch.no_grad():
        assert model(model.example_input(1)).shape == (1, 10)


def test_temporal_stride_only_in_temporal_groups():
    x = torch.randn(1, 3, 8, 32, 32)
    r3d, mc3 = vidlearn.create_model("r3d_18", tiny=True), vidlearn.create_model("mc3_18", tiny=True)
    with torch.no_grad():
        assert r3d.layer4(r3d.layer3(r3d.layer2(r3d.layer1(r3d.stem(x))))).shape[2] == 1  # 8 / 2^3
        assert mc3.layer4(mc3.layer3(mc3.layer2(mc3.layer1(mc3.stem(x))))).shape[2] == 8  # 2D groups keep T
    assert Conv2D.downsample_stride(2) == (1, 2, 2) and Conv2Plus1D.downsample_stride(2) == (2, 2, 2)


def test_r2d_collapses_time_in_the_stem_and_needs_exactly_its_frames():
    model = vidlearn.create_model("r2d_18", tiny=True)
    x = model.example_input()
    with torch.no_grad():
        assert model.stem(x).shape[2] == 1
        assert model(x).shape == (2, 10)
    with pytest.raises(ValueError, match="T=8 frames, got T=4"):
        model(torch.randn(2, 3, 4, 32, 32))


@pytest.mark.parametrize("depth,blocks", [(10, 4), (16, 7), (18, 8), (34, 16)])
def test_depths_have_the_paper_block_counts(depth, blocks):
    model = VideoResNet(VideoResNetConfig.tiny(depth=depth))
    assert sum(isinstance(m, BasicBlock) for m in model.modules()) == blocks
    # 2 convs per block + stem + fc = depth layers
    assert 2 * blocks + 2 == depth


@pytest.mark.parametrize("name", ["r2d_18", "fr2d_18", "mc3_18", "rmc3_18", "r3d_18", "r2plus1d_18"])
def test_tiny_models_train_one_step(name):
    torch.manual_seed(0)
    model = vidlearn.create_model(name, tiny=True)
    x, y = model.example_input(batch_size=2), torch.tensor([1, 2])
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())


def test_bad_config_and_input_get_clear_errors():
    with pytest.raises(ValueError, match="depth must be one of"):
        VideoResNet(VideoResNetConfig.tiny(depth=50))
    with pytest.raises(ValueError, match="unknown conv type '4d'"):
        conv_builder("4d")
    model = vidlearn.create_model("r3d_18", tiny=True)
    with pytest.raises(ValueError, match="C=3 channels"):
        model(torch.randn(1, 2, 8, 32, 32))
    with pytest.raises(ValueError, match="5 dimensions"):
        model(torch.randn(3, 8, 32, 32))
