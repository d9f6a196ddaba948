"""Figures: the right number of panels/frames/slider steps, and errors for inputs of the wrong shape."""

import os
import subprocess
import sys

import numpy as np
import plotly.io as pio
import pytest
import torch

from vidlearn import viz
from vidlearn.published import NUMBERS, PAPERS, fmt


def _frames(t=5, h=24, w=32, seed=0):
    return (np.random.default_rng(seed).random((t, h, w, 3)) * 255).astype(np.uint8)


def test_clip_player_has_one_animation_frame_and_slider_step_per_video_frame():
    fig = viz.clip_player(_frames(7))
    assert len(fig.frames) == 7 and len(fig.layout.sliders[0].steps) == 7
    assert fig.data[0].source.startswith("data:image/png;base64,")


def test_float_clips_and_uint8_frames_give_the_same_images():
    frames = _frames(3)
    clip = torch.from_numpy(frames).permute(3, 0, 1, 2).float() / 255.0  # (C, T, H, W)
    assert np.array_equal(viz.to_uint8_frames(clip), frames)
    with pytest.raises(ValueError, match="got shape"):
        viz.to_uint8_frames(np.zeros((3, 4, 4)))


def test_sampler_timeline_switches_between_random_draws():
    samplers = {
        "random": lambda n, rng=None: np.sort(rng.choice(n, 4, replace=False)),
        "fixed": lambda n, rng=None: np.arange(0, n, n // 4),
        "slowfast": lambda n, rng=None: (np.arange(0, n, 8), np.arange(0, n, 2)),
    }
    fig = viz.sampler_timeline(samplers, 32, draws=3)
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 3
    # each step shows exactly one draw: 4 traces (random, fixed, slow, fast)
    assert all(sum(s.args[0]["visible"]) == 4 for s in steps)
    assert [t.visible for t in fig.data].count(True) == 4


def test_dataset_gallery_shows_one_clip_per_class():
    class Toy(torch.utils.data.Dataset):
        classes = ["a", "b", "c"]

        def __len__(self):
            return 9

        def __getitem__(self, i):
            return torch.full((3, 4, 8, 8), i / 9), i % 3

    fig = viz.dataset_gallery(Toy(), cols=3)
    assert len(fig.data) == 3 and len(fig.frames) == 4
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c"]


def test_flow_explorer_checks_that_flow_matches_the_frames():
    frames = _frames(4)
    flow = np.zeros((2, 3, 24, 32), np.float32)
    flow[0] = 2.0
    fig = viz.flow_explorer(frames, flow)
    assert len(fig.frames) == 3 and len(fig.data) == 5
    with pytest.raises(ValueError, match=r"\(2, 3, H, W\)"):
        viz.flow_explorer(frames, flow[:, :2])


def test_era_timeline_has_one_lane_per_era_and_every_paper_of_the_published_table():
    fig = viz.era_timeline()
    assert len(fig.data) == len(viz.ERA_COLORS)
    drawn = [name for t in fig.data for name in t.text]
    assert sorted(drawn) == sorted(p.name for p in PAPERS)
    hover = {name: cd[1] for t in fig.data for name, cd in zip(t.text, t.customdata)}
    for p in PAPERS:  # each headline number is shown as the table formats it, with its dataset
        for key in p.numbers:
            assert fmt(key) in hover[p.name] and NUMBERS[key].dataset in hover[p.name], (p.name, key)


def test_era_timeline_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        viz.era_timeline([])


def test_book_build_renderer_emits_html_without_plotlyjs():
    code = ("import plotly.io as pio, plotly.graph_objects as go; import vidlearn.viz;"
            "print(pio.renderers.default)")
    env = dict(os.environ, VIDLEARN_BOOK_BUILD="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "vidlearn_book"
    bundle = pio.renderers["vidlearn_book"].to_mimebundle(viz.era_timeline().to_dict())
    html = bundle["text/html"]
    assert "plotly-graph-div" in html and "cdn.plot.ly" not in html and len(html) < 200_000


def test_book_renderer_does_not_autoplay_animations():
    # auto-play ran the animation on page load without redrawing images, leaving image panels blank
    fig = viz.clip_player(_frames(4))
    html = pio.renderers["vidlearn_book"].to_mimebundle(fig.to_dict())["text/html"]
    assert "Plotly.animate" not in html and "Plotly.addFrames" in html


def test_dataset_gallery_shows_synthetic_clips_as_made_not_normalised():
    from vidlearn.data import SyntheticActions

    data = SyntheticActions("motion", num_samples=8, frames=4, size=16, seed=0)  # normalises by default
    raw = SyntheticActions("motion", num_samples=8, frames=4, size=16, seed=0, transform=None)
    assert data.transform is not None
    shown, expected = viz.dataset_gallery(data, cols=4), viz.dataset_gallery(raw, cols=4)
    assert [t.source for t in shown.data] == [t.source for t in expected.data]
    assert data.transform is not None  # the data set keeps its transform
