"""The Two-Stream chapter's checker (flow stacking + mean flow subtraction) accepts right answers, names the
usual mistakes and never crashes."""

import numpy as np
import pytest
import torch
from einops import rearrange

from vidlearn.exercises import check_flow_stack
from vidlearn.flow import stack_flow
from vidlearn.models.two_stream import TemporalStream, TwoStreamConfig


def verdict(fn, capsys):
    ok = check_flow_stack(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def flow_stack(flow, start, L, subtract_mean, order=(0, 1), per_component=True, shift=0, grouped=False):
    """A reader's solution; the keywords switch on the usual mistakes."""
    fields = flow[:, start + shift:start + shift + L]  # (2, L, H, W)
    if subtract_mean:
        dims = (2, 3) if per_component else (0, 2, 3)
        fields = fields - fields.mean(dim=dims, keepdim=True)
    fields = fields[list(order)]
    pattern = "c l h w -> (c l) h w" if grouped else "c l h w -> (l c) h w"
    return rearrange(fields, pattern)  # (2L, H, W)


def loop_stack(flow, start, L, subtract_mean):
    """The chapter's solution: a loop over the fields, x then y."""
    channels = []
    for k in range(start, start + L):
        field = flow[:, k]  # (2, H, W): dx, dy
        if subtract_mean:
            field = field - field.mean(dim=(1, 2), keepdim=True)
        channels += [field[0], field[1]]
    return torch.stack(channels)


@pytest.mark.parametrize("fn", [
    flow_stack,
    loop_stack,
    lambda f, s, L, m: flow_stack(f.numpy(), s, L, False) if not m else flow_stack(f, s, L, m),  # numpy answer
    lambda f, s, L, m: stack_flow(f - f.mean(dim=(2, 3), keepdim=True) if m else f, s, L),  # vidlearn's own
], ids=["rearrange", "loop", "numpy", "vidlearn"])
def test_correct_solutions_pass(fn, capsys):
    ok, out = verdict(fn, capsys)
    assert ok is True, out
    assert "correct on all 5 test inputs" in out


def test_reference_is_the_temporal_streams_input():
    """The checker's expectation equals what vidlearn's TemporalStream feeds its CNN."""
    from vidlearn.exercises.two_stream import _reference

    cfg = TwoStreamConfig.tiny(flow_frames=4)
    stream = TemporalStream(cfg)
    flow = torch.randn(2, 7, 32, 32) + 3 * torch.randn(2, 7, 1, 1)
    expected = stream.stack(flow[None, :, 2:6])[0]  # (2L, H, W)
    assert torch.allclose(_reference(flow, 2, 4, True), expected, atol=1e-6)


def test_forgetting_the_mean_subtraction_is_named(capsys):
    ok, out = verdict(lambda f, s, L, m: flow_stack(f, s, L, False), capsys)
    assert ok is False
    assert "without mean subtraction" in out and "subtract_mean=True" in out and "(2, 12, 6, 7)" in out
    assert "Largest difference" in out and "channel" in out and "field start +" in out


def test_subtracting_when_not_asked_is_named(capsys):
    ok, out = verdict(lambda f, s, L, m: flow_stack(f, s, L, True), capsys)
    assert ok is False and "with subtract_mean=False the fields stay" in out


def test_swapped_x_and_y_are_named(capsys):
    ok, out = verdict(lambda *a: flow_stack(*a, order=(1, 0)), capsys)
    assert ok is False and "x and y channels are swapped" in out


def test_grouped_channels_are_named(capsys):
    ok, out = verdict(lambda *a: flow_stack(*a, grouped=True), capsys)
    assert ok is False and "grouped (all x, then all y)" in out and "interleaves" in out


def test_one_mean_for_dx_and_dy_together_is_named(capsys):
    ok, out = verdict(lambda *a: flow_stack(*a, per_component=False), capsys)
    assert ok is False and "mean dx from the dx channel" in out


@pytest.mark.parametrize("shift, word", [(1, "late"), (-1, "early")])
def test_an_off_by_one_start_is_named(shift, word, capsys):
    ok, out = verdict(lambda *a: flow_stack(*a, shift=shift), capsys)
    assert ok is False and f"one field {word}" in out and "flow[:, start:start + L]" in out


def test_forgetting_to_stack_gets_a_shape_hint(capsys):
    ok, out = verdict(lambda f, s, L, m: f[:, s:s + L], capsys)
    assert ok is False and "expected (20, 6, 7), got (2, 10, 6, 7)" in out and "(2L, H, W)" in out


def test_one_field_too_few_gets_a_shape_hint(capsys):
    ok, out = verdict(lambda f, s, L, m: flow_stack(f, s, L - 1, m), capsys)
    assert ok is False and "got (18, 6, 7)" in out and "L - 1 fields" in out


def test_modifying_the_flow_in_place_is_reported(capsys):
    def inplace(flow, start, L, subtract_mean):
        if subtract_mean:
            flow -= flow.mean(dim=(2, 3), keepdim=True)
        return stack_flow(flow, start, L)

    ok, out = verdict(inplace, capsys)
    assert ok is False and "modified flow in place" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(flow, start, L, subtract_mean):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


@pytest.mark.parametrize("fn", [lambda *a: 1 / 0, lambda *a: "not a tensor", lambda *a: np.zeros(3)],
                         ids=["raises", "string", "wrong-shape-numpy"])
def test_a_broken_function_is_reported_not_raised(fn, capsys):
    ok, out = verdict(fn, capsys)
    assert ok is False and "(2, 12, 6, 7)" in out


def test_the_callers_random_state_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_flow_stack(flow_stack)
    assert torch.equal(torch.rand(3), expected)
