"""Which clips a classifier gets wrong, and how two classifiers' mistakes overlap.

``predict(model, data)`` returns the predicted class of every clip with its label (in the data's order);
``error_overlap(pred_a, pred_b, labels)`` counts the clips that only ``a``, only ``b``, or both get wrong.
The Two-Stream chapter uses them to show that its two streams make different mistakes, the reason their
average beats the temporal stream.
"""

from __future__ import annotations

from typing import Dict, Tuple, Union

import torch
import torch.nn as nn

from vidlearn.train.loop import Data, make_loader, on_device, resolve_device, to_device


@torch.no_grad()
def predict(model: nn.Module, data: Data, *, batch_size: int = 32,
            device: Union[str, torch.device] = "auto") -> Tuple[torch.Tensor, torch.Tensor]:
    """``(predictions, labels)``: the argmax class of ``model`` (eval mode) on every clip of ``data``, in order.

    Both are int64 tensors of shape ``(N,)`` on the CPU; the model is handed back on the device it came on.
    """
    dev = resolve_device(device)
    preds, labels = [], []
    with on_device(model, dev):  # handed back on the device it came on
        model.eval()
        for inputs, y in make_loader(data, batch_size, shuffle=False):
            preds.append(model(to_device(inputs, dev)).argmax(1).cpu())
            labels.append(torch.as_tensor(y).cpu())
    return torch.cat(preds).long(), torch.cat(labels).long()


def error_overlap(pred_a: torch.Tensor, pred_b: torch.Tensor, labels: torch.Tensor) -> Dict[str, int]:
    """How the mistakes of two classifiers on the same clips overlap.

    Returns ``{"n": clips, "wrong_a": ..., "wrong_b": ..., "both_wrong": ..., "only_a": ..., "only_b": ...}``:
    ``both_wrong`` close to ``min(wrong_a, wrong_b)`` means one's mistakes are a subset of the other's,
    close to 0 that they make different mistakes.
    """
    pred_a, pred_b, labels = (torch.as_tensor(t).reshape(-1) for t in (pred_a, pred_b, labels))
    if not pred_a.shape == pred_b.shape == labels.shape:
        raise ValueError(f"error_overlap expects predictions and labels of one length, got "
                         f"{len(pred_a)} (a), {len(pred_b)} (b) and {len(labels)} labels")
    wrong_a, wrong_b = pred_a != labels, pred_b != labels
    return {"n": len(labels), "wrong_a": int(wrong_a.sum()), "wrong_b": int(wrong_b.sum()),
            "both_wrong": int((wrong_a & wrong_b).sum()), "only_a": int((wrong_a & ~wrong_b).sum()),
            "only_b": int((~wrong_a & wrong_b).sum())}
