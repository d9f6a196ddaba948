"""The receptive-field checker (C3D chapter): a measured reference, right answers pass, mistakes are named."""

import pytest
import torch
import torch.nn as nn

from vidlearn import exercises as ex
from vidlearn.exercises.c3d import _stacks, measured_receptive_field
from vidlearn.viz.conv3d import receptive_fields


def verdict(fn, capsys):
    ok = ex.check_receptive_field(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def receptive_field(layers, own_stride=False, jump=True):
    """A reader's recursion; ``own_stride`` and ``jump=False`` are the two classic slips."""
    out = []
    for axis in range(3):
        rf, j = 1, 1
        for m in layers:
            k, s = m.kernel_size[axis], m.stride[axis]
            if own_stride:
                j *= s
            rf += (k - 1) * (j if jump else 1)
            if not own_stride:
                j *= s
        out.append(rf)
    return tuple(out)


@pytest.mark.parametrize("label, on, layers", _stacks(), ids=[s[0] for s in _stacks()])
def test_the_measured_field_agrees_with_vidlearns_recursion(label, on, layers):
    assert measured_receptive_field(layers) == receptive_fields([(str(i), m) for i, m in enumerate(layers)])[-1]["rf"]


def test_c3ds_last_pool_sees_76_frames_of_150x150():
    stacks = {label: layers for label, _, layers in _stacks()}
    assert measured_receptive_field(stacks["C3D"]) == (76, 150, 150)
    assert measured_receptive_field(stacks["C3D depth 1"]) == (16, 150, 150)


def test_the_measurement_matches_a_3d_gradient():
    """All-ones 3D filters are separable, so three 1D measurements give the 3D field."""
    layers = [nn.Conv3d(1, 1, (3, 5, 5), (1, 2, 2), (1, 2, 2), bias=False), nn.Conv3d(1, 1, 3, bias=False)]
    for m in layers:
        nn.init.ones_(m.weight)
    x = torch.ones(1, 1, 12, 24, 24, requires_grad=True)
    y = nn.Sequential(*layers)(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2, y.shape[4] // 2].backward()
    seen = x.grad[0, 0].nonzero()
    extent = tuple(int(seen[:, a].max() - seen[:, a].min() + 1) for a in range(3))
    assert extent == measured_receptive_field(layers) == (5, 9, 9)


def test_a_correct_recursion_passes(capsys):
    ok, out = verdict(receptive_field, capsys)
    assert ok is True, out
    assert "correct on all 6 test inputs" in out and "C3D" in out


def test_vidlearns_receptive_fields_pass(capsys):
    ok, out = verdict(lambda layers: receptive_fields([(str(i), m) for i, m in enumerate(layers)])[-1]["rf"], capsys)
    assert ok is True, out


def test_forgetting_the_stride_product_is_named(capsys):
    ok, out = verdict(lambda layers: receptive_field(layers, jump=False), capsys)
    assert ok is False
    assert "expected a receptive field of (5, 9, 9)" in out and "got (5, 7, 7)" in out
    assert "product of the earlier strides" in out and "height and width differ" in out


def test_counting_a_layers_own_stride_is_named(capsys):
    ok, out = verdict(lambda layers: receptive_field(layers, own_stride=True), capsys)
    assert ok is False and "got (5, 13, 13)" in out and "including its own" in out


def test_the_wrong_axis_order_is_named(capsys):
    ok, out = verdict(lambda layers: receptive_field(layers)[::-1], capsys)
    assert ok is False and "wrong order" in out


def test_leaving_out_the_pools_is_named(capsys):
    ok, out = verdict(lambda layers: receptive_field([m for m in layers if isinstance(m, nn.Conv3d)]), capsys)
    assert ok is False and "leaves out the pools" in out and "I3D-like stem" in out


def test_an_answer_that_is_not_three_numbers_is_reported(capsys):
    ok, out = verdict(lambda layers: 76, capsys)
    assert ok is False and "return three whole numbers" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(layers):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


def test_a_crashing_function_is_reported_not_raised(capsys):
    def crash(layers):
        return layers[0].kernel_size[5]

    ok, out = verdict(crash, capsys)
    assert ok is False and "IndexError" in out and "one conv" in out


def test_the_callers_random_state_is_left_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    verdict(receptive_field, capsys)
    assert torch.equal(torch.rand(3), expected)
