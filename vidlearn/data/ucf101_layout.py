"""Writing a folder in UCF101's official layout: its file names, its group-wise splits, its split files.

UCF101 (Soomro et al., 2012) names every clip ``v_<Class>_g<GG>_c<CC>.avi``: ``GG`` is the *group*, the 25
groups of each class being 25 different source videos (one actor, one place), ``CC`` the clip cut from that
video. Clips of one group look alike (same person, background, camera), so the official splits keep every
group on one side: split ``N`` tests on groups ``7 (N - 1) + 1 .. 7 N`` (1-7, 8-14, 15-21) and trains on
the other 18 (:data:`UCF101_TEST_GROUPS`). A split that put clips of one group on both sides would measure
how well a model recognises the actor and the room, not the action.

:func:`write_ucf101_split_files` writes ``classInd.txt``, ``trainlist0N.txt`` and ``testlist0N.txt`` as the
official zip has them (CR LF line ends, 1-based class ids, the train lists with the id, the test lists
without), atomically; :class:`vidlearn.data.UCF101` reads them back. Used by the chapter "Your own videos",
which lays out a small tree of real and synthetic clips this way, and by homework on one's own recordings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

from vidlearn.data.folder import check_inside
from vidlearn.data.io import PathLike
from vidlearn.files import atomic_path

UCF101_GROUPS = 25  # source videos (groups) per class
# Lines of the official split files (ucfTrainTestlist/trainlist0N.txt, testlist0N.txt), counted on a public copy
# of them (github.com/abosun/pytorch-action-master, ucfTrainTestlist/, commit 33a77f3): every split holds all
# 13,320 videos, and split N tests on groups 7N-6 to 7N (the files' test lists have exactly those groups)
UCF101_VIDEOS = 13320
UCF101_SPLIT_VIDEOS = {1: {"train": 9537, "test": 3783}, 2: {"train": 9586, "test": 3734},
                       3: {"train": 9624, "test": 3696}}
UCF101_SPLIT1_VIDEOS = UCF101_SPLIT_VIDEOS[1]
UCF101_TEST_GROUPS: Dict[int, Tuple[int, ...]] = {n: tuple(range(7 * (n - 1) + 1, 7 * n + 1)) for n in (1, 2, 3)}
_NAME = re.compile(r"^v_(?P<cls>[A-Za-z0-9]+)_g(?P<group>\d{2})_c(?P<clip>\d{2})\.\w+$")


def ucf101_name(cls: str, group: int, clip: int, ext: str = ".avi") -> str:
    """``ucf101_name("Biking", 8, 1) == "v_Biking_g08_c01.avi"``: a clip's file name in UCF101's scheme."""
    if not re.fullmatch(r"[A-Za-z0-9]+", cls):
        raise ValueError(f"UCF101 class names are CamelCase letters and digits (e.g. 'ApplyEyeMakeup'), got {cls!r}")
    if not (1 <= group <= 99 and 1 <= clip <= 99):
        raise ValueError(f"group and clip numbers are 1..99 (two digits), got group={group}, clip={clip}")
    return f"v_{cls}_g{group:02d}_c{clip:02d}{ext}"


def parse_ucf101_name(name: str) -> Tuple[str, int, int]:
    """``"v_Biking_g08_c01.avi"`` (or ``"Biking/v_Biking_g08_c01.avi"``) -> ``("Biking", 8, 1)``."""
    m = _NAME.match(Path(name.replace("\\", "/")).name)
    if m is None:
        raise ValueError(f"expected a UCF101 clip name v_<Class>_g<GG>_c<CC>.<ext> (e.g. v_Biking_g08_c01.avi), "
                         f"got {name!r}")
    return m["cls"], int(m["group"]), int(m["clip"])


def ucf101_group_split(videos: Iterable[str], test_groups: Iterable[int]) -> Tuple[List[str], List[str]]:
    """``(train, test)``: the clips whose group is in ``test_groups`` go to test, all others to train.

    ``videos`` are ``<Class>/v_<Class>_gGG_cCC.avi`` paths (or bare names); both lists keep their order.
    This is how UCF101's official splits are made: no group on both sides.
    """
    test_set = {int(g) for g in test_groups}
    train: List[str] = []
    test: List[str] = []
    for v in videos:
        (test if parse_ucf101_name(v)[1] in test_set else train).append(v)
    return train, test


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes("".join(line + "\r\n" for line in lines).encode("utf-8"))  # the official CR LF


def write_ucf101_split_files(annotation_dir: PathLike, classes: Sequence[str], videos: Sequence[str],
                             test_groups: Mapping[int, Iterable[int]] = UCF101_TEST_GROUPS) -> Dict[str, Path]:
    """Write UCF101's split files for ``videos`` into ``annotation_dir``; returns ``{file name: path}``.

    Args:
        classes: the class names in id order (``classInd.txt`` numbers them 1, 2, ...).
        videos: ``<Class>/v_<Class>_gGG_cCC.avi`` paths relative to the video folder, every class one of
            ``classes`` and matching its folder.
        test_groups: split number -> the groups it tests on (default: the official 1-7, 8-14, 15-21).

    Raises:
        ValueError: a path that is not ``<Class>/<UCF101 name>`` of a listed class, leaves the folder, or a
            split that leaves its train or test list empty.
    """
    folder = Path(annotation_dir)
    index = {c: i + 1 for i, c in enumerate(classes)}
    for v in videos:
        check_inside(v, folder, "write_ucf101_split_files")
        parts = v.replace("\\", "/").split("/")
        cls = parse_ucf101_name(v)[0]
        if len(parts) != 2 or parts[0] != cls or cls not in index:
            raise ValueError(f"expected <Class>/v_<Class>_gGG_cCC.avi with a class of {list(classes)}, got {v!r}")
    written = {"classInd.txt": folder / "classInd.txt"}
    _write_lines(written["classInd.txt"], [f"{i} {c}" for c, i in index.items()])
    for split, groups in sorted(test_groups.items()):
        train, test = ucf101_group_split(videos, groups)
        if not train or not test:
            raise ValueError(f"split {split} with test groups {sorted(groups)} leaves its "
                             f"{'train' if not train else 'test'} list empty")
        for name, lines in ((f"trainlist0{split}.txt", [f"{v} {index[parse_ucf101_name(v)[0]]}" for v in train]),
                            (f"testlist0{split}.txt", test)):
            written[name] = folder / name
            _write_lines(written[name], lines)
    return written


__all__ = ["UCF101_GROUPS", "UCF101_VIDEOS", "UCF101_SPLIT_VIDEOS", "UCF101_SPLIT1_VIDEOS", "UCF101_TEST_GROUPS",
           "ucf101_name", "parse_ucf101_name", "ucf101_group_split", "write_ucf101_split_files"]
