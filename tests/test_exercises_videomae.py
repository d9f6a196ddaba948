"""The tube-mask checker (VideoMAE chapter): the right answer passes, the usual mistakes are named."""

import torch

from vidlearn.exercises.videomae import check_tube_mask
from vidlearn.models.videomae import random_mask, tube_mask


def verdict(fn, capsys):
    ok = check_tube_mask(fn)
    return ok, " ".join(capsys.readouterr().out.split())


def test_vidlearns_tube_mask_passes(capsys):
    ok, out = verdict(lambda b, t, hw, r: tube_mask(b, t, hw, r), capsys)
    assert ok is True, out
    assert "correct on all 5 test inputs" in out


def test_random_masking_is_named(capsys):
    ok, out = verdict(lambda b, t, hw, r: random_mask(b, t, hw, r), capsys)
    assert ok is False and "random masking" in out


def test_the_wrong_token_order_is_named(capsys):
    def interleaved(b, t, hw, r):
        return tube_mask(b, 1, hw, r).repeat_interleave(t, dim=1)  # (h w t) order

    ok, out = verdict(interleaved, capsys)
    assert ok is False and "(h w t)" in out


def test_one_mask_for_the_whole_batch_is_refused(capsys):
    def shared(b, t, hw, r):
        return tube_mask(1, t, hw, r, generator=torch.Generator().manual_seed(0)).expand(b, -1)

    ok, out = verdict(shared, capsys)
    assert ok is False and "same mask" in out


def test_wrong_shape_dtype_and_count_are_reported(capsys):
    ok, out = verdict(lambda b, t, hw, r: tube_mask(b, t, hw, r).view(b, t, hw), capsys)
    assert ok is False and "wrong" not in out and "(batch, grid_t * grid_hw)" in out
    ok, out = verdict(lambda b, t, hw, r: tube_mask(b, t, hw, r).float(), capsys)
    assert ok is False and "bool" in out
    ok, out = verdict(lambda b, t, hw, r: tube_mask(b, t, hw, min(0.95, r + 0.1)), capsys)
    assert ok is False and "int(ratio * grid_hw)" in out


def test_an_unfinished_exercise_gets_a_hint(capsys):
    def todo(b, t, hw, r):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out


def test_a_crashing_function_is_reported_and_the_callers_random_state_is_kept(capsys):
    def crash(b, t, hw, r):
        raise RuntimeError("boom")

    state = torch.random.get_rng_state()
    ok, out = verdict(crash, capsys)
    assert ok is False and "boom" in out and "grid_hw=196" in out
    verdict(lambda b, t, hw, r: tube_mask(b, t, hw, r), capsys)
    assert torch.equal(torch.random.get_rng_state(), state)
