"""The pooled-shape checker (MViT chapter): a measured reference, right answers pass, mistakes are named."""

import pytest
import torch
import torch.nn as nn

from vidlearn.exercises.mvit import CASES, check_pooled_shape, pooled_grid
from vidlearn.models.mvit import conv_out


def verdict(fn, capsys):
    ok = check_pooled_shape(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def pooled(grid, kernel, stride, padding):
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(grid, kernel, stride, padding))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_measured_grid_agrees_with_the_models_formula_and_a_real_conv(case):
    _, grid, kernel, stride, padding = case
    conv = nn.Conv3d(1, 1, kernel, stride=stride, padding=padding, bias=False)
    assert pooled_grid(grid, kernel, stride, padding) == conv_out(grid, kernel, stride, padding) == \
        tuple(conv(torch.zeros(1, 1, *grid)).shape[2:])


def test_mvit_bs_grids_are_the_papers():
    assert pooled_grid((16, 224, 224), (3, 7, 7), (2, 4, 4), (1, 3, 3)) == (8, 56, 56)
    assert pooled_grid((8, 56, 56), (3, 3, 3), (1, 8, 8), (1, 1, 1)) == (8, 7, 7)


def test_the_formula_passes(capsys):
    ok, out = verdict(pooled, capsys)
    assert ok is True, out
    assert f"correct on all {len(CASES)} test inputs" in out and "(16, 224, 224) -> (8, 56, 56)" in out


def test_lists_and_tensors_are_accepted(capsys):
    assert verdict(lambda *a: list(pooled(*a)), capsys)[0] is True
    assert verdict(lambda *a: torch.tensor(pooled(*a)), capsys)[0] is True


@pytest.mark.parametrize("wrong, named", [
    (lambda g, k, s, p: tuple((n + 2 * q - kk) // ss for n, kk, ss, q in zip(g, k, s, p)), "one less"),
    (lambda g, k, s, p: tuple((n - kk) // ss + 1 for n, kk, ss in zip(g, k, s)), "leaves out the padding"),
    (lambda g, k, s, p: tuple((n + q - kk) // ss + 1 for n, kk, ss, q in zip(g, k, s, p)), "pads one end"),
    (lambda g, k, s, p: tuple(n // ss for n, ss in zip(g, s)), "It is n // s"),
    (lambda g, k, s, p: tuple(-(-n // ss) for n, ss in zip(g, s)), "ceil(n / s)"),
    (lambda g, k, s, p: tuple(-(-(n + 2 * q - kk) // ss) + 1 for n, kk, ss, q in zip(g, k, s, p)), "rounds up"),
    (lambda g, k, s, p: pooled(g, k, s, p)[::-1], "wrong order"),
], ids=["no +1", "no padding", "padding once", "n // s", "ceil n / s", "rounds up", "order"])
def test_the_usual_mistakes_are_named(wrong, named, capsys):
    ok, out = verdict(wrong, capsys)
    assert ok is False and "expected" in out and named in out, out


def test_the_first_wrong_case_is_named_with_its_settings(capsys):
    ok, out = verdict(lambda g, k, s, p: tuple(n // ss for n, ss in zip(g, s)), capsys)
    assert ok is False and "odd 7x7 grid" in out and "expected (8, 4, 4)" in out and "got (8, 3, 3)" in out
    assert "H', W' differ" in out


def test_an_answer_that_is_not_three_numbers_is_reported(capsys):
    ok, out = verdict(lambda g, k, s, p: 25088, capsys)
    assert ok is False and "return three whole numbers" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(grid, kernel, stride, padding):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


def test_a_crashing_function_is_reported_not_raised(capsys):
    def crash(grid, kernel, stride, padding):
        return grid[5]

    ok, out = verdict(crash, capsys)
    assert ok is False and "IndexError" in out and "cube embedding" in out


def test_a_non_function_is_refused(capsys):
    ok, out = verdict((8, 56, 56), capsys)
    assert ok is False and "pass your function itself" in out
