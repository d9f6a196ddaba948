"""UCF101, HMDB51 and Kinetics as clip datasets, read from a copy the user has downloaded.

    from vidlearn.data import UCF101, HMDB51, Kinetics
    train = UCF101("data/UCF-101", split=1, train=True, frames=16)      # finds data/ucfTrainTestlist/
    test = HMDB51("data/hmdb51_org", "data/testTrainMulti_7030_splits", split=1, train=False)
    val = Kinetics("data/k400", split="val", annotations="data/k400/annotations/val.csv")
    clip, label = train[0]                                              # float32 (C, T, H, W), int

Each is a :class:`~vidlearn.data.VideoFolder` (the same sampling, ``frames``, ``transform`` and ``backend``,
the same ``(clip, label)`` items, ``.classes``, ``.samples`` as ``(path, label)`` pairs, ``.missing``) whose
samples come from the dataset's official split files, read by :mod:`vidlearn.data.formats`. **Nothing is
downloaded**: the data sets are large (UCF101 6.5 GB, HMDB51 2 GB, Kinetics-400 about 450 GB) and licensed by
their authors, so the user fetches and unpacks them from the official pages named in each docstring, and
points these classes at the folders. Label ids follow the published label maps (UCF101: ``classInd.txt``'s ids
minus 1; HMDB51 and Kinetics: class names sorted), as torchvision's datasets of the same names number them.

Every path built from a data file stays inside its root: a split-file line or CSV field with an absolute path
or a ``..`` part is refused with the file and line. Errors say what was expected and what came.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Sequence

from vidlearn.data.folder import VideoFolder
from vidlearn.data.formats import (
    KINETICS_SPLITS,
    _check_split_number,
    _need_dir,
    hmdb51_samples,
    kinetics_samples,
    ucf101_samples,
)
from vidlearn.data.io import PathLike

UCF101_URL = "https://www.crcv.ucf.edu/data/UCF101.php"
HMDB51_URL = "https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/"
KINETICS_URL = "https://github.com/cvdfoundation/kinetics-dataset"

UCF101_SPLITS_DIR = "ucfTrainTestlist"  # what UCF101TrainTestSplits-RecognitionTask.zip unpacks to
HMDB51_SPLITS_DIR = "testTrainMulti_7030_splits"  # what test_train_splits.rar unpacks to


def _first_with(candidates: Sequence[Path], pattern: str) -> Optional[Path]:
    for folder in candidates:
        if folder.is_dir() and any(p.is_file() for p in folder.glob(pattern)):
            return folder
    return None


def _looked_in(candidates: Sequence[Path]) -> str:
    return ", ".join(str(c) for c in dict.fromkeys(candidates))


class _SplitDataset(VideoFolder):
    """What the three datasets share: a repr naming the split."""

    def _split_text(self) -> str:
        return f"split={self.split!r}" + (f", train={self.train}" if hasattr(self, "train") else "")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({str(self.root)!r}, {self._split_text()}, {len(self.samples)} videos, "
                f"{len(self.classes)} classes, sampler={self.sampler!r})")


class UCF101(_SplitDataset):
    """UCF101 (Soomro et al., 2012): 13,320 videos of 101 actions, one of three official train/test splits.

    Expected layout, as the official archives unpack (``UCF101.rar`` and
    ``UCF101TrainTestSplits-RecognitionTask.zip``, both from https://www.crcv.ucf.edu/data/UCF101.php;
    nothing is downloaded here)::

        UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi      <- root: root/<ClassName>/v_<ClassName>_gXX_cYY.avi
        ucfTrainTestlist/classInd.txt     "1 ApplyEyeMakeup"      <- annotation_dir: ids 1..101, the label map
        ucfTrainTestlist/trainlist01.txt  "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
        ucfTrainTestlist/testlist01.txt   "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"

    Args:
        root: the unpacked ``UCF-101`` folder (one folder per class).
        annotation_dir: the folder holding ``classInd.txt``, ``trainlist0N.txt`` and ``testlist0N.txt``.
            ``None``: the first of ``root/ucfTrainTestlist``, ``root/../ucfTrainTestlist`` and ``root`` that
            holds a ``classInd.txt``.
        split: the official split, 1, 2 or 3 (torchvision calls it ``fold``).
        train: the split's train list (``trainlist0N.txt``), else its test list (``testlist0N.txt``).
        frames, sampler, transform, num_threads, backend: how clips are read, as for
            :class:`~vidlearn.data.VideoFolder` (default: 16 frames spread over the video).

    Labels are 0-based, in ``classInd.txt`` order (its id minus 1); a train list's own id on each line is
    checked against it. ``.split`` and ``.train`` say which list was read, ``.annotation_dir`` where.

    Raises:
        ValueError: ``split`` not in 1..3; a malformed line of ``classInd.txt`` or a list, a class id that
            does not match (out of range included), an unknown class, or a path that leaves ``root``
            (absolute, or with ``..``): the message names the file and line.
        FileNotFoundError: ``root``, the annotation folder, ``classInd.txt`` or the split's list is missing, or
            a listed video is not there (UCF101 is distributed whole; the message names the line).
    """

    def __init__(self, root: PathLike, annotation_dir: Optional[PathLike] = None, split: int = 1,
                 train: bool = True, *, frames: int = 16, sampler: Optional[Callable] = None,
                 transform: Optional[Callable] = None, num_threads: int = 1, backend: Optional[str] = None):
        _check_split_number(split, "UCF101")
        root = _need_dir(Path(root), "UCF101 video folder (UCF-101/, one folder per class)")
        if annotation_dir is None:
            candidates = [root / UCF101_SPLITS_DIR, root.parent / UCF101_SPLITS_DIR, root]
            found = _first_with(candidates, "classInd.txt")
            if found is None:
                raise FileNotFoundError(
                    f"UCF101 split files not found: no classInd.txt in {_looked_in(candidates)}; download "
                    f"UCF101TrainTestSplits-RecognitionTask.zip from {UCF101_URL}, unpack it and pass its folder "
                    f"as annotation_dir= (vidlearn downloads nothing)")
            annotation_dir = found
        self.annotation_dir, self.split, self.train = Path(annotation_dir), split, bool(train)
        classes, samples = ucf101_samples(root, self.annotation_dir, split, self.train)
        self._use_samples(root, classes, samples)
        self._set_reading(frames, sampler, transform, num_threads, backend)


class HMDB51(_SplitDataset):
    """HMDB51 (Kuehne et al., ICCV 2011): 6,766 clips of 51 actions, one of three official splits.

    Expected layout, as the official archives unpack (``hmdb51_org.rar``, itself one ``.rar`` per class,
    and ``test_train_splits.rar``, both from
    https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/; nothing is downloaded
    here)::

        hmdb51_org/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi    <- root: root/<class>/<video>.avi
        testTrainMulti_7030_splits/brush_hair_test_split1.txt               <- annotation_dir
            "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1"      1 = train, 2 = test, 0 = not used in this split

    Args:
        root: the folder of class folders (the unpacked per-class archives).
        annotation_dir: the folder of ``<class>_test_split{1,2,3}.txt`` files. ``None``: the first of
            ``root/../testTrainMulti_7030_splits`` and ``root`` that holds such files. It cannot be a folder
            inside ``root``, where every folder is a class.
        split: the official split, 1, 2 or 3.
        train: the videos marked 1 in the split, else those marked 2.
        frames, sampler, transform, num_threads, backend: as for :class:`~vidlearn.data.VideoFolder`.

    Labels are 0-based in sorted class order (the class names of the split files, as torchvision's HMDB51
    sorts its class folders); every class folder of ``root`` needs its split file, so no label id shifts.

    Raises:
        ValueError: ``split`` not in 1..3; a line that is not ``<video> <0|1|2>`` (an id out of range
            included) or whose name leaves its class folder (``..``, ``/``, absolute): the message names the
            file and line; an ``annotation_dir`` inside ``root``.
        FileNotFoundError: ``root`` or the split files are missing, a class folder has no split file, or a
            listed video is not there (the message names the line).
    """

    def __init__(self, root: PathLike, annotation_dir: Optional[PathLike] = None, split: int = 1,
                 train: bool = True, *, frames: int = 16, sampler: Optional[Callable] = None,
                 transform: Optional[Callable] = None, num_threads: int = 1, backend: Optional[str] = None):
        _check_split_number(split, "HMDB51")
        root = _need_dir(Path(root), "HMDB51 video folder (hmdb51_org/, one folder per class)")
        pattern = "*_test_split[123].txt"
        if annotation_dir is None:
            candidates = [root.parent / HMDB51_SPLITS_DIR, root, root / HMDB51_SPLITS_DIR]
            found = _first_with(candidates, pattern)
            if found is None:
                raise FileNotFoundError(
                    f"HMDB51 split files not found: no <class>_test_split<N>.txt in {_looked_in(candidates)}; "
                    f"download test_train_splits.rar from {HMDB51_URL}, unpack it beside {root} and pass its "
                    f"folder as annotation_dir= (vidlearn downloads nothing)")
            annotation_dir = found
        annotation_dir = Path(annotation_dir)
        if annotation_dir.is_dir() and annotation_dir.resolve().parent == root.resolve():
            raise ValueError(f"the HMDB51 split folder {annotation_dir} is inside the video folder {root}, where "
                             f"every folder is taken for a class: expected it beside the class folders, e.g. "
                             f"{root.parent / annotation_dir.name}")
        self.annotation_dir, self.split, self.train = annotation_dir, split, bool(train)
        classes, samples = hmdb51_samples(root, annotation_dir, split, self.train)
        self._use_samples(root, classes, samples)
        self._set_reading(frames, sampler, transform, num_threads, backend)


class Kinetics(_SplitDataset):
    """Kinetics-400/600/700 (Kay et al., 2017; Carreira et al., 2018, 2019): YouTube clips of about 10 s.

    Expected layout, the one the Kinetics downloaders and torchvision's ``Kinetics`` use (the videos and CSVs
    of https://github.com/cvdfoundation/kinetics-dataset, arranged by class with its
    ``arrange_by_classes.py``; nothing is downloaded here)::

        root/train/abseiling/-3B32lodo2M_000059_000069.mp4    <- root/<split>/<class>/<clip>.mp4, with
        root/val/...                                              <clip> = <youtube_id>_<start:06d>_<end:06d>
        annotations/train.csv   "label,youtube_id,time_start,time_end,split"   (later releases add is_cc)

    Args:
        root: the folder holding one folder per split (``train``, ``val``, ``test``).
        split: ``"train"``, ``"val"`` or ``"test"``; clips are read from ``root/<split>``.
        annotations: ``None``: every video in ``root/<split>/<class>/``, classes the folder names sorted.
            Else the split's CSV (or a folder holding ``<split>.csv``): its rows of ``split`` are the
            samples, its labels sorted the classes (folders may write the label's spaces as underscores; with
            a CSV the clips may also lie flat in ``root/<split>``, as cvdfoundation's extractors leave them).
        classes: the label map to use instead (e.g. the training set's ``.classes`` for ``val``, so that a
            class with no clip there keeps every id).
        frames, sampler, transform, num_threads, backend: as for :class:`~vidlearn.data.VideoFolder`.

    Clips listed in the CSV but not on disk (taken off YouTube, failed downloads: the rule for Kinetics) are
    left out with one :class:`~vidlearn.data.MissingVideosWarning` giving their count; ``.missing`` lists
    them. ``.split_folder`` is ``root/<split>``.

    Raises:
        ValueError: an unknown ``split``; a CSV line with the wrong fields, times that are not whole seconds,
            a label or id that is not a plain name (``..``, ``/``): the message names the file and line; a
            label not in ``classes``.
        FileNotFoundError: ``root/<split>`` or the CSV is missing, no class folder or video is there, or
            none of the CSV's clips of the split is.
    """

    def __init__(self, root: PathLike, split: str = "train", annotations: Optional[PathLike] = None, *,
                 classes: Optional[Sequence[str]] = None, frames: int = 16, sampler: Optional[Callable] = None,
                 transform: Optional[Callable] = None, num_threads: int = 1, backend: Optional[str] = None):
        if not isinstance(split, str) or split not in KINETICS_SPLITS:
            raise ValueError(f"Kinetics split must be one of {', '.join(KINETICS_SPLITS)}, got {split!r}")
        root = _need_dir(Path(root), "Kinetics folder (root/<split>/<class>/<clip>.mp4)")
        self.split, self.split_folder = split, root / split
        _need_dir(self.split_folder, f"Kinetics {split!r} folder (expected root/{split}/<class>/<youtube_id>_"
                                     f"<start:06d>_<end:06d>.mp4; the videos: {KINETICS_URL})")
        self.annotations = None if annotations is None else self._csv(Path(annotations), split)
        if self.annotations is None:
            super().__init__(self.split_folder, frames=frames, sampler=sampler, transform=transform,
                             num_threads=num_threads, classes=classes, backend=backend)
            self.root = root
            return
        names, samples, missing = kinetics_samples(self.split_folder, self.annotations, split, classes)
        self._use_samples(root, names, samples, missing)
        self._set_reading(frames, sampler, transform, num_threads, backend)

    @staticmethod
    def _csv(path: Path, split: str) -> Path:
        if not path.is_dir():
            return path  # a missing file is reported by the CSV reader, with its path
        names: List[str] = [f"{s}.csv" for s in KINETICS_SPLITS[split]]  # Kinetics-600 wrote validate.csv
        for name in names:
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"Kinetics annotation CSV not found: no {' or '.join(names)} in {path} (the CSVs "
                                f"come with the videos: {KINETICS_URL})")
