"""The Summary chapter's view-average checker and Using vidlearn's clip-preprocessing checker accept right
answers, reject the usual mistakes with a message that names them, and never crash on the reader's code."""

import pytest
import torch

from vidlearn import exercises as ex
from vidlearn.train.views import average_views


def verdict(checker, fn, capsys):
    ok = checker(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def todo(*args):
    raise NotImplementedError


def crash(*args):
    raise ZeroDivisionError("boom")


def preprocess(frames, mean, std):
    x = frames.permute(3, 0, 1, 2).float() / 255
    return (x - torch.tensor(mean).view(-1, 1, 1, 1)) / torch.tensor(std).view(-1, 1, 1, 1)


def test_view_average_accepts_the_mean_of_softmax_scores(capsys):
    ok, msg = verdict(ex.check_view_average, lambda logits: logits.softmax(-1).mean(1), capsys)
    assert ok and "correct on all" in msg


@pytest.mark.parametrize("wrong, words", [
    (lambda logits: logits.mean(1).softmax(-1), "softmax of the mean logits"),
    (lambda logits: logits.mean(1), "apply a softmax to each view"),
    (lambda logits: logits.softmax(1).mean(1), "over the views (dim 1)"),
    (lambda logits: logits.softmax(-1).sum(1), "divide by V"),
    (lambda logits: logits.softmax(-1), "wrong shape"),
])
def test_view_average_names_the_mistake(capsys, wrong, words):
    ok, msg = verdict(ex.check_view_average, wrong, capsys)
    assert not ok and words in msg, msg


def test_average_views_is_what_evaluate_views_reports():
    logits = torch.randn(2, 6, 4)
    assert torch.allclose(average_views(logits), logits.softmax(-1).mean(1))
    assert torch.allclose(average_views(logits, "logits"), logits.mean(1).softmax(-1))
    with pytest.raises(ValueError, match="'softmax' or 'logits'"):
        average_views(logits, "max")


def test_clip_preprocess_accepts_to_tensor_then_normalize(capsys):
    ok, msg = verdict(ex.check_clip_preprocess, preprocess, capsys)
    assert ok and "correct on all 3" in msg


@pytest.mark.parametrize("wrong, words", [
    (lambda f, m, s: (f.permute(3, 0, 1, 2).float() - torch.tensor(m).view(-1, 1, 1, 1))
     / torch.tensor(s).view(-1, 1, 1, 1), "not divided by 255"),
    (lambda f, m, s: f.permute(3, 0, 1, 2).float() / 255, "not normalised"),
    (lambda f, m, s: preprocess(f, m, s).transpose(0, 1), "(T, C, H, W)"),
    (lambda f, m, s: preprocess(f, m, s).to(torch.float16).round(), "differ"),
])
def test_clip_preprocess_names_the_mistake(capsys, wrong, words):
    ok, msg = verdict(ex.check_clip_preprocess, wrong, capsys)
    assert not ok and words in msg, msg


@pytest.mark.parametrize("checker", [ex.check_view_average, ex.check_clip_preprocess])
def test_new_checkers_say_not_implemented_and_survive_a_crash(capsys, checker):
    ok, msg = verdict(checker, todo, capsys)
    assert not ok and "not implemented yet" in msg
    ok, msg = verdict(checker, crash, capsys)
    assert not ok and "ZeroDivisionError" in msg
