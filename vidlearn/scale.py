"""Scale presets: how big every chapter's experiments are.

``ci``  the smallest that still shows each chapter's point (half a minute to 6 minutes a notebook on 2 CPU cores);
``cpu`` the default without CUDA: a laptop reader waits 2 to 25 minutes a chapter on 2 cores (README, Measured);
``gpu`` the default with CUDA (Colab T4 and up): bigger clips, more data, mixed precision.

Choose one with the environment variable ``VIDLEARN_SCALE`` (``ci``, ``cpu``, ``gpu``) or by name,
``preset("cpu")``; without either, ``gpu`` when CUDA is available, else ``cpu``. Notebooks never
hard-code sizes: they read them from here and print which preset ran.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Optional

ENV_VAR = "VIDLEARN_SCALE"


@dataclass(frozen=True)
class Preset:
    """Sizes for one scale. Use ``dataclasses.replace(p, epochs=3)`` (or ``p.replace``) to adjust."""

    name: str
    frames: int  # frames per clip (T)
    size: int  # square frame side (H = W) of synthetic clips
    long_frames: int  # frames of the long-clip variant (order of two events far apart in time)
    train_samples: int  # synthetic training clips
    val_samples: int  # synthetic validation clips
    epochs: int
    batch_size: int
    lr: float
    amp: bool  # mixed precision (only takes effect on CUDA)
    num_workers: int  # DataLoader workers
    cache_dtype: str  # how vidlearn.data.in_memory stores clips made once: "float32" (exact) or "uint8" (1/4)
    # the most clips one training set may hold: a T4's 10 minutes a chapter at gpu (README, "On a GPU"); it
    # does not bind at ci or cpu
    max_train_samples: int = 9000

    def n_train(self, factor: int = 1) -> int:
        """Training clips for a task that needs ``factor`` times the preset's, within ``max_train_samples``."""
        if factor < 1:
            raise ValueError(f"factor must be a positive integer, got {factor}")
        return min(factor * self.train_samples, self.max_train_samples)

    def replace(self, **changes) -> Preset:
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        return (
            f"scale preset {self.name!r}: {self.frames} frames of {self.size}x{self.size}, "
            f"{self.train_samples} train / {self.val_samples} val clips, {self.epochs} epochs, "
            f"batch {self.batch_size} (set {ENV_VAR}=ci|cpu|gpu to change)"
        )


PRESETS = {
    "ci": Preset("ci", frames=8, size=32, long_frames=24, train_samples=320, val_samples=160, epochs=4,
                 batch_size=32, lr=3e-3, amp=False, num_workers=0, cache_dtype="float32"),
    # cpu: about 6x the ci compute (clip 1.5 x 1.56, clips 2x, epochs 1.25x), 2 to 25 minutes a chapter on
    # 2 cores (the README's table); the earlier 16x48x48, 1,200 clips x 8 epochs was ~34x ci (Snippets: 6.6 min)
    "cpu": Preset("cpu", frames=12, size=40, long_frames=36, train_samples=640, val_samples=240, epochs=5,
                  batch_size=32, lr=2e-3, amp=False, num_workers=0, cache_dtype="float32"),
    "gpu": Preset("gpu", frames=16, size=64, long_frames=64, train_samples=6000, val_samples=1000, epochs=15,
                  batch_size=64, lr=1e-3, amp=True, num_workers=2, cache_dtype="uint8"),
}


def preset(name: Optional[str] = None) -> Preset:
    """The scale preset ``name``, else ``$VIDLEARN_SCALE``, else ``gpu`` with CUDA and ``cpu`` without."""
    source = "argument"
    if name is None:
        name = os.environ.get(ENV_VAR) or None
        source = f"${ENV_VAR}"
    if name is None:
        import torch

        return PRESETS["gpu" if torch.cuda.is_available() else "cpu"]
    key = name.strip().lower()
    if key not in PRESETS:
        raise ValueError(f"unknown scale preset {name!r} (from {source}); expected one of {', '.join(PRESETS)}")
    return PRESETS[key]
