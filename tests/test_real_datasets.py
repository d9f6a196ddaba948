"""vidlearn.data.UCF101 / HMDB51 / Kinetics on tiny trees of real video files (written by write_video) with
split files in the official formats: labels, split selection, train/test counts, clips equal to
VideoFolder's of the same file, and an error naming the file (and line) for every kind of bad input."""

import csv
import shutil

import numpy as np
import pytest
import torch

import vidlearn.data
from vidlearn.data import (
    HMDB51,
    UCF101,
    Kinetics,
    MissingVideosWarning,
    UniformSampler,
    VideoFolder,
    read_video,
    write_video,
)

FRAMES, SIZE = 6, 32
COLOURS = [(200, 20, 20), (20, 200, 20), (20, 20, 200)]  # clip k: this background, a white square moving right
UCF_CLASSES = ["YoYo", "ApplyEyeMakeup", "Archery"]  # classInd order, deliberately not alphabetical
HMDB_CLASSES = ["shoot_ball", "brush_hair", "cartwheel"]  # labels: sorted -> brush_hair 0, cartwheel 1, shoot_ball 2


def _frames(k):
    frames = np.empty((FRAMES, SIZE, SIZE, 3), dtype=np.uint8)
    frames[:] = COLOURS[k]
    for t in range(FRAMES):
        frames[t, 12:20, 4 * t:4 * t + 8] = 255  # square at x = 4t .. 4t+7
    return frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Three distinct clips (one per class), as .avi (UCF101, HMDB51) and .mp4 (Kinetics)."""
    folder = tmp_path_factory.mktemp("clips")
    return {ext: [write_video(folder / f"clip{k}{ext}", _frames(k), fps=6) for k in range(3)]
            for ext in (".avi", ".mp4")}


def _put(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _colour_of(clip):
    """Which of COLOURS a clip (C, T, H, W) shows: the brightest channel of its background."""
    return int(clip[:, :, 0:8, :].mean(dim=(1, 2, 3)).argmax())


def _same_as_video_folder(data, folder, classes=None):
    """Every item equals VideoFolder's item for the same file, read with the same sampler."""
    reference = VideoFolder(folder, frames=3, classes=classes)
    by_path = {p: i for i, (p, _) in enumerate(reference.samples)}
    for i, (path, label) in enumerate(data.samples):
        clip, y = data[i]
        ref_clip, ref_y = reference[by_path[path]]
        assert torch.equal(clip, ref_clip), path
        assert y == label
        if classes is not None:
            assert y == ref_y


# ---------------------------------------------------------------------------------------------- UCF101


def _ucf(tmp_path, clips, where="beside"):
    """UCF-101/<Class>/v_<Class>_g0{1,2,3}_c01.avi; split N tests group N and trains on the other two."""
    root = tmp_path / "UCF-101"
    ann = {"beside": tmp_path / "ucfTrainTestlist", "inside": root / "ucfTrainTestlist", "root": root}[where]
    for k, c in enumerate(UCF_CLASSES):
        for g in (1, 2, 3):
            _put(clips[".avi"][k], root / c / f"v_{c}_g0{g}_c01.avi")
    ann.mkdir(parents=True, exist_ok=True)
    (ann / "classInd.txt").write_bytes(b"".join(f"{i} {c}\r\n".encode() for i, c in enumerate(UCF_CLASSES, 1)))
    for s in (1, 2, 3):
        (ann / f"trainlist0{s}.txt").write_bytes(b"".join(
            f"{c}/v_{c}_g0{g}_c01.avi {i}\r\n".encode() for i, c in enumerate(UCF_CLASSES, 1) for g in (1, 2, 3)
            if g != s))
        (ann / f"testlist0{s}.txt").write_bytes(b"".join(f"{c}/v_{c}_g0{s}_c01.avi\r\n".encode() for c in UCF_CLASSES))
    return root, ann


@pytest.mark.parametrize("split", [1, 2, 3])
def test_ucf101_labels_follow_classind_and_the_split_selects_the_lists(tmp_path, clips, split):
    root, ann = _ucf(tmp_path, clips)
    train = UCF101(root, ann, split=split, train=True)
    test = UCF101(root, split=split, train=False)  # annotation_dir found beside root
    assert isinstance(train, VideoFolder) and train.classes == test.classes == UCF_CLASSES
    assert (len(train), len(test)) == (6, 3)
    assert test.samples == [(str(root / c / f"v_{c}_g0{split}_c01.avi"), i) for i, c in enumerate(UCF_CLASSES)]
    assert sorted(train.samples) == sorted((str(root / c / f"v_{c}_g0{g}_c01.avi"), i)
                                           for i, c in enumerate(UCF_CLASSES) for g in (1, 2, 3) if g != split)
    assert (train.split, train.train, test.train, test.annotation_dir) == (split, True, False, ann)
    assert repr(test).startswith(f"UCF101({str(root)!r}, split={split}, train=False, 3 videos, 3 classes")


@pytest.mark.parametrize("where", ["inside", "root"])
def test_ucf101_finds_the_split_files_inside_root_too(tmp_path, clips, where):
    root, ann = _ucf(tmp_path, clips, where)
    data = UCF101(root, split=2, train=False)
    assert data.annotation_dir == ann and [y for _, y in data.samples] == [0, 1, 2]


def test_ucf101_reads_clips_of_the_right_class_and_frames_as_video_folder_does(tmp_path, clips):
    root, _ = _ucf(tmp_path, clips)
    data = UCF101(root, split=1, frames=3)
    for i in range(len(data)):
        clip, label = data[i]
        assert clip.shape == (3, 3, SIZE, SIZE) and clip.dtype == torch.float32
        assert _colour_of(clip) == label  # class k's videos are clip k
    clip, _ = data[0]
    square = (clip.min(dim=0).values[:, 12:20].mean(dim=1) - 0.5).clamp(min=0)  # (T, W): the white square
    centre = (square * torch.arange(SIZE)).sum(dim=1) / square.sum(dim=1)
    assert torch.allclose(centre, torch.tensor([4.0 * f + 3.5 for f in (1, 3, 5)]), atol=1.0)  # frames 1, 3, 5
    path = data.samples[0][0]
    expected = torch.from_numpy(read_video(path, UniformSampler(3)(FRAMES))).permute(3, 0, 1, 2).float() / 255
    assert torch.equal(clip, expected)
    _same_as_video_folder(data, root, classes=UCF_CLASSES)


def test_ucf101_reading_options_reach_the_video_folder(tmp_path, clips):
    root, _ = _ucf(tmp_path, clips)
    data = UCF101(root, frames=2, transform=lambda x: x[:, :, :16, :16], backend="pyav")
    assert data[0][0].shape == (3, 2, 16, 16) and data.backend == "pyav"
    assert UCF101(root, sampler=UniformSampler(5))[0][0].shape[1] == 5
    with pytest.raises(ValueError, match="backend= must be one of"):
        UCF101(root, backend="nope")


@pytest.mark.parametrize("split", [0, 4, "1", True, None])
def test_ucf101_split_must_be_1_2_or_3(tmp_path, clips, split):
    root, ann = _ucf(tmp_path, clips)
    with pytest.raises(ValueError, match=f"split must be 1, 2 or 3, got {split!r}"):
        UCF101(root, ann, split=split)


def test_ucf101_missing_files_are_named(tmp_path, clips):
    root, ann = _ucf(tmp_path, clips)
    (ann / "testlist02.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"UCF101 split file not found: .*testlist02.txt"):
        UCF101(root, ann, split=2, train=False)
    (root / "Archery" / "v_Archery_g02_c01.avi").unlink()
    with pytest.raises(FileNotFoundError, match=r"trainlist01.txt, line 5: video .*v_Archery_g02_c01.avi listed"):
        UCF101(root, ann, split=1)
    with pytest.raises(FileNotFoundError, match=r"UCF101 video folder .* not found: .*UCF-102"):
        UCF101(tmp_path / "UCF-102", ann)
    shutil.rmtree(ann)
    with pytest.raises(FileNotFoundError, match=r"UCF101 split files not found: no classInd.txt in .*ucfTrainTestlist"
                                                r".*https://www.crcv.ucf.edu/data/UCF101.php"):
        UCF101(root)


@pytest.mark.parametrize("line, error", [
    ("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi", r"expected '<Class>/<video>.avi <class id>', got"),
    ("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 102", r"class id 102 does not match the folder 'ApplyEyeMakeup'"),
    ("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 0", r"class id 0 does not match the folder 'ApplyEyeMakeup'"),
    ("Dance/v_Dance_g01_c01.avi 2", r"class 'Dance' is not in .*classInd.txt"),
    ("../outside/v_ApplyEyeMakeup_g01_c01.avi 2", r"'../outside/v_ApplyEyeMakeup_g01_c01.avi' leaves the video"),
    ("ApplyEyeMakeup/../../outside/v_ApplyEyeMakeup_g01_c01.avi 2", r"'ApplyEyeMakeup/../../outside/.*' leaves "),
    ("{abs} 2", r"'/.*/outside/v_ApplyEyeMakeup_g01_c01.avi' leaves the video folder"),
])
def test_ucf101_bad_split_line_is_an_error_naming_file_and_line(tmp_path, clips, line, error):
    root, ann = _ucf(tmp_path, clips)
    outside = _put(clips[".avi"][1], tmp_path / "outside" / "v_ApplyEyeMakeup_g01_c01.avi")  # a real video
    (ann / "trainlist01.txt").write_text(f"YoYo/v_YoYo_g02_c01.avi 1\n\n{line.format(abs=outside)}\n")
    with pytest.raises(ValueError, match=r"trainlist01.txt, line 3: " + error):
        UCF101(root, ann)


def test_ucf101_bad_class_index_is_an_error_naming_the_line(tmp_path, clips):
    root, ann = _ucf(tmp_path, clips)
    (ann / "classInd.txt").write_text("1 YoYo\n2 ApplyEyeMakeup\n2 Archery\n")
    with pytest.raises(ValueError, match=r"classInd.txt, line 3: expected class id 3 .*got 2"):
        UCF101(root, ann)
    (ann / "classInd.txt").write_text("1 YoYo\nApplyEyeMakeup 2\n")
    with pytest.raises(ValueError, match=r"classInd.txt, line 2: expected '<id> <ClassName>'"):
        UCF101(root, ann)


# ---------------------------------------------------------------------------------------------- HMDB51


def _hmdb_video(c, k):
    return f"{c}_u_nm_np1_fr_med_{k}.avi"


def _hmdb(tmp_path, clips, ann_name="testTrainMulti_7030_splits"):
    """4 videos a class; in split s video s-1 is test (2), video 3 unused (0), the other two train (1)."""
    root, ann = tmp_path / "hmdb51_org", tmp_path / ann_name
    ann.mkdir(parents=True)
    for c in HMDB_CLASSES:
        for k in range(4):
            _put(clips[".avi"][sorted(HMDB_CLASSES).index(c)], root / c / _hmdb_video(c, k))
        for s in (1, 2, 3):
            marks = [2 if k == s - 1 else 0 if k == 3 else 1 for k in range(4)]
            lines = "".join(f"{_hmdb_video(c, k)} {m} \n" for k, m in enumerate(marks))  # a space ends lines, as HMDB's
            (ann / f"{c}_test_split{s}.txt").write_text(lines)
    return root, ann


@pytest.mark.parametrize("split", [1, 2, 3])
def test_hmdb51_sorted_labels_and_the_split_marks_select_videos(tmp_path, clips, split):
    root, ann = _hmdb(tmp_path, clips)
    train, test = HMDB51(root, ann, split=split), HMDB51(root, split=split, train=False)  # found beside root
    classes = sorted(HMDB_CLASSES)
    assert train.classes == test.classes == classes and test.annotation_dir == ann
    assert (len(train), len(test)) == (6, 3)
    assert test.samples == [(str(root / c / _hmdb_video(c, split - 1)), i) for i, c in enumerate(classes)]
    assert train.samples == [(str(root / c / _hmdb_video(c, k)), i) for i, c in enumerate(classes)
                             for k in range(3) if k != split - 1]
    assert repr(train).startswith(f"HMDB51({str(root)!r}, split={split}, train=True, 6 videos, 3 classes")


def test_hmdb51_reads_clips_of_the_right_class_as_video_folder_does(tmp_path, clips):
    root, ann = _hmdb(tmp_path, clips)
    data = HMDB51(root, ann, frames=3, train=False)
    assert [_colour_of(data[i][0]) for i in range(len(data))] == [y for _, y in data.samples] == [0, 1, 2]
    _same_as_video_folder(data, root, classes=data.classes)


def test_hmdb51_split_files_directly_in_root_are_found_and_a_folder_inside_root_refused(tmp_path, clips):
    root, ann = _hmdb(tmp_path, clips)
    for f in ann.iterdir():
        shutil.move(f, root / f.name)
    assert HMDB51(root).annotation_dir == root and len(HMDB51(root)) == 6
    inside = root / "testTrainMulti_7030_splits"
    inside.mkdir()
    for f in root.glob("*.txt"):
        shutil.move(f, inside / f.name)
    with pytest.raises(ValueError, match=r"HMDB51 split folder .*testTrainMulti_7030_splits is inside the video "
                                         r"folder .*hmdb51_org, where every folder is taken for a class"):
        HMDB51(root)
    with pytest.raises(ValueError, match=r"is inside the video folder"):
        HMDB51(root, inside)


@pytest.mark.parametrize("split", [0, 4, "2", False])
def test_hmdb51_split_must_be_1_2_or_3(tmp_path, clips, split):
    root, ann = _hmdb(tmp_path, clips)
    with pytest.raises(ValueError, match=f"HMDB51 has three official splits: split must be 1, 2 or 3, got {split!r}"):
        HMDB51(root, ann, split=split)


def test_hmdb51_missing_files_are_named(tmp_path, clips):
    root, ann = _hmdb(tmp_path, clips)
    (ann / "cartwheel_test_split2.txt").unlink()
    assert len(HMDB51(root, ann, split=1)) == 6  # the other splits are whole
    with pytest.raises(FileNotFoundError, match=r"cartwheel_test_split2.txt not found, but .* has the class folder "
                                                r"'cartwheel'"):
        HMDB51(root, ann, split=2)
    (root / "brush_hair" / _hmdb_video("brush_hair", 0)).unlink()  # test in split 1, train in split 3
    assert len(HMDB51(root, ann, split=1)) == 6
    with pytest.raises(FileNotFoundError, match=r"brush_hair_test_split3.txt, line 1: video .*_0.avi listed here"):
        HMDB51(root, ann, split=3)
    shutil.rmtree(ann)
    with pytest.raises(FileNotFoundError, match=r"HMDB51 split files not found: no <class>_test_split<N>.txt in "
                                                r".*https://serre-lab.clps.brown.edu/resource/hmdb"):
        HMDB51(root)
    with pytest.raises(FileNotFoundError, match=r"HMDB51 annotation folder .* not found: .*nowhere"):
        HMDB51(root, tmp_path / "nowhere")


@pytest.mark.parametrize("line, error", [
    ("{video} 3", r"expected '<video file name> <0\|1\|2>' \(1 train, 2 test, 0 not used\), got"),
    ("{video}", r"expected '<video file name> <0\|1\|2>'"),
    ("../outside/{video} 1", r"'../outside/{video}' leaves the video folder"),
    ("{abs} 1", r"'/.*/outside/{video}' leaves the video folder"),
    ("../cartwheel.avi 2", r"'../cartwheel.avi' leaves the video folder"),
    ("brush_hair/{video} 1", r"expected a video file name"),
])
def test_hmdb51_bad_split_line_is_an_error_naming_file_and_line(tmp_path, clips, line, error):
    root, ann = _hmdb(tmp_path, clips)
    video = _hmdb_video("brush_hair", 0)
    outside = _put(clips[".avi"][0], tmp_path / "outside" / video)
    _put(clips[".avi"][0], tmp_path / "cartwheel.avi")
    text = "\n".join(f"{_hmdb_video('cartwheel', k)} {m}" for k, m in enumerate((2, 1, 1)))
    (ann / "cartwheel_test_split1.txt").write_text(f"{text}\n{line.format(video=video, abs=outside)}\n")
    with pytest.raises(ValueError, match=r"cartwheel_test_split1.txt, line 4: " + error.format(video=video)):
        HMDB51(root, ann)


# -------------------------------------------------------------------------------------------- Kinetics

KINETICS_ROWS = [  # label, youtube_id, time_start, time_end, split
    ("air_drumming", "--07WQ2iBlw", 1, 11, "train"),
    ("abseiling", "-3B32lodo2M", 59, 69, "train"),
    ("zumba", "0NBXmUkXc-4", 0, 10, "train"),
    ("air_drumming", "1AFwyHBGVVI", 125, 135, "train"),
    ("abseiling", "Z_6i8NS0lgc", 30, 40, "val"),
    ("zumba", "zz-bgeR2D1o", 7, 17, "val"),
]
KINETICS_CLASSES = ["abseiling", "air_drumming", "zumba"]


def _clip_name(row):
    return f"{row[1]}_{row[2]:06d}_{row[3]:06d}"


def _kinetics(tmp_path, clips, rows=KINETICS_ROWS, skip=()):
    """k400/<split>/<label>/<clip>.mp4 and k400/annotations/<split>.csv."""
    root, ann = tmp_path / "k400", tmp_path / "k400" / "annotations"
    for row in rows:
        if _clip_name(row) not in skip:
            _put(clips[".mp4"][KINETICS_CLASSES.index(row[0])], root / row[4] / row[0] / (_clip_name(row) + ".mp4"))
    ann.mkdir(parents=True)
    for split in ("train", "val"):
        with open(ann / f"{split}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            w.writerows(r for r in rows if r[4] == split)
    return root, ann


@pytest.mark.parametrize("use_csv", [False, True])
def test_kinetics_classes_labels_and_splits(tmp_path, clips, use_csv):
    root, ann = _kinetics(tmp_path, clips)
    train = Kinetics(root, "train", annotations=ann / "train.csv" if use_csv else None)
    val = Kinetics(root, split="val", annotations=ann if use_csv else None)  # a folder: its val.csv
    assert train.classes == KINETICS_CLASSES and isinstance(train, VideoFolder)
    assert (len(train), len(val)) == (4, 2) and train.missing == val.missing == []
    assert sorted(train.samples) == sorted((str(root / "train" / r[0] / (_clip_name(r) + ".mp4")),
                                            KINETICS_CLASSES.index(r[0])) for r in KINETICS_ROWS[:4])
    # this val has no air_drumming clip: neither folder nor CSV row (classes=train.classes keeps the ids)
    assert val.classes == ["abseiling", "zumba"] and sorted(y for _, y in val.samples) == [0, 1]
    assert val.split_folder == root / "val" and train.split_folder == root / "train"
    assert repr(val).startswith(f"Kinetics({str(root)!r}, split='val', 2 videos")


def test_kinetics_reads_clips_of_the_right_class_as_video_folder_does(tmp_path, clips):
    root, ann = _kinetics(tmp_path, clips)
    data = Kinetics(root, annotations=ann / "train.csv", frames=3)
    assert [_colour_of(data[i][0]) for i in range(len(data))] == [y for _, y in data.samples]
    _same_as_video_folder(data, root / "train", classes=data.classes)


def test_kinetics_classes_argument_keeps_a_label_map(tmp_path, clips):
    root, ann = _kinetics(tmp_path, clips)
    given = ["zumba", "yoga", "abseiling", "air_drumming"]
    assert sorted(y for _, y in Kinetics(root, "val", ann / "val.csv", classes=given).samples) == [0, 2]
    assert Kinetics(root, "val", classes=["zumba", "abseiling"]).classes == ["zumba", "abseiling"]
    with pytest.raises(ValueError, match=r"label 'zumba' is not one of the 2 classes given"):
        Kinetics(root, "val", ann / "val.csv", classes=["abseiling", "air_drumming"])


def test_kinetics_missing_clips_are_counted_in_one_warning(tmp_path, clips):
    gone = [_clip_name(KINETICS_ROWS[1]), _clip_name(KINETICS_ROWS[3])]
    root, ann = _kinetics(tmp_path, clips, skip=gone)
    with pytest.warns(MissingVideosWarning) as record:
        data = Kinetics(root, "train", ann / "train.csv")
    assert len(record) == 1 and record[0].filename == __file__  # points at the caller
    assert "2 of 4 clips of split 'train' listed in" in str(record[0].message)
    assert data.missing == gone and len(data) == 2 and data.classes == KINETICS_CLASSES
    for video in list((root / "train").rglob("*.mp4")):
        video.unlink()
    with pytest.raises(FileNotFoundError, match=r"none of the 4 clips of split 'train' .* is there"):
        Kinetics(root, "train", ann / "train.csv")
    with pytest.raises(FileNotFoundError, match=r"no videos .* in the class folders of .*train"):
        Kinetics(root, "train")


@pytest.mark.parametrize("split", ["validation", "../train", "", 1])
def test_kinetics_split_must_be_train_val_or_test(tmp_path, clips, split):
    root, ann = _kinetics(tmp_path, clips)
    with pytest.raises(ValueError, match=f"Kinetics split must be one of train, val, test, got {split!r}"):
        Kinetics(root, split, ann)


def test_kinetics_missing_folders_and_csvs_are_named(tmp_path, clips):
    root, ann = _kinetics(tmp_path, clips)
    with pytest.raises(FileNotFoundError, match=r"Kinetics 'test' folder .* not found: .*k400/test"):
        Kinetics(root, "test")
    (root / "test").mkdir()
    with pytest.raises(FileNotFoundError, match=r"Kinetics annotation CSV not found: no test.csv in .*annotations"):
        Kinetics(root, "test", ann)
    with pytest.raises(FileNotFoundError, match=r"Kinetics annotation CSV not found: .*nope.csv"):
        Kinetics(root, "train", ann / "nope.csv")
    with pytest.raises(FileNotFoundError, match=r"no class folders in .*test"):
        Kinetics(root, "test")
    with pytest.raises(FileNotFoundError, match=r"Kinetics folder .* not found: .*k700"):
        Kinetics(tmp_path / "k700")


@pytest.mark.parametrize("line, error", [
    ("abseiling,Z_6i8NS0lgc,30,train", r"line 6: expected 5 comma-separated fields"),
    ("abseiling,Z_6i8NS0lgc,30.5,40,train", r"line 6: expected time_start in whole seconds"),
    ("../../x,Z_6i8NS0lgc,30,40,train", r"line 6: '../../x' leaves the video folder"),
    ("abseiling,../Z_6i8NS0lgc,30,40,train", r"line 6: '../Z_6i8NS0lgc' leaves the video folder"),
    ("/abseiling,Z_6i8NS0lgc,30,40,train", r"line 6: '/abseiling' leaves the video folder"),
])
def test_kinetics_bad_csv_line_is_an_error_naming_file_and_line(tmp_path, clips, line, error):
    root, ann = _kinetics(tmp_path, clips)
    csv_path = ann / "train.csv"
    csv_path.write_text(csv_path.read_text() + line + "\n")
    with pytest.raises(ValueError, match=r"train.csv, " + error):
        Kinetics(root, "train", csv_path)


def test_the_datasets_are_exported_and_download_nothing(tmp_path, monkeypatch, clips):
    assert {"UCF101", "HMDB51", "Kinetics"} <= set(vidlearn.data.__all__)
    assert vidlearn.data.datasets.UCF101 is UCF101

    def no_network(*args, **kwargs):
        raise AssertionError("a dataset tried to open a network connection")

    import socket

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    root, _ = _ucf(tmp_path / "u", clips)
    tmp = tmp_path / "h"
    hroot, _ = _hmdb(tmp, clips)
    kroot, _ = _kinetics(tmp_path / "k", clips)
    assert len(UCF101(root)) + len(HMDB51(hroot)) + len(Kinetics(kroot)) == 16
    for cls, url in [(UCF101, "https://www.crcv.ucf.edu/data/UCF101.php"),
                     (HMDB51, "https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/"),
                     (Kinetics, "https://github.com/cvdfoundation/kinetics-dataset")]:
        doc = " ".join(cls.__doc__.split())
        assert url in doc and "nothing is downloaded" in doc
