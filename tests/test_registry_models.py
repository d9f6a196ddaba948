"""Every registered model, paper size and tiny: builds, runs forward (and backward when tiny) with the
documented output shape, and rejects a wrongly shaped input with a clear error."""

import pytest
import torch

import vidlearn

MODELS = vidlearn.list_models()


def test_registry_has_the_foundation_baseline():
    assert "single_frame" in MODELS


def _batch(x):
    return len(x[0]) if isinstance(x, (list, tuple)) else len(x)


@pytest.mark.parametrize("name", MODELS)
def test_tiny_model_forward_backward_gives_batch_by_classes(name):
    torch.manual_seed(0)
    model = vidlearn.create_model(name, num_classes=7, tiny=True)
    x = model.example_input(2)
    out = model(x)
    assert out.shape == (2, 7), f"{name}: expected logits (2, 7), got {tuple(out.shape)}"
    out.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads[:1]), f"{name}: no gradient reached the first parameter"
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


@pytest.mark.parametrize("name", MODELS)
def test_paper_size_model_runs_on_a_small_input(name):
    torch.manual_seed(0)
    model = vidlearn.create_model(name).eval()
    x = model.example_input(1, small=True)
    with torch.no_grad():
        out = model(x)
    num_classes = model.cfg.num_classes if hasattr(model, "cfg") else out.shape[1]
    assert out.shape == (_batch(x), num_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", MODELS)
def test_model_rejects_a_4d_input_with_a_clear_error(name):
    model = vidlearn.create_model(name, tiny=True)
    with pytest.raises((ValueError, TypeError)) as err:
        model(torch.randn(2, 3, 8, 32))
    msg = str(err.value)
    assert "got" in msg or "expect" in msg, f"{name}: unclear error message: {msg}"


@pytest.mark.parametrize("name", MODELS)
def test_tiny_model_output_is_deterministic_in_eval_mode(name):
    torch.manual_seed(0)
    model = vidlearn.create_model(name, num_classes=5, tiny=True).eval()
    x = model.example_input(2)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
