"""vidlearn.data.in_memory: clips made once, read back equal (float32) or within a video's rounding (uint8)."""

import pytest
import torch

from vidlearn.data import InMemoryClips, SyntheticActions, in_memory
from vidlearn.data.transforms import Normalize
from vidlearn.scale import PRESETS


def _data(**kw):
    kw.setdefault("transform", None)  # in [0, 1]; the tests that want a transform pass one
    return SyntheticActions("motion", num_samples=12, frames=4, size=16, seed=3, **kw)


def test_float32_reads_back_exactly_what_the_dataset_makes_with_its_transform():
    data = _data(transform=Normalize((0.45,) * 3, (0.25,) * 3))
    kept = in_memory(data)
    assert len(kept) == len(data) and kept.clips.dtype == torch.float32
    for i in range(len(data)):
        x, y = kept[i]
        ref, ref_y = data[i]
        assert y == ref_y and isinstance(y, int)
        assert torch.equal(x, ref)
    assert kept.classes == data.classes and kept.num_classes == data.num_classes
    assert kept.mode == "motion" and kept.frames == 4 and kept.size == 16


def test_uint8_is_within_half_a_level_and_takes_a_quarter_of_the_memory():
    data = _data()
    exact, small = in_memory(data), in_memory(data, dtype="uint8")
    assert small.clips.dtype == torch.uint8 and small.nbytes * 4 == exact.nbytes
    for i in range(len(data)):
        err = (small[i][0] - data[i][0]).abs().max().item()
        assert err <= 0.5 / 255 + 1e-6
    assert not torch.equal(small[0][0], data[0][0])  # it does round: the docstring's "1/510 off" is real


def test_the_transform_runs_on_every_read_so_random_transforms_differ_per_epoch():
    calls = []

    def noisy(x):
        calls.append(1)
        return x + torch.rand(())

    kept = in_memory(_data(transform=noisy))
    calls.clear()  # none while making: the transform was set aside
    a, b = kept[0][0], kept[0][0]
    assert len(calls) == 2 and not torch.equal(a, b)


def test_no_transform_runs_while_the_clips_are_made_and_the_dataset_keeps_its_own():
    seen = []
    data = _data(transform=lambda x: seen.append(1) or x)
    in_memory(data)
    assert seen == [] and data.transform is not None


def test_reads_do_not_change_the_storage():
    kept = in_memory(_data())
    before = kept.clips.clone()
    x, _ = kept[0]
    x.add_(1.0)
    assert torch.equal(kept.clips, before)


def test_with_transform_shares_the_clips_without_copying():
    kept = in_memory(_data(transform=Normalize((0.45,) * 3, (0.25,) * 3)))
    first = kept.with_transform(lambda x: x[:, :1])
    assert first.clips is kept.clips
    assert first[2][0].shape == (3, 1, 16, 16) and kept[2][0].shape == (3, 4, 16, 16)
    assert torch.equal(kept.with_transform(None)[2][0], _data()[2][0])


def test_worker_processes_make_the_same_clips():
    data = _data()
    assert torch.equal(in_memory(data, num_workers=2, batch_size=5).clips, in_memory(data).clips)


def test_trains_like_the_dataset_itself():
    from vidlearn import create_model
    from vidlearn.train import fit

    data = _data(transform=Normalize((0.45,) * 3, (0.25,) * 3))
    runs = []
    for d in (data, in_memory(data)):
        torch.manual_seed(0)
        model = create_model("early_fusion", tiny=True, num_classes=data.num_classes, frames=4)
        runs.append(fit(model, d, epochs=1, batch_size=6, verbose=False, progress=False).train_loss)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("dtype", [torch.float16, "int8", None])
def test_other_dtypes_are_refused_with_what_is_allowed(dtype):
    with pytest.raises(ValueError, match="float32 or torch.uint8"):
        in_memory(_data(), dtype=dtype)


def test_uint8_refuses_clips_outside_zero_one_and_names_the_item():
    with pytest.raises(ValueError, match=r"item 0 has values in .*keep normalisation in the transform"):
        in_memory(torch.utils.data.TensorDataset(torch.full((2, 3, 2, 4, 4), 2.0), torch.tensor([0, 1])),
                  dtype="uint8")


def test_clips_of_different_shapes_and_wrong_items_are_named():
    class Ragged(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return torch.zeros(3, 2 + (i == 2), 4, 4), 0

    with pytest.raises(ValueError, match=r"item 2 has shape \(3, 3, 4, 4\), item 0 \(3, 2, 4, 4\)"):
        in_memory(Ragged())

    class Pairs(Ragged):
        def __getitem__(self, i):
            return torch.zeros(3, 2, 4, 4), "walk"

    with pytest.raises(ValueError, match=r"item 0 of Pairs is \(Tensor, str\); expected"):
        in_memory(Pairs())
    with pytest.raises(ValueError, match="empty"):
        in_memory(torch.utils.data.TensorDataset(torch.zeros(0, 3, 2, 4, 4), torch.zeros(0)))


def test_index_errors_say_the_length():
    kept = in_memory(_data())
    assert torch.equal(kept[-1][0], kept[11][0])
    for bad in (12, -13, True, 1.0):
        with pytest.raises(IndexError, match="12 clips in memory"):
            kept[bad]


def test_tensors_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"clips must be a tensor \(N, C, T, H, W\)"):
        InMemoryClips(torch.zeros(2, 3, 4, 4), torch.zeros(2))
    with pytest.raises(ValueError, match=r"labels must be a tensor \(2,\)"):
        InMemoryClips(torch.zeros(2, 3, 1, 4, 4), torch.zeros(3))


def test_the_presets_store_exactly_except_gpu():
    assert {name: p.cache_dtype for name, p in PRESETS.items()} == {"ci": "float32", "cpu": "float32",
                                                                     "gpu": "uint8"}
    for p in PRESETS.values():
        in_memory(_data(), dtype=p.cache_dtype)  # each preset's name is one in_memory accepts


def test_the_default_normalisation_is_kept_out_of_uint8_storage_and_applied_on_read():
    data = SyntheticActions("motion", num_samples=6, frames=4, size=16, seed=3)  # normalises by default
    small = in_memory(data, dtype="uint8")
    assert small.transform is data.transform
    err = (small[0][0] - data[0][0]).abs().max().item()
    assert err <= 0.5 / 255 / 0.25 + 1e-5  # half a level, divided by the std
