"""Non-local attention figure: one slider step per query, its heat is that query's row of the attention."""

import numpy as np
import pytest
import torch

from vidlearn import create_model
from vidlearn.viz.non_local import nonlocal_attention_figure


def _attention(tq=3, hq=4, wq=4, hk=2, wk=2, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((tq * hq * wq, tq * hk * wk))
    return a / a.sum(1, keepdims=True)


def test_each_step_shows_the_rows_of_its_query():
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    attn = _attention()
    queries = [0, 17, 47]
    fig = nonlocal_attention_figure(frames, attn, (3, 4, 4), (3, 2, 2), queries)
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 3 and len(fig.data) == 3 + 3 * (3 + 1)  # frames, then (heatmaps + query box) per query
    for k, q in enumerate(queries):
        visible = steps[k].args[0]["visible"]
        start = 3 + 4 * k
        assert visible[:3] == [True] * 3 and visible[start:start + 4] == [True] * 4 and sum(visible) == 7
        heat = np.stack([np.asarray(fig.data[start + t].z) for t in range(3)])  # (T', hk, wk)
        assert np.allclose(heat.ravel(), attn[q])
    assert [d.visible for d in fig.data[3:]].count(True) == 4  # only the first query shows at first
    assert fig.layout.title.text


def test_query_box_sits_on_the_query_frame_and_cell():
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    fig = nonlocal_attention_figure(frames, _attention(), (3, 4, 4), (3, 2, 2), [1 * 16 + 2 * 4 + 3], frame_px=80)
    box = fig.data[-1]
    assert box.xaxis == "x2"  # second frame's subplot
    assert min(box.x) == pytest.approx(3 * 20) and min(box.y) == pytest.approx(2 * 20)  # 80 px / 4 cells


def test_figure_from_a_real_non_local_model():
    model = create_model("nl_c2d_r50", tiny=True, num_classes=3).eval()
    clip = torch.rand(1, 3, 8, 32, 32)
    maps = model.attention_maps(clip)
    attn = maps[0][0].numpy()  # res3: (2 x 4 x 4 queries, 2 x 2 x 2 subsampled keys)
    fig = nonlocal_attention_figure(clip[0, :, ::4], attn, (2, 4, 4), (2, 2, 2), [0, 31])
    assert len(fig.layout.sliders[0].steps) == 2


def test_bad_shapes_are_rejected_with_a_message():
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="attention must be"):
        nonlocal_attention_figure(frames, np.ones((5, 5)), (3, 4, 4), (3, 2, 2), [0])
    with pytest.raises(ValueError, match="one frame per feature time step"):
        nonlocal_attention_figure(frames[:2], _attention(), (3, 4, 4), (3, 2, 2), [0])
    with pytest.raises(ValueError, match="query indices"):
        nonlocal_attention_figure(frames, _attention(), (3, 4, 4), (3, 2, 2), [48])
