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
    Number("nonlocal.c2d_r101_32x224.mparams", 43.2, "M params", "wang2018non", "Table 2e",
           setting="C2D ResNet-101 baseline, 32x224x224 input, 400 classes",
           note="the only absolute cost in the paper; Table 2e gives the other models relative to it"),
    Number("nonlocal.c2d_r101_32x224.gmacs", 34.2, "GMACs", "wang2018non", "Table 2e",
           setting="C2D ResNet-101 baseline, 32x224x224 input",
           note="the paper's '34.2B FLOPs' are multiply-adds (the ResNet convention)"),
    Number("nonlocal.i3d311_r101.params_ratio", 1.2, "x C2D", "wang2018non", "Table 2e",
           setting="I3D 3x1x1 ResNet-101 vs the C2D ResNet-101, 32x224x224"),
    Number("nonlocal.i3d311_r101.gmacs_ratio", 1.5, "x C2D", "wang2018non", "Table 2e",
           setting="I3D 3x1x1 ResNet-101 vs the C2D ResNet-101, 32x224x224"),
    Number("nonlocal.nl5_c2d_r101.params_ratio", 1.2, "x C2D", "wang2018non", "Table 2e",
           setting="C2D ResNet-101 + 5 non-local blocks vs the C2D ResNet-101, 32x224x224"),
    Number("nonlocal.nl5_c2d_r101.gmacs_ratio", 1.2, "x C2D", "wang2018non", "Table 2e",
           setting="C2D ResNet-101 + 5 non-local blocks vs the C2D ResNet-101, 32x224x224"),
    Number("nonlocal.nl5_c2d_r50.params_vs_c2d_r101", 0.7, "x C2D R101", "wang2018non", "Sec. 5.1",
           setting="C2D ResNet-50 + 5 non-local blocks vs the C2D ResNet-101, 32x224x224",
           note="'only ~70% parameters and ~80% FLOPs of the ResNet-101 baseline'"),
    Number("nonlocal.nl5_c2d_r50.gmacs_vs_c2d_r101", 0.8, "x C2D R101", "wang2018non", "Sec. 5.1",
           setting="C2D ResNet-50 + 5 non-local blocks vs the C2D ResNet-101, 32x224x224",
           note="'only ~70% parameters and ~80% FLOPs of the ResNet-101 baseline'"),
    Number("slowfast.r50_8x8.gmacs", 65.7, "GMACs", "feichtenhofer2019slowfast", "Table 2",
           setting="SlowFast 8x8 ResNet-50, one 256x256 view (tested with 3 x 10 views)",
           note="the paper's GFLOPs are multiply-adds"),
    Number("slowfast.r50_8x8.mparams", 34.6, "M params", "feichtenhofer2019slowfast", "Table 2",
           setting="SlowFast 8x8 ResNet-50 (alpha=4, 7x1x1 laterals in the official SLOWFAST_8x8_R50 config)",
           note="34.57 M unrounded: the count of the official configuration, which slowfast_r50_8x8 matches"),
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
