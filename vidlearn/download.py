"""Opt-in downloads of the official data and weights to a local path; nothing else in vidlearn downloads.

Nothing here runs unless it is called: importing vidlearn, building a model or a data set never touches the
network. The book calls these functions only on Colab, when the reader sets the flag of the chapter "Your own
videos"; everything after the download takes the same local-path route as offline (``weights=`` a file,
``UCF101(root)`` a folder)::

    from vidlearn.download import fetch_torchvision_weights, fetch_ucf101
    weights = fetch_torchvision_weights("r2plus1d_18", "/content/weights")  # .../r2plus1d_18-91a641e6.pth
    videos = fetch_ucf101("/content/data")                                   # .../UCF-101
    model = create_model("r2plus1d_18", weights=weights)
    train = UCF101(videos, split=1, train=True)                              # finds .../ucfTrainTestlist

Every file appears complete or not at all: a download is streamed to a temporary file next to its
destination and renamed when it is whole and verified (:mod:`vidlearn.files`); an archive is unpacked into a
hidden staging folder that is renamed into place when every member is out. Verification: torchvision's
weight files carry the first hex digits of their SHA-256 in their names (``r2plus1d_18-91a641e6.pth``), which
is checked as ``torch.hub`` checks it; a given ``sha256=`` is checked in full; the UCF101 archives have no
published checksum, so their own CRCs are tested while they are unpacked (``zipfile``; ``unrar``/``7z``/
``bsdtar`` for the ``.rar``). No member of an archive may leave the destination (absolute paths, ``..``,
links are refused before anything is written).

Sources: torchvision's weights URLs (``torchvision.models.video.R2Plus1D_18_Weights.KINETICS400_V1.url`` and
its siblings; a test checks these constants against torchvision), UCF101's official page
https://www.crcv.ucf.edu/data/UCF101.php (``UCF101.rar``, 6.5 GB, and
``UCF101TrainTestSplits-RecognitionTask.zip``). Used by the chapter "Your own videos".
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable, List, Optional, Union

from vidlearn.files import atomic_path, temporary_sibling

PathLike = Union[str, os.PathLike]

TORCHVISION_WEIGHTS = {  # torchvision's KINETICS400_V1 weights of the R(2+1)D paper's models
    "r3d_18": "https://download.pytorch.org/models/r3d_18-b3b3357e.pth",
    "mc3_18": "https://download.pytorch.org/models/mc3_18-a90a0ba3.pth",
    "r2plus1d_18": "https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth",
}
UCF101_VIDEOS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
UCF101_SPLITS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip"
SCHEMES = ("https", "http", "file")  # file:// is how the tests exercise the code without a network
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")  # torch.hub's convention: <name>-<sha256 prefix>.<ext>


class DownloadError(OSError):
    """A download or archive that failed or did not verify; the message names the URL or file."""


def on_colab() -> bool:
    """True inside a Google Colab runtime (the only place the book downloads, and only when asked)."""
    return "google.colab" in sys.modules


def hash_prefix(url_or_name: str) -> Optional[str]:
    """The SHA-256 prefix a torchvision / ``torch.hub`` file name carries (``r3d_18-b3b3357e.pth``), or None."""
    m = _HASH_IN_NAME.search(PurePosixPath(urllib.parse.urlparse(url_or_name).path).name)
    return m.group(1) if m else None


def sha256_of(path: PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _check_hash(digest: str, sha256: Optional[str], prefix: Optional[str], what: str) -> None:
    if sha256 is not None and digest != sha256.lower():
        raise DownloadError(f"{what}: SHA-256 {digest}, expected {sha256.lower()} (damaged or changed file)")
    if prefix is not None and not digest.startswith(prefix.lower()):
        raise DownloadError(f"{what}: SHA-256 {digest} does not start with {prefix.lower()}, the prefix its "
                            "name carries (damaged or changed file)")


def download(url: str, dest: PathLike, *, sha256: Optional[str] = None, sha256_prefix: Optional[str] = None,
             timeout: float = 60, progress: Optional[Callable[[int, Optional[int]], None]] = None) -> Path:
    """Download ``url`` to the file ``dest`` and verify it; a verified file already there is kept.

    Args:
        url: ``https://``, ``http://`` or ``file://``.
        sha256: the full SHA-256 the file must have; ``sha256_prefix``: its first hex digits (default: the
            prefix in the URL's or ``dest``'s file name, torchvision's convention, when it has one).
        progress: called as ``progress(bytes so far, total or None)`` after every chunk.

    Raises:
        ValueError: another URL scheme. DownloadError: the transfer failed or was cut short (fewer bytes
        than announced), or the file does not verify; nothing is left at ``dest`` then.
    """
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in SCHEMES:
        raise ValueError(f"download: expected an {', '.join(s + '://' for s in SCHEMES)} URL, got {url!r}")
    dest = Path(dest)
    prefix = sha256_prefix if sha256_prefix is not None else (hash_prefix(url) or hash_prefix(dest.name))
    if dest.is_file():
        try:
            _check_hash(sha256_of(dest), sha256, prefix, str(dest))
            return dest
        except DownloadError:
            pass  # damaged or another version: fetch it again (atomically replaced below)
    h, got = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(dest) as tmp:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            with open(tmp, "xb") as f:
                for block in iter(lambda: response.read(1 << 20), b""):
                    f.write(block)
                    h.update(block)
                    got += len(block)
                    if progress is not None:
                        progress(got, total)
                if total is not None and got != total:
                    raise DownloadError(f"download of {url} was cut short: {got:,} of {total:,} bytes")
                _check_hash(h.hexdigest(), sha256, prefix, f"download of {url}")
    except DownloadError:
        raise
    except OSError as err:  # URLError, a timeout, a refused connection, a full disk
        raise DownloadError(f"cannot download {url} to {dest}: {err}") from err
    return dest


# ------------------------------------------------------------------------------------------------ archives


def _check_member(name: str, archive: Path) -> None:
    """Refuse a member path that would land outside the destination (absolute, a drive, ``..``)."""
    posix = name.replace("\\", "/")
    if not posix or posix.startswith("/") or re.match(r"^[A-Za-z]:", posix) or ".." in posix.split("/"):
        raise DownloadError(f"{archive}: member {name!r} would be written outside the destination folder "
                            "(absolute path or '..'); nothing was extracted")


def _zip_members(archive: Path) -> List[str]:
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            _check_member(info.filename, archive)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise DownloadError(f"{archive}: member {info.filename!r} is a symbolic link; nothing was "
                                    "extracted")
        return z.namelist()


def _rar_tool() -> List[str]:
    for tool in ("unrar", "7z", "bsdtar"):
        if shutil.which(tool):
            return [tool]
    raise DownloadError("extracting a .rar needs one of the programs unrar, 7z or bsdtar (Colab has unrar; "
                        "elsewhere e.g. `apt-get install unrar` or `brew install sevenzip`)")


def _run(cmd: List[str], archive: Path) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise DownloadError(f"{' '.join(cmd[:2])} failed on {archive} (exit {done.returncode}): "
                            f"{(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout


def _rar_members(archive: Path, tool: str) -> List[str]:
    if tool == "unrar":
        names = _run(["unrar", "lb", str(archive)], archive).splitlines()
    elif tool == "7z":
        names = [ln[7:] for ln in _run(["7z", "l", "-slt", str(archive)], archive).splitlines()
                 if ln.startswith("Path = ")][1:]  # the first Path is the archive itself
    else:
        names = _run(["bsdtar", "-tf", str(archive)], archive).splitlines()
    for name in names:
        _check_member(name, archive)
    return names


def extract(archive: PathLike, dest: PathLike) -> List[Path]:
    """Unpack a ``.zip`` or ``.rar`` into the folder ``dest``; returns the top-level paths it made there.

    Members are checked before anything is written (none may leave ``dest``), the archive's CRCs are tested
    while it is unpacked, and everything is unpacked into a hidden staging folder beside ``dest`` whose
    top-level entries are then renamed into ``dest`` (an entry already there is replaced): an interrupted
    extraction leaves no half tree behind.

    Raises:
        DownloadError: an unsafe member, a damaged archive, no program to unpack a ``.rar``.
        ValueError: another archive type.
    """
    archive, dest = Path(archive), Path(dest)
    kind = archive.suffix.lower()
    if kind not in (".zip", ".rar"):
        raise ValueError(f"extract: expected a .zip or .rar archive, got {archive}")
    dest.mkdir(parents=True, exist_ok=True)
    stage = temporary_sibling(dest.resolve() / archive.name)
    stage.mkdir()
    try:
        if kind == ".zip":
            _zip_members(archive)
            with zipfile.ZipFile(archive) as z:
                bad = z.testzip()
                if bad is not None:
                    raise DownloadError(f"{archive}: member {bad!r} fails its CRC check (damaged download)")
                z.extractall(stage)
        else:
            tool = _rar_tool()[0]
            _rar_members(archive, tool)
            cmd = {"unrar": ["unrar", "x", "-o+", "-idq", str(archive), str(stage) + os.sep],
                   "7z": ["7z", "x", "-y", f"-o{stage}", str(archive)],
                   "bsdtar": ["bsdtar", "-xf", str(archive), "-C", str(stage)]}[tool]
            _run(cmd, archive)
        made = []
        for entry in sorted(stage.iterdir()):
            target = dest / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(entry, target)
            made.append(target)
        return made
    finally:
        shutil.rmtree(stage, ignore_errors=True)


# ---------------------------------------------------------------------------------------- what the book fetches


def fetch_torchvision_weights(model: str = "r2plus1d_18", folder: PathLike = "weights", *,
                              url: Optional[str] = None, **options) -> Path:
    """torchvision's Kinetics-400 weights of ``model`` (``r3d_18``, ``mc3_18``, ``r2plus1d_18``) as a file in
    ``folder``, verified by the hash prefix in their name; pass the path to ``create_model(model, weights=)``.

    ``url`` replaces the official address (a mirror; the tests use ``file://``); ``options`` go to
    :func:`download`. A verified file already there is not downloaded again.
    """
    if url is None:
        if model not in TORCHVISION_WEIGHTS:
            raise ValueError(f"torchvision publishes Kinetics-400 weights for {', '.join(TORCHVISION_WEIGHTS)}; "
                             f"got {model!r}")
        url = TORCHVISION_WEIGHTS[model]
    name = PurePosixPath(urllib.parse.urlparse(url).path).name
    return download(url, Path(folder) / name, **options)


def fetch_ucf101(folder: PathLike = "data", *, videos_url: str = UCF101_VIDEOS_URL,
                 splits_url: str = UCF101_SPLITS_URL, keep_archives: bool = False, **options) -> Path:
    """UCF101 as its authors distribute it, unpacked into ``folder``: returns ``folder/UCF-101``.

    Downloads ``UCF101.rar`` (6.5 GB; unpacking it needs ``unrar``, ``7z`` or ``bsdtar``) and the official
    splits ``UCF101TrainTestSplits-RecognitionTask.zip`` (``folder/ucfTrainTestlist``), unless both folders are
    already there. Then ``vidlearn.data.UCF101(folder / "UCF-101", split=1)`` reads it where it lies. The URLs
    can be replaced (a mirror; the tests pass ``file://`` URLs of local ``.zip`` archives). ``keep_archives``:
    keep the downloaded archives in ``folder`` (default: delete each once it is unpacked).
    """
    folder = Path(folder)
    videos, splits = folder / "UCF-101", folder / "ucfTrainTestlist"
    for url, done in ((splits_url, splits / "classInd.txt"), (videos_url, videos)):
        if done.exists():
            continue
        name = PurePosixPath(urllib.parse.urlparse(url).path).name
        archive = download(url, folder / name, **options)
        extract(archive, folder)
        if not keep_archives:
            archive.unlink()
        if not done.exists():
            raise DownloadError(f"{url} did not unpack to {done}: is it the official UCF101 archive?")
    return videos


__all__ = ["download", "extract", "fetch_torchvision_weights", "fetch_ucf101", "hash_prefix", "on_colab",
           "sha256_of", "DownloadError", "TORCHVISION_WEIGHTS", "UCF101_VIDEOS_URL", "UCF101_SPLITS_URL"]
