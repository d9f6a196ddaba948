"""The annotation files of UCF101, HMDB51 and Kinetics, read as the datasets are distributed.

Each reader turns a dataset's own split files into ``(classes, samples)`` for
:meth:`VideoFolder.ucf101 <vidlearn.data.VideoFolder.ucf101>`, ``.hmdb51`` and ``.kinetics``. The videos are
read where they lie: no frame extraction, no re-packing, no list files to write first.

UCF101 (Soomro et al., 2012), ``UCF101.rar`` + ``UCF101TrainTestSplits-RecognitionTask.zip``::

    UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi       <- root
    ucfTrainTestlist/classInd.txt      1 ApplyEyeMakeup        <- annotations; ids 1..101, the label map
    ucfTrainTestlist/trainlist01.txt   ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1
    ucfTrainTestlist/testlist01.txt    ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi

HMDB51 (Kuehne et al., ICCV 2011), ``hmdb51_org.rar`` (one archive per class) + ``test_train_splits.rar``::

    hmdb51_org/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi               <- root
    testTrainMulti_7030_splits/brush_hair_test_split1.txt   <video file name> 1  <- annotations
                                                            (1 train, 2 test, 0 not used in this split)

Kinetics-400/600/700 (Kay et al., 2017; Carreira et al., 2018, 2019): one CSV per split,
``label,youtube_id,time_start,time_end,split`` (later releases add ``is_cc``), and clips named
``<youtube_id>_<time_start:06d>_<time_end:06d>.mp4`` (any extension of ``VIDEO_EXTENSIONS``) in one of
the layouts the common downloaders leave (both may be mixed in one root):

- flat, ``root/<clip>.mp4``: cvdfoundation/kinetics-dataset's ``k400_extractor.sh`` and
  ``k600_extractor.sh`` (``k400/train/``, ``k400/val/``, ``k400/test/``, CSVs in ``k400/annotations/``);
- by class, ``root/<label>/<clip>.mp4``: ActivityNet's ``Crawler/Kinetics/download.py``, cvdfoundation's
  ``arrange_by_classes.py`` (symbolic links, which are followed) and its Kinetics-700-2020 archives; the label
  as the CSV writes it (``air drumming``) or with underscores for spaces (``air_drumming``).

Clips taken off YouTube since the CSV was written are the rule for Kinetics, so a missing clip is left out
with one :class:`MissingVideosWarning` (how many, the first few) and listed in ``.missing``; for UCF101 and
HMDB51, which are distributed whole, a missing video is an error naming its line.

Label ids follow the published label maps: classInd order for UCF101 (its id minus 1), sorted class names for
HMDB51 and Kinetics (Python's ``sorted``, as mmaction2's and PySlowFast's label maps list them). Every format
error (a malformed line, a wrong class id, an unknown class, a path that leaves ``root``, a missing annotation
file) names the file and the line, what was expected and what came.
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from vidlearn.data.folder import VIDEO_EXTENSIONS, check_inside
from vidlearn.data.io import PathLike

Samples = List[Tuple[str, int]]
KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")
KINETICS_SPLITS = {"train": ("train",), "val": ("val", "validate"), "test": ("test",)}  # K600 wrote "validate"
_HMDB_SPLIT_FILE = re.compile(r"^(?P<name>.+)_test_split(?P<split>\d+)\.txt$")


class MissingVideosWarning(UserWarning):
    """Videos listed in a dataset's annotations that are not on disk (left out of the dataset)."""


def _need_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def _need_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def _lines(path: Path) -> Iterator[Tuple[int, str]]:
    """``(line number, stripped text)`` of the non-blank lines (UCF101's lists end lines with CR LF)."""
    for lineno, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if raw.strip():
            yield lineno, raw.strip()


def _plain_name(name: str, root: Path, where: str, what: str) -> str:
    """A name that becomes one path component under ``root``: no separators, not ``.`` or ``..``."""
    check_inside(name, root, where)
    if not name or name == "." or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"{where}: expected {what} (a plain file or folder name), got {name!r}")
    return name


def _check_split_number(split: int, dataset: str) -> int:
    if isinstance(split, bool) or split not in (1, 2, 3):
        raise ValueError(f"{dataset} has three official splits: split must be 1, 2 or 3, got {split!r}")
    return split


def _some(names: Sequence[str], k: int = 10) -> str:
    return ", ".join(names[:k]) + (f"... ({len(names)} in all)" if len(names) > k else "")


# ---------------------------------------------------------------------------------------------- UCF101


def read_class_ind(path: PathLike) -> List[str]:
    """UCF101's ``classInd.txt`` (``1 ApplyEyeMakeup`` ...): the class names in id order."""
    path = _need_file(Path(path), "UCF101 class index (classInd.txt)")
    classes: List[str] = []
    for lineno, line in _lines(path):
        where = f"{path}, line {lineno}"
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{where}: expected '<id> <ClassName>' (e.g. '1 ApplyEyeMakeup'), got {line!r}")
        if int(parts[0]) != len(classes) + 1:
            raise ValueError(f"{where}: expected class id {len(classes) + 1} (ids count 1, 2, 3... in order), "
                             f"got {parts[0]}")
        name = _plain_name(parts[1], path.parent, where, "a class name")
        if name in classes:
            raise ValueError(f"{where}: class {name!r} is listed twice (first as id {classes.index(name) + 1})")
        classes.append(name)
    if not classes:
        raise ValueError(f"{path} lists no classes: expected lines '<id> <ClassName>'")
    return classes


def ucf101_samples(root: PathLike, annotations: PathLike, split: int = 1,
                   train: bool = True) -> Tuple[List[str], Samples]:
    """UCF101's classes (classInd order) and the ``(path, label)`` samples of one split's train or test list."""
    root, annotations = Path(root), Path(annotations)
    _check_split_number(split, "UCF101")
    _need_dir(root, "UCF101 video folder (UCF-101/, one folder per class)")
    _need_dir(annotations, "UCF101 annotation folder (ucfTrainTestlist/)")
    class_ind = annotations / "classInd.txt"
    classes = read_class_ind(class_ind)
    index = {c: i for i, c in enumerate(classes)}
    listing = _need_file(annotations / f"{'train' if train else 'test'}list0{split}.txt", "UCF101 split file")
    expected = "'<Class>/<video>.avi <class id>'" if train else "'<Class>/<video>.avi'"
    samples: Samples = []
    for lineno, line in _lines(listing):
        where = f"{listing}, line {lineno}"
        parts = line.rsplit(maxsplit=1)
        given = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
        rel = parts[0] if given is not None else line
        if train and given is None:
            raise ValueError(f"{where}: expected {expected}, got {line!r}")
        check_inside(rel, root, where)
        pieces = rel.replace("\\", "/").split("/")
        if len(pieces) != 2 or not all(pieces) or any(c.isspace() for c in rel):
            raise ValueError(f"{where}: expected {expected}, got {line!r}")
        name, video = pieces
        if name not in index:
            raise ValueError(f"{where}: class {name!r} is not in {class_ind} (classes: {_some(classes)})")
        if given is not None and given != index[name] + 1:
            raise ValueError(f"{where}: class id {given} does not match the folder {name!r}, which is id "
                             f"{index[name] + 1} in {class_ind}")
        path = root / name / video
        if not path.is_file():
            raise FileNotFoundError(f"{where}: video {path} listed here does not exist (expected the unpacked "
                                    f"UCF-101 folder as root: <root>/<Class>/<video>.avi)")
        samples.append((str(path), index[name]))
    if not samples:
        raise ValueError(f"{listing} lists no videos: expected lines {expected}")
    return classes, samples


# ---------------------------------------------------------------------------------------------- HMDB51


def hmdb51_samples(root: PathLike, annotations: PathLike, split: int = 1,
                   train: bool = True) -> Tuple[List[str], Samples]:
    """HMDB51's classes (sorted) and the ``(path, label)`` samples marked 1 (train) or 2 (test) in a split."""
    root, annotations = Path(root), Path(annotations)
    _check_split_number(split, "HMDB51")
    _need_dir(root, "HMDB51 video folder (hmdb51_org/, one folder per class)")
    _need_dir(annotations, "HMDB51 annotation folder (testTrainMulti_7030_splits/)")
    files: Dict[str, Path] = {}
    for p in annotations.iterdir():
        m = _HMDB_SPLIT_FILE.match(p.name)
        if m and int(m["split"]) == split and p.is_file():
            files[_plain_name(m["name"], root, str(p), "a class name")] = p
    if not files:
        raise FileNotFoundError(f"no HMDB51 split files <class>_test_split{split}.txt in {annotations}")
    classes = sorted(files)
    # a class folder whose split file is lost would silently shift every later label id
    folders = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    lost = [d for d in folders if d not in files]
    if lost:
        raise FileNotFoundError(f"{annotations / (lost[0] + f'_test_split{split}.txt')} not found, but {root} has "
                                f"the class folder {lost[0]!r} (classes without split files: {_some(lost)})")
    want = "1" if train else "2"
    samples: Samples = []
    for label, name in enumerate(classes):
        split_file = files[name]
        for lineno, line in _lines(split_file):
            where = f"{split_file}, line {lineno}"
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise ValueError(f"{where}: expected '<video file name> <0|1|2>' (1 train, 2 test, 0 not used), "
                                 f"got {line!r}")
            video = _plain_name(parts[0], root, where, "a video file name")
            if parts[1] != want:
                continue
            path = root / name / video
            if not path.is_file():
                raise FileNotFoundError(f"{where}: video {path} listed here does not exist (expected the unpacked "
                                        f"hmdb51_org folder as root: <root>/<class>/<video>.avi)")
            samples.append((str(path), label))
    if not samples:
        raise ValueError(f"the split-{split} files in {annotations} mark no video {want} "
                         f"({'train' if train else 'test'})")
    return classes, samples


# -------------------------------------------------------------------------------------------- Kinetics


def _whole_seconds(text: str, where: str, column: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise ValueError(f"{where}: expected {column} in whole seconds (e.g. 14), got {text!r}")
    return int(value)


def _index_clips(root: Path) -> Tuple[Dict[str, str], Dict[Tuple[str, str], str]]:
    """Video files directly in ``root`` (by stem) and one folder down (by folder and stem): one scan."""
    flat: Dict[str, str] = {}
    nested: Dict[Tuple[str, str], str] = {}

    def is_video(entry: os.DirEntry) -> bool:
        return (not entry.name.startswith(".") and os.path.splitext(entry.name)[1].lower() in VIDEO_EXTENSIONS
                and entry.is_file())  # follows links: arrange_by_classes.py links the clips

    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                with os.scandir(entry.path) as inner:
                    nested.update(((entry.name, os.path.splitext(f.name)[0]), f.path) for f in inner if is_video(f))
            elif is_video(entry):
                flat[os.path.splitext(entry.name)[0]] = entry.path
    return flat, nested


def kinetics_samples(root: PathLike, annotations_csv: PathLike, split: str = "train",
                     classes: Optional[Sequence[str]] = None) -> Tuple[List[str], Samples, List[str]]:
    """Kinetics classes (sorted CSV labels, or ``classes``), the samples found and the clip names missing."""
    root, csv_path = Path(root), Path(annotations_csv)
    if split not in KINETICS_SPLITS:
        raise ValueError(f"split must be one of {', '.join(KINETICS_SPLITS)}, got {split!r}")
    _need_dir(root, "Kinetics video folder")
    _need_file(csv_path, "Kinetics annotation CSV")
    rows = []
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        absent = [c for c in KINETICS_COLUMNS if c not in header]
        if absent:
            hint = (" (a CSV without labels, as some releases' test lists, cannot give labelled samples)"
                    if "label" in absent and header else "")
            raise ValueError(f"{csv_path}, line 1: expected the header {','.join(KINETICS_COLUMNS)} (is_cc "
                             f"optional), got {','.join(header)!r}: no {', '.join(absent)}{hint}")
        col = [header.index(c) for c in KINETICS_COLUMNS]
        for fields in reader:
            where = f"{csv_path}, line {reader.line_num}"
            if not any(x.strip() for x in fields):
                continue
            if len(fields) != len(header):
                raise ValueError(f"{where}: expected {len(header)} comma-separated fields ({','.join(header)}), "
                                 f"got {len(fields)}: {','.join(fields)!r}")
            label, youtube_id, start, end, row_split = (fields[i].strip() for i in col)
            _plain_name(label, root, where, "a class label")
            _plain_name(youtube_id, root, where, "a YouTube id")
            start_s, end_s = _whole_seconds(start, where, "time_start"), _whole_seconds(end, where, "time_end")
            rows.append((where, label, f"{youtube_id}_{start_s:06d}_{end_s:06d}", row_split))
    names = sorted({r[1] for r in rows}) if classes is None else list(classes)
    index = {c: i for i, c in enumerate(names)}
    for where, label, _, _ in rows:
        if label not in index:
            raise ValueError(f"{where}: label {label!r} is not one of the {len(names)} classes given "
                             f"({_some(names)})")
    chosen = [r for r in rows if r[3] in KINETICS_SPLITS[split]]
    if not chosen:
        raise ValueError(f"{csv_path} has no rows of split {split!r} (its split column holds: "
                         f"{_some(sorted({r[3] for r in rows}))})")
    flat, nested = _index_clips(root)
    samples: Samples = []
    missing: List[str] = []
    for _, label, clip, _ in chosen:
        path = nested.get((label, clip)) or nested.get((label.replace(" ", "_"), clip)) or flat.get(clip)
        if path is None:
            missing.append(clip)
        else:
            samples.append((path, index[label]))
    layouts = f"looked for <label>/<clip>.mp4 and <clip>.mp4 in {root}, <clip> = <youtube_id>_<start:06d>_<end:06d>"
    if not samples:
        raise FileNotFoundError(f"none of the {len(chosen)} clips of split {split!r} in {csv_path} is there "
                                f"({layouts}; first missing: {', '.join(missing[:3])})")
    if missing:
        warnings.warn(f"{len(missing)} of {len(chosen)} clips of split {split!r} listed in {csv_path} are not in "
                      f"{root} (first: {', '.join(missing[:5])}); they are left out, .missing lists them "
                      f"({layouts})", MissingVideosWarning, stacklevel=3)
    return names, samples, missing
