"""predict / error_overlap: which clips a classifier gets wrong and how two classifiers' mistakes overlap."""

import pytest
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

from vidlearn.train.errors import error_overlap, predict


class Fixed(nn.Module):
    """Answers the class stored in the clip's first value (so the predictions are known in advance)."""

    def forward(self, x):
        return nn.functional.one_hot(x[:, 0, 0, 0, 0].long(), 3).float()


def test_predict_returns_each_clips_class_in_data_order():
    answers = torch.tensor([2, 0, 1, 1, 0])
    x = torch.zeros(5, 1, 1, 2, 2)
    x[:, 0, 0, 0, 0] = answers.float()
    labels = torch.tensor([2, 1, 1, 0, 0])
    preds, y = predict(Fixed(), TensorDataset(x, labels), batch_size=2, device="cpu")
    assert torch.equal(preds, answers) and torch.equal(y, labels)


def test_error_overlap_counts_shared_and_separate_mistakes():
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    a = torch.tensor([0, 2, 2, 1, 1, 0])  # wrong on clips 1, 3, 5
    b = torch.tensor([1, 2, 2, 0, 1, 2])  # wrong on clips 0, 1
    assert error_overlap(a, b, labels) == {"n": 6, "wrong_a": 3, "wrong_b": 2, "both_wrong": 1, "only_a": 2,
                                           "only_b": 1}


def test_error_overlap_rejects_predictions_of_another_length():
    with pytest.raises(ValueError, match="one length.*5 \\(a\\), 4 \\(b\\) and 5 labels"):
        error_overlap(torch.zeros(5), torch.zeros(4), torch.zeros(5))
