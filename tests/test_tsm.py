"""Tests for vidlearn.layers.temporal_shift and vidlearn.models.tsm."""

from __future__ import annotations

import pytest
import torch
import torchvision
from helpers import fit_small_batch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from vidlearn import create_model
from vidlearn.layers.temporal_shift import (
    TemporalShift,
    insert_temporal_shift,
    shift_layers,
    temporal_shift,
)
from vidlearn.models.tsm import TinyResNet2D


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 6), c=st.integers(1, 20), fold_div=st.sampled_from([2, 4, 8]),
       direction=st.sampled_from(["bidirectional", "online"]))
def test_shift_moves_exactly_the_intended_channels_by_one_step(n, t, c, fold_div, direction):
    x = torch.randn(n * t, c, 2, 3)
    out = temporal_shift(x, t, fold_div, direction)
    assert out.shape == x.shape
    v, o = x.view(n, t, c, 2, 3), out.view(n, t, c, 2, 3)
    fold = c // fold_div
    zeros = torch.zeros(n, 1, fold, 2, 3)
    if direction == "bidirectional":
        back, fwd, rest = slice(0, fold), slice(fold, 2 * fold), slice(2 * fold, c)
        assert torch.equal(o[:, :-1, back], v[:, 1:, back])  # frame t gets frame t+1's channels
        assert torch.equal(o[:, -1:, back], zeros)  # ... and the last frame zeros
        assert torch.equal(o[:, 1:, fwd], v[:, :-1, fwd])  # frame t gets frame t-1's channels
        assert torch.equal(o[:, :1, fwd], zeros)  # ... and the first frame zeros
    else:
        past, rest = slice(0, fold), slice(fold, c)
        assert torch.equal(o[:, 1:, past], v[:, :-1, past])  # only from the past
        assert torch.equal(o[:, :1, past], zeros)
    assert torch.equal(o[:, :, rest], v[:, :, rest])  # the other channels stay in place


def test_shift_does_not_modify_its_input_and_checks_the_batch():
    x = torch.randn(8, 16, 2, 2)
    before = x.clone()
    temporal_shift(x, 4)
    assert torch.equal(x, before)
    with pytest.raises(ValueError, match="divisible by n_segment=3"):
        temporal_shift(x, 3)
    with pytest.raises(ValueError, match="'sideways'"):
        temporal_shift(x, 4, direction="sideways")


def test_shift_has_zero_parameters_and_zero_flops():
    layer = TemporalShift(n_segment=8)
    assert _params(layer) == 0
    with FlopCounterMode(display=False) as counter:
        layer(torch.randn(16, 64, 7, 7))
    assert counter.get_total_flops() == 0
    # the whole network: TSM costs exactly what the 2D network without shifts costs
    with torch.device("meta"):
        tsm, plain = create_model("tsm_r50"), create_model("tsm_r50", shift=False)
        x = tsm.example_input(batch_size=1)
    flops = []
    for model in (tsm, plain):
        with FlopCounterMode(display=False) as counter:
            model(x)
        flops.append(counter.get_total_flops())
    assert flops[0] == flops[1] > 0
    assert flops[0] / 2 == pytest.approx(33e9, rel=0.02)  # paper Table: TSM-R50, 8 frames: 33 GFLOPs
    assert _params(tsm) == _params(plain)


def test_paper_size_parameter_count_equals_the_2d_resnet50():
    with torch.device("meta"):
        model = create_model("tsm_r50")
        resnet = torchvision.models.resnet50(weights=None, num_classes=400)
    assert _params(model) == _params(resnet) == 24_327_632  # paper: 24.3M
    assert len(shift_layers(model)) == 16  # one per bottleneck: 3 + 4 + 6 + 3


def test_residual_placement_shifts_inside_the_branch_and_inplace_before_the_block():
    residual = create_model("tsm_r50", tiny=True)
    for i in range(1, 5):
        block = getattr(residual.backbone, f"layer{i}")[0]
        assert isinstance(block.conv1[0], TemporalShift)
        assert isinstance(block.conv1[1], torch.nn.Conv2d)
    inplace = create_model("tsm_r50", tiny=True, placement="inplace")
    for i in range(1, 5):
        wrapped = getattr(inplace.backbone, f"layer{i}")[0]
        assert isinstance(wrapped[0], TemporalShift)
        assert isinstance(wrapped[1].conv1, torch.nn.Conv2d)
    with pytest.raises(ValueError, match="already has temporal shifts"):
        insert_temporal_shift(residual.backbone, 8)
    with pytest.raises(ValueError, match="layer1..layer4"):
        insert_temporal_shift(torch.nn.Conv2d(3, 3, 1), 8)


def test_static_clip_matches_the_2d_resnet_away_from_the_clip_ends():
    # 8 residual blocks each move information by one frame, so with T=18 frames 8 and 9 never see the
    # zero padding: on a static clip they equal the 2D network (whose state dict the TSM loaded)
    torch.manual_seed(0)
    resnet = torchvision.models.resnet18(weights=None).eval()
    model = create_model("tsm_r50", backbone="resnet18", frames=18, backbone_weights=resnet.state_dict()).eval()
    frame = torch.randn(1, 3, 32, 32)
    clip = frame[:, :, None].expand(1, 3, 18, 32, 32).contiguous()
    resnet.fc = torch.nn.Identity()
    with torch.no_grad():
        ref = resnet(frame)[0]
        feats = model.forward_features(clip)[0]  # (T, 512)
    for t in (8, 9):
        torch.testing.assert_close(feats[t], ref, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(feats[0], ref, rtol=1e-4, atol=1e-5)  # the shift is really there


def test_online_streaming_equals_the_offline_online_shift_and_ignores_the_future():
    torch.manual_seed(0)
    model = create_model("tsm_r50", tiny=True, direction="online").eval()
    x = model.example_input()
    with torch.no_grad():
        offline = model.forward_frames(x)
        future_changed = x.clone()
        future_changed[:, :, 5:] = torch.randn_like(x[:, :, 5:])
        changed = model.forward_frames(future_changed)
    streamed = model.stream(x)
    assert streamed.shape == (2, 8, 10)
    torch.testing.assert_close(streamed, offline, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(changed[:, :5], offline[:, :5])  # frames 0..4 never saw frames >= 5
    assert not torch.allclose(changed[:, 5:], offline[:, 5:])
    assert all(not layer.streaming for layer in shift_layers(model))  # streaming state is cleaned up


def test_bidirectional_model_refuses_to_stream():
    model = create_model("tsm_r50", tiny=True)
    with pytest.raises(ValueError, match="online"):
        model.stream(model.example_input())
    with pytest.raises(ValueError, match="next frame"):
        TemporalShift(8).start_stream()


def test_bad_input_gets_a_clear_error():
    model = create_model("tsm_r50", tiny=True)
    x = model.example_input()
    with pytest.raises(ValueError, match="built for T=8 frames.*got T=4"):
        model(x[:, :, :4])
    with pytest.raises(ValueError, match="C=3 channels.*got C=8"):
        model(x.transpose(1, 2))
    with pytest.raises(ValueError, match="'tiny' or a torchvision ResNet|torchvision ResNet name"):
        create_model("tsm_r50", tiny=True, backbone="vgg16")
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        create_model("tsm_r50", tiny=True, weights="nope.pt")


def test_tiny_model_is_small_and_learns():
    torch.manual_seed(0)
    model = create_model("tsm_r50", tiny=True)
    assert isinstance(model.backbone, TinyResNet2D)
    assert 50_000 < _params(model) < 500_000
    x, y = model.example_input(batch_size=4), torch.tensor([0, 1, 2, 3])
    losses = fit_small_batch(model, x, y, steps=15, lr=1e-2)
    assert losses[-1] < 0.5 * losses[0]


def test_weights_round_trip_through_a_file(tmp_path):
    torch.manual_seed(0)
    model = create_model("tsm_r50", tiny=True).eval()
    torch.save(model.state_dict(), tmp_path / "tsm.pt")
    loaded = create_model("tsm_r50", tiny=True, weights=tmp_path / "tsm.pt").eval()
    x = model.example_input()
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_small_example_input_runs_the_paper_size_model():
    model = create_model("tsm_r50").eval()
    x = model.example_input(batch_size=1, small=True)
    assert x.shape == (1, 3, 8, 32, 32)
    with torch.no_grad():
        assert model(x).shape == (1, 400)


def test_deep_resnets_shift_every_second_block_as_the_official_blockres():
    # make_temporal_shift(place='blockres'): n_round = 2 when layer3 has >= 23 blocks (ResNet-101/152)
    from torchvision.models.resnet import BasicBlock

    def resnet(depths):
        net = torch.nn.Module()
        for i, n in enumerate(depths, 1):
            setattr(net, f"layer{i}", torch.nn.Sequential(*[BasicBlock(4, 4) for _ in range(n)]))
        return net

    deep = insert_temporal_shift(resnet((3, 4, 23, 3)), 8)
    shifted = [[isinstance(b.conv1, torch.nn.Sequential) for b in getattr(deep, f"layer{i}")] for i in (1, 2, 3, 4)]
    assert shifted[2] == [j % 2 == 0 for j in range(23)] and shifted[0] == [True, False, True]
    assert len(shift_layers(deep)) == 2 + 2 + 12 + 2
    assert len(shift_layers(insert_temporal_shift(resnet((3, 4, 6, 3)), 8))) == 16  # ResNet-50: every block
    assert len(shift_layers(insert_temporal_shift(resnet((3, 4, 23, 3)), 8, every=1))) == 33
