"""The "Working with video" chapter's checker (uniform frame sampling) accepts right answers, names the
usual mistakes and never crashes."""

import numpy as np
import pytest
import torch

from vidlearn.data.samplers import UniformSampler
from vidlearn.exercises import check_uniform_sampler


def verdict(fn, capsys):
    ok = check_uniform_sampler(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def uniform(num_video_frames, num_frames):
    """A reader's solution: the centres of num_frames equal bins."""
    bin_size = num_video_frames / num_frames
    return np.floor((np.arange(num_frames) + 0.5) * bin_size).astype(np.int64)


@pytest.mark.parametrize("fn", [
    uniform,
    lambda n, t: [int((i + 0.5) * n / t) for i in range(t)],  # a list
    lambda n, t: torch.from_numpy(uniform(n, t)),  # a tensor
    lambda n, t: UniformSampler(t)(n),  # vidlearn's own
], ids=["numpy", "list", "tensor", "vidlearn"])
def test_correct_solutions_pass(fn, capsys):
    ok, out = verdict(fn, capsys)
    assert ok is True, out
    assert "correct on all 7 test inputs" in out


def test_indices_past_the_last_frame_are_reported(capsys):
    ok, out = verdict(lambda n, t: (np.arange(t) + 1) * n // t, capsys)  # the last index is n
    assert ok is False and "index 250 is out of range" in out and "frames 0 .. 249" in out


def test_endpoints_instead_of_bin_centres_are_named(capsys):
    ok, out = verdict(lambda n, t: np.linspace(0, n - 1, t).round().astype(int), capsys)
    assert ok is False and "np.linspace(0, n - 1, T)" in out and "centres of T equal bins" in out
    assert "expected [15, 46, 78" in out and "num_video_frames=250" in out


def test_bin_starts_are_named(capsys):
    ok, out = verdict(lambda n, t: np.arange(t) * n // t, capsys)
    assert ok is False and "starts of the T equal bins" in out


def test_rounding_instead_of_floor_is_named(capsys):
    ok, out = verdict(lambda n, t: np.round((np.arange(t) + 0.5) * n / t).astype(int), capsys)
    assert ok is False and "rounded" in out and "floor" in out


def test_a_dense_clip_is_not_evenly_spread(capsys):
    ok, out = verdict(lambda n, t: np.arange(t), capsys)
    assert ok is False and "first T frames" in out and "spread them evenly" in out


def test_unsorted_indices_are_named(capsys):
    ok, out = verdict(lambda n, t: uniform(n, t)[::-1], capsys)
    assert ok is False and "not sorted" in out


def test_the_wrong_count_is_reported(capsys):
    ok, out = verdict(lambda n, t: uniform(n, t)[:-1], capsys)
    assert ok is False and "expected 8 indices" in out and "got shape (7,)" in out


def test_swapped_arguments_get_a_hint(capsys):
    ok, out = verdict(lambda n, t: uniform(t, n), capsys)
    assert ok is False and "swap the arguments" in out


def test_float_indices_are_reported(capsys):
    ok, out = verdict(lambda n, t: np.floor((np.arange(t) + 0.5) * n / t), capsys)
    assert ok is False and "should be integers" in out and "astype(np.int64)" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(num_video_frames, num_frames):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


@pytest.mark.parametrize("fn", [lambda n, t: 1 / 0, lambda n, t: "frames", lambda n, t: None],
                         ids=["raises", "string", "none"])
def test_a_broken_function_is_reported_not_raised(fn, capsys):
    ok, out = verdict(fn, capsys)
    assert ok is False and "num_video_frames=250" in out


def test_the_callers_random_state_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_uniform_sampler(uniform)
    assert torch.equal(torch.rand(3), expected)
