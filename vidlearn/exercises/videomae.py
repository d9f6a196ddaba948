"""Homework checker of the chapter "VideoMAE": tube masking.

Tong et al., "VideoMAE: Masked Autoencoders are Data-Efficient Learners for Self-Supervised Video
Pre-Training", NeurIPS 2022, Sec. 3: tube masking hides the same ``int(ratio * H'W')`` spatial positions in
every time slot of the token grid, so a hidden tubelet cannot be copied from the same place in another frame.
Tokens are ordered ``(t h w)``: time slot after time slot.

* :func:`check_tube_mask` ``fn(batch, grid_t, grid_hw, ratio) -> (batch, grid_t * grid_hw)`` bool, True = hidden

Reference: :func:`vidlearn.models.videomae.tube_mask`. A mask is random, so the checker tests its properties
(shape, dtype, the count per time slot, the same positions in every slot, a fresh draw per clip), not values.
"""

from __future__ import annotations

from typing import Callable, List

import torch

from vidlearn.exercises import _check, _Mismatch

__all__ = ["check_tube_mask"]

# (batch, grid_t, grid_hw, ratio): the paper's grid at 0.9, tiny grids, a ratio whose count needs int()
CASES = [(4, 8, 196, 0.9), (3, 4, 16, 0.75), (2, 2, 9, 0.5), (5, 6, 25, 0.9), (3, 3, 10, 0.29)]


def check_tube_mask(fn: Callable[[int, int, int, float], torch.Tensor]) -> bool:
    """Check ``fn(batch, grid_t, grid_hw, ratio) -> mask`` of shape ``(batch, grid_t * grid_hw)``, bool.

    Each clip must hide exactly ``int(ratio * grid_hw)`` positions in each time slot, the same positions in
    every slot (tokens in ``(t h w)`` order), and clips must not all share one mask. Returns True when right.
    """
    hint = ("draw int(ratio * grid_hw) positions per clip (torch.rand(batch, grid_hw).argsort(1)[:, :k] gives k "
            "random ones), mark them True in a (batch, grid_hw) bool tensor, then repeat it grid_t times along "
            "dim 1 (mask.repeat(1, grid_t)): slot after slot, the same positions.")

    def body(call) -> List[str]:
        tried = []
        for batch, t, hw, ratio in CASES:
            on = f"batch={batch}, grid_t={t}, grid_hw={hw}, ratio={ratio}"
            got = call(on, batch, t, hw, ratio)
            if not isinstance(got, torch.Tensor):
                raise _Mismatch(f"on {on}, the mask should be a torch.Tensor, got {type(got).__name__}")
            if tuple(got.shape) != (batch, t * hw):
                extra = (" (one row per clip, the tokens of all time slots in a row)"
                         if tuple(got.shape) in ((batch, t, hw), (batch, hw)) else "")
                raise _Mismatch(f"on {on}, the mask has shape {tuple(got.shape)}; expected (batch, grid_t * "
                                f"grid_hw) = {(batch, t * hw)}{extra}")
            if got.dtype != torch.bool:
                raise _Mismatch(f"on {on}, the mask should be bool (True = hidden), got {got.dtype}")
            k = int(ratio * hw + 1e-9)
            slots = got.view(batch, t, hw)  # (B, T', H'W')
            by_position = got.view(batch, hw, t)  # (B, H'W', T') if the reader repeated each position
            if t > 1 and not (slots == slots[:, :1]).all() and (by_position == by_position[:, :, :1]).all():
                raise _Mismatch(f"on {on}, the positions are repeated in (h w t) order: each position's time "
                                "slots are next to each other. Tokens are (t h w): repeat the whole row of "
                                "positions (mask.repeat(1, grid_t)), not each position (repeat_interleave)")
            counts = slots.sum(-1)  # (B, T')
            if (got.sum(1) == int(ratio * t * hw + 1e-9)).all() and (counts != k).any():
                raise _Mismatch(f"on {on}, {int(got[0].sum())} tokens are hidden anywhere in the clip: that is "
                                "random masking; tube masking hides int(ratio * grid_hw) positions in each slot")
            if (counts != k).any():
                raise _Mismatch(f"on {on}, the time slots hide {sorted(set(counts.flatten().tolist()))} tokens; "
                                f"expected int(ratio * grid_hw) = {k} in every slot")
            if t > 1 and not (slots == slots[:, :1]).all():
                raise _Mismatch(f"on {on}, time slots hide different positions: a tube hides the same "
                                "positions in every slot, so the hidden tubelets cannot be copied from "
                                "another frame")
            if batch > 1 and k < hw and (slots[:, 0] == slots[:1, 0]).all():
                draws = torch.stack([call(on, batch, t, hw, ratio) for _ in range(3)])
                if (draws == draws[:, :1]).all():
                    raise _Mismatch(f"on {on}, every clip of the batch gets the same mask; draw one per clip")
            tried.append(on)
        return tried

    return _check("tube masking", fn, hint, body)
