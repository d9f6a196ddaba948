"""The homework checkers accept right answers, reject wrong ones with a useful message, and never crash."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidlearn import exercises as ex
from vidlearn.layers.conv_builders import Conv2Plus1D
from vidlearn.layers.inflate import inflate_conv
from vidlearn.layers.temporal_shift import temporal_shift

CHECKERS = [ex.check_segment_consensus, ex.check_inflate_conv, ex.check_r2plus1d_conv,
            ex.check_temporal_shift, ex.check_divided_attention, ex.check_early_fusion]


def verdict(checker, fn, capsys):
    ok = checker(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


# ---- reader-style solutions (what a student would write) ----------------------------------------------


def consensus(scores, mode):
    return scores.mean(1) if mode == "avg" else scores.amax(1)


def inflate(conv, t, divide=True, time_axis=2):
    conv3d = nn.Conv3d(conv.in_channels, conv.out_channels, (t,) + conv.kernel_size, (1,) + conv.stride,
                       (t // 2,) + conv.padding, bias=conv.bias is not None)
    with torch.no_grad():
        conv3d.weight.copy_(conv.weight.unsqueeze(time_axis).repeat(1, 1, t, 1, 1) / (t if divide else 1))
        if conv.bias is not None:
            conv3d.bias.copy_(conv.bias)
    return conv3d


def r2plus1d(cin, cout, mid, relu=True, bias=False):
    return nn.Sequential(nn.Conv3d(cin, mid, (1, 3, 3), padding=(0, 1, 1), bias=bias), nn.BatchNorm3d(mid),
                         nn.ReLU() if relu else nn.Identity(),
                         nn.Conv3d(mid, cout, (3, 1, 1), padding=(1, 0, 0), bias=bias))


def shift(x, t, fold_div, future=1):
    """Reader's shift; ``future=-1`` swaps the directions (the classic mistake)."""
    v = x.view(-1, t, *x.shape[1:])  # (N, T, C, H, W)
    fold = x.shape[1] // fold_div
    out = torch.zeros_like(v)
    a, b = (slice(0, fold), slice(fold, 2 * fold))[::future]
    out[:, :-1, a] = v[:, 1:, a]
    out[:, 1:, b] = v[:, :-1, b]
    out[:, :, 2 * fold:] = v[:, :, 2 * fold:]
    return out.view_as(x)


def divided(x, grid, attn_time, attn_space, time_first=True):
    t, h, w = grid

    def time(x):
        y = attn_time(rearrange(x, "b (t h w) d -> (b h w) t d", t=t, h=h, w=w))
        return x + rearrange(y, "(b h w) t d -> b (t h w) d", b=x.shape[0], h=h, w=w)

    def space(x):
        y = attn_space(rearrange(x, "b (t h w) d -> (b t) (h w) d", t=t, h=h, w=w))
        return x + rearrange(y, "(b t) (h w) d -> b (t h w) d", t=t, h=h)

    return space(time(x)) if time_first else time(space(x))


def early_fusion(clip, weight, bias, stride, padding, clip_order="(c t)"):
    frames = rearrange(clip, f"b c t h w -> b {clip_order} h w")  # (B, C*T, H, W)
    return F.conv2d(frames, rearrange(weight, "o c t kh kw -> o (c t) kh kw"), bias, stride, padding)


# ---- the tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_not_implemented_gets_a_friendly_message_not_an_exception(checker, capsys):
    def todo(*args):
        raise NotImplementedError

    ok, out = verdict(checker, todo, capsys)
    assert ok is False
    assert "not implemented yet" in out and "Hint:" in out


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_a_crashing_function_is_reported_with_the_input_shape(checker, capsys):
    def crash(*args):
        raise RuntimeError("boom")

    ok, out = verdict(checker, crash, capsys)
    assert ok is False
    assert "RuntimeError: boom" in out and "(" in out.split("RuntimeError")[0]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_checkers_leave_the_callers_random_state_alone(checker, capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checker(lambda *a: (_ for _ in ()).throw(NotImplementedError))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("checker, fn", [
    (ex.check_segment_consensus, consensus),
    (ex.check_inflate_conv, inflate),
    (ex.check_inflate_conv, lambda c, t: inflate_conv(c, t)),  # vidlearn's own (replicate padding)
    (ex.check_r2plus1d_conv, r2plus1d),
    (ex.check_r2plus1d_conv, lambda i, o, m: Conv2Plus1D(i, o, m)),
    (ex.check_temporal_shift, shift),
    (ex.check_temporal_shift, temporal_shift),
    (ex.check_divided_attention, divided),
    (ex.check_early_fusion, early_fusion),
    (ex.check_early_fusion, lambda c, w, b, s, p: F.conv3d(c, w, b, (1, s, s), (0, p, p))[:, :, 0]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_correct_solutions_pass(checker, fn, capsys):
    ok, out = verdict(checker, fn, capsys)
    assert ok is True, out
    assert "correct on all" in out


def test_consensus_max_instead_of_avg_is_named(capsys):
    ok, out = verdict(ex.check_segment_consensus, lambda s, m: s.amax(1), capsys)
    assert not ok
    assert "(2, 3, 5)" in out and "mode='avg'" in out and "'max' consensus" in out
    assert "Largest difference" in out and "clip" in out and "class" in out


def test_consensus_over_the_wrong_axis_reports_both_shapes(capsys):
    ok, out = verdict(ex.check_segment_consensus, lambda s, m: s.mean(2), capsys)
    assert not ok and "expected (2, 5), got (2, 3)" in out and "class axis" in out


def test_inflation_without_dividing_by_t_is_named(capsys):
    ok, out = verdict(ex.check_inflate_conv, lambda c, t: inflate(c, t, divide=False), capsys)
    assert not ok and "without dividing by time_kernel" in out and "Conv2d(3, 8, 3, padding=1)" in out


def test_inflation_without_a_time_axis_is_named(capsys):
    ok, out = verdict(ex.check_inflate_conv, lambda c, t: inflate(c, 1), capsys)
    assert not ok and "got (8, 3, 1, 3, 3)" in out and "time_kernel = 3" in out


def test_inflation_must_return_a_conv3d(capsys):
    ok, out = verdict(ex.check_inflate_conv, lambda c, t: c, capsys)
    assert not ok and "expected an nn.Conv3d, got Conv2d" in out


def test_r2plus1d_with_biases_gets_the_parameter_formula(capsys):
    ok, out = verdict(ex.check_r2plus1d_conv, lambda i, o, m: r2plus1d(i, o, m, bias=True), capsys)
    assert not ok and "expected 265 parameters = 3*5*9 + 5*8*3 + 2*5" in out and "bias=False" in out


def test_r2plus1d_without_relu_is_named(capsys):
    ok, out = verdict(ex.check_r2plus1d_conv, lambda i, o, m: r2plus1d(i, o, m, relu=False), capsys)
    assert not ok and "ReLU is missing" in out and "input (2, 3, 4, 6, 6)" in out


def test_a_full_3d_conv_is_not_a_factorised_one(capsys):
    ok, out = verdict(ex.check_r2plus1d_conv, lambda i, o, m: nn.Conv3d(i, o, 3, padding=1), capsys)
    assert not ok and "(1, 3, 3) then (3, 1, 1)" in out and "[(3, 3, 3)]" in out


def test_shift_the_wrong_way_is_named(capsys):
    ok, out = verdict(ex.check_temporal_shift, lambda x, t, d: shift(x, t, d, future=-1), capsys)
    assert not ok and "wrong way" in out and "(8, 8, 3, 3)" in out and "T=4" in out
    assert "frame" in out and "channel" in out


def test_circular_shift_is_named(capsys):
    def roll(x, t, d):
        v, fold = x.view(-1, t, *x.shape[1:]).clone(), x.shape[1] // d
        v[:, :, :fold] = v[:, :, :fold].roll(-1, 1)
        v[:, :, fold:2 * fold] = v[:, :, fold:2 * fold].roll(1, 1)
        return v.view_as(x)

    ok, out = verdict(ex.check_temporal_shift, roll, capsys)
    assert not ok and "wraps around" in out


def test_shift_must_not_modify_its_input(capsys):
    def inplace(x, t, d):
        x.mul_(2)
        return temporal_shift(x, t, d)

    ok, out = verdict(ex.check_temporal_shift, inplace, capsys)
    assert not ok and "modified x in place" in out


def test_space_before_time_is_named(capsys):
    ok, out = verdict(ex.check_divided_attention, lambda *a: divided(*a, time_first=False), capsys)
    assert not ok and "space attention first" in out and "grid (T, H, W) = (4, 3, 3)" in out
    assert "frame" in out and "patch row" in out


def test_early_fusion_with_mismatched_stacking_orders_is_named(capsys):
    ok, out = verdict(ex.check_early_fusion, lambda *a: early_fusion(*a, clip_order="(t c)"), capsys)
    assert not ok and "different orders" in out and "clip (2, 3, 4, 16, 16)" in out


def test_early_fusion_keeping_the_time_axis_gets_a_shape_hint(capsys):
    ok, out = verdict(ex.check_early_fusion, lambda c, w, b, s, p: F.conv3d(c, w, b, (1, s, s), (0, p, p)),
                      capsys)
    assert not ok and "expected (2, 8, 8, 8), got (2, 8, 1, 8, 8)" in out and "squeeze" in out


def test_passing_a_non_function_is_reported(capsys):
    ok, out = verdict(ex.check_segment_consensus, 3, capsys)
    assert not ok and "pass your function" in out
