"""Tests for vidlearn.models.slowfast: pathways, laterals, input checks, paper sizes and the FLOPs split."""

from __future__ import annotations

import pytest
import torch
from helpers import fit_small_batch

from vidlearn import create_model
from vidlearn.models.slowfast import (
    Bottleneck3d,
    Lateral,
    SlowFast,
    SlowFastConfig,
    flops_by_part,
    pathway_inputs,
)
from vidlearn.published import number


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta_model(name: str, **overrides):
    # paper-size models are built on the meta device: shapes and FLOPs without memory or time
    with torch.device("meta"):
        model = create_model(name, **overrides)
        x = model.example_input(batch_size=1)
    return model, x


@pytest.mark.parametrize("name, expected", [
    ("slowfast_r50", 34_480_216),  # paper Table 2: 34.4M
    ("slow_r50", 32_454_096),  # the Slow pathway alone, 2048-d head
    ("fast_r50", 616_952),  # the Fast pathway alone, 256-d head
])
def test_paper_size_parameter_counts(name, expected):
    model, _ = _meta_model(name)
    assert _params(model) == expected


def test_fast_pathway_is_about_20_percent_of_slowfast_flops_at_paper_settings():
    # SlowFast 4x16, R50, alpha=8, beta=1/8, at the paper's 256x256 test size
    model, x = _meta_model("slowfast_r50", size=256)
    assert [tuple(t.shape) for t in x] == [(1, 3, 4, 256, 256), (1, 3, 32, 256, 256)]
    parts = flops_by_part(model, x)
    assert parts["slow"] + parts["fast"] + parts["lateral"] + parts["head"] == parts["total"]
    share = parts["fast"] / parts["total"]
    assert 0.17 < share < 0.22, share  # paper: "~20%"; here 19.1%
    assert parts["total"] / 2 == pytest.approx(36.1e9, rel=0.01)  # paper Table 2: 36.1 G multiply-adds
    slow_only, xs = _meta_model("slow_r50", slow_frames=4, tau=16, size=256)
    assert flops_by_part(slow_only, xs)["total"] / 2 == pytest.approx(27.3e9, rel=0.01)  # paper Table 5a


def test_slowfast_8x8_recipe_reproduces_the_official_34_57m_params_and_65_7g_multiply_adds():
    # vidlearn.profile counts a multiply-add as 2 FLOPs (torch's FlopCounterMode): G multiply-adds = FLOPs / 2
    model, x = _meta_model("slowfast_r50_8x8", size=256)
    cfg = model.cfg
    assert (cfg.alpha, cfg.slow_frames, cfg.fast_frames, cfg.tau, cfg.lateral_kernel_t) == (4, 8, 32, 8, 7)
    assert all(lat.conv[0].kernel_size == (7, 1, 1) for lat in model.laterals)
    assert [tuple(t.shape) for t in x] == [(1, 3, 8, 256, 256), (1, 3, 32, 256, 256)]
    assert round(_params(model) / 1e6, 2) == 34.57
    assert round(_params(model) / 1e6, 1) == number("slowfast.r50_8x8.mparams").value
    gmacs = flops_by_part(model, x)["total"] / 2e9
    assert gmacs == pytest.approx(number("slowfast.r50_8x8.gmacs").value, rel=0.01)


@pytest.mark.parametrize("alpha, beta_inv", [(2, 2), (4, 4), (8, 8)])
@pytest.mark.parametrize("lateral", ["conv", "sample", "ttoc"])
def test_lateral_shapes_match_the_paper_for_several_alpha_beta(alpha, beta_inv, lateral):
    model = create_model("slowfast_r50", tiny=True, alpha=alpha, beta_inv=beta_inv, width=16, lateral=lateral)
    t = 2
    slow, fast = pathway_inputs(torch.randn(2, 3, alpha * t, 32, 32), alpha)
    shapes = model.feature_shapes([slow, fast])
    c_fast = 16 // beta_inv
    fast_widths = [c_fast, 4 * c_fast, 8 * c_fast, 16 * c_fast]  # pool1, res2, res3, res4
    slow_widths = [16, 64, 128, 256]
    sizes = [8, 8, 4, 2]
    for i, (cf, cs, s) in enumerate(zip(fast_widths, slow_widths, sizes)):
        res = f"res{i + 2}"
        c_lat = {"conv": 2 * cf, "sample": cf, "ttoc": alpha * cf}[lateral]  # 2*beta*C, beta*C, alpha*beta*C
        assert shapes[f"lateral -> {res}"] == (2, c_lat, t, s, s)  # alpha*T frames -> T frames
        assert shapes[f"slow {res} input"] == (2, cs + c_lat, t, s, s)  # concatenated to the Slow features
    for i, s in enumerate([8, 4, 2, 1]):
        assert shapes[f"fast res{i + 2}"][2] == alpha * t  # the Fast pathway never downsamples time
        assert shapes[f"slow res{i + 2}"][2] == t
        assert shapes[f"fast res{i + 2}"][3:] == (s, s)
    assert shapes["pooled"] == (2, 4 * 16 * 8 + 4 * c_fast * 8)
    assert model([slow, fast]).shape == (2, 10)


def test_time_to_channel_lateral_packs_alpha_frames_into_channels():
    f = torch.randn(1, 3, 8, 2, 2)
    out = Lateral("ttoc", 3, alpha=4)(f)
    assert out.shape == (1, 12, 2, 2, 2)
    for c in range(3):
        for t in range(2):
            for a in range(4):
                assert torch.equal(out[0, c * 4 + a, t], f[0, c, t * 4 + a])


def test_time_strided_sampling_lateral_keeps_every_alpha_th_frame():
    f = torch.randn(1, 2, 12, 3, 3)
    assert torch.equal(Lateral("sample", 2, alpha=4)(f), f[:, :, [0, 4, 8]])


def test_pathway_inputs_takes_every_frame_for_fast_and_every_alpha_th_for_slow():
    clip = torch.arange(16.0).view(1, 1, 16, 1, 1).expand(2, 3, 16, 4, 4)  # value = frame index
    slow, fast = pathway_inputs(clip, alpha=4)
    assert torch.equal(fast, clip)
    assert slow.shape == (2, 3, 4, 4, 4)
    assert slow[0, 0, :, 0, 0].tolist() == [0.0, 4.0, 8.0, 12.0]
    assert pathway_inputs(clip[0], alpha=8)[0].shape == (3, 2, 4, 4)  # unbatched clip
    with pytest.raises(ValueError, match="multiple of alpha=4"):
        pathway_inputs(clip[:, :, :10], alpha=4)


def test_bad_input_gets_a_clear_error():
    model = create_model("slowfast_r50", tiny=True)
    slow, fast = model.example_input()
    with pytest.raises(ValueError, match=r"\[slow, fast\].*one tensor of shape \(2, 3, 8, 32, 32\)"):
        model(fast)
    with pytest.raises(ValueError, match="two tensors"):
        model([slow, fast, fast])
    with pytest.raises(ValueError, match="slow T=2 needs fast T=8, got T=6"):
        model([slow, fast[:, :, :6]])
    with pytest.raises(ValueError, match="same batch size and H x W"):
        model([slow, fast[..., :16, :16]])
    with pytest.raises(ValueError, match="C=3 channels.*got C=1"):
        model([slow[:, :1], fast])
    with pytest.raises(ValueError, match="5 dimensions"):
        model([slow[0], fast])


def test_single_pathway_models_take_a_tensor_or_their_part_of_a_pair():
    torch.manual_seed(0)
    slow_only = create_model("slow_r50", tiny=True).eval()
    fast_only = create_model("fast_r50", tiny=True).eval()
    slow, fast = create_model("slowfast_r50", tiny=True).example_input()
    with torch.no_grad():
        assert torch.equal(slow_only([slow, fast]), slow_only(slow))
        assert torch.equal(fast_only([slow, fast]), fast_only(fast))
    assert slow_only.fast is None and len(slow_only.laterals) == 0
    assert fast_only.slow is None and len(fast_only.laterals) == 0


def test_fast_pathway_reaches_the_slow_features_through_the_laterals():
    torch.manual_seed(0)
    model = create_model("slowfast_r50", tiny=True, lateral="conv")
    slow, fast = model.example_input()
    model(pathway_inputs(torch.randn(2, 3, 8, 32, 32), 4)).sum().backward()
    assert model.laterals[0].conv[0].weight.grad.abs().sum() > 0
    # with lateral="none" the Slow feature map does not depend on the Fast input
    plain = create_model("slowfast_r50", tiny=True, lateral="none").eval()
    with torch.no_grad():
        a = plain.forward_features([slow, fast])[:, :plain.slow.out_channels[-1]]
        b = plain.forward_features([slow, torch.randn_like(fast)])[:, :plain.slow.out_channels[-1]]
    assert torch.equal(a, b)


def test_bottleneck_starts_as_its_shortcut():
    block = Bottleneck3d(8, 4, 16, kernel_t=3, stride=2)
    x = torch.randn(2, 8, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(block(x), torch.relu(block.shortcut(x)))


def test_tiny_models_are_small_and_learn():
    torch.manual_seed(0)
    model = create_model("slowfast_r50", tiny=True)
    assert 50_000 < _params(model) < 500_000
    assert 50_000 < _params(create_model("slow_r50", tiny=True)) < 500_000
    x, y = model.example_input(batch_size=4), torch.tensor([0, 1, 2, 3])
    losses = fit_small_batch(model, x, y, steps=15, lr=1e-2)
    assert losses[-1] < 0.5 * losses[0]


def test_weights_argument_loads_a_state_dict_or_a_file(tmp_path):
    torch.manual_seed(0)
    model = create_model("slowfast_r50", tiny=True).eval()
    path = tmp_path / "sf.pt"
    torch.save(model.state_dict(), path)
    x = model.example_input()
    for weights in (path, str(path), model.state_dict()):
        loaded = create_model("slowfast_r50", tiny=True, weights=weights).eval()
        with torch.no_grad():
            assert torch.equal(loaded(x), model(x))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        create_model("slowfast_r50", tiny=True, weights=tmp_path / "missing.pt")


def test_config_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="'medium'"):
        SlowFast(SlowFastConfig.tiny(pathways="medium"))
    with pytest.raises(ValueError, match="'sum'"):
        SlowFast(SlowFastConfig.tiny(lateral="sum"))
    with pytest.raises(ValueError, match="beta_inv=3"):
        SlowFast(SlowFastConfig.tiny(beta_inv=3))


def test_small_example_input_runs_the_paper_size_model():
    model = create_model("slowfast_r50").eval()
    x = model.example_input(batch_size=1, small=True)
    assert [tuple(t.shape) for t in x] == [(1, 3, 2, 32, 32), (1, 3, 16, 32, 32)]
    with torch.no_grad():
        assert model(x).shape == (1, 400)


def test_laterals_and_temporal_kernels_follow_the_official_builder():
    # facebookresearch/SlowFast video_model_builder.py: FuseFastToSlow after s1..s4; _TEMPORAL_KERNEL_BASIS
    model = create_model("slowfast_r50", tiny=True)
    assert len(model.laterals) == 4
    for lat, c in zip(model.laterals, model.fast.out_channels[:4]):
        conv, bn, relu = lat.conv
        assert conv.kernel_size == (5, 1, 1) and conv.stride == (4, 1, 1) and conv.padding == (2, 0, 0)
        assert conv.bias is None and conv.out_channels == 2 * c and isinstance(relu, torch.nn.ReLU)
    slow_t = [stage[0].conv_a[0].kernel_size[0] for stage in model.slow.stages]
    fast_t = [stage[0].conv_a[0].kernel_size[0] for stage in model.fast.stages]
    assert slow_t == [1, 1, 3, 3] and fast_t == [3, 3, 3, 3]
    assert model.slow.stem[0][0].kernel_size == (1, 7, 7) and model.fast.stem[0][0].kernel_size == (5, 7, 7)
