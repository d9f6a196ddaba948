import pytest

from vidlearn import scale


def test_env_var_chooses_the_preset(monkeypatch):
    monkeypatch.setenv("VIDLEARN_SCALE", "ci")
    assert scale.preset().name == "ci"
    monkeypatch.setenv("VIDLEARN_SCALE", "GPU")
    assert scale.preset().name == "gpu"


def test_without_env_var_the_preset_follows_cuda(monkeypatch):
    import torch

    monkeypatch.delenv("VIDLEARN_SCALE", raising=False)
    assert scale.preset().name == ("gpu" if torch.cuda.is_available() else "cpu")


def test_unknown_preset_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("VIDLEARN_SCALE", "huge")
    with pytest.raises(ValueError, match="huge.*ci, cpu, gpu"):
        scale.preset()


def test_presets_grow_from_ci_to_gpu():
    ci, cpu, gpu = (scale.PRESETS[k] for k in ("ci", "cpu", "gpu"))
    for field in ("frames", "size", "train_samples", "epochs"):
        assert getattr(ci, field) <= getattr(cpu, field) <= getattr(gpu, field), field
    assert gpu.amp and not ci.amp


def test_describe_names_the_preset_and_how_to_change_it():
    text = scale.PRESETS["ci"].describe()
    assert "'ci'" in text and "VIDLEARN_SCALE" in text
    assert scale.PRESETS["ci"].replace(epochs=1).epochs == 1


def test_n_train_scales_the_preset_and_stops_at_its_maximum():
    from vidlearn.scale import PRESETS

    ci, gpu = PRESETS["ci"], PRESETS["gpu"]
    assert ci.n_train() == ci.train_samples and ci.n_train(3) == 3 * ci.train_samples  # does not bind at ci
    assert gpu.n_train(3) == gpu.max_train_samples < 3 * gpu.train_samples  # a T4's budget at gpu
    with pytest.raises(ValueError, match="positive integer"):
        ci.n_train(0)
