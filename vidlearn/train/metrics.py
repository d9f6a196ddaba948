"""Per-class results of a test: the confusion matrix, accuracy per class, the classes a model gets wrong most.

    from vidlearn.train import evaluate_views
    from vidlearn.train.metrics import confusion_matrix, worst_classes
    res = evaluate_views(model, test_set, clips=10, crops=3)
    cm = confusion_matrix(res["scores"].argmax(1), res["labels"], num_classes)   # (K, K): rows true, cols predicted
    worst_classes(cm, test_set.classes, k=5)   # [(class, accuracy, test videos, most confused with), ...]

Used by the chapter "Your own videos" (after multi-view testing).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(K, K)`` int64 counts: entry ``[i, j]`` is how many videos of class ``i`` were predicted as ``j``.

    Raises:
        ValueError: the two disagree in length, or a class id is outside ``0 .. num_classes - 1``.
    """
    predictions, labels = torch.as_tensor(predictions).long().flatten(), torch.as_tensor(labels).long().flatten()
    if predictions.shape != labels.shape:
        raise ValueError(f"confusion_matrix: {len(predictions)} predictions but {len(labels)} labels")
    for name, t in (("prediction", predictions), ("label", labels)):
        if len(t) and (int(t.min()) < 0 or int(t.max()) >= num_classes):
            raise ValueError(f"confusion_matrix: a {name} outside 0 .. {num_classes - 1}: "
                             f"{int(t.min())} .. {int(t.max())}")
    flat = labels * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Recall of each class, ``cm[i, i] / cm[i].sum()`` (NaN for a class without test videos)."""
    cm = cm.double()
    return cm.diagonal() / cm.sum(1)


def worst_classes(cm: torch.Tensor, classes: Sequence[str], k: int = 5
                  ) -> List[Tuple[str, float, int, Optional[str]]]:
    """The ``k`` classes with the lowest accuracy (ties: more test videos first, then class order):
    ``(class, accuracy, test videos, the class its videos were most often mistaken for or None)``.
    Classes without test videos are left out."""
    acc, support = per_class_accuracy(cm), cm.sum(1)
    off = cm.clone()
    off.fill_diagonal_(-1)
    rows = []
    for i in range(len(classes)):
        if support[i] == 0:
            continue
        j = int(off[i].argmax())
        confused = classes[j] if off[i, j] > 0 else None
        rows.append((classes[i], float(acc[i]), int(support[i]), confused))
    order = sorted(range(len(rows)), key=lambda r: (rows[r][1], -rows[r][2], r))
    return [rows[r] for r in order[:k]]


__all__ = ["confusion_matrix", "per_class_accuracy", "worst_classes"]
