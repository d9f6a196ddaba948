"""Training: ``fit`` / ``evaluate``, the per-epoch ``History``, checkpoints and seeding."""

from vidlearn.train.checkpoint import load_checkpoint, save_checkpoint
from vidlearn.train.history import History, plot_histories
from vidlearn.train.loop import evaluate, fit, resolve_device, seed_everything, to_device

__all__ = ["fit", "evaluate", "History", "plot_histories", "save_checkpoint", "load_checkpoint",
           "seed_everything", "resolve_device", "to_device"]
