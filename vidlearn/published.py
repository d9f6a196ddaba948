"""The book's one table of published numbers: every number a chapter or figure quotes from a paper.

Each :class:`Number` carries its source (the paper's key in ``book/references.bib`` and the table or section),
the dataset and split it was measured on, and its setting (backbone, modalities, pre-training, views, input
size). Chapters and the figure modules in :mod:`vidlearn.viz` read numbers from here (``number(key)``), never
type them again; ``tests/test_published.py`` checks that no chapter or figure module states a published number
that is not in this table.

Where the seed survey (Zhu et al. 2020, arXiv 2012.06567) quotes a figure that differs from the paper, the
entry keeps the paper's ``value``, the survey's in ``survey``, and why they differ in ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional


@dataclass(frozen=True)
class Number:
    """One published number and where it comes from."""

    key: str  # dotted, "<paper>.<what>", e.g. "slowfast.r50_8x8.gmacs"
    value: float
    unit: str  # "%" (accuracy), "mAP", "GMACs" (multiply-adds, 1e9), "M params", "s/frame", "frames", ...
    paper: str  # key in book/references.bib
    where: str  # "Table 2", "Sec. 4.1", "Fig. 3"
    dataset: str = ""  # "Kinetics-400 val", "UCF101 (mean of 3 splits)"; "" for costs
    setting: str = ""  # backbone, modalities, pre-training, views, input size
    survey: Optional[float] = None  # the seed survey's figure, when it differs from the paper's
    note: str = ""  # what else a reader must know (why survey and paper differ, ...)


_NUMBERS: List[Number] = [
    # --- era 1: DeepVideo ---
    # --- era 2: Two-Stream and its variants ---
    # --- era 3: 3D CNNs ---
    # --- era 3: model costs (parameters, multiply-adds) the models are checked against ---
    # --- era 4: Video Transformers ---
]

NUMBERS: Dict[str, Number] = {}
for _n in _NUMBERS:
    if _n.key in NUMBERS:
        raise ValueError(f"published number {_n.key!r} is listed twice")
    NUMBERS[_n.key] = _n


def number(key: str) -> Number:
    """The published number ``key``; a ``KeyError`` naming close keys when it is not in the table."""
    try:
        return NUMBERS[key]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(key, list(NUMBERS), n=5, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no published number {key!r} in vidlearn.published{hint}") from None


__all__ = ["Number", "NUMBERS", "number"]
