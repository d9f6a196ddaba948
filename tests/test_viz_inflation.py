"""The inflation figures: slider steps carry the right kernels, the boring-video panels the right data."""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from vidlearn.viz.inflation import boring_video_figure, kernel_inflation_figure


def test_kernel_figure_has_one_slider_step_per_temporal_size():
    fig = kernel_inflation_figure(torch.randn(3, 3), times=(1, 3, 5))
    assert isinstance(fig, go.Figure) and fig.layout.title.text
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["1", "3", "5"]
    # 2 rows of the 2D kernel + (1 + 3 + 5) slices per method, 2 methods
    assert len(fig.data) == 2 + 2 * (1 + 3 + 5)
    for step, t in zip(steps, (1, 3, 5)):
        assert sum(step.args[0]["visible"]) == 2 + 2 * t


def test_kernel_figure_bootstrap_slices_sum_to_the_2d_kernel():
    w = np.random.default_rng(0).normal(size=(5, 5)).astype(np.float32)
    fig = kernel_inflation_figure(w, times=(3,), methods=("bootstrap", "center"))
    boot = [np.asarray(fig.data[2 + i].z) for i in range(3)]
    centre = [np.asarray(fig.data[5 + i].z) for i in range(3)]
    np.testing.assert_allclose(sum(boot), w, atol=1e-6)
    np.testing.assert_allclose(centre[1], w)
    assert not centre[0].any() and not centre[2].any()


def test_kernel_figure_rejects_a_3d_kernel():
    with pytest.raises(ValueError, match="2D kernel"):
        kernel_inflation_figure(np.zeros((3, 3, 3)))


def test_boring_video_figure_slider_walks_through_time():
    frame = np.zeros((16, 16, 3), np.uint8)
    r2 = np.random.rand(8, 8)
    r3 = np.repeat(r2[None], 4, axis=0)
    fig = boring_video_figure(frame, r2, r3, np.arange(5.0), np.arange(5.0))
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 4
    assert len(fig.data) == 2 + 4 + 2  # image, 2D response, 4 time slices, 2 bar series
    for t, step in enumerate(steps):
        vis = step.args[0]["visible"]
        assert vis[2 + t] and sum(vis[2:6]) == 1
    assert "0e+00" in steps[0].args[1]["annotations[2].text"]


def test_boring_video_figure_checks_shapes():
    with pytest.raises(ValueError, match="response_3d"):
        boring_video_figure(np.zeros((4, 4, 3), np.uint8), np.zeros((2, 2)), np.zeros((3, 3, 3)), [1.0], [1.0])
