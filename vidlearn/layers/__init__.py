"""Shared, paper-agnostic building blocks (conv builders, stems, heads, attention, inflation, non-local)."""

from vidlearn.layers.checks import check_video

__all__ = ["check_video"]
