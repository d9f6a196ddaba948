"""KINETICS400_CLASSES: our offline copy of the Kinetics-400 label order equals torchvision's, name for name."""

from torchvision.models._meta import _KINETICS400_CATEGORIES
from torchvision.models.video import MC3_18_Weights, R2Plus1D_18_Weights, R3D_18_Weights

from vidlearn.data import KINETICS400_CLASSES


def test_the_names_are_torchvisions_k400_categories_in_the_same_order():
    assert isinstance(KINETICS400_CLASSES, tuple)
    assert KINETICS400_CLASSES == tuple(_KINETICS400_CATEGORIES)
    for weights in (R3D_18_Weights, MC3_18_Weights, R2Plus1D_18_Weights):  # the labels of the weights' outputs
        assert tuple(weights.KINETICS400_V1.meta["categories"]) == KINETICS400_CLASSES


def test_there_are_400_unique_names_sorted():
    assert len(KINETICS400_CLASSES) == 400 == len(set(KINETICS400_CLASSES))
    assert all(isinstance(n, str) and n == n.strip() and n for n in KINETICS400_CLASSES)
    assert list(KINETICS400_CLASSES) == sorted(KINETICS400_CLASSES)
    assert KINETICS400_CLASSES[0] == "abseiling" and KINETICS400_CLASSES[-1] == "zumba"
