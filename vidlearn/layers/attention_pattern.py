"""Which patches a query patch attends to, step by step, in each of TimeSformer's five attention schemes.

This is the *definition* of the schemes, written as plain predicates on patch coordinates ("same frame",
"same position", ...), independent of the efficient implementation in :mod:`vidlearn.layers.attention`
(which regroups tokens with einops). The tests check that the two agree: each step of a factorised
scheme computes exactly joint attention restricted by that step's mask (used in the TimeSformer chapter).

Patches sit on a ``T x H x W`` grid (frames x patch rows x patch columns) and are numbered in ``(t h w)``
order. Schemes (Bertasius et al., ICML 2021, Fig. 1 and Sec. 3) and the keys one query reaches per step:

=====================  ================================  ==============================================
scheme (paper name)    steps                             keys per query (even H, W, T)
=====================  ================================  ==============================================
``space`` (S)          space                             H*W
``joint`` (ST)         space_time                        T*H*W
``divided`` (T+S)      time, space                       T, then H*W
``sparse_local_global``  local, global                   T*H/2*W/2, then T/2*H/2*W/2  (= THW/4, THW/8)
(L+G)
``axial`` (T+W+H)      time, width, height               T, then W, then H
=====================  ================================  ==============================================

L+G, as the paper describes it: *local* attention over the neighbouring ``T x H/2 x W/2`` patches, read
here as the quadrant of the frame that holds the query (rows split at ``ceil(H/2)``, columns at
``ceil(W/2)``), across all frames, like the block ("fixed") pattern of the Sparse Transformer that the
paper cites; then sparse *global* attention with a stride of 2 patches in time, height and width: the
query reaches the patches whose ``t``, ``h`` and ``w`` have the same parity as its own. Two steps suffice
for every patch to reach every other one (each quadrant holds all parities once ``H, W >= 4``).
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple, Union

import torch

# scheme -> the attention steps of one block, in the order they run
SCHEMES: Dict[str, Tuple[str, ...]] = {
    "space": ("space",),
    "joint": ("space_time",),
    "divided": ("time", "space"),
    "sparse_local_global": ("local", "global"),
    "axial": ("time", "width", "height"),
}
# the paper's short names (Table 1, Fig. 1)
SCHEME_ALIASES: Dict[str, str] = {"S": "space", "ST": "joint", "T+S": "divided", "L+G": "sparse_local_global",
                                  "T+W+H": "axial"}
STEPS: Tuple[str, ...] = ("space_time", "space", "time", "width", "height", "local", "global")

Query = Union[int, Sequence[int]]


def resolve_scheme(scheme: str) -> str:
    """The canonical name of ``scheme``: a key of :data:`SCHEMES` or the paper's S, ST, T+S, L+G, T+W+H."""
    name = SCHEME_ALIASES.get(scheme, scheme)
    if name not in SCHEMES:
        raise ValueError(
            f"unknown attention scheme {scheme!r}; expected one of {', '.join(SCHEMES)} "
            f"(or the paper's {', '.join(SCHEME_ALIASES)})"
        )
    return name


def patch_coordinates(T: int, H: int, W: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Frame, row and column of every patch, each ``(T*H*W,)``, in ``(t h w)`` order."""
    for name, n in (("T", T), ("H", H), ("W", W)):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"the patch grid needs positive integer sizes, got {name}={n!r}")
    t, h, w = torch.meshgrid(torch.arange(T), torch.arange(H), torch.arange(W), indexing="ij")
    return t.flatten(), h.flatten(), w.flatten()


def step_mask(step: str, T: int, H: int, W: int) -> torch.Tensor:
    """``(N, N)`` boolean mask, ``N = T*H*W``: ``mask[q, k]`` tells if query ``q`` attends to key ``k``."""
    t, h, w = patch_coordinates(T, H, W)  # (N,) each

    def same(a: torch.Tensor) -> torch.Tensor:
        return a[:, None] == a[None, :]  # (N, N)

    if step == "space_time":
        return torch.ones(t.numel(), t.numel(), dtype=torch.bool)
    if step == "space":  # the query's own frame
        return same(t)
    if step == "time":  # the query's own position, in every frame
        return same(h) & same(w)
    if step == "width":  # the query's row, in its frame
        return same(t) & same(h)
    if step == "height":  # the query's column, in its frame
        return same(t) & same(w)
    if step == "local":  # the query's quadrant of the frame, in every frame
        return same(h // math.ceil(H / 2)) & same(w // math.ceil(W / 2))
    if step == "global":  # stride 2 in t, h and w: same parity as the query
        return same(t % 2) & same(h % 2) & same(w % 2)
    raise ValueError(f"unknown attention step {step!r}; expected one of {', '.join(STEPS)}")


def query_index(query: Query, T: int, H: int, W: int) -> int:
    """Flat ``(t h w)`` index of ``query``, given as ``(t, h, w)`` or as a flat index."""
    if isinstance(query, int):
        if not 0 <= query < T * H * W:
            raise ValueError(f"query index must be in [0, {T * H * W}) for a {T}x{H}x{W} grid, got {query}")
        return query
    if len(query) != 3:
        raise ValueError(f"query must be (t, h, w) or a flat index, got {query!r}")
    qt, qh, qw = (int(q) for q in query)
    if not (0 <= qt < T and 0 <= qh < H and 0 <= qw < W):
        raise ValueError(f"query (t, h, w) = {tuple(query)} lies outside the {T}x{H}x{W} patch grid")
    return (qt * H + qh) * W + qw


def attention_pattern(scheme: str, T: int, H: int, W: int, query: Query) -> Dict[str, torch.Tensor]:
    """The keys that ``query`` reaches in each step of ``scheme``.

    Args:
        scheme: ``space``, ``joint``, ``divided``, ``sparse_local_global`` or ``axial`` (or the paper's
            S, ST, T+S, L+G, T+W+H).
        T, H, W: the patch grid (frames, patch rows, patch columns).
        query: the query patch as ``(t, h, w)`` or a flat ``(t h w)`` index.

    Returns:
        ``{step: mask}`` in the order the steps run; each mask is a ``(T, H, W)`` boolean tensor.

    >>> {s: int(m.sum()) for s, m in attention_pattern("divided", 8, 14, 14, (0, 3, 4)).items()}
    {'time': 8, 'space': 196}
    """
    q = query_index(query, T, H, W)
    return {step: step_mask(step, T, H, W)[q].reshape(T, H, W) for step in SCHEMES[resolve_scheme(scheme)]}


def group_sizes(step: str, T: int, H: int, W: int) -> List[int]:
    """Sizes of the groups of patches that attend among themselves in ``step`` (a partition of the grid).

    >>> group_sizes("time", 8, 2, 2)  # one group of T frames per position
    [8, 8, 8, 8]
    """
    def halves(n: int) -> List[int]:  # the two halves of an axis, split at ceil(n / 2)
        return [math.ceil(n / 2), n // 2]

    sizes = {
        "space_time": [T * H * W],
        "space": [H * W] * T,
        "time": [T] * (H * W),
        "width": [W] * (T * H),
        "height": [H] * (T * W),
        "local": [T * r * c for r in halves(H) for c in halves(W)],
        "global": [t * r * c for t in halves(T) for r in halves(H) for c in halves(W)],
    }
    if step not in sizes:
        raise ValueError(f"unknown attention step {step!r}; expected one of {', '.join(STEPS)}")
    return [s for s in sizes[step] if s > 0]


def block_flops(scheme: str, T: int, H: int, W: int, dim: int = 768, mlp_ratio: float = 4.0) -> int:
    """Analytic FLOPs (2 per multiply-add) of one block of ``scheme`` on a ``T x H x W`` patch grid.

    Per step: the ``qkv`` and output projections (and the extra ``fc`` of a non-final step) cost
    ``O(N D^2)``; the scores and the weighted sum cost ``2 * pairs * D`` each, where ``pairs`` is the
    number of (query, key) pairs, ``sum over groups of size^2``: ``N^2`` for joint attention, ``N * T``
    for the temporal step. The MLP adds ``4 N D * mlp_ratio D``. The class token is left out (one token).
    """
    n = T * H * W
    steps = SCHEMES[resolve_scheme(scheme)]
    flops = 0
    for i, step in enumerate(steps):
        pairs = sum(s * s for s in group_sizes(step, T, H, W))
        projections = 3 + 1 + (i < len(steps) - 1)  # qkv, proj, and fc before the last step
        flops += 2 * n * dim * dim * projections + 2 * 2 * pairs * dim
    return flops + 4 * n * dim * int(dim * mlp_ratio)
