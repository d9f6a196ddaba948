"""VideoFolder: a dataset over real video files in a UCF101/HMDB51-style tree.

    root/
      ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi
      ApplyEyeMakeup/...
      YoYo/v_YoYo_g25_c05.avi

Class folders are sorted by name and numbered from 0 (or taken in the order of ``classes=``). Without a
split file every video under a class folder is a sample; with one (UCF101's ``trainlist01.txt``, one
``Class/video.avi [label]`` per line) only the listed videos are, in the file's order. The optional
number on a line is not used: the label is the class folder's index (UCF101's 1-based labels count the
same alphabetical classes). A split file cannot reach outside ``root``: a line with an absolute path or a
``..`` part is an error naming the file and line (symbolic links inside the tree are followed, as a tree
of links to another disk is a common way to lay out a dataset).

The public datasets are read as they are distributed, with their own split files, where they lie (no frame
extraction): ``VideoFolder.ucf101(root, annotations, split=1, train=True)``, ``VideoFolder.hmdb51(...)`` and
``VideoFolder.kinetics(root, annotations_csv, split="train")``, with label ids in the published order (the
formats and layouts: :mod:`vidlearn.data.formats`).

Each item decodes only the frames its sampler picks (with the reader :func:`~vidlearn.data.read_video` uses:
decord, torchcodec or PyAV, whichever is installed, or ``backend=``), so a 16-frame clip from a 10-minute video
costs 16 frames, not 10 minutes. Samplers that return several index sets (SlowFast's two pathways,
multi-view testing) are read in one pass and transformed together, so every pathway and view gets the
same crop and flip. Used by the book wherever real video is trained on, and by homework on own data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from vidlearn.data.io import PathLike, _choose_backend, get_frames, open_video
from vidlearn.data.samplers import UniformSampler

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov")


def check_inside(rel: str, root: Path, where: str) -> None:
    """Refuse a path read from a data file that would leave ``root``: absolute, or with a ``..`` part.

    ``where`` names the file and line (``"trainlist01.txt, line 3"``). Symbolic links inside ``root`` are
    followed later as any file is; only the text of the path is judged here.
    """
    parts = Path(rel.replace("\\", "/")).parts
    if Path(rel).is_absolute() or Path(rel).drive or rel.startswith(("/", "\\")) or ".." in parts:
        raise ValueError(f"{where}: {rel!r} leaves the video folder {root}; paths in annotation files must be "
                         "relative paths inside it (no absolute paths, no '..')")


class VideoFolder(Dataset):
    """Videos in class folders (``root/<class>/<video>``), read through a frame sampler.

    Args:
        root: the folder holding one sub-folder per class.
        frames: clip length of the default sampler, ``UniformSampler(frames)`` (unused when ``sampler``
            is given).
        sampler: a sampler from :mod:`vidlearn.data.samplers`; training samplers draw from torch's global
            generator (seeded per DataLoader worker, repeatable with ``torch.manual_seed``).
        transform: applied to the float clip ``(C, T, H, W)`` in [0, 1].
        split_file: a text file of ``<class>/<video> [label]`` lines, relative to ``root``.
        extensions: file endings that count as videos (case-insensitive).
        num_threads: decoding threads per video (1 suits DataLoader workers).
        classes: use only these class folders, numbered in this order (e.g. a ``SyntheticActions``'s
            ``.classes`` after :func:`write_video_folder`, to keep its labels); default: all, sorted.
        backend: the video reader, ``"decord"``, ``"torchcodec"`` or ``"pyav"`` (see
            :func:`~vidlearn.data.io.open_video`); ``None``: ``$VIDLEARN_VIDEO_BACKEND``, else the first
            installed. Every backend gives the same frames.

    Items are ``(clip, label)``: ``clip`` float32 ``(C, T, H, W)`` (a ``(V, C, T, H, W)`` stack for
    multi-view samplers, a ``[slow, fast]`` list for SlowFast's), unless ``transform`` says otherwise.
    ``.classes`` lists class names, ``.samples`` ``(path, label)`` pairs, ``.missing`` the listed videos
    that were not found and left out (only :meth:`kinetics` leaves any out).

    Raises:
        FileNotFoundError: ``root`` or the split file does not exist, there is no video to use, or the
            split file names a video that is not there (the message names the line).
        ValueError: a split-file line that is not ``<class>/<video> [label]``, or whose path leaves
            ``root`` (absolute, or with a ``..`` part); the message names the file and line.
        VideoReadError: (when an item is read) a file that cannot be decoded; the message names it.
    """

    def __init__(self, root: PathLike, frames: int = 16, sampler: Optional[Callable] = None,
                 transform: Optional[Callable] = None, split_file: Optional[PathLike] = None,
                 extensions: Sequence[str] = VIDEO_EXTENSIONS, num_threads: int = 1,
                 classes: Optional[Sequence[str]] = None, backend: Optional[str] = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"video folder not found: {self.root}")
        self.extensions = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
        found = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if classes is not None:
            missing = [c for c in classes if c not in found]
            if missing:
                raise FileNotFoundError(f"class folders {missing} not found in {self.root} (found: {found})")
        self.classes = list(classes) if classes is not None else found
        if not self.classes:
            raise FileNotFoundError(f"no class folders in {self.root}: expected {self.root}/<class>/<video>")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        if split_file is not None:
            self.samples = self._read_split(Path(split_file))
        else:
            self.samples = [(str(p), label) for label, c in enumerate(self.classes)
                            for p in sorted((self.root / c).rglob("*")) if self._is_video(p)]
            if not self.samples:
                raise FileNotFoundError(f"no videos ({', '.join(self.extensions)}) in the class folders of "
                                        f"{self.root} (classes found: {', '.join(self.classes)})")
        self.missing: List[str] = []
        self._set_reading(frames, sampler, transform, num_threads, backend)

    def _set_reading(self, frames: int, sampler: Optional[Callable], transform: Optional[Callable],
                     num_threads: int, backend: Optional[str]) -> None:
        self.sampler = sampler if sampler is not None else UniformSampler(frames)
        self.transform, self.num_threads = transform, num_threads
        self.backend = None if backend is None else _choose_backend(backend)  # an unknown one fails here

    @classmethod
    def from_samples(cls, root: PathLike, classes: Sequence[str], samples: Sequence[Tuple[str, int]], *,
                     frames: int = 16, sampler: Optional[Callable] = None, transform: Optional[Callable] = None,
                     num_threads: int = 1, backend: Optional[str] = None,
                     missing: Sequence[str] = ()) -> VideoFolder:
        """A VideoFolder over given ``(path, label)`` samples, numbered by ``classes``, with no folder scan.

        What the format constructors (:meth:`ucf101`, :meth:`hmdb51`, :meth:`kinetics`) build once they
        have read their annotation files; ``missing`` names listed videos that were not found.
        """
        self = cls.__new__(cls)
        self._use_samples(root, classes, samples, missing)
        self._set_reading(frames, sampler, transform, num_threads, backend)
        return self

    def _use_samples(self, root: PathLike, classes: Sequence[str], samples: Sequence[Tuple[str, int]],
                     missing: Sequence[str] = ()) -> None:
        """Take ``classes`` and ``samples`` as given (no folder scan): :meth:`from_samples` and the dataset
        classes of :mod:`vidlearn.data.datasets` (``UCF101``, ``HMDB51``, ``Kinetics``) build on it."""
        self.root = Path(root)
        self.extensions = VIDEO_EXTENSIONS
        self.classes = list(classes)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = list(samples)
        self.missing = list(missing)

    @classmethod
    def ucf101(cls, root: PathLike, annotations: PathLike, split: int = 1, train: bool = True,
               **options) -> VideoFolder:
        """UCF101 as distributed: ``root/<Class>/v_<Class>_gXX_cYY.avi`` (the unpacked ``UCF101.rar``) and
        ``annotations``, the unpacked ``UCF101TrainTestSplits-RecognitionTask.zip`` (``classInd.txt``,
        ``trainlist0N.txt``, ``testlist0N.txt``, N = ``split`` in 1..3). Labels are classInd's ids minus 1.

        ``options``: ``frames``, ``sampler``, ``transform``, ``num_threads``, ``backend`` as for
        :class:`VideoFolder`. Errors name the annotation file and line: see :mod:`vidlearn.data.formats`.
        """
        from vidlearn.data.formats import ucf101_samples

        classes, samples = ucf101_samples(root, annotations, split, train)
        return cls.from_samples(root, classes, samples, **options)

    @classmethod
    def hmdb51(cls, root: PathLike, annotations: PathLike, split: int = 1, train: bool = True,
               **options) -> VideoFolder:
        """HMDB51 as distributed: ``root/<class>/<video>.avi`` (the unpacked ``hmdb51_org.rar`` and its
        per-class archives) and ``annotations``, the unpacked ``test_train_splits.rar``
        (``<class>_test_split<N>.txt``, lines ``<video> <0|1|2>``: 1 train, 2 test, 0 unused). Classes are
        numbered in sorted order. ``options`` as for :meth:`ucf101`.
        """
        from vidlearn.data.formats import hmdb51_samples

        classes, samples = hmdb51_samples(root, annotations, split, train)
        return cls.from_samples(root, classes, samples, **options)

    @classmethod
    def kinetics(cls, root: PathLike, annotations_csv: PathLike, split: str = "train",
                 classes: Optional[Sequence[str]] = None, **options) -> VideoFolder:
        """Kinetics-400/600/700 clips as the downloaders leave them, read from the split's CSV
        (``label,youtube_id,time_start,time_end,split[,is_cc]``); clips
        ``<youtube_id>_<time_start:06d>_<time_end:06d>.<ext>`` under ``root/<label>/`` or flat in ``root``.

        Clips listed but not found (videos taken off YouTube, failed downloads) are left out with one
        :class:`~vidlearn.data.formats.MissingVideosWarning`; ``.missing`` lists them. Classes: the CSV's
        labels sorted (or ``classes=``, e.g. the training CSV's, so a subset keeps the full label map).
        ``options`` as for :meth:`ucf101`. Accepted layouts: see :mod:`vidlearn.data.formats`.
        """
        from vidlearn.data.formats import kinetics_samples

        names, samples, missing = kinetics_samples(root, annotations_csv, split, classes)
        return cls.from_samples(root, names, samples, missing=missing, **options)

    def _is_video(self, p: Path) -> bool:
        return p.suffix.lower() in self.extensions and p.is_file() and not p.name.startswith(".")

    def _read_split(self, split_file: Path) -> List[Tuple[str, int]]:
        if not split_file.is_file():
            raise FileNotFoundError(f"split file not found: {split_file}")
        samples = []
        for lineno, raw in enumerate(split_file.read_text().splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.rsplit(maxsplit=1)
            rel = parts[0] if len(parts) == 2 and parts[1].lstrip("-").isdigit() else line
            folder = Path(rel).parts[0] if len(Path(rel).parts) > 1 else None
            where = f"{split_file}, line {lineno}"
            check_inside(rel, self.root, where)
            if folder not in self.class_to_idx:
                raise ValueError(f"{where}: {rel!r} is not <class>/<video> with a class folder of {self.root} "
                                 f"(classes: {', '.join(self.classes[:10])}{'...' if len(self.classes) > 10 else ''})")
            path = self.root / rel
            if not path.is_file():
                raise FileNotFoundError(f"{where}: video {path} listed in the split file does not exist")
            samples.append((str(path), self.class_to_idx[folder]))
        if not samples:
            raise FileNotFoundError(f"split file {split_file} lists no videos")
        return samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Tuple[Union[torch.Tensor, List[torch.Tensor]], int]:
        path, label = self.samples[index]
        reader = open_video(path, num_threads=self.num_threads, backend=self.backend)
        rng = None
        if getattr(self.sampler, "train", False):  # from torch's generator: distinct per DataLoader worker
            rng = np.random.default_rng(int(torch.randint(2**62, ())))
        picked = self.sampler(len(reader), rng=rng)
        groups = [np.asarray(g) for g in picked] if isinstance(picked, (tuple, list)) else [np.asarray(picked)]
        flat = np.concatenate([g.reshape(-1) for g in groups])
        frames = torch.from_numpy(get_frames(reader, flat, path))  # (N, H, W, C) uint8
        clip = frames.permute(3, 0, 1, 2).float().div_(255)  # (C, N, H, W)
        if self.transform is not None:
            clip = self.transform(clip)  # one set of random parameters for every frame of every group
        if len(groups) == 1 and groups[0].ndim == 1:
            return clip, label
        if not isinstance(clip, torch.Tensor) or clip.dim() != 4 or clip.shape[1] != len(flat):
            raise ValueError(f"the transform must keep the {len(flat)} frames of a multi-clip sample "
                             f"(C, T, H, W), got {tuple(getattr(clip, 'shape', ()))}")
        pieces = list(torch.split(clip, [g.size for g in groups], dim=1))
        pieces = [p.unflatten(1, g.shape).movedim(1, 0) if g.ndim == 2 else p  # (V, C, T, H, W)
                  for p, g in zip(pieces, groups)]
        return (pieces[0] if len(pieces) == 1 else pieces), label

    def __repr__(self) -> str:
        return (f"VideoFolder({str(self.root)!r}, {len(self.samples)} videos, {len(self.classes)} classes, "
                f"sampler={self.sampler!r})")
