"""Every bad input gets a clear error from vidlearn naming what was expected and what came (issue 14)."""

import pytest
import torch

import vidlearn

MODELS = vidlearn.list_models()


def _resize(x, h, w):
    if isinstance(x, (list, tuple)):
        return type(x)(_resize(e, h, w) for e in x)
    return torch.randn(*x.shape[:3], h, w)


def _empty(x):
    return type(x)(e[:0] for e in x) if isinstance(x, (list, tuple)) else x[:0]


@pytest.mark.parametrize("tiny", [True, False], ids=["tiny", "paper"])
@pytest.mark.parametrize("name", MODELS)
def test_model_states_its_min_frame_size_and_rejects_one_pixel_less(name, tiny):
    torch.manual_seed(0)
    model = vidlearn.create_model(name, tiny=tiny).eval()
    h, w = model.min_size
    x = model.example_input(1, small=True)
    with torch.no_grad():
        out = model(_resize(x, h, w))  # the minimum itself works
        assert out.shape[0] == 1 and torch.isfinite(out).all()
        for hh, ww in ((h - 1, w), (h, w - 1)):
            with pytest.raises(ValueError, match=f"at least H x W = {h} x {w}, got {hh} x {ww}"):
                model(_resize(x, hh, ww))


@pytest.mark.parametrize("name", MODELS)
def test_model_returns_zero_by_classes_on_an_empty_batch(name):
    model = vidlearn.create_model(name, num_classes=7, tiny=True).eval()
    with torch.no_grad():
        out = model(_empty(model.example_input(2)))
    assert out.shape == (0, 7)


@pytest.mark.parametrize("name", MODELS)
def test_model_trains_on_a_batch_of_one(name):
    torch.manual_seed(0)
    model = vidlearn.create_model(name, num_classes=5, tiny=True).train()
    out = model(model.example_input(1))
    assert out.shape == (1, 5)
    out.sum().backward()


@pytest.mark.parametrize("name", ["two_stream", "tsn_two_stream", "i3d_two_stream", "fusion_two_stream",
                                  "slowfast_r50"])
def test_multi_input_model_rejects_inputs_of_different_batch_sizes(name):
    model = vidlearn.create_model(name, tiny=True).eval()
    a, b = model.example_input(2)
    with pytest.raises(ValueError, match="same batch size") as err:
        model(type(model.example_input(2))([a, b[:1]]))
    assert str(tuple(a.shape)) in str(err.value) and str(tuple(b[:1].shape)) in str(err.value)


def test_check_video_rejects_empty_time_or_space():
    from vidlearn.layers.checks import check_video

    for shape in [(1, 3, 0, 8, 8), (1, 3, 2, 0, 8), (1, 3, 2, 8, 0)]:
        with pytest.raises(ValueError, match="at least"):
            check_video(torch.zeros(shape), channels=3, model="M")


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("10", TypeError),
                                        (True, TypeError)])
def test_create_model_rejects_a_num_classes_that_is_not_a_positive_int(bad, error):
    with pytest.raises(error, match=f"num_classes must be a positive int, got {bad!r}"):
        vidlearn.create_model("c3d", num_classes=bad, tiny=True)


def test_every_model_config_rejects_a_bad_num_classes_built_directly():
    from dataclasses import fields, is_dataclass

    import vidlearn.models as models_pkg
    configs = {cls for mod in vars(models_pkg).values() if hasattr(mod, "__dict__")
               for cls in vars(mod).values()
               if isinstance(cls, type) and is_dataclass(cls) and "num_classes" in {f.name for f in fields(cls)}}
    assert len(configs) >= 12
    for cls in configs:
        with pytest.raises(ValueError, match=f"{cls.__name__}.num_classes must be a positive int, got 0"):
            cls(num_classes=0)
        with pytest.raises(TypeError, match="must be a positive int"):
            cls.tiny(num_classes="10")
    assert vidlearn.create_model("c3d", num_classes=1, tiny=True).fc8.out_features == 1


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_samples=0), ValueError, "num_samples must be >= 1"),
    (dict(num_samples=2.5), TypeError, r"num_samples must be an int, got 2.5 \(float\)"),
    (dict(size=32.5), TypeError, r"size must be an int, got 32.5"),
    (dict(frames=True), TypeError, r"frames must be an int, got True"),
])
def test_synthetic_actions_rejects_non_integer_or_empty_sizes(kwargs, error, match):
    from vidlearn.data.synthetic import SyntheticActions

    with pytest.raises(error, match=match):
        SyntheticActions(**{"num_samples": 4, "frames": 8, "size": 32, **kwargs})


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_fit_and_evaluate_reject_a_batch_size_that_is_not_a_positive_int(batch_size):
    from torch.utils.data import TensorDataset

    from vidlearn.train import evaluate, fit

    data = TensorDataset(torch.rand(4, 3, 2, 8, 8), torch.tensor([0, 1, 0, 1]))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 8 * 8, 2))
    with pytest.raises(ValueError, match=f"batch_size must be a positive int, got {batch_size!r}"):
        evaluate(model, data, batch_size=batch_size)
    with pytest.raises(ValueError, match=f"batch_size must be a positive int, got {batch_size!r}"):
        fit(model, data, epochs=1, batch_size=batch_size, verbose=False, progress=False)
