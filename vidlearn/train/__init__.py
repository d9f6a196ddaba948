"""Training: ``fit`` / ``evaluate``, multi-view testing (``evaluate_views``), the per-epoch ``History``,
checkpoints and seeding."""

from vidlearn.train.checkpoint import load_checkpoint, save_checkpoint
from vidlearn.train.history import History, plot_histories
from vidlearn.train.loop import evaluate, fit, model_device, on_device, resolve_device, seed_everything, to_device
from vidlearn.train.views import evaluate_views

__all__ = ["fit", "evaluate", "evaluate_views", "History", "plot_histories", "save_checkpoint", "load_checkpoint",
           "seed_everything", "resolve_device", "to_device", "on_device", "model_device"]
