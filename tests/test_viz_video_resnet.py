"""The R(2+1)D family figures: conv kinds read from the modules, one cell per group, both loss panels."""

import plotly.graph_objects as go
import pytest

from vidlearn import create_model
from vidlearn.train import History
from vidlearn.viz.video_resnet import GROUPS, family_figure, group_conv_kinds, loss_curves_figure


@pytest.mark.parametrize("name, kinds", [
    ("r2d_18", ["time collapsed", "2D", "2D", "2D", "2D"]),
    ("fr2d_18", ["2D"] * 5),
    ("mc3_18", ["3D", "3D", "2D", "2D", "2D"]),
    ("rmc3_18", ["2D", "2D", "3D", "3D", "3D"]),
    ("r3d_18", ["3D"] * 5),
    ("r2plus1d_18", ["(2+1)D"] * 5),
])
def test_group_conv_kinds_are_read_from_the_modules(name, kinds):
    assert group_conv_kinds(create_model(name, tiny=True)) == kinds


def test_family_figure_has_a_cell_per_group_and_bars_per_network():
    rows = [dict(name="a", kinds=["3D"] * 5, params=2e6, flops=3e9),
            dict(name="b", kinds=["2D", "2D", "3D", "3D", "(2+1)D"], params=1e6, flops=1e9)]
    fig = family_figure(rows)
    assert isinstance(fig, go.Figure) and fig.layout.title.text
    cells = sum(len(t.x) for t in fig.data if t.type == "scatter")
    assert cells == len(rows) * len(GROUPS)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [list(b.x) for b in bars] == [[2.0, 1.0], [3.0, 1.0]]


def test_family_figure_rejects_wrong_group_count_and_unknown_kinds():
    with pytest.raises(ValueError, match="5 group kinds"):
        family_figure([dict(name="a", kinds=["3D"], params=1, flops=1)])
    with pytest.raises(ValueError, match="unknown conv kinds"):
        family_figure([dict(name="a", kinds=["4D"] * 5, params=1, flops=1)])


def test_loss_curves_figure_has_training_and_validation_panels():
    h = History(name="x")
    h.train_loss, h.val_loss = [1.0, 0.5], [1.2, 0.7]
    fig = loss_curves_figure({"x": h, "y": h})
    assert len(fig.data) == 4 and fig.layout.title.text
    assert list(fig.data[1].y) == [1.2, 0.7] and fig.data[1].xaxis == "x2"
