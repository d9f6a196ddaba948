"""The TSN figures: segment sampling on a clip (train draws + test draw) and the consensus heat map."""

import numpy as np
import pytest

from vidlearn.data.samplers import DenseSampler, SegmentSampler
from vidlearn.viz.tsn import consensus_figure, segment_snippets_figure


def _video(t=30, h=20, w=24):
    video = np.zeros((t, h, w, 3), np.uint8)
    video[:] = (np.arange(t) * 8).astype(np.uint8)[:, None, None, None]  # every frame a different grey
    return video


def test_one_slider_step_per_draw_plus_the_test_draw():
    fig = segment_snippets_figure(_video(), SegmentSampler(3), DenseSampler(3), draws=2)
    assert [s.label for s in fig.layout.sliders[0].steps] == ["train draw 1", "train draw 2", "test"]
    assert len(fig.frames) == 3
    # 2 timeline traces + 3 thumbnails per sampler
    assert len(fig.data) == 2 + 2 * 3 and all(len(f.data) == len(fig.data) for f in fig.frames)
    assert len(fig.layout.shapes) == 3  # one shaded band per segment
    assert fig.layout.title.text


def test_test_draw_takes_the_middle_of_each_segment_and_samplers_keep_their_mode():
    seg, dense = SegmentSampler(3), DenseSampler(3)
    fig = segment_snippets_figure(_video(30), seg, dense, draws=1)
    test = fig.frames[-1]
    assert list(test.data[0].x) == list(SegmentSampler(3, train=False)(30))
    assert list(test.data[1].x) == list(DenseSampler(3, train=False)(30))
    assert seg.train and dense.train  # restored after drawing
    # training draws stay inside their segments
    for frame in fig.frames[:-1]:
        idx = np.asarray(frame.data[0].x)
        assert all(lo <= i < hi for i, lo, hi in zip(idx, [0, 10, 20], [10, 20, 30]))


def test_distinct_frames_give_distinct_thumbnails():
    fig = segment_snippets_figure(_video(), SegmentSampler(3), draws=1)
    sources = [fig.frames[-1].data[1 + k].source for k in range(3)]
    assert len(set(sources)) == 3


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="num_segments"):
        segment_snippets_figure(_video(), DenseSampler(3))
    with pytest.raises(ValueError, match="draws"):
        segment_snippets_figure(_video(), SegmentSampler(3), draws=0)
    with pytest.raises(ValueError, match="scores"):
        consensus_figure(np.zeros((3, 4)), ["a", "b"])
    with pytest.raises(ValueError, match="consensus"):
        consensus_figure(np.zeros((3, 2)), ["a", "b"], modes=("median",))


def test_consensus_rows_are_the_average_and_the_maximum():
    scores = np.array([[1.0, -1.0], [3.0, 0.0], [2.0, 4.0]], np.float32)
    fig = consensus_figure(scores, ["a", "b"])
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["avg", "max"]
    np.testing.assert_allclose(fig.data[0].z[-1], scores.mean(0))
    np.testing.assert_allclose(fig.data[1].z[-1], scores.max(0))
    assert fig.data[0].visible and not fig.data[1].visible
