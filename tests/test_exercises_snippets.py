"""The conv-pooling checker (Beyond Short Snippets chapter) accepts a right answer and names the usual mistakes."""

import torch

from vidlearn import exercises as ex
from vidlearn.exercises.snippets import _conv_pooling_reference
from vidlearn.models.snippets import FeaturePooling, SnippetsConfig


def verdict(fn, capsys):
    ok = ex.check_conv_pooling(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def conv_pooling(maps):
    return maps.amax(dim=1).mean(dim=(2, 3))  # max over T, then mean over h, w


def test_the_reference_is_what_feature_pooling_feeds_to_fc6():
    torch.manual_seed(0)
    model = FeaturePooling(SnippetsConfig.tiny(pooling="conv")).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        maps = model.conv_maps(x)  # (B, T, D, h, w)
        fc6_input = []
        model.fc6.register_forward_hook(lambda m, i, o: fc6_input.append(i[0]))
        model(x)
    assert torch.allclose(_conv_pooling_reference()(maps), fc6_input[0])


def test_a_correct_conv_pooling_passes(capsys):
    ok, out = verdict(conv_pooling, capsys)
    assert ok is True, out
    assert "correct on all 4 test inputs" in out


def test_the_mean_over_time_instead_of_the_max_is_named(capsys):
    ok, out = verdict(lambda m: m.mean(dim=1).mean(dim=(2, 3)), capsys)
    assert ok is False
    assert "average over time" in out and "(2, 5, 6, 3, 4)" in out and "clip" in out and "channel" in out


def test_pooling_space_before_time_is_named(capsys):
    ok, out = verdict(lambda m: m.mean(dim=(3, 4)).amax(dim=1), capsys)
    assert ok is False and "averaged over space first" in out


def test_keeping_the_spatial_map_gets_a_shape_hint(capsys):
    ok, out = verdict(lambda m: m.amax(dim=1), capsys)
    assert ok is False and "expected (2, 6), got (2, 6, 3, 4)" in out and "kept the spatial map" in out


def test_pooling_over_the_channels_gets_a_shape_hint(capsys):
    ok, out = verdict(lambda m: m.amax(dim=2).mean(dim=(2, 3)), capsys)
    assert ok is False and "expected (2, 6), got (2, 5)" in out and "channels" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(maps):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


def test_a_crashing_function_is_reported_not_raised(capsys):
    def crash(maps):
        raise ValueError("boom")

    ok, out = verdict(crash, capsys)
    assert ok is False and "ValueError: boom" in out and "(2, 5, 6, 3, 4)" in out


def test_the_callers_random_state_is_left_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    verdict(conv_pooling, capsys)
    assert torch.equal(torch.rand(3), expected)
