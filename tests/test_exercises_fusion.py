"""The conv-fusion checker (fusion chapter) accepts a right answer and names the usual mistakes."""

import torch
import torch.nn.functional as F

from vidlearn import exercises as ex
from vidlearn.models.fusion import SpatialFusion


def verdict(fn, capsys):
    ok = ex.check_conv_fusion(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def conv_fusion(xa, xb, weight, bias, order="ab", use_bias=True):
    first, second = (xa, xb) if order == "ab" else (xb, xa)
    return F.conv2d(torch.cat([first, second], dim=1), weight, bias if use_bias else None)


def test_a_correct_conv_fusion_passes(capsys):
    ok, out = verdict(conv_fusion, capsys)
    assert ok is True, out
    assert "correct on all 4 test inputs" in out


def test_an_einsum_solution_passes(capsys):
    def einsum(xa, xb, weight, bias):
        y = torch.cat([xa, xb], dim=1)
        return torch.einsum("bchw,dc->bdhw", y, weight[:, :, 0, 0]) + bias[:, None, None]

    ok, out = verdict(einsum, capsys)
    assert ok is True, out


def test_vidlearns_spatial_fusion_passes(capsys):
    def vidlearn(xa, xb, weight, bias):
        fusion = SpatialFusion("conv", xa.shape[1])
        fusion.conv.weight.copy_(weight)
        fusion.conv.bias.copy_(bias)
        return fusion(xa, xb)

    ok, out = verdict(vidlearn, capsys)
    assert ok is True, out


def test_streams_in_the_wrong_order_are_named(capsys):
    ok, out = verdict(lambda *a: conv_fusion(*a, order="ba"), capsys)
    assert ok is False
    assert "streams swapped" in out and "(2, 4, 5, 5)" in out and "Largest difference" in out


def test_a_forgotten_bias_is_named(capsys):
    ok, out = verdict(lambda *a: conv_fusion(*a, use_bias=False), capsys)
    assert ok is False and "without the bias" in out


def test_interleaved_channels_are_named(capsys):
    def interleaved(xa, xb, weight, bias):
        return F.conv2d(torch.stack([xa, xb], dim=2).flatten(1, 2), weight, bias)  # xa_0, xb_0, xa_1, ...

    ok, out = verdict(interleaved, capsys)
    assert ok is False and "interleaved" in out


def test_returning_the_concatenation_gets_a_shape_hint(capsys):
    ok, out = verdict(lambda xa, xb, w, b: torch.cat([xa, xb], dim=1), capsys)
    assert ok is False
    assert "expected (2, 4, 5, 5), got (2, 8, 5, 5)" in out and "apply the 1x1 conv" in out


def test_sum_fusion_is_not_conv_fusion(capsys):
    ok, out = verdict(lambda xa, xb, w, b: xa + xb, capsys)
    assert ok is False and "sum fusion" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(xa, xb, weight, bias):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


def test_a_crashing_function_is_reported_not_raised(capsys):
    def crash(xa, xb, weight, bias):
        return torch.cat([xa, xb], dim=2) @ weight  # a shape error

    ok, out = verdict(crash, capsys)
    assert ok is False and "your function raised RuntimeError" in out and "(2, 4, 5, 5)" in out


def test_the_callers_random_state_is_left_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    verdict(conv_fusion, capsys)
    assert torch.equal(torch.rand(3), expected)
