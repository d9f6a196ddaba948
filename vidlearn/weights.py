"""Loading weight files safely: one path for every ``weights=`` argument and for checkpoints.

A ``.pt``/``.pth`` file is a pickle, and unpickling can run any code the file's author chose. Every file
vidlearn loads goes through :func:`torch_load_file`, which passes ``weights_only=True`` (tensors, numbers,
strings and plain containers only; the default only from torch 2.6, and explicit here so the older torch
versions the package allows and ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` cannot switch it off), as
torchvision and Hugging Face load weights. A file it refuses, or a truncated, empty or garbage file,
raises :class:`WeightsFileError` naming the file and what was expected.

:func:`read_state_dict` turns a ``weights=`` value (a path or a state dict) into a state dict, and
:func:`load_weights` loads it into a model, naming missing and unexpected keys and refusing shape
mismatches with both shapes.

    model = create_model("r3d_18", weights="r3d_18-b3b3357e.pth")   # goes through load_weights
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import torch
import torch.nn as nn

PathLike = Union[str, os.PathLike]
WeightsLike = Union[str, "os.PathLike[str]", Mapping[str, torch.Tensor]]


class WeightsFileError(ValueError):
    """A weights or checkpoint file that cannot be loaded safely (refused by ``weights_only``, truncated,
    empty, not a torch file). The message names the file."""


def torch_load_file(path: PathLike, what: str = "weights file",
                    expected: str = "a state dict saved with torch.save(model.state_dict(), path)") -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with errors that name the file.

    Raises:
        FileNotFoundError: no file at ``path`` (or it is a folder).
        WeightsFileError: the file is damaged or holds objects other than tensors and plain containers.
    """
    path = Path(path)
    if not path.is_file():
        state = "is a folder, not a file" if path.is_dir() else "not found"
        raise FileNotFoundError(f"{what} {state}: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as err:  # UnpicklingError, a torch reader RuntimeError, EOFError...: all say "bad file"
        said = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        if path.stat().st_size == 0:
            why = "it is empty"
        elif "weights only load failed" in str(err).lower():
            why = ("it holds Python objects beyond tensors and plain containers, which could run code when "
                   f"unpickled, so it is not loaded (torch says: {said})")
        else:
            why = f"it is truncated or not a torch file (torch says: {said})"
        raise WeightsFileError(f"cannot load {what} {path}: {why}; expected {expected}") from None


def read_state_dict(weights: WeightsLike, what: str = "weights file") -> Dict[str, torch.Tensor]:
    """A state dict from ``weights``: a mapping as is, or a path loaded with :func:`torch_load_file`.

    A file holding ``{"state_dict": ...}`` (torchvision's and Lightning's wrapping) or a vidlearn
    checkpoint (``{"model": ...}``, :func:`~vidlearn.train.save_checkpoint`) gives the inner dict.
    """
    if isinstance(weights, Mapping):
        return dict(weights)
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be a path or a state dict, got {type(weights).__name__}")
    state = torch_load_file(weights, what)
    for wrapper in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
    if not isinstance(state, Mapping):
        raise WeightsFileError(f"{what} {os.fspath(weights)} holds a {type(state).__name__}, expected a "
                               "state dict (a dict of parameter names to tensors)")
    return dict(state)


def load_weights(model: nn.Module, weights: WeightsLike, strict: bool = True) -> nn.Module:
    """Load ``weights`` (a path or a state dict) into ``model`` and return it.

    Shapes must match; with ``strict`` every key too. Errors name the keys and the source.

    Raises:
        ValueError: missing or unexpected keys (``strict``), or entries of the wrong shape (both shapes).
    """
    source = f"weights file {os.fspath(weights)}" if isinstance(weights, (str, os.PathLike)) else "weights"
    state = read_state_dict(weights)
    own = model.state_dict()
    problems = []
    shape = {k: tuple(getattr(v, "shape", ())) for k, v in state.items()}
    bad = [k for k in own if k in state and shape[k] != tuple(own[k].shape)]
    if bad:
        problems.append("shape mismatches: " + "; ".join(
            f"{k}: {shape[k]} in the weights, {tuple(own[k].shape)} in the model" for k in bad[:5])
            + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""))
    if strict:
        for label, keys in (("missing keys", [k for k in own if k not in state]),
                            ("unexpected keys", [k for k in state if k not in own])):
            if keys:
                problems.append(f"{len(keys)} {label} {keys[:5]}{' ...' if len(keys) > 5 else ''}")
    if problems:
        raise ValueError(f"{source} do not fit {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(state, strict=strict)
    return model
