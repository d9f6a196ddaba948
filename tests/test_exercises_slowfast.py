"""The lateral-connection checker accepts SlowFast's fusion, names the usual slips, and never crashes."""

import torch
import torch.nn.functional as F

from vidlearn import exercises as ex


def verdict(fn, capsys):
    ok = ex.check_lateral_connection(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def fuse(slow, fast, weight, bn, alpha, stride=None, padding=None, slow_first=True, relu=True):
    """A reader's fusion; the keywords make the usual mistakes."""
    k = weight.shape[2]
    stride = alpha if stride is None else stride
    padding = k // 2 if padding is None else padding
    lateral = bn(F.conv3d(fast, weight, stride=(stride, 1, 1), padding=(padding, 0, 0)))  # (B, 2 C_f, T, H, W)
    lateral = F.relu(lateral) if relu else lateral
    return torch.cat([slow, lateral] if slow_first else [lateral, slow], dim=1)


def test_a_correct_fusion_passes(capsys):
    ok, out = verdict(fuse, capsys)
    assert ok is True, out
    assert "correct on all 4 test inputs" in out and "k=7" in out


def test_stride_one_in_time_is_named(capsys):
    ok, out = verdict(lambda *a: fuse(*a, stride=1), capsys)
    assert not ok
    assert "RuntimeError" in out and "Slow pathway's T = 2 frames" in out and "stride alpha = 4" in out


def test_the_lateral_before_the_slow_channels_is_named(capsys):
    ok, out = verdict(lambda *a: fuse(*a, slow_first=False), capsys)
    assert not ok and "concatenated before the Slow features" in out and "Slow channel" in out


def test_a_hard_coded_padding_is_caught_on_the_7x1x1_kernel(capsys):
    ok, out = verdict(lambda *a: fuse(*a, padding=2), capsys)
    assert not ok and "weight (2, 1, 7, 1, 1)" in out and "time padding is 2" in out and "k // 2 = 3" in out


def test_a_missing_relu_is_named(capsys):
    ok, out = verdict(lambda *a: fuse(*a, relu=False), capsys)
    assert not ok and "without the ReLU" in out


def test_time_strided_sampling_gets_a_shape_hint(capsys):
    ok, out = verdict(lambda slow, fast, w, bn, alpha: torch.cat([slow, fast[:, :, ::alpha]], 1), capsys)
    assert not ok and "expected (2, 12, 2, 3, 3), got (2, 10, 2, 3, 3)" in out and "time-strided sampling" in out


def test_returning_the_lateral_alone_gets_a_shape_hint(capsys):
    ok, out = verdict(lambda *a: fuse(*a)[:, a[0].shape[1]:], capsys)
    assert not ok and "the lateral alone" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(slow, fast, weight, bn, alpha):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


def test_a_crashing_function_is_reported_not_raised(capsys):
    def crash(*args):
        raise KeyError("boom")

    ok, out = verdict(crash, capsys)
    assert ok is False and "KeyError" in out and "slow (2, 8, 2, 3, 3)" in out


def test_modifying_the_inputs_in_place_is_reported(capsys):
    def inplace(slow, fast, weight, bn, alpha):
        out = fuse(slow, fast, weight, bn, alpha)
        fast.relu_()
        return out

    ok, out = verdict(inplace, capsys)
    assert not ok and "modified its inputs in place" in out


def test_the_checker_leaves_the_callers_random_state_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex.check_lateral_connection(fuse)
    assert torch.equal(torch.rand(3), expected)
