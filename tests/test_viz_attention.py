"""TimeSformer figures and cost helpers: slider steps that match attention_pattern, measured blocks that agree
with the analytic FLOPs and memory, and clear errors for inputs of the wrong shape."""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from vidlearn.layers.attention_cost import (
    attention_matrix_bytes,
    attention_pairs,
    block_memory_bytes,
    measure_block,
)
from vidlearn.layers.attention_pattern import SCHEMES, attention_pattern, block_flops
from vidlearn.viz.attention import (
    QUERY_COLOR,
    STEP_COLORS,
    attention_cost_figure,
    attention_patterns_figure,
    paper_scale_cost_figure,
    rollout_figure,
    scheme_accuracy_figure,
)


def _frames(t=3, h=24, w=24, seed=0):
    return (np.random.default_rng(seed).random((t, h, w, 3)) * 255).astype(np.uint8)


def _lit(z):
    return np.array([[v is not None for v in row] for row in z])


def test_patterns_figure_has_one_slider_step_per_query_and_the_steps_match_attention_pattern():
    t, gh, gw = 3, 4, 4
    fig = attention_patterns_figure(_frames(t), grid=(gh, gw), query=(1, 2, 3), frame_px=32)
    slider = fig.layout.sliders[0]
    assert len(slider.steps) == t * gh * gw
    assert slider.active == (1 * gh + 2) * gw + 3
    # one frame image per (scheme, frame); the steps of every scheme tinted in their colours
    assert sum(isinstance(d, go.Image) for d in fig.data) == len(SCHEMES) * t
    # query (0, 1, 1): check every restyled heatmap against the definition
    step = slider.steps[(0 * gh + 1) * gw + 1]
    zs, indices = step.args[0]["z"], step.args[1]
    by_colour = {}
    for z, i in zip(zs, indices):
        color = fig.data[i].colorscale[0][1]
        by_colour.setdefault(color, []).append(_lit(z))
    query_cells = np.stack(by_colour[QUERY_COLOR])  # (schemes * T, H, W)
    assert query_cells.sum() == len(SCHEMES)  # the query is lit once per scheme
    divided = attention_pattern("divided", t, gh, gw, (0, 1, 1))
    time_lit = np.stack(by_colour[STEP_COLORS["time"]])  # divided's and axial's time steps, frame by frame
    assert np.array_equal(time_lit[:t], divided["time"].numpy())
    joint = np.stack(by_colour[STEP_COLORS["space_time"]])
    assert joint.all()


def test_patterns_figure_titles_state_the_keys_per_step():
    fig = attention_patterns_figure(_frames(4), grid=(4, 4), frame_px=32)
    titles = [a.text for a in fig.layout.annotations]
    assert any("Divided" in s and "4 + 16" in s for s in titles)
    assert any("Axial" in s and "4 + 4 + 4" in s for s in titles)
    assert any("Joint" in s and "64" in s for s in titles)


def test_patterns_figure_rejects_a_grid_finer_than_the_frame():
    with pytest.raises(ValueError, match="grid"):
        attention_patterns_figure(_frames(2, 4, 4), grid=(8, 8))


def test_attention_pairs_and_memory_follow_the_group_sizes():
    assert attention_pairs("joint", 8, 14, 14) == {"space_time": 1568 ** 2}
    assert attention_pairs("divided", 8, 14, 14) == {"time": 1568 * 8, "space": 1568 * 196}
    assert attention_pairs("axial", 4, 6, 5) == {"time": 120 * 4, "width": 120 * 5, "height": 120 * 6}
    assert attention_matrix_bytes("joint", 8, 14, 14, heads=12) == 12 * 1568 ** 2 * 4
    assert attention_matrix_bytes("divided", 8, 14, 14, heads=1, largest_step_only=True) == 1568 * 196 * 4
    # joint memory grows with the square of the frames, divided about linearly
    j = [attention_matrix_bytes("joint", t, 14, 14) for t in (8, 16)]
    d = [attention_matrix_bytes("divided", t, 14, 14) for t in (8, 16)]
    assert j[1] == 4 * j[0] and d[1] / d[0] < 2.1


def test_paper_size_joint_attention_overflows_32_gb_where_the_paper_says():
    """12 blocks keep scores and weights (fp32, batch 1): over 32 GB from 448 px or 32 frames, not at 8 x 224."""
    def gb(scheme, t, side):
        return 2 * 12 * attention_matrix_bytes(scheme, t, side // 16, side // 16, heads=12) / 2 ** 30

    assert gb("joint", 8, 224) < 32 and gb("joint", 8, 448) > 32 and gb("joint", 32, 224) > 32
    assert gb("divided", 96, 224) < 32 and gb("divided", 8, 560) < 32


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_measured_block_counts_the_analytic_flops_and_memory(scheme):
    row = measure_block(scheme, 4, 4, 4, dim=32, heads=2, repeats=1)
    assert row["flops_analytic"] == block_flops(scheme, 4, 4, 4, 32)
    # torch's count includes the class token: a little above the analytic count, never below
    assert row["flops_analytic"] <= row["flops"] <= 1.1 * row["flops_analytic"]
    assert row["time_s"] > 0 and row["peak_bytes"] > 0
    assert row["memory_analytic"] == block_memory_bytes(scheme, 4, 4, 4, 32, 2)


def test_joint_block_memory_grows_quadratically_when_measured():
    small = measure_block("joint", 2, 8, 8, dim=32, heads=2, repeats=1)["peak_bytes"]
    large = measure_block("joint", 8, 8, 8, dim=32, heads=2, repeats=1)["peak_bytes"]
    assert large > 8 * small  # 4x the tokens, about 16x the attention matrix


def _rows(scheme, grids):
    return [dict(scheme=scheme, T=t, H=h, W=w, time_s=1e-3 * t * h * w, peak_bytes=1e3 * t * h * w,
                 flops=block_flops(scheme, t, h, w, 32), flops_analytic=block_flops(scheme, t, h, w, 32))
            for t, h, w in grids]


def test_cost_figure_buttons_switch_between_three_metrics():
    by_frames = [r for s in SCHEMES for r in _rows(s, [(2, 4, 4), (4, 4, 4)])]
    by_size = [r for s in SCHEMES for r in _rows(s, [(4, 2, 2), (4, 4, 4)])]
    fig = attention_cost_figure(by_frames, by_size, dim=32, heads=2)
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["FLOPs", "peak memory", "time"]
    for b in buttons:  # each metric: a curve and measured points per scheme and panel
        assert sum(b.args[0]["visible"]) == 2 * 2 * len(SCHEMES)
    first = [d for d, v in zip(fig.data, buttons[0].args[0]["visible"]) if v]
    assert all(d.visible in (True, None) for d in first)
    with pytest.raises(ValueError, match="two non-empty"):
        attention_cost_figure([], by_size, dim=32, heads=2)


def test_paper_scale_figure_marks_joint_attention_out_of_memory():
    fig = paper_scale_cost_figure()
    joint = next(d for d in fig.data if d.name.startswith("Joint") and d.visible in (True, None))
    assert list(joint.x) == [8, 16, 24, 32, 48, 64, 96]
    assert joint.customdata[0] == "" and "out of memory" in joint.customdata[3]  # 8 frames fit, 32 do not
    assert len(fig.layout.updatemenus[0].buttons) == 2


def test_accuracy_and_rollout_figures():
    acc = {"motion": {"space": 0.25, "divided": 0.6}, "scene": {"space": 0.9, "divided": 0.9}}
    fig = scheme_accuracy_figure(acc, chance=0.25)
    assert len(fig.data) == 2 and list(fig.data[0].y) == [0.25, 0.6]
    clip = torch.rand(3, 4, 16, 16)
    fig = rollout_figure(clip, {"divided": torch.rand(4, 2, 2), "space": np.ones((4, 2, 2))})
    assert sum(isinstance(d, go.Heatmap) for d in fig.data) == 8
    with pytest.raises(ValueError, match="T = 4"):
        rollout_figure(clip, {"bad": np.ones((3, 2, 2))})
