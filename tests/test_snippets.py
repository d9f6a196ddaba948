"""Beyond Short Snippets: the five feature-pooling variants and the LSTM with its combinations over time."""

import pytest
import torch

from vidlearn import create_model

POOLINGS = ["conv", "late", "slow", "local", "time_conv"]


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("pooling", POOLINGS)
def test_every_pooling_variant_trains_with_documented_shape(pooling):
    torch.manual_seed(0)
    model = create_model("conv_pooling", num_classes=4, tiny=True, pooling=pooling)
    y = model(model.example_input(batch_size=2))
    assert y.shape == (2, 4)
    y.sum().backward()
    assert model.classifier.weight.grad.abs().sum() > 0
    assert 50_000 <= n_params(model) <= 500_000


@pytest.mark.parametrize("pooling", ["conv", "late", "slow"])
def test_max_pooling_over_time_of_a_static_clip_does_not_depend_on_its_length(pooling):
    model = create_model("conv_pooling", tiny=True, pooling=pooling).eval()
    frame = torch.randn(2, 3, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(frame.expand(-1, -1, 4, -1, -1)), model(frame.expand(-1, -1, 8, -1, -1)))


def test_conv_pooling_keeps_the_strongest_frame_per_location():
    model = create_model("conv_pooling", tiny=True).eval()
    x = model.example_input(1)
    with torch.no_grad():
        maps = model.conv_maps(x)  # (1, T, D, h, w)
        pooled = model.fc7(model.fc6(maps.amax(1).mean((2, 3))))
        torch.testing.assert_close(model.forward_features(x), pooled)


def test_local_pooling_concatenates_one_feature_per_window():
    model = create_model("conv_pooling", tiny=True, pooling="local")
    windows = (model.cfg.frames - model.cfg.window) // model.cfg.window_stride + 1
    assert windows == 3
    assert model.forward_features(model.example_input(1)).shape == (1, windows * model.cfg.fc_dim)
    with pytest.raises(ValueError, match=r"T=8 frames, got T=6"):
        model(torch.randn(1, 3, 6, 32, 32))


def test_window_poolings_need_a_full_window_of_frames():
    with pytest.raises(ValueError, match=r"at least T=4 frames"):
        create_model("conv_pooling", tiny=True, pooling="time_conv")(torch.randn(1, 3, 3, 32, 32))
    with pytest.raises(ValueError, match="unknown pooling"):
        create_model("conv_pooling", tiny=True, pooling="mean")


@pytest.mark.parametrize("combine", ["mean", "max", "last", "weighted"])
def test_lstm_combines_per_frame_predictions(combine):
    torch.manual_seed(0)
    model = create_model("lstm_snippets", tiny=True, combine=combine).eval()
    x = model.example_input(2)
    with torch.no_grad():
        frames, y = model.forward_frames(x), model(x)
    probs = frames.softmax(-1)
    t = probs.shape[1]
    expected = {
        "mean": probs.mean(1).log(),
        "max": (probs.amax(1) / probs.amax(1).sum(-1, keepdim=True)).log(),
        "last": frames[:, -1],
        "weighted": (probs * torch.arange(1.0, t + 1)[None, :, None]).sum(1).div(t * (t + 1) / 2).log(),
    }[combine]
    torch.testing.assert_close(y, expected)


@pytest.mark.parametrize("combine", ["mean", "weighted"])
def test_lstm_combine_weights_are_built_once_as_a_buffer_that_follows_the_device(combine, monkeypatch):
    model = create_model("lstm_snippets", tiny=True, combine=combine).eval()
    g = dict(model.named_buffers())["combine_weights"]
    t = model.cfg.frames
    expected = torch.ones(t) / t if combine == "mean" else torch.arange(1.0, t + 1) / (t * (t + 1) / 2)
    torch.testing.assert_close(g, expected)
    assert "combine_weights" not in model.state_dict()  # checkpoints keep their keys
    x = model.example_input(2)
    with torch.no_grad():
        before = model(x)

    def no_new_tensors(*args, **kwargs):
        raise AssertionError("the forward built its combine weights again")

    monkeypatch.setattr(torch, "arange", no_new_tensors)
    monkeypatch.setattr(torch, "ones", no_new_tensors)
    with torch.no_grad():
        torch.testing.assert_close(model(x), before)  # the configured length uses the buffer
    monkeypatch.undo()
    model.to(torch.float64)
    assert model.combine_weights.dtype == torch.float64  # a buffer follows .to() (device and dtype)
    with torch.no_grad():
        assert model(x.double()[:, :, :5]).shape == (2, model.cfg.num_classes)  # other lengths still work


def test_lstm_prediction_at_frame_t_does_not_see_later_frames():
    model = create_model("lstm_snippets", tiny=True).eval()
    x = model.example_input(1)
    changed = x.clone()
    changed[:, :, 5:] = 0
    with torch.no_grad():
        a, b = model.forward_frames(x), model.forward_frames(changed)
    torch.testing.assert_close(a[:, :5], b[:, :5])
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_lstm_trains_and_is_stacked_as_configured():
    model = create_model("lstm_snippets", num_classes=3, tiny=True)
    model(model.example_input(2)).sum().backward()
    assert model.lstm.num_layers == 2 and model.lstm.weight_ih_l0.grad.abs().sum() > 0


def test_paper_size_models_have_googlenet_features_and_expected_parameters():
    conv = create_model("conv_pooling").eval()
    lstm = create_model("lstm_snippets").eval()
    # GoogLeNet features 5,599,904 + fc 1024->4096->4096 + 4096->487
    assert n_params(conv) == 28_574_855
    # GoogLeNet features + 5 x LSTM(512) + 512->487
    assert n_params(lstm) == 17_404_551
    assert lstm.lstm.num_layers == 5 and lstm.lstm.hidden_size == 512 and conv.cfg.frames == 30
    with torch.no_grad():
        assert conv(conv.example_input(1, small=True)).shape == (1, 487)
        assert lstm(lstm.example_input(1, small=True)).shape == (1, 487)
