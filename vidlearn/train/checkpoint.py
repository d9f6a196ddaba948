"""Checkpoints: a model's weights (and optionally optimiser state and History) in one file."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

import torch
import torch.nn as nn

from vidlearn.train.history import History


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: Optional[torch.optim.Optimizer] = None,
                    history: Optional[History] = None, **extra: Any) -> None:
    """Write ``model``'s state dict (plus optimiser state, History and any ``extra`` values) to ``path``."""
    state: Dict[str, Any] = {"model": model.state_dict(), "extra": extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if history is not None:
        state["history"] = history.to_json()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(state, path)


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: Optional[torch.optim.Optimizer] = None, strict: bool = True) -> Dict[str, Any]:
    """Load a file written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    Returns ``{"history": History or None, "extra": dict}``. Raises FileNotFoundError naming a missing path
    and ValueError for a file that is not a vidlearn checkpoint.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {os.fspath(path)!r}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{os.fspath(path)!r} is not a vidlearn checkpoint (no 'model' entry); "
                         "for a bare state dict use model.load_state_dict(torch.load(path))")
    model.load_state_dict(state["model"], strict=strict)
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    history = History.from_json(state["history"]) if "history" in state else None
    return {"history": history, "extra": state.get("extra", {})}
