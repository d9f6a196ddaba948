"""VideoFolder.ucf101 / .hmdb51 / .kinetics on small trees in each official layout, written here with
write_video (one tiny clip, copied to every name): samples and label ids per split, and an error naming the
file and line for every format fault (missing video, bad line, wrong class id, unknown class, '..')."""

import csv
import shutil
import warnings

import numpy as np
import pytest

from vidlearn.data import MissingVideosWarning, VideoFolder, write_video

# deliberately not alphabetical: the label ids must follow classInd.txt, not the folder names
UCF_CLASSES = ["YoYo", "ApplyEyeMakeup", "Archery"]
HMDB_CLASSES = ["shoot_ball", "brush_hair", "cartwheel"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    frames = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    folder = tmp_path_factory.mktemp("clip")
    return write_video(folder / "clip.avi", frames, fps=4), write_video(folder / "clip.mp4", frames, fps=4)


def _put(clip, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, path)
    return path


# ---------------------------------------------------------------------------------------------- UCF101


def _ucf(tmp_path, clip):
    root, ann = tmp_path / "UCF-101", tmp_path / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_bytes(b"".join(f"{i} {c}\r\n".encode() for i, c in enumerate(UCF_CLASSES, 1)))
    for c in UCF_CLASSES:
        for g in (1, 2):
            _put(clip[0], root / c / f"v_{c}_g0{g}_c01.avi")
    for split, (train_g, test_g) in {1: (2, 1), 2: (1, 2)}.items():
        (ann / f"trainlist0{split}.txt").write_text(
            "".join(f"{c}/v_{c}_g0{train_g}_c01.avi {i}\r\n" for i, c in enumerate(UCF_CLASSES, 1)))
        (ann / f"testlist0{split}.txt").write_text("".join(f"{c}/v_{c}_g0{test_g}_c01.avi\r\n" for c in UCF_CLASSES))
    return root, ann


def test_ucf101_reads_the_official_lists_with_classind_ids(tmp_path, clip):
    root, ann = _ucf(tmp_path, clip)
    train = VideoFolder.ucf101(root, annotations=ann, split=1, train=True, frames=2)
    assert train.classes == UCF_CLASSES  # classInd order
    assert train.samples == [(str(root / c / f"v_{c}_g02_c01.avi"), i) for i, c in enumerate(UCF_CLASSES)]
    test = VideoFolder.ucf101(root, annotations=ann, split=1, train=False)
    assert test.samples == [(str(root / c / f"v_{c}_g01_c01.avi"), i) for i, c in enumerate(UCF_CLASSES)]
    assert [p for p, _ in VideoFolder.ucf101(root, ann, split=2).samples] == [p for p, _ in test.samples]
    x, y = train[1]
    assert x.shape == (3, 2, 32, 32) and y == 1 and train.missing == []


def test_ucf101_missing_video_is_an_error_naming_the_line(tmp_path, clip):
    root, ann = _ucf(tmp_path, clip)
    (root / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g02_c01.avi").unlink()
    with pytest.raises(FileNotFoundError, match=r"trainlist01.txt, line 2: video .*v_ApplyEyeMakeup_g02_c01.avi "
                                                r"listed here does not exist"):
        VideoFolder.ucf101(root, ann)


@pytest.mark.parametrize("line, error", [
    ("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi", r"expected '<Class>/<video>.avi <class id>', got"),
    ("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 3", r"class id 3 does not match the folder 'ApplyEyeMakeup', "
                                                      r"which is id 2 in .*classInd.txt"),
    ("Nope/v_Nope_g01_c01.avi 2", r"class 'Nope' is not in .*classInd.txt \(classes: YoYo, ApplyEyeMakeup"),
    ("ApplyEyeMakeup/../../outside.avi 2", r"'ApplyEyeMakeup/../../outside.avi' leaves the video folder"),
    ("/tmp/outside.avi 2", r"'/tmp/outside.avi' leaves the video folder"),
    ("v_ApplyEyeMakeup_g02_c01.avi 2", r"expected '<Class>/<video>.avi <class id>'"),
])
def test_ucf101_bad_train_line_is_an_error_naming_file_and_line(tmp_path, clip, line, error):
    root, ann = _ucf(tmp_path, clip)
    _put(clip[0], tmp_path / "outside.avi")
    (ann / "trainlist01.txt").write_text(f"YoYo/v_YoYo_g02_c01.avi 1\n{line}\n")
    with pytest.raises(ValueError, match=r"trainlist01.txt, line 2: " + error):
        VideoFolder.ucf101(root, ann)


def test_ucf101_test_list_labels_come_from_the_folder_and_are_checked_if_given(tmp_path, clip):
    root, ann = _ucf(tmp_path, clip)
    (ann / "testlist01.txt").write_text("Archery/v_Archery_g01_c01.avi 3\nYoYo/v_YoYo_g01_c01.avi\n")
    assert [y for _, y in VideoFolder.ucf101(root, ann, train=False).samples] == [2, 0]
    (ann / "testlist01.txt").write_text("Archery/v_Archery_g01_c01.avi\nDance/v_Dance_g01_c01.avi\n")
    with pytest.raises(ValueError, match=r"testlist01.txt, line 2: class 'Dance' is not in"):
        VideoFolder.ucf101(root, ann, train=False)


def test_ucf101_bad_class_index_or_missing_files_are_clear_errors(tmp_path, clip):
    root, ann = _ucf(tmp_path, clip)
    with pytest.raises(FileNotFoundError, match=r"UCF101 split file not found: .*trainlist03.txt"):
        VideoFolder.ucf101(root, ann, split=3)
    with pytest.raises(ValueError, match="split must be 1, 2 or 3, got 4"):
        VideoFolder.ucf101(root, ann, split=4)
    (ann / "classInd.txt").write_text("1 YoYo\n3 ApplyEyeMakeup\n")
    with pytest.raises(ValueError, match=r"classInd.txt, line 2: expected class id 2 .* got 3"):
        VideoFolder.ucf101(root, ann)
    (ann / "classInd.txt").write_text("1 YoYo\nApplyEyeMakeup\n")
    with pytest.raises(ValueError, match=r"classInd.txt, line 2: expected '<id> <ClassName>'"):
        VideoFolder.ucf101(root, ann)
    (ann / "classInd.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"class index \(classInd.txt\) not found"):
        VideoFolder.ucf101(root, ann)


# ---------------------------------------------------------------------------------------------- HMDB51


def _hmdb(tmp_path, clip):
    root, ann = tmp_path / "hmdb51_org", tmp_path / "testTrainMulti_7030_splits"
    ann.mkdir()
    for c in HMDB_CLASSES:
        for k in range(3):
            _put(clip[0], root / c / f"April_0{k}_{c}_u_nm_np1_fr_med_{k}.avi")
        for split in (1, 2):
            marks = (1, 2, 0) if split == 1 else (2, 0, 1)  # video k: train, test, unused in split 1
            (ann / f"{c}_test_split{split}.txt").write_text(
                "".join(f"April_0{k}_{c}_u_nm_np1_fr_med_{k}.avi {m} \n" for k, m in enumerate(marks)))
    return root, ann


def test_hmdb51_reads_split_files_with_sorted_class_ids(tmp_path, clip):
    root, ann = _hmdb(tmp_path, clip)
    classes = sorted(HMDB_CLASSES)
    train = VideoFolder.hmdb51(root, annotations=ann, split=1, train=True, frames=2)
    assert train.classes == classes
    assert train.samples == [(str(root / c / f"April_00_{c}_u_nm_np1_fr_med_0.avi"), i) for i, c in enumerate(classes)]
    test = VideoFolder.hmdb51(root, annotations=ann, split=1, train=False)
    assert test.samples == [(str(root / c / f"April_01_{c}_u_nm_np1_fr_med_1.avi"), i) for i, c in enumerate(classes)]
    assert [p[-5] for p, _ in VideoFolder.hmdb51(root, ann, split=2).samples] == ["2", "2", "2"]
    assert train[0][0].shape == (3, 2, 32, 32)


def test_hmdb51_missing_video_is_an_error_naming_the_line_unless_unused(tmp_path, clip):
    root, ann = _hmdb(tmp_path, clip)
    (root / "cartwheel" / "April_02_cartwheel_u_nm_np1_fr_med_2.avi").unlink()  # 0 (unused) in split 1
    assert len(VideoFolder.hmdb51(root, ann, split=1)) == 3
    with pytest.raises(FileNotFoundError, match=r"cartwheel_test_split2.txt, line 3: video .*_2.avi listed here "
                                                r"does not exist"):
        VideoFolder.hmdb51(root, ann, split=2)


@pytest.mark.parametrize("line, error", [
    ("April_00_cartwheel_u_nm_np1_fr_med_0.avi 3", r"expected '<video file name> <0\|1\|2>' .* got"),
    ("April_00_cartwheel_u_nm_np1_fr_med_0.avi", r"expected '<video file name> <0\|1\|2>'"),
    ("../../outside.avi 1", r"'../../outside.avi' leaves the video folder"),
    ("brush_hair/April_00_brush_hair_u_nm_np1_fr_med_0.avi 1", r"expected a video file name"),
])
def test_hmdb51_bad_line_is_an_error_naming_file_and_line(tmp_path, clip, line, error):
    root, ann = _hmdb(tmp_path, clip)
    (ann / "cartwheel_test_split1.txt").write_text(f"April_01_cartwheel_u_nm_np1_fr_med_1.avi 2\n{line}\n")
    with pytest.raises(ValueError, match=r"cartwheel_test_split1.txt, line 2: " + error):
        VideoFolder.hmdb51(root, ann)


def test_hmdb51_a_class_folder_without_its_split_file_is_an_error(tmp_path, clip):
    root, ann = _hmdb(tmp_path, clip)
    (ann / "cartwheel_test_split1.txt").unlink()  # would shift shoot_ball's label id from 2 to 1
    with pytest.raises(FileNotFoundError, match=r"cartwheel_test_split1.txt not found, but .* has the class "
                                                r"folder 'cartwheel'"):
        VideoFolder.hmdb51(root, ann)
    with pytest.raises(FileNotFoundError, match=r"no HMDB51 split files <class>_test_split3.txt"):
        VideoFolder.hmdb51(root, ann, split=3)


# -------------------------------------------------------------------------------------------- Kinetics

KINETICS_ROWS = [  # label, youtube_id, time_start, time_end, split
    ("air drumming", "--07WQ2iBlw", 1, 11, "train"),
    ("abseiling", "-3B32lodo2M", 59, 69, "train"),
    ("zumba", "0NBXmUkXc-4", 0, 10, "train"),
    ("air drumming", "1AFwyHBGVVI", 125, 135, "train"),
    ("abseiling", "Z_6i8NS0lgc", 30, 40, "val"),
    ("zumba", "zz-bgeR2D1o", 7, 17, "val"),
]


def _name(row):
    return f"{row[1]}_{row[2]:06d}_{row[3]:06d}"


def _kinetics(tmp_path, clip, layout, rows=KINETICS_ROWS, skip=(), is_cc=False):
    root, csv_path = tmp_path / "k400" / "train", tmp_path / "k400" / "annotations" / "train.csv"
    for row in rows:
        if _name(row) in skip:
            continue
        folder = {"flat": root, "by_class": root / row[0], "underscores": root / row[0].replace(" ", "_")}[layout]
        _put(clip[1], folder / (_name(row) + ".mp4"))
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "youtube_id", "time_start", "time_end", "split"] + (["is_cc"] if is_cc else []))
        w.writerows([list(r) + ([0] if is_cc else []) for r in rows])
    return root, csv_path


@pytest.mark.parametrize("layout, is_cc", [("flat", False), ("by_class", True), ("underscores", False)])
def test_kinetics_reads_the_csv_in_each_downloader_layout(tmp_path, clip, layout, is_cc):
    root, csv_path = _kinetics(tmp_path, clip, layout, is_cc=is_cc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing missing: no warning
        train = VideoFolder.kinetics(root, csv_path, split="train", frames=2)
        val = VideoFolder.kinetics(root, csv_path, split="val")
    assert train.classes == val.classes == ["abseiling", "air drumming", "zumba"]  # sorted labels
    assert [(p.rsplit("/", 1)[1], y) for p, y in train.samples] == [
        (_name(KINETICS_ROWS[0]) + ".mp4", 1), (_name(KINETICS_ROWS[1]) + ".mp4", 0),
        (_name(KINETICS_ROWS[2]) + ".mp4", 2), (_name(KINETICS_ROWS[3]) + ".mp4", 1)]
    assert [y for _, y in val.samples] == [0, 2] and train.missing == []
    assert train[0][0].shape == (3, 2, 32, 32)


def test_kinetics_missing_clips_give_one_summary_warning_and_are_listed(tmp_path, clip):
    gone = [_name(KINETICS_ROWS[1]), _name(KINETICS_ROWS[3])]
    root, csv_path = _kinetics(tmp_path, clip, "by_class", skip=gone)
    with pytest.warns(MissingVideosWarning) as record:
        data = VideoFolder.kinetics(root, csv_path, split="train")
    assert len(record) == 1
    assert f"2 of 4 clips of split 'train' listed in {csv_path} are not in {root} (first: {', '.join(gone)})" in str(
        record[0].message)
    assert record[0].filename == __file__  # the warning points at the caller
    assert data.missing == gone and len(data) == 2 and data.classes == ["abseiling", "air drumming", "zumba"]
    shutil.rmtree(root)
    root.mkdir()
    with pytest.raises(FileNotFoundError,
                       match=r"none of the 4 clips of split 'train' .* is there \(looked for <label>/<clip>"):
        VideoFolder.kinetics(root, csv_path, split="train")


@pytest.mark.parametrize("line, error", [
    ("abseiling,Z_6i8NS0lgc,30,val", r"line 3: expected 5 comma-separated fields \(label,youtube_id,time_start,"
                                     r"time_end,split\), got 4"),
    ("abseiling,Z_6i8NS0lgc,thirty,40,val", r"line 3: expected time_start in whole seconds \(e.g. 14\), got 'thirty'"),
    ("../../etc,Z_6i8NS0lgc,30,40,val", r"line 3: '../../etc' leaves the video folder"),
    ("abseiling,../x,30,40,val", r"line 3: '../x' leaves the video folder"),
    ("a/b,Z_6i8NS0lgc,30,40,val", r"line 3: expected a class label \(a plain file or folder name\), got 'a/b'"),
])
def test_kinetics_bad_csv_line_is_an_error_naming_file_and_line(tmp_path, clip, line, error):
    root, csv_path = _kinetics(tmp_path, clip, "flat", rows=KINETICS_ROWS[:1])
    csv_path.write_text(csv_path.read_text() + line + "\n")
    with pytest.raises(ValueError, match=r"train.csv, " + error):
        VideoFolder.kinetics(root, csv_path, split="train")


def test_kinetics_header_split_and_classes_are_checked(tmp_path, clip):
    root, csv_path = _kinetics(tmp_path, clip, "flat")
    with pytest.raises(ValueError, match=r"label 'zumba' is not one of the 2 classes given"):
        VideoFolder.kinetics(root, csv_path, classes=["abseiling", "air drumming"])
    data = VideoFolder.kinetics(root, csv_path, split="val", classes=["zumba", "abseiling", "yoga", "air drumming"])
    assert [y for _, y in data.samples] == [1, 0]  # a given label map keeps its ids
    with pytest.raises(ValueError, match="split must be one of train, val, test, got 'validation'"):
        VideoFolder.kinetics(root, csv_path, split="validation")
    with pytest.raises(ValueError, match=r"has no rows of split 'test' \(its split column holds: train, val\)"):
        VideoFolder.kinetics(root, csv_path, split="test")
    csv_path.write_text("youtube_id,time_start,time_end,split\n--07WQ2iBlw,1,11,test\n")
    with pytest.raises(ValueError, match=r"train.csv, line 1: expected the header label,youtube_id,.*: no label"):
        VideoFolder.kinetics(root, csv_path, split="test")
    with pytest.raises(FileNotFoundError, match=r"Kinetics annotation CSV not found: .*val.csv"):
        VideoFolder.kinetics(root, csv_path.with_name("val.csv"))
