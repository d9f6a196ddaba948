"""``History``: what one training run measured, epoch by epoch, and a plot of it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional


@dataclass
class History:
    """Per-epoch metrics of one :func:`vidlearn.train.fit` run.

    Every list has one entry per epoch; ``val_*`` entries are ``None`` when no validation data was given.
    ``clips_per_s`` is the training throughput (clips / wall second, data loading included).
    """

    train_loss: List[float] = field(default_factory=list)
    train_acc: List[float] = field(default_factory=list)
    val_loss: List[Optional[float]] = field(default_factory=list)
    val_acc: List[Optional[float]] = field(default_factory=list)
    time_s: List[float] = field(default_factory=list)
    clips_per_s: List[float] = field(default_factory=list)
    device: str = "cpu"
    precision: str = "fp32"
    peak_memory_mb: Optional[float] = None  # CUDA only
    steps: List[int] = field(default_factory=list)  # optimiser steps taken by the end of each epoch
    name: str = ""

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def total_time_s(self) -> float:
        return float(sum(self.time_s))

    @property
    def final_val_acc(self) -> Optional[float]:
        return self.val_acc[-1] if self.val_acc else None

    @property
    def best_val_acc(self) -> Optional[float]:
        vals = [v for v in self.val_acc if v is not None]
        return max(vals) if vals else None

    def summary(self) -> Dict[str, object]:
        """The last epoch's numbers, the total time and the mean throughput, as a dict."""
        return {
            "name": self.name,
            "epochs": self.epochs,
            "train_loss": self.train_loss[-1] if self.train_loss else None,
            "train_acc": self.train_acc[-1] if self.train_acc else None,
            "val_loss": self.val_loss[-1] if self.val_loss else None,
            "val_acc": self.final_val_acc,
            "time_s": round(self.total_time_s, 2),
            "clips_per_s": round(sum(self.clips_per_s) / max(len(self.clips_per_s), 1), 1),
            "device": self.device,
            "precision": self.precision,
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> History:
        return cls(**json.loads(text))

    def plot(self, title: Optional[str] = None):
        """A plotly figure: loss (left) and accuracy (right) per epoch, train and validation."""
        return plot_histories({self.name or "run": self}, title=title)

    def __repr__(self) -> str:
        s = self.summary()
        val = f", val_acc={s['val_acc']:.3f}" if s["val_acc"] is not None else ""
        return (f"History({self.epochs} epochs, train_acc={s['train_acc']:.3f}{val}, "
                f"{s['time_s']} s, {s['clips_per_s']} clips/s on {self.device})")


def plot_histories(histories: Dict[str, History], title: Optional[str] = None):
    """Loss and accuracy curves of several runs on shared axes (solid: train, dashed: validation)."""
    from plotly.subplots import make_subplots

    from vidlearn.viz.style import color_cycle

    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for (name, h), color in zip(histories.items(), color_cycle()):
        x = list(range(1, h.epochs + 1))
        for col, (tr, va) in enumerate([(h.train_loss, h.val_loss), (h.train_acc, h.val_acc)], start=1):
            fig.add_scatter(x=x, y=tr, name=f"{name} train", legendgroup=name, line=dict(color=color),
                            showlegend=col == 1, row=1, col=col)
            if any(v is not None for v in va):
                fig.add_scatter(x=x, y=va, name=f"{name} val", legendgroup=name,
                                line=dict(color=color, dash="dash"), showlegend=col == 1, row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="cross-entropy", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=1, col=2)
    fig.update_layout(title=title or "Training curves", height=380)
    return fig
