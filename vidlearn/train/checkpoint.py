"""Checkpoints: a model's weights (and optionally optimiser state and History) in one file.

:func:`save_checkpoint` is atomic (the file is written to a temporary next to ``path``, flushed to disk
and renamed over ``path`` only when complete, as PyTorch Lightning saves), so an interrupted save leaves
the previous checkpoint intact. It also refuses, before anything replaces ``path``, a value that
:func:`load_checkpoint` could not read back (it loads with ``weights_only=True``: tensors, numbers,
strings, ``None`` and plain containers), naming the key: ``extra`` values such as a numpy float must be
converted first (``float(x)``).
"""

from __future__ import annotations

import io
import os
from typing import Any, Dict, Iterator, Optional, Tuple

import torch
import torch.nn as nn

from vidlearn.files import atomic_path
from vidlearn.train.history import History
from vidlearn.weights import torch_load_file

_EXPECTED = "a vidlearn checkpoint written by save_checkpoint"


def _leaves(obj: Any, where: str) -> Iterator[Tuple[str, Any]]:
    """``(key path, value)`` for every value below the plain containers of ``obj``."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _leaves(value, f"{where}[{key!r}]")
    elif isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        for i, value in enumerate(obj):
            yield from _leaves(value, f"{where}[{i}]")
    else:
        yield where, obj


def _loads_weights_only(obj: Any) -> bool:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    try:
        torch.load(buffer, map_location="cpu", weights_only=True)
        return True
    except Exception:  # the weights-only unpickler's refusal, whatever its type
        return False


def _refused(state: Dict[str, Any]) -> str:
    """The key path (and type) of the first value the weights-only loader refuses, or ``""``."""
    for where, value in _leaves(state, "checkpoint"):
        if not isinstance(value, torch.Tensor) and not _loads_weights_only(value):
            return f"{where} (a {type(value).__module__}.{type(value).__qualname__})"
    return "checkpoint (a value the weights-only loader refuses)"


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: Optional[torch.optim.Optimizer] = None,
                    history: Optional[History] = None, **extra: Any) -> None:
    """Write ``model``'s state dict (plus optimiser state, History and any ``extra`` values) to ``path``.

    Atomic: ``path`` holds the old checkpoint or the complete new one, never a partial file.

    Raises:
        TypeError: a value (typically in ``extra``) that ``load_checkpoint`` would refuse; the message
            names its key. Nothing is written.
    """
    state: Dict[str, Any] = {"model": model.state_dict(), "extra": extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if history is not None:
        state["history"] = history.to_json()
    with atomic_path(path, durable=True) as tmp:
        torch.save(state, tmp)
        try:  # read it back as load_checkpoint will (mmap: no second copy of the weights in memory)
            torch.load(tmp, map_location="cpu", weights_only=True, mmap=True)
        except Exception:
            raise TypeError(
                f"cannot save checkpoint {os.fspath(path)}: {_refused(state)} would not load back with "
                "weights_only=True; store tensors, Python numbers, strings, None and lists/dicts of them "
                "(e.g. float(x) for a numpy number)") from None


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: Optional[torch.optim.Optimizer] = None, strict: bool = True) -> Dict[str, Any]:
    """Load a file written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    The file is read with ``weights_only=True`` (nothing in it can run code).

    Returns ``{"history": History or None, "extra": dict}``.

    Raises:
        FileNotFoundError: no file at ``path``.
        WeightsFileError (a ValueError): a truncated, empty or damaged file, or one holding objects the
            weights-only loader refuses; the message names the file.
        ValueError: a file that is not a vidlearn checkpoint.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {os.fspath(path)!r}")
    state = torch_load_file(path, "checkpoint", _EXPECTED)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{os.fspath(path)!r} is not a vidlearn checkpoint (no 'model' entry); "
                         "for a bare state dict use model.load_state_dict(torch.load(path, weights_only=True))")
    model.load_state_dict(state["model"], strict=strict)
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    history = History.from_json(state["history"]) if "history" in state else None
    return {"history": history, "extra": state.get("extra", {})}

