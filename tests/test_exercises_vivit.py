"""The central-frame checker (ViViT chapter): the right answer passes, the usual mistakes are named."""

import torch

from vidlearn.exercises.vivit import check_central_frame_init
from vidlearn.models.vivit import TubeletEmbed, inflate_patch_embedding


def verdict(fn, capsys):
    ok = check_central_frame_init(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def central_frame(weight_2d, t):
    out = torch.zeros(weight_2d.shape[:2] + (t,) + weight_2d.shape[2:])  # (D, C, t, h, w)
    out[:, :, t // 2] = weight_2d
    return out


def test_a_correct_function_passes(capsys):
    ok, out = verdict(central_frame, capsys)
    assert ok is True, out
    assert "correct on all 5 test inputs" in out and "t=4" in out


def test_vidlearns_own_initialisation_passes(capsys):
    ok, out = verdict(lambda w, t: inflate_patch_embedding(w, t, "central_frame"), capsys)
    assert ok is True, out


def test_the_result_makes_a_tubelet_embedding_read_the_central_frame():
    embed = TubeletEmbed((3, 4, 4), 3, 8)
    w2 = torch.randn(8, 3, 4, 4)
    embed.load_2d(w2, method="central_frame")
    clip = torch.randn(1, 3, 6, 8, 8)
    tokens, grid = embed(clip)  # (1, 2*2*2, 8)
    frames = torch.nn.functional.conv2d(clip[0, :, 1::3].transpose(0, 1), w2, embed.proj.bias, stride=4)
    assert grid == (2, 2, 2)
    torch.testing.assert_close(tokens[0], frames.flatten(2).transpose(1, 2).flatten(0, 1))  # (t h w) order


def test_filter_inflation_is_named(capsys):
    ok, out = verdict(lambda w, t: inflate_patch_embedding(w, t, "filter_inflation"), capsys)
    assert ok is False and "This is filter inflation" in out and "t=2" in out


def test_copying_without_dividing_is_named(capsys):
    ok, out = verdict(lambda w, t: w[:, :, None].repeat(1, 1, t, 1, 1), capsys)
    assert ok is False and "into every frame" in out


def test_the_wrong_centre_for_an_even_t_is_named(capsys):
    def early(weight_2d, t):
        out = torch.zeros(weight_2d.shape[:2] + (t,) + weight_2d.shape[2:])
        out[:, :, (t - 1) // 2] = weight_2d
        return out

    ok, out = verdict(early, capsys)
    assert ok is False and "t // 2 = 1" in out and "t=2" in out


def test_the_time_axis_in_the_wrong_place_is_named(capsys):
    ok, out = verdict(lambda w, t: central_frame(w, t).movedim(2, -1), capsys)
    assert ok is False and "wrong shape" in out and "time axis goes at dim 2" in out


def test_changing_the_2d_filter_in_place_is_reported(capsys):
    def in_place(weight_2d, t):
        out = central_frame(weight_2d, t)
        weight_2d.zero_()
        return out

    ok, out = verdict(in_place, capsys)
    assert ok is False and "changed weight_2d in place" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(weight_2d, t):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


def test_a_crashing_function_is_reported_not_raised(capsys):
    def crash(weight_2d, t):
        return weight_2d[:, :, :, :, t]

    ok, out = verdict(crash, capsys)
    assert ok is False and "IndexError" in out and "t=2" in out


def test_the_callers_random_state_is_left_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    verdict(central_frame, capsys)
    assert torch.equal(torch.rand(3), expected)
