"""The flow-stack figure: 2L channels in the documented order, one slider step per start frame."""

import numpy as np
import pytest

from vidlearn.viz.two_stream import flow_stack_figure


def _clip(t=9, h=16):
    frames = np.zeros((t, h, h, 3), np.uint8)
    flow = np.zeros((2, t - 1, h, h), np.float32)
    flow[0] = np.arange(t - 1)[:, None, None]  # x component of field k is k everywhere
    return frames, flow


def test_one_image_per_channel_plus_the_frame_and_one_step_per_start():
    frames, flow = _clip()
    fig = flow_stack_figure(frames, flow, length=4, starts=[0, 2, 4])
    assert len(fig.data) == 1 + 2 * 4
    assert [s.label for s in fig.layout.sliders[0].steps] == ["0", "2", "4"]
    assert len(fig.frames) == 3 and all(len(f.data) == 9 for f in fig.frames)
    titles = [a.text for a in fig.layout.annotations]
    assert "ch 0: x<sub>t+0</sub>" in titles and "ch 7: y<sub>t+3</sub>" in titles
    assert fig.layout.title.text


def test_channels_follow_the_paper_order():
    frames, flow = _clip()
    fig = flow_stack_figure(frames, flow, length=3, starts=[1, 5])
    # frame for t=5: the x image of channel 2k shows field 5+k; distinct fields give distinct images
    xs = [fig.frames[1].data[1 + k].source for k in range(3)]
    assert len(set(xs)) == 3
    ys = [fig.frames[1].data[4 + k].source for k in range(3)]
    assert len(set(ys)) == 1  # y is zero everywhere


def test_bad_arguments_are_rejected():
    frames, flow = _clip()
    with pytest.raises(ValueError, match="length"):
        flow_stack_figure(frames, flow, length=20)
    with pytest.raises(ValueError, match="out of range"):
        flow_stack_figure(frames, flow, length=4, starts=[7])
    with pytest.raises(ValueError, match="expected flow"):
        flow_stack_figure(frames, flow[0], length=4)
