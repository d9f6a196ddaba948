"""Atomic file writes: a file appears at its path complete, or not at all.

Every file vidlearn writes for later (videos, checkpoints, flow-cache entries) goes through
:func:`atomic_path`: the data is written to a temporary file in the destination's folder, whose name is
unique to the process, the thread and the call (``.<name>.<pid>-<thread>-<random>.tmp<suffix>``, hidden
and ending in the destination's extension so an encoder still picks the container from it), and
``os.replace`` moves it over the destination only once the write has finished. A write that fails (an
exception, a full disk, Ctrl-C) removes the temporary and leaves whatever was at the destination as it
was: readers never see half a file, as pip and PyTorch Lightning do it.

    with atomic_path("model.pt") as tmp:
        torch.save(state, tmp)
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]

TEMP_MARK = ".tmp"  # every temporary's name holds it, after the process/thread/random tag


def temporary_sibling(path: PathLike) -> Path:
    """A fresh, hidden, unique name next to ``path`` (same folder, same extension); nothing is created."""
    path = Path(path)
    tag = f"{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}"
    return path.with_name(f".{path.name}.{tag}{TEMP_MARK}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: PathLike, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on any failure it is removed.

    Parent folders are created. ``durable=True`` also flushes the file to disk (``fsync``) before the
    rename, so that even a power cut leaves the old or the new file (checkpoints ask for it).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write to {path}: it is a folder, expected a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        if not tmp.is_file():
            raise FileNotFoundError(f"nothing was written for {path} (the temporary {tmp.name} is missing)")
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt included: never leave the temporary behind
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
