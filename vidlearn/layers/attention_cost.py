"""What one TimeSformer block costs under each attention scheme: analytic formulas and measurements.

The TimeSformer paper (Bertasius et al., ICML 2021, Fig. 2) shows why joint space-time attention had to be
factorised: its cost grows with the square of the number of patches ``N = T*H*W`` and runs out of GPU
memory at 448 x 448 pixels or 32 frames, while divided space-time attention grows about linearly. This
module gives the numbers behind the TimeSformer chapter's cost figure:

- :func:`attention_pairs`: the (query, key) pairs of each step, ``sum over groups of size^2``;
- :func:`attention_matrix_bytes`: the memory of a block's attention matrices (the quadratic term);
- :func:`block_memory_bytes`: an analytic estimate of one block's peak forward memory on the plain
  softmax path (the attention matrix and the softmax over it, plus the token activations);
- :func:`measure_block`: time, peak memory and counted FLOPs of one real block, with
  :mod:`vidlearn.profile`; analytic FLOPs come from :func:`vidlearn.layers.attention_pattern.block_flops`.

Measurements use the readable softmax path (``use_sdpa=False``), which, like the 2021 implementations,
stores the whole attention matrix; fused kernels (``scaled_dot_product_attention``) avoid storing it.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Dict, Iterator, Union

import torch
import torch.nn as nn

from vidlearn.layers.attention_pattern import SCHEMES, block_flops, group_sizes, resolve_scheme

# the activations of one block besides the attention matrices, in units of N*D elements (fitted to the
# CPU profiler): a few token-sized tensors, and the MLP hidden layer before and after the GELU (2 x ratio)
_TOKEN_COPIES = 3


def attention_pairs(scheme: str, T: int, H: int, W: int) -> Dict[str, int]:
    """``{step: number of (query, key) pairs}`` for one block of ``scheme`` on a ``T x H x W`` grid.

    >>> attention_pairs("divided", 8, 14, 14)
    {'time': 12544, 'space': 307328}
    """
    return {step: sum(s * s for s in group_sizes(step, T, H, W)) for step in SCHEMES[resolve_scheme(scheme)]}


def attention_matrix_bytes(scheme: str, T: int, H: int, W: int, heads: int = 12, batch: int = 1,
                           bytes_per_element: int = 4, largest_step_only: bool = False) -> int:
    """Bytes of the attention weights of one block: ``batch * heads * pairs * bytes_per_element``.

    Training keeps every step's matrix for the backward pass (the default, summed over steps); a forward
    pass without gradients holds one step's at a time (``largest_step_only=True``). The class token is
    left out (one more row and column).
    """
    pairs = attention_pairs(scheme, T, H, W).values()
    return batch * heads * (max(pairs) if largest_step_only else sum(pairs)) * bytes_per_element


def block_memory_bytes(scheme: str, T: int, H: int, W: int, dim: int = 768, heads: int = 12,
                       mlp_ratio: float = 4.0, batch: int = 1, bytes_per_element: int = 4) -> int:
    """Analytic peak memory of one block's forward pass (no gradients) on the plain softmax path.

    The largest step's scores and softmax weights exist together (2 matrices), beside the token
    activations (about ``3 + 2 * mlp_ratio`` copies of the ``N x D`` tokens). The quadratic term is the one
    that matters: it is what runs joint attention out of memory.
    """
    n = T * H * W
    matrices = 2 * attention_matrix_bytes(scheme, T, H, W, heads, batch, bytes_per_element, largest_step_only=True)
    tokens = batch * n * dim * (_TOKEN_COPIES + 2 * mlp_ratio) * bytes_per_element
    return int(matrices + tokens)


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: the CPU profiler's C++ logger prints a line per start and stop there."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _BlockProbe(nn.Module):
    """One TimeSformer block as a module of one tensor (what :mod:`vidlearn.profile` measures)."""

    def __init__(self, block: nn.Module, grid, dim: int):
        super().__init__()
        self.block, self.grid = block, tuple(grid)
        self.register_buffer("cls", torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, D) -> (B, N, D)
        return self.block(x, self.cls.expand(x.shape[0], -1, -1), self.grid)[0]


def measure_block(scheme: str, T: int, H: int, W: int, dim: int = 64, heads: int = 4, mlp_ratio: float = 4.0,
                  batch: int = 1, device: Union[str, torch.device] = "cpu", repeats: int = 3,
                  use_sdpa: bool = False) -> Dict[str, float]:
    """Build one block of ``scheme`` and measure a forward pass on a ``T x H x W`` patch grid.

    Returns ``{"scheme", "T", "H", "W", "tokens", "time_s", "peak_bytes", "flops", "flops_analytic",
    "memory_analytic"}``: the median time of ``repeats`` passes, the peak memory beyond the inputs
    (CUDA allocator or CPU profiler, see :func:`vidlearn.profile.peak_memory`), the FLOPs that torch
    counts (class token included) and the analytic FLOPs and memory of the formulas above.
    Used by the TimeSformer chapter.
    """
    from vidlearn.models.timesformer import Block, TimeSformerConfig
    from vidlearn.profile import count_flops, measure_latency, peak_memory

    scheme = resolve_scheme(scheme)
    cfg = TimeSformerConfig(attention=scheme, embed_dim=dim, num_heads=heads, mlp_ratio=mlp_ratio,
                            use_sdpa=use_sdpa)
    torch.manual_seed(0)
    probe = _BlockProbe(Block(cfg, SCHEMES[scheme], drop_path=0.0), (T, H, W), dim).eval()
    x = torch.randn(batch, T * H * W, dim)  # (B, N, D) patch tokens in (t h w) order
    device = torch.device(device)
    probe, x = probe.to(device), x.to(device)
    with _quiet_stderr():
        peak = peak_memory(probe, x, device=device)
    return {
        "scheme": scheme, "T": T, "H": H, "W": W, "tokens": T * H * W,
        "time_s": measure_latency(probe, x, warmup=1, repeats=repeats, device=device),
        "peak_bytes": peak,
        "flops": count_flops(probe, x),
        "flops_analytic": batch * block_flops(scheme, T, H, W, dim, mlp_ratio),
        "memory_analytic": block_memory_bytes(scheme, T, H, W, dim, heads, mlp_ratio, batch),
    }
