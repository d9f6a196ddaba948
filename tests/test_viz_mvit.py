"""The MViT chapter's pyramid figure (vidlearn/viz/mvit.py): measured stage rows, one button per model."""

import pytest
import torch

import vidlearn
from vidlearn.models.mvit import stage_shapes
from vidlearn.viz.mvit import stage_pyramid_figure, stage_rows


def test_stage_rows_at_paper_size_agree_with_stage_shapes_and_pool_keys_to_7x7():
    with torch.device("meta"):
        model = vidlearn.create_model("mvit_v1_b").eval()
    x = model.example_input(1).to("meta")
    rows = stage_rows(model, x)
    assert [(r["tokens"], r["channels"]) for r in rows] == [(s.tokens, s.channels) for s in stage_shapes(model, x)]
    assert [r["blocks"] for r in rows] == [1, 2, 11, 2] and [r["heads"] for r in rows] == [1, 2, 4, 8]
    assert all(r["kv_grid"] == (8, 7, 7) for r in rows)


def test_figure_has_three_panels_per_model_and_shows_one_model_at_a_time():
    rows = {name: stage_rows(vidlearn.create_model(name, tiny=True)) for name in ("mvit_v1_b", "mvit_v2_s")}
    fig = stage_pyramid_figure(rows, title="t")
    assert len(fig.data) == 6 and [t.visible for t in fig.data] == [True] * 3 + [False] * 3
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == list(rows) and buttons[1].args[0]["visible"] == [False] * 3 + [True] * 3
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis3.type == "log"


def test_empty_input_is_refused():
    with pytest.raises(ValueError, match="rows_by_model is empty"):
        stage_pyramid_figure({})
