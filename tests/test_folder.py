"""VideoFolder over real mp4 files written by write_video_folder, with every installed reader: round trip,
samplers (one read per item, the same crop for SlowFast pathways and views), split files, and clear errors
for corrupt, missing and empty inputs."""

import re
import shutil

import numpy as np
import pytest
import torch
from helpers import keyframes
from torch.utils.data import DataLoader

from vidlearn.data import (
    DenseSampler,
    MultiViewSampler,
    SegmentSampler,
    SlowFastSampler,
    SyntheticActions,
    VideoFolder,
    VideoReadError,
    read_video,
    write_video_folder,
)
from vidlearn.data import folder as folder_module
from vidlearn.data.io import BACKEND_ENV, available_backends
from vidlearn.data.transforms import RandomCrop


@pytest.fixture(autouse=True, params=available_backends())
def backend(request, monkeypatch):
    """Every test here runs with each installed video reader (decord, torchcodec, PyAV) in turn."""
    monkeypatch.setenv(BACKEND_ENV, request.param)
    return request.param


@pytest.fixture(scope="module")
def synthetic():
    return SyntheticActions("motion", num_samples=16, frames=8, size=32, seed=0, noise=0.0, transform=None)  # [0, 1]


@pytest.fixture(scope="module")
def tree(tmp_path_factory, synthetic):
    return write_video_folder(synthetic, tmp_path_factory.mktemp("videos") / "synthetic", fps=8)


def _copy(tree, tmp_path):
    return shutil.copytree(tree, tmp_path / "copy")


def test_write_video_folder_writes_one_mp4_per_clip_in_class_folders(tree, synthetic):
    files = sorted(tree.rglob("*.mp4"))
    assert len(files) == len(synthetic)
    assert {f.parent.name for f in files} == set(synthetic.classes)
    assert (tree / synthetic.classes[3] / "00003.mp4").is_file()  # root/<class>/<index>.mp4


def test_round_trip_gives_back_the_clips_within_codec_error(tree, synthetic):
    data = VideoFolder(tree, frames=8, classes=synthetic.classes)
    assert len(data) == len(synthetic) and data.classes == synthetic.classes
    for i in range(len(data)):
        clip, label = data[i]
        index = int(data.samples[i][0][-9:-4])
        original, original_label = synthetic[index]
        assert label == original_label
        assert clip.shape == original.shape == (3, 8, 32, 32) and clip.dtype == torch.float32
        assert (clip - original).abs().mean() < 0.04  # yuv420p + H.264: small codec error only


def test_keyframe_interval_reaches_every_file_and_reads_back_the_same_clips(tmp_path, synthetic):
    tree = write_video_folder(synthetic, tmp_path / "gop4", fps=8, indices=range(4), keyframe_interval=4)
    files = sorted(tree.rglob("*.mp4"))
    assert len(files) == 4
    for f in files:
        assert keyframes(f) == [0, 4]  # frames 0 and 4 of 8
    data = VideoFolder(tree, frames=8, classes=synthetic.classes[:4])  # items 0-3: the first 4 classes
    for i in range(len(data)):
        clip, _ = data[i]
        assert (clip - synthetic[int(data.samples[i][0][-9:-4])][0]).abs().mean() < 0.04


def test_without_classes_folders_are_numbered_alphabetically(tree, synthetic):
    data = VideoFolder(tree, frames=8)
    assert data.classes == sorted(synthetic.classes)
    for path, label in data.samples:
        assert path.split("/")[-2] == data.classes[label]


def test_only_the_sampled_frames_are_decoded(tree, monkeypatch):
    calls = []
    real = folder_module.get_frames

    def spy(reader, indices, path):
        calls.append(np.asarray(indices).tolist())
        return real(reader, indices, path)

    monkeypatch.setattr(folder_module, "get_frames", spy)
    data = VideoFolder(tree, sampler=DenseSampler(3, stride=2, train=False))
    clip, _ = data[0]
    assert calls == [[1, 3, 5]] and clip.shape[1] == 3
    assert np.allclose(clip.permute(1, 2, 3, 0).numpy() * 255, read_video(data.samples[0][0], [1, 3, 5]), atol=0.51)


def test_training_sampler_is_random_but_repeats_under_torch_manual_seed(tree):
    data = VideoFolder(tree, sampler=SegmentSampler(2, train=True))
    torch.manual_seed(0)
    a = [data[0][0] for _ in range(6)]
    torch.manual_seed(0)
    b = [data[0][0] for _ in range(6)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert any(not torch.equal(a[0], x) for x in a[1:])


def test_slowfast_pathways_share_frames_and_crop(tree):
    data = VideoFolder(tree, sampler=SlowFastSampler(2, tau=4, alpha=2, train=True), transform=RandomCrop(20))
    (slow, fast), label = data[5]
    assert slow.shape == (3, 2, 20, 20) and fast.shape == (3, 4, 20, 20) and label == data.samples[5][1]
    assert torch.equal(slow, fast[:, ::2])  # the same decoded frames, the same crop


def test_multiview_sampler_stacks_views(tree):
    data = VideoFolder(tree, sampler=MultiViewSampler(3, 4, stride=1), transform=RandomCrop(24))
    views, _ = data[2]
    assert views.shape == (3, 3, 4, 24, 24)  # (V, C, T, H, W)
    # views start at frames 0, 2, 4 of the 8: overlapping frames are the same frames with the same crop
    assert torch.equal(views[0, :, 2:], views[1, :, :2]) and torch.equal(views[1, :, 2:], views[2, :, :2])
    assert not torch.equal(views[0], views[2])
    full = VideoFolder(tree, frames=8, transform=RandomCrop(24))
    torch.manual_seed(1)
    assert full[2][0].shape == (3, 8, 24, 24)


def test_dataloader_batches_clips(tree):
    data = VideoFolder(tree, sampler=DenseSampler(4, train=True))
    x, y = next(iter(DataLoader(data, batch_size=5, shuffle=True)))
    assert x.shape == (5, 3, 4, 32, 32) and y.shape == (5,)


def test_split_file_selects_and_orders_videos(tree, tmp_path, synthetic):
    names = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*.mp4"))
    split = tmp_path / "trainlist01.txt"
    split.write_text(f"# UCF101-style\n{names[5]} 3\n\n{names[0]}\n  {names[9]} 1  \n")
    data = VideoFolder(tree, frames=4, split_file=split)
    listed = (names[5], names[0], names[9])
    assert [p for p, _ in data.samples] == [str(tree / n) for n in listed]
    assert [data.classes[label] for _, label in data.samples] == [n.split("/")[0] for n in listed]
    assert data[0][0].shape == (3, 4, 32, 32)


def test_split_file_line_naming_a_missing_video_is_reported_with_its_line(tree, tmp_path, synthetic):
    split = tmp_path / "split.txt"
    split.write_text(f"{synthetic.classes[0]}/00000.mp4 1\n{synthetic.classes[1]}/99999.mp4 2\n")
    with pytest.raises(FileNotFoundError, match=r"split.txt, line 2: video .*99999.mp4 .* does not exist"):
        VideoFolder(tree, split_file=split)
    split.write_text("no_such_class/v.mp4 1\n")
    with pytest.raises(ValueError, match="line 1: 'no_such_class/v.mp4' is not <class>/<video>"):
        VideoFolder(tree, split_file=split)
    with pytest.raises(FileNotFoundError, match="split file not found"):
        VideoFolder(tree, split_file=tmp_path / "missing.txt")
    split.write_text("# nothing\n")
    with pytest.raises(FileNotFoundError, match="lists no videos"):
        VideoFolder(tree, split_file=split)


def test_corrupt_file_is_reported_with_its_path(tree, tmp_path):
    root = _copy(tree, tmp_path)
    bad = next(root.rglob("*.mp4")).parent / "x.mp4"
    bad.write_bytes(b"\x00garbage bytes, not an mp4\xff" * 40)
    data = VideoFolder(root, frames=4)
    index = [p for p, _ in data.samples].index(str(bad))
    with pytest.raises(VideoReadError, match=str(bad)):
        data[index]
    assert data[(index + 1) % len(data)][0].shape == (3, 4, 32, 32)  # the others still read


def test_extensions_filter_files_case_insensitively(tree, tmp_path):
    root = _copy(tree, tmp_path)
    some = next(root.rglob("*.mp4"))
    some.rename(some.with_suffix(".MP4"))
    (some.parent / "notes.txt").write_text("not a video")
    data = VideoFolder(root, frames=2)
    assert len(data) == len(list(tree.rglob("*.mp4")))
    assert not any(p.endswith(".txt") for p, _ in data.samples)
    assert len(VideoFolder(root, frames=2, extensions=(".mp4",))) == len(data)


def test_empty_or_missing_folders_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="video folder not found"):
        VideoFolder(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no class folders"):
        VideoFolder(tmp_path)
    (tmp_path / "walking").mkdir()
    (tmp_path / "walking" / "readme.txt").write_text("empty")
    with pytest.raises(FileNotFoundError, match=r"no videos \(.mp4, .avi"):
        VideoFolder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"class folders \['running'\] not found"):
        VideoFolder(tmp_path, classes=["running"])


class _FailsAt(torch.utils.data.Dataset):
    """A dataset of small clips whose item ``fail_at`` raises: a write interrupted midway."""

    classes = ["left", "right"]

    def __init__(self, n, fail_at, error=KeyboardInterrupt):
        self.n, self.fail_at, self.error = n, fail_at, error

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise self.error()
        return torch.full((3, 4, 16, 16), i / self.n), i % 2


def test_interrupted_write_video_folder_leaves_no_tree(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        write_video_folder(_FailsAt(6, fail_at=4), tmp_path / "videos")
    assert list(tmp_path.iterdir()) == []  # neither a half tree nor the staging folder
    tree = write_video_folder(_FailsAt(6, fail_at=-1), tmp_path / "videos")
    assert sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*.mp4")) == [
        "left/00000.mp4", "left/00002.mp4", "left/00004.mp4",
        "right/00001.mp4", "right/00003.mp4", "right/00005.mp4"]
    assert [p.name for p in tmp_path.iterdir()] == ["videos"]


def test_failed_write_into_an_existing_tree_leaves_it_as_it_was(tmp_path):
    tree = write_video_folder(_FailsAt(2, fail_at=-1), tmp_path / "videos")
    before = {p: p.read_bytes() for p in tree.rglob("*.mp4")}
    with pytest.raises(OSError):
        write_video_folder(_FailsAt(6, fail_at=5, error=OSError), tree)
    assert {p: p.read_bytes() for p in tree.rglob("*.mp4")} == before
    assert [p.name for p in tmp_path.iterdir()] == ["videos"]
    write_video_folder(_FailsAt(4, fail_at=-1), tree, indices=[2, 3])  # a later write adds its files
    assert len(list(tree.rglob("*.mp4"))) == 4 and len(VideoFolder(tree, frames=2)) == 4


@pytest.mark.parametrize("name", ["../outside", "/tmp/absolute", "", ".", "..", "a/b", "a\\b", ".hidden",
                                  "nul\0byte"])
def test_class_names_that_are_not_plain_folder_names_are_refused(tmp_path, name):
    data = _FailsAt(2, fail_at=-1)
    data.classes = ["fine", name]
    with pytest.raises(ValueError, match=f"class 1 is named {re.escape(repr(name))}.*plain names"):
        write_video_folder(data, tmp_path / "root" / "videos")
    assert list(tmp_path.iterdir()) == []  # nothing written, inside or outside the root


@pytest.mark.parametrize("line", ["{c}/../../outside.mp4", "{outside}"])
def test_split_file_paths_that_leave_the_root_are_refused_with_the_line(tree, tmp_path, synthetic, line):
    outside = tmp_path / "outside.mp4"
    shutil.copyfile(next(tree.rglob("*.mp4")), outside)
    root = _copy(tree, tmp_path)  # tmp_path/copy: <class>/../../outside.mp4 is the file above
    split = tmp_path / "split.txt"
    c = synthetic.classes[0]
    split.write_text(f"{c}/00000.mp4 1\n" + line.format(c=c, outside=outside) + " 1\n")
    with pytest.raises(ValueError, match=r"split.txt, line 2: .* leaves the video folder"):
        VideoFolder(root, split_file=split)


def test_backend_argument_reads_the_same_clips_as_every_other_backend(tree):
    sampler = DenseSampler(4, stride=2, train=False)
    want = VideoFolder(tree, sampler=sampler, backend="pyav")[3][0]
    for name in available_backends():
        data = VideoFolder(tree, sampler=sampler, backend=name)
        assert data.backend == name and torch.equal(data[3][0], want), name


def test_an_unknown_backend_is_refused_when_the_folder_is_made(tree):
    with pytest.raises(ValueError, match="backend= must be one of decord, torchcodec, pyav, got 'cv2'"):
        VideoFolder(tree, backend="cv2")
