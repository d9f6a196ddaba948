"""Scale presets: how big every chapter's experiments are.

``ci``  the smallest that still shows each chapter's point (half a minute to 6 minutes a notebook on 2 CPU cores);
``cpu`` the default without CUDA: a laptop reader waits 1 to 20 minutes a chapter on 2 cores (README, Measured);
``gpu`` the default with CUDA (Colab T4 and up): bigger clips, more data, mixed precision.

Choose one with the environment variable ``VIDLEARN_SCALE`` (``ci``, ``cpu``, ``gpu``) or by name,
``preset("cpu")``; without either, ``gpu`` when CUDA is available, else ``cpu``. Notebooks never
hard-code sizes: they read them from here and print which preset ran.

A few experiments need sizes of their own, because their finding shows only from a minimum size that the
``ci`` preset does not reach (Non-local's matching pair needs 2,000 clips, TimeSformer's long-range order
3,000) or only with a clip shape of their own (SlowFast's 16 frames, so that the Slow pathway still sees 4).
Those sizes are the preset's **recipes**, one per experiment, ``P.recipe("slowfast")``: a :class:`Recipe`
whose fields default to the preset's own, so a chapter reads every size from the preset either way.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

ENV_VAR = "VIDLEARN_SCALE"


@dataclass(frozen=True)
class Recipe:
    """One experiment's sizes at one preset (``Preset.recipe``): the preset's own where it sets nothing."""

    frames: int
    size: int
    train_samples: int
    val_samples: int
    epochs: int
    batch_size: int
    values: Tuple[int, ...] = ()  # what the experiment sweeps or counts (time depths, frame counts, clips)

    def describe(self) -> str:
        text = (
            f"{self.train_samples:,} training and {self.val_samples:,} validation clips of "
            f"{self.frames}x{self.size}x{self.size}, {self.epochs} epochs, batch {self.batch_size}"
        )
        return text + (f", values {list(self.values)}" if self.values else "")


_RECIPE_FIELDS = frozenset(f.name for f in dataclasses.fields(Recipe))


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
    # experiment name -> the sizes it sets itself (the rest are the preset's): see recipe()
    recipes: Mapping[str, Mapping[str, object]] = field(default_factory=dict, hash=False, repr=False)

    def recipe(self, name: str) -> Recipe:
        """The sizes of experiment ``name`` at this preset: its own where it sets them, else the preset's."""
        if name not in self.recipes:
            known = ", ".join(sorted(self.recipes)) or "none"
            raise KeyError(f"the {self.name!r} preset has no recipe {name!r}; it has: {known}")
        own = dict(self.recipes[name])
        unknown = set(own) - _RECIPE_FIELDS
        if unknown:
            raise ValueError(f"recipe {name!r} sets unknown fields {sorted(unknown)}; "
                             f"expected some of {sorted(_RECIPE_FIELDS)}")
        base = {f: getattr(self, f) for f in _RECIPE_FIELDS if f != "values"}
        if "values" in own:
            own["values"] = tuple(own["values"])
        return Recipe(**{**base, **own})

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


# The experiments' own sizes. At ci and cpu a recipe is fixed where its finding needs a minimum (the cpu
# preset would only make it slower); gpu scales it up. Each chapter says what its recipe is for.
_SMALL_RECIPES = {
    # C3D: temporal kernel depths compared (1 vs 3 is the paper's point; 5 and 7 are the exercise)
    "c3d.depths": dict(values=(1, 3)),
    # Non-local: a pair of events far apart; a tiny C2D learns the relation from about 2,000 clean clips
    "non_local.match": dict(frames=12, size=32, train_samples=2000, val_samples=400, epochs=8, batch_size=16),
    # SlowFast: 16 frames, so that alpha = 4 leaves the Slow pathway 4 of them; fixed on CPU
    "slowfast": dict(frames=16, size=32, train_samples=960, val_samples=320, epochs=8, batch_size=16),
    # TimeSformer: attention cost measured over frame counts and grid sides
    "timesformer.cost_frames": dict(values=(2, 4, 8, 16)),
    "timesformer.cost_sides": dict(values=(4, 6, 8, 12)),
    # TimeSformer: the order of events needs time attention and about 3,000 clips to learn
    "timesformer.long": dict(frames=8, size=32, train_samples=3000, epochs=20, batch_size=32),
    # ViViT: block cost over frame counts
    "vivit.cost": dict(values=(2, 4, 8, 16, 32)),
    # Your own videos: clips per test video in multi-view testing (torchvision tests on 5)
    "your_own_videos.views": dict(values=(2,)),
    # VideoMAE: pre-training (2 x epochs) and fine-tuning (epochs) of the tiny model, the same at every preset:
    # the smallest size found where random masking's copying shortcut shows in the loss (flat backgrounds or
    # fewer than about 60 pre-training epochs did not show it); it was not measured at any other size
    "videomae.masking": dict(frames=8, size=32, train_samples=320, val_samples=160, epochs=32, batch_size=16),
}


def _recipes(preset: str, train_samples: int, epochs: int, batch_size: int) -> dict:
    """The recipes of one preset: the small ones at ci and cpu, with what the preset changes."""
    recipes = {k: dict(v) for k, v in _SMALL_RECIPES.items()}
    # ViViT: four variants from scratch need 3x the preset's clips and 2x its epochs on CPU
    recipes["vivit.motion"] = dict(train_samples=3 * train_samples, epochs=2 * epochs)
    # MViT: tiny MViTv2 and TimeSformer from scratch; twice the clips, and on CPU twice the epochs: with the
    # preset's 4 at ci, whether the tiny MViTv2 left chance in time depended on its random start
    recipes["mvit.motion"] = dict(train_samples=2 * train_samples, epochs=2 * epochs, batch_size=16)
    # Summary: two dozen models on the same clips, at most 2,000 of them (a Colab runtime's memory)
    recipes["summary"] = dict(train_samples=min(train_samples, 2000), batch_size=batch_size // 2)
    if preset != "ci":
        recipes["c3d.depths"] = dict(values=(1, 3, 5, 7))
        recipes["timesformer.cost_frames"] = dict(values=(2, 4, 8, 16, 32))
        recipes["timesformer.cost_sides"] = dict(values=(4, 8, 12, 16))
        recipes["vivit.cost"] = dict(values=(2, 4, 8, 16, 32, 64))
        recipes["your_own_videos.views"] = dict(values=(5,))
    if preset == "gpu":  # the preset's clips, or more where the finding needs a minimum
        recipes["non_local.match"] = dict(frames=12, size=32, train_samples=6000, val_samples=1000, epochs=8,
                                          batch_size=16)
        recipes["slowfast"] = dict(frames=16, size=64, train_samples=6000, val_samples=1000, epochs=8,
                                   batch_size=16)
        recipes["timesformer.long"] = dict(frames=16, size=64, train_samples=18000, epochs=20, batch_size=32)
        recipes["vivit.motion"] = dict(train_samples=train_samples, epochs=epochs)
        recipes["mvit.motion"] = dict(train_samples=min(2 * train_samples, 9000), epochs=epochs, batch_size=16)
    return recipes


PRESETS = {
    "ci": Preset("ci", frames=8, size=32, long_frames=24, train_samples=320, val_samples=160, epochs=4,
                 batch_size=32, lr=3e-3, amp=False, num_workers=0, cache_dtype="float32",
                 recipes=_recipes("ci", 320, 4, 32)),
    # cpu: about 6x the ci compute (clip 1.5 x 1.56, clips 2x, epochs 1.25x), 1 to 20 minutes a chapter on
    # 2 cores (the README's table); the earlier 16x48x48, 1,200 clips x 8 epochs was ~34x ci (Snippets: 6.6 min)
    "cpu": Preset("cpu", frames=12, size=40, long_frames=36, train_samples=640, val_samples=240, epochs=5,
                  batch_size=32, lr=2e-3, amp=False, num_workers=0, cache_dtype="float32",
                  recipes=_recipes("cpu", 640, 5, 32)),
    "gpu": Preset("gpu", frames=16, size=64, long_frames=64, train_samples=6000, val_samples=1000, epochs=15,
                  batch_size=64, lr=1e-3, amp=True, num_workers=2, cache_dtype="uint8",
                  recipes=_recipes("gpu", 6000, 15, 64)),
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
