"""Shared, paper-agnostic building blocks (conv builders, stems, heads, attention, inflation, non-local)."""

from vidlearn.layers.attention_pattern import attention_pattern, block_flops, group_sizes
from vidlearn.layers.checks import check_video

__all__ = ["attention_pattern", "block_flops", "check_video", "group_sizes"]
