"""The chapter "Your own videos": UCF101's naming and group-wise splits (vidlearn.data.ucf101_layout), split files
that vidlearn.data.UCF101 reads back, the chapter's figures, and its exercise checker (right and typical wrong
answers)."""

import re

import numpy as np
import pytest

from vidlearn.data import UCF101, write_video
from vidlearn.data.ucf101_layout import (
    UCF101_SPLIT_VIDEOS,
    UCF101_TEST_GROUPS,
    UCF101_VIDEOS,
    parse_ucf101_name,
    ucf101_group_split,
    ucf101_name,
    write_ucf101_split_files,
)
from vidlearn.exercises.your_own_videos import check_group_split


def test_names_round_trip_and_bad_names_are_refused():
    assert ucf101_name("Biking", 8, 1) == "v_Biking_g08_c01.avi"
    assert parse_ucf101_name("Biking/v_Biking_g08_c01.avi") == ("Biking", 8, 1)
    for bad in ("Biking_g08_c01.avi", "v_Biking_g8_c01.avi", "v_Bi_king_g08_c01.avi"):
        with pytest.raises(ValueError, match="v_<Class>_g<GG>_c<CC>"):
            parse_ucf101_name(bad)
    with pytest.raises(ValueError, match="CamelCase"):
        ucf101_name("move_right", 1, 1)


def test_every_official_split_holds_all_of_ucf101s_videos():
    """The split sizes (counted on the official files) add up to the 13,320 videos of the UCF101 paper."""
    assert UCF101_VIDEOS == 13320
    assert all(n["train"] + n["test"] == UCF101_VIDEOS for n in UCF101_SPLIT_VIDEOS.values())
    assert sorted(UCF101_SPLIT_VIDEOS) == sorted(UCF101_TEST_GROUPS) == [1, 2, 3]


def test_official_splits_test_on_seven_groups_each_and_never_share_one():
    assert UCF101_TEST_GROUPS[1] == tuple(range(1, 8)) and UCF101_TEST_GROUPS[3] == tuple(range(15, 22))
    videos = [f"A/{ucf101_name('A', g, c)}" for g in range(1, 26) for c in (1, 2)]
    train, test = ucf101_group_split(videos, UCF101_TEST_GROUPS[1])
    assert len(test) == 14 and len(train) == 36
    assert not {parse_ucf101_name(v)[1] for v in train} & {parse_ucf101_name(v)[1] for v in test}


def test_written_split_files_are_in_the_official_format_and_read_back(tmp_path):
    classes = ["YoYo", "Archery"]  # classInd order, not alphabetical
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    videos = []
    for c in classes:
        for g in (1, 2, 3):
            rel = f"{c}/{ucf101_name(c, g, 1)}"
            write_video(tmp_path / "UCF-101" / rel, frames, fps=4)
            videos.append(rel)
    files = write_ucf101_split_files(tmp_path / "ucfTrainTestlist", classes, videos,
                                     {1: (1,), 2: (2,), 3: (3,)})
    assert sorted(files) == sorted(["classInd.txt"] + [f"{k}list0{n}.txt" for n in (1, 2, 3)
                                                      for k in ("test", "train")])
    raw = files["trainlist01.txt"].read_bytes().decode()
    assert raw.startswith("YoYo/v_YoYo_g02_c01.avi 1\r\n") and "Archery/v_Archery_g03_c01.avi 2\r\n" in raw
    assert files["testlist01.txt"].read_bytes() == b"YoYo/v_YoYo_g01_c01.avi\r\nArchery/v_Archery_g01_c01.avi\r\n"
    assert files["classInd.txt"].read_bytes() == b"1 YoYo\r\n2 Archery\r\n"
    for split in (1, 2, 3):
        test = UCF101(tmp_path / "UCF-101", split=split, train=False, frames=2)
        train = UCF101(tmp_path / "UCF-101", split=split, train=True, frames=2)
        assert len(test) == 2 and len(train) == 4 and test.classes == classes
        assert all(f"_g0{split}_" in p for p, _ in test.samples)
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]  # atomic writes leave no temporaries


def test_split_files_refuse_a_path_outside_or_an_empty_side(tmp_path):
    with pytest.raises(ValueError, match="leaves"):
        write_ucf101_split_files(tmp_path, ["A"], ["../A/v_A_g01_c01.avi"])
    with pytest.raises(ValueError, match="<Class>/v_<Class>"):
        write_ucf101_split_files(tmp_path, ["A"], ["B/v_A_g01_c01.avi"])
    with pytest.raises(ValueError, match="train list empty"):
        write_ucf101_split_files(tmp_path, ["A"], ["A/v_A_g01_c01.avi"], {1: (1,)})


def _solution(videos, test_groups):
    groups = set(test_groups)
    test = [v for v in videos if int(re.search(r"_g(\d\d)_", v).group(1)) in groups]
    return [v for v in videos if v not in test], test


def test_checker_accepts_a_right_answer_and_names_typical_mistakes(capsys):
    assert check_group_split(_solution)
    assert "correct" in capsys.readouterr().out

    def by_clip(videos, test_groups):  # the clip number read as the group
        test = [v for v in videos if int(re.search(r"_c(\d\d)", v).group(1)) in set(test_groups)]
        return [v for v in videos if v not in test], test

    def swapped(videos, test_groups):
        train, test = _solution(videos, test_groups)
        return test, train

    def random_split(videos, test_groups):
        k = len(videos) * 3 // 10
        return videos[k:], videos[:k]

    def unordered(videos, test_groups):
        train, test = _solution(videos, test_groups)
        return sorted(train), sorted(test)

    def todo(videos, test_groups):
        raise NotImplementedError

    for fn, said in [(by_clip, "wrong side"), (swapped, "swapped"), (random_split, "both sides"),
                     (unordered, "order"), (todo, "not implemented"), (lambda v, g: v, "pair")]:
        assert not check_group_split(fn)
        assert said in capsys.readouterr().out


# ---------------------------------------------------------------------------------- metrics and figures

def test_confusion_matrix_matches_a_hand_count_and_names_the_worst_classes():
    import torch

    from vidlearn.train.metrics import confusion_matrix, per_class_accuracy, worst_classes

    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    preds = torch.tensor([0, 0, 1, 1, 0, 2, 1, 1, 2])
    cm = confusion_matrix(preds, labels, 4)
    assert cm.tolist() == [[2, 1, 0, 0], [1, 1, 0, 0], [0, 2, 2, 0], [0, 0, 0, 0]]
    acc = per_class_accuracy(cm)
    assert acc[:3].tolist() == pytest.approx([2 / 3, 1 / 2, 1 / 2]) and torch.isnan(acc[3])
    # class 2 (4 videos) before class 1 (2 videos) at the same accuracy; class 3 has no test videos
    assert worst_classes(cm, ["a", "b", "c", "d"], k=5) == [("c", 0.5, 4, "b"), ("b", 0.5, 2, "a"),
                                                             ("a", 2 / 3, 3, "b")]
    with pytest.raises(ValueError, match="outside 0 .. 3"):
        confusion_matrix(torch.tensor([4]), torch.tensor([0]), 4)
    with pytest.raises(ValueError, match="2 predictions but 1 labels"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 4)


def test_the_chapters_figures_have_titles_axes_and_one_trace_per_split():
    import torch

    from vidlearn.viz.datasets import confusion_matrix_figure, split_overview_figure

    fig = split_overview_figure(["A", "B"], {"train": [0, 0, 1], "test": [1]},
                                {"train": [1.0, 2.0, 3.0], "test": [0.5]})
    assert [t.type for t in fig.data] == ["bar", "box", "bar", "box"]
    assert list(fig.data[0].y) == [2, 1] and fig.layout.title.text
    assert fig.layout.yaxis2.title.text == "length (s)"
    with pytest.raises(ValueError, match="2 labels but 1 lengths"):
        split_overview_figure(["A"], {"train": [0, 0]}, {"train": [1.0]})
    cm = torch.tensor([[3, 1], [0, 2]])
    heat = confusion_matrix_figure(cm, ["A", "B"])
    assert list(heat.data[0].z[0]) == [0.75, 0.25] and list(heat.data[0].text[0]) == [3, 1]
    assert heat.layout.xaxis.title.text == "predicted class"
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        confusion_matrix_figure(cm, ["A", "B", "C"])


def test_batch_norm_frozen_keeps_the_statistics_through_fit_and_trains_the_rest():
    import torch

    from vidlearn import create_model
    from vidlearn.train import fit
    from vidlearn.train.finetune import BatchNormFrozen

    torch.manual_seed(0)
    model = create_model("r2plus1d_18", tiny=True, num_classes=3)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    stats = [(b.running_mean.clone(), b.running_var.clone(), b.weight.clone()) for b in bns]
    conv = model.stem[0].weight.clone()
    data = [(torch.rand(3, 8, 32, 32), i % 3) for i in range(12)]
    wrapped = BatchNormFrozen(model).train()
    assert all(not b.training for b in bns) and wrapped.training and model.training
    fit(wrapped, data, epochs=1, batch_size=4, lr=1e-2, verbose=False)
    assert all(torch.equal(b.running_mean, m) and torch.equal(b.running_var, v) for b, (m, v, _) in zip(bns, stats))
    assert not torch.equal(model.stem[0].weight, conv)  # the convolutions trained
    assert any(not torch.equal(b.weight, w) for b, (_, _, w) in zip(bns, stats))  # and the BN scales
    x = torch.rand(2, 3, 8, 32, 32)
    with torch.no_grad():
        assert torch.equal(wrapped.eval()(x), model.eval()(x))
    frozen = BatchNormFrozen(create_model("r2plus1d_18", tiny=True, num_classes=3), train_affine=False)
    assert all(not p.requires_grad for b in frozen.batch_norms() for p in b.parameters())
