"""Attention layers and the five schemes' patterns: each factorised step equals masked joint attention."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from vidlearn.layers.attention import Attention, attend_in_groups, dense_weights, softmax_attention
from vidlearn.layers.attention_pattern import (
    SCHEMES,
    STEPS,
    attention_pattern,
    block_flops,
    group_sizes,
    resolve_scheme,
    step_mask,
)

GRIDS = [(8, 14, 14), (4, 4, 4), (3, 5, 7), (2, 6, 4), (1, 3, 3), (5, 1, 2)]
SMALL_GRIDS = [(4, 4, 4), (3, 5, 7), (2, 6, 4), (1, 3, 3), (5, 1, 2)]


def _same_parity_count(n: int, i: int) -> int:
    return (n - i % 2 + 1) // 2  # indices in [0, n) with the parity of i


def _half_count(n: int, i: int) -> int:
    c = math.ceil(n / 2)
    return c if i < c else n - c  # size of the half (split at ceil(n/2)) that holds i


def _expected_keys(step: str, grid, query) -> int:
    (T, H, W), (t, h, w) = grid, query
    return {
        "space_time": T * H * W,
        "space": H * W,
        "time": T,
        "width": W,
        "height": H,
        "local": T * _half_count(H, h) * _half_count(W, w),
        "global": _same_parity_count(T, t) * _same_parity_count(H, h) * _same_parity_count(W, w),
    }[step]


@pytest.mark.parametrize("grid", GRIDS)
def test_keys_per_query_match_the_chapter_formulas(grid):
    T, H, W = grid
    queries = {(0, 0, 0), (T - 1, H - 1, W - 1), (T // 2, H // 2, W // 3), (T // 3, H - 1, 0)}
    for scheme, steps in SCHEMES.items():
        for q in queries:
            pattern = attention_pattern(scheme, T, H, W, q)
            assert tuple(pattern) == steps
            for step, mask in pattern.items():
                assert mask.shape == (T, H, W)
                assert int(mask.sum()) == _expected_keys(step, grid, q), (scheme, step, q)
                assert bool(mask[q]), "a query always attends to itself"


def test_keys_per_query_on_even_grids_are_the_papers_fractions():
    T, H, W = 8, 14, 14  # ViT-B/16 on 8 x 224 x 224
    counts = {s: [int(m.sum()) for m in attention_pattern(s, T, H, W, (3, 5, 9)).values()] for s in SCHEMES}
    assert counts == {
        "space": [H * W],
        "joint": [T * H * W],
        "divided": [T, H * W],
        "sparse_local_global": [T * H * W // 4, T * H * W // 8],
        "axial": [T, W, H],
    }


@pytest.mark.parametrize("grid", [(1, 4, 4), (3, 5, 6), (8, 14, 14)])
def test_local_then_global_reaches_every_patch(grid):
    local, glob = step_mask("local", *grid).float(), step_mask("global", *grid).float()
    assert bool(((glob @ local) > 0).all())  # two steps: full receptive field, as the paper argues


def test_attention_pattern_accepts_paper_names_and_flat_queries():
    assert resolve_scheme("T+S") == "divided" and resolve_scheme("L+G") == "sparse_local_global"
    by_name = attention_pattern("T+W+H", 4, 3, 5, (1, 2, 3))
    flat = attention_pattern("axial", 4, 3, 5, (1 * 3 + 2) * 5 + 3)
    assert all(torch.equal(by_name[s], flat[s]) for s in flat)
    assert flat["width"][1, 2].all() and int(flat["width"].sum()) == 5


def test_attention_pattern_rejects_unknown_scheme_and_query_outside_grid():
    with pytest.raises(ValueError, match="unknown attention scheme 'diagonal'.*divided"):
        attention_pattern("diagonal", 2, 2, 2, 0)
    with pytest.raises(ValueError, match=r"\(t, h, w\) = \(2, 0, 0\) lies outside the 2x2x2"):
        attention_pattern("joint", 2, 2, 2, (2, 0, 0))
    with pytest.raises(ValueError, match=r"query index must be in \[0, 8\)"):
        attention_pattern("joint", 2, 2, 2, 8)
    with pytest.raises(ValueError, match="unknown attention step"):
        step_mask("diagonal", 2, 2, 2)


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("grid", SMALL_GRIDS)
def test_each_step_equals_joint_attention_restricted_by_its_mask(step, grid):
    torch.manual_seed(0)
    attn = Attention(16, num_heads=2).eval()
    x = torch.randn(2, math.prod(grid), 16)  # (B, THW, D)
    factorised, cls_out, _ = attend_in_groups(attn, x, step, grid)
    masked_joint = attn(x, mask=step_mask(step, *grid))
    assert cls_out is None
    torch.testing.assert_close(factorised, masked_joint, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("grid", [(4, 4, 4), (3, 5, 7)])
def test_each_step_with_class_token_equals_masked_joint_attention(step, grid):
    torch.manual_seed(1)
    attn = Attention(16, num_heads=4).eval()
    n = math.prod(grid)
    x, cls = torch.randn(2, n, 16), torch.randn(2, 1, 16)
    patches, cls_out, _ = attend_in_groups(attn, x, step, grid, cls=cls)
    tokens = torch.cat([cls, x], dim=1)  # (B, 1+N, D)
    mask = torch.ones(n + 1, n + 1, dtype=torch.bool)
    mask[1:, 1:] = step_mask(step, *grid)  # patches: their group and the class token
    torch.testing.assert_close(patches, attn(tokens, mask=mask)[:, 1:], atol=1e-5, rtol=1e-5)
    # the class token: its attention over [cls, group] in every group, averaged over the groups
    groups = torch.unique(step_mask(step, *grid), dim=0)  # (G, N): one row per group
    per_group = []
    for group in groups:
        m = torch.zeros(n + 1, n + 1, dtype=torch.bool)
        m[0, 0], m[0, 1:] = True, group
        m[1:, 1:] = torch.eye(n, dtype=torch.bool)  # other rows do not matter here
        per_group.append(attn(tokens, mask=m)[:, 0])
    torch.testing.assert_close(cls_out[:, 0], torch.stack(per_group).mean(0), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("with_cls", [False, True])
@pytest.mark.parametrize("step", STEPS)
def test_dense_weights_reproduce_the_step_output(step, with_cls):
    torch.manual_seed(2)
    grid, b, d, nh = (3, 5, 4), 2, 12, 3
    attn = Attention(d, num_heads=nh).eval()
    x, cls = torch.randn(b, math.prod(grid), d), torch.randn(b, 1, d)
    patches, cls_out, weights = attend_in_groups(attn, x, step, grid, cls if with_cls else None, True)
    dense = dense_weights(weights, step, grid, b, with_cls)  # (B, nh, M, M)
    tokens = torch.cat([cls, x], dim=1) if with_cls else x
    v = attn.qkv(tokens)[..., 2 * d:].reshape(b, -1, nh, d // nh).transpose(1, 2)  # (B, nh, M, hd)
    out = attn.proj((dense @ v).transpose(1, 2).reshape(b, -1, d))  # (B, M, D)
    expected = torch.cat([cls_out, patches], dim=1) if with_cls else patches
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(dense.sum(-1), torch.ones(dense.shape[:-1]), atol=1e-5, rtol=1e-5)


def test_sdpa_and_readable_softmax_paths_agree_and_weights_respect_the_mask():
    torch.manual_seed(3)
    fused = Attention(16, num_heads=4).eval()
    readable = Attention(16, num_heads=4, use_sdpa=False).eval()
    readable.load_state_dict(fused.state_dict())
    x, mask = torch.randn(2, 12, 16), torch.rand(12, 12) > 0.5
    mask |= torch.eye(12, dtype=torch.bool)
    out, weights = fused(x, mask=mask, return_weights=True)
    torch.testing.assert_close(fused(x, mask=mask), readable(x, mask=mask), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out, fused(x, mask=mask), atol=1e-5, rtol=1e-5)
    assert weights.shape == (2, 4, 12, 12)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 12))
    assert float(weights.detach()[..., ~mask].abs().max()) == 0.0


def test_softmax_attention_matches_the_formula():
    q, k, v = torch.randn(3, 5, 8), torch.randn(3, 7, 8), torch.randn(3, 7, 8)
    out, w = softmax_attention(q, k, v)
    expected_w = torch.softmax(torch.einsum("bqd,bkd->bqk", q, k) / math.sqrt(8), dim=-1)
    torch.testing.assert_close(w, expected_w)
    torch.testing.assert_close(out, expected_w @ v)


def test_attention_dropout_applies_only_in_training():
    torch.manual_seed(4)
    attn = Attention(16, num_heads=2, attn_drop=0.5, proj_drop=0.5)
    x = torch.randn(2, 10, 16)
    attn.eval()
    assert torch.equal(attn(x), attn(x))
    clean = Attention(16, num_heads=2).eval()
    clean.load_state_dict(attn.state_dict())
    torch.testing.assert_close(attn(x), clean(x))
    attn.train()
    assert not torch.allclose(attn(x), attn(x))


def test_attention_rejects_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match="width 10 must be divisible by num_heads=4"):
        Attention(10, num_heads=4)


@pytest.mark.parametrize("grid", SMALL_GRIDS)
def test_group_sizes_partition_the_grid_and_count_the_mask(grid):
    for step in STEPS:
        sizes = group_sizes(step, *grid)
        assert sum(sizes) == math.prod(grid)
        assert sum(s * s for s in sizes) == int(step_mask(step, *grid).sum())


@pytest.mark.parametrize("step", STEPS)
def test_analytic_step_flops_match_the_flop_counter(step):
    grid, d = (4, 4, 6), 16
    attn = Attention(d, num_heads=2, use_sdpa=False).eval()
    x = torch.randn(1, math.prod(grid), d)
    with FlopCounterMode(display=False) as counter:
        attend_in_groups(attn, x, step, grid)
    pairs = sum(s * s for s in group_sizes(step, *grid))
    assert counter.get_total_flops() == 2 * x.shape[1] * d * d * 4 + 4 * pairs * d


def test_block_flops_of_joint_attention_grow_quadratically_and_divided_about_linearly():
    d, n = 768, 14 * 14
    mlp_and_proj = 2 * n * d * d * 4 + 4 * n * d * 4 * d  # per frame: qkv, proj and MLP
    assert block_flops("joint", 1, 14, 14) == mlp_and_proj + 4 * n * n * d
    big_n = 8 * n  # divided on 8 frames: time (qkv, proj, fc) then space (qkv, proj), then the MLP
    pairs = big_n * 8 + 8 * n * n  # each patch sees T keys, then H*W keys
    assert block_flops("divided", 8, 14, 14) == 2 * big_n * d * d * 9 + 4 * pairs * d + 16 * big_n * d * d
    for scheme in ("joint", "divided"):
        attention = [block_flops(scheme, t, 14, 14) - t * mlp_and_proj for t in (8, 16, 32)]
        ratios = [b / a for a, b in zip(attention, attention[1:])]
        low, high = (3.5, 4.0) if scheme == "joint" else (2.0, 2.2)  # doubling T: x4 vs about x2
        assert all(low <= r <= high for r in ratios), (scheme, ratios)
