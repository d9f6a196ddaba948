"""Fine-tuning with small batches: keep a pretrained model's batch-norm statistics while the rest trains.

A network pretrained on Kinetics stores in every batch norm the mean and variance of its activations on
Kinetics. Fine-tuned with the small batches one GPU holds (8 or 16 clips), a batch norm in training mode
normalises each batch by that batch's own, noisy, statistics and pulls its stored ones toward them. TSN's
"partial BN" (Wang et al., ECCV 2016) freezes them for this reason (vidlearn's ``TSN`` does it for its own
backbone). :class:`BatchNormFrozen` does it for any model trained with :func:`~vidlearn.train.fit`::

    hist = fit(BatchNormFrozen(model), train, val, epochs=3, lr=1e-4)   # `model` itself is trained

``fit`` calls ``train()`` every epoch; the wrapper's ``train()`` puts the model in training mode (dropout on)
and then its batch norms back in evaluation mode, so they normalise with the stored statistics and never
update them. Their scale and shift still train unless ``train_affine=False``. Used by the chapter "Your own
videos" (step 2 of fine-tuning).
"""

from __future__ import annotations

from typing import Any, List

import torch.nn as nn


class BatchNormFrozen(nn.Module):
    """``model`` with every batch norm kept in evaluation mode, also while training.

    Args:
        model: the network to fine-tune (it is trained in place; the wrapper holds no weights of its own).
        train_affine: let the batch norms' scale and shift train (``False``: freeze them too).

    ``forward`` is ``model``'s. Save ``wrapper.model`` (or the model you passed), not the wrapper, whose
    state-dict keys carry a ``model.`` prefix.
    """

    def __init__(self, model: nn.Module, train_affine: bool = True):
        super().__init__()
        self.model = model
        if not train_affine:
            for bn in self.batch_norms():
                for p in bn.parameters():
                    p.requires_grad_(False)
        self.train(model.training)

    def batch_norms(self) -> List[nn.modules.batchnorm._BatchNorm]:
        return [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def train(self, mode: bool = True) -> BatchNormFrozen:
        super().train(mode)
        for bn in self.batch_norms():
            bn.eval()
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.model(*args, **kwargs)


__all__ = ["BatchNormFrozen"]
