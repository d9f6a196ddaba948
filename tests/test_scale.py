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


def test_a_recipe_takes_the_presets_sizes_where_it_sets_none():
    from vidlearn.scale import PRESETS

    cpu = PRESETS["cpu"]
    depths = cpu.recipe("c3d.depths")  # sets only what it sweeps
    assert (depths.frames, depths.size, depths.train_samples, depths.epochs) == (
        cpu.frames, cpu.size, cpu.train_samples, cpu.epochs)
    assert depths.values == (1, 3, 5, 7) and PRESETS["ci"].recipe("c3d.depths").values == (1, 3)
    assert cpu.replace(epochs=1).recipe("vivit.motion").epochs == 10  # fixed when the preset was built


def test_an_unknown_recipe_names_the_ones_there_are():
    from vidlearn.scale import PRESETS

    with pytest.raises(KeyError, match=r"no recipe 'slowfst'.*slowfast"):
        PRESETS["ci"].recipe("slowfst")
    with pytest.raises(ValueError, match="unknown fields.*'frame'"):
        PRESETS["ci"].replace(recipes={"x": {"frame": 3}}).recipe("x")


# what the chapters' text says of their recipes at ci and cpu (Non-local, SlowFast, TimeSformer)
FIXED_ON_CPU = {
    "non_local.match": dict(train_samples=2000, val_samples=400, frames=12, size=32, epochs=8),
    "slowfast": dict(train_samples=960, val_samples=320, frames=16, size=32, epochs=8),
    "timesformer.long": dict(train_samples=3000, frames=8, size=32, epochs=20, batch_size=32),
}


@pytest.mark.parametrize("name", sorted(FIXED_ON_CPU))
def test_the_recipes_the_chapters_call_fixed_on_cpu_are(name):
    from vidlearn.scale import PRESETS

    for p in ("ci", "cpu"):
        r = PRESETS[p].recipe(name)
        assert {k: getattr(r, k) for k in FIXED_ON_CPU[name]} == FIXED_ON_CPU[name], (p, r)
    assert PRESETS["gpu"].recipe(name).train_samples > FIXED_ON_CPU[name]["train_samples"]


def test_the_videomae_recipe_is_the_one_its_chapter_found_and_the_same_at_every_preset():
    # the chapter's text: 320 unlabelled clips of 8x32x32, 64 pre-training and 32 fine-tuning epochs; measured
    # at this size only, so the gpu preset must not scale it
    from vidlearn.scale import PRESETS

    want = dict(frames=8, size=32, train_samples=320, val_samples=160, epochs=32, batch_size=16)
    for p in PRESETS.values():
        r = p.recipe("videomae.masking")
        assert {k: getattr(r, k) for k in want} == want, (p.name, r)


def test_every_preset_has_the_same_recipes_and_the_views_recipe_is_torchvisions_at_cpu():
    from vidlearn.data.transforms import kinetics400_preprocess
    from vidlearn.scale import PRESETS

    assert len({frozenset(p.recipes) for p in PRESETS.values()}) == 1
    assert PRESETS["cpu"].recipe("your_own_videos.views").values == (
        kinetics400_preprocess("r2plus1d_18").clips_per_video,)
