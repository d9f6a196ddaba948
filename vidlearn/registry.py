"""The model registry: ``register_model`` / ``create_model`` / ``list_models``.

Every model file registers small factories such as ``r2plus1d_18(num_classes, tiny, **overrides)``;
the registry lets the book, the tests and homework build any of them by name, and lets the tests
iterate over every model (``list_models()``), as timm does.
"""

from __future__ import annotations

import difflib
import fnmatch
from typing import Callable, Dict, List

import torch.nn as nn

from vidlearn.layers.checks import check_num_classes

_MODELS: Dict[str, Callable[..., nn.Module]] = {}


class UnknownModelError(KeyError):
    """Raised by :func:`create_model` for a name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register a factory under its function name."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"a model named {name!r} is already registered")
    _MODELS[name] = fn
    return fn


def list_models(pattern: str = "*") -> List[str]:
    """Sorted names of the registered models matching a shell-style ``pattern`` (e.g. ``"r*d_18"``)."""
    _import_models()
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def create_model(name: str, num_classes: int | None = None, tiny: bool = False, **overrides) -> nn.Module:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`, e.g. ``"single_frame"`` or ``"r2plus1d_18"``.
        num_classes: size of the classifier, a positive int; the paper's dataset when omitted.
        tiny: the same structure at a width/depth that trains in minutes on a CPU.
        **overrides: fields of the model's config (see each model file), e.g. ``dropout=0.2``.

    Raises:
        UnknownModelError: ``name`` is not registered (the message lists close matches).
        TypeError, ValueError: ``num_classes`` is not a positive int (``0``, ``-3``, ``2.5``, ``'10'``, ``True``).
    """
    _import_models()
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Registered models: {', '.join(sorted(_MODELS))}"
        )
    if num_classes is not None:
        overrides["num_classes"] = check_num_classes(num_classes, f"create_model({name!r}): num_classes")
    return _MODELS[name](tiny=tiny, **overrides)


def _import_models() -> None:
    # importing the package registers every model file
    import vidlearn.models  # noqa: F401
