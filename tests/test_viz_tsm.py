"""TSM figures: the shift grid is computed by the shift layer itself and its buttons switch direction."""

import numpy as np
import pytest

from vidlearn.viz.tsm import shift_sources, temporal_shift_figure


def test_bidirectional_sources_move_one_fold_each_way_and_zero_fill_the_ends():
    src = shift_sources(frames=5, channels=16, fold_div=8, direction="bidirectional")  # fold = 2
    t = np.arange(5)
    assert src.shape == (16, 5)
    assert (src[:2, :-1] == t[1:]).all() and (src[:2, -1] == -1).all()  # from t+1, zeros at the end
    assert (src[2:4, 1:] == t[:-1]).all() and (src[2:4, 0] == -1).all()  # from t-1, zeros at the start
    assert (src[4:] == t).all()  # the rest stays


def test_online_sources_only_come_from_the_past():
    src = shift_sources(frames=4, channels=8, fold_div=4, direction="online")
    t = np.arange(4)
    assert (src <= t).all()
    assert (src[:2, 1:] == t[:-1]).all() and (src[:2, 0] == -1).all() and (src[2:] == t).all()


def test_shift_figure_buttons_show_one_direction_at_a_time():
    fig = temporal_shift_figure(frames=6, channels=16, fold_div=8)
    assert len(fig.data) == 3 and [d.visible for d in fig.data][1:] == [True, False]
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["bidirectional", "online"]
    assert buttons[1].args[0]["visible"] == [True, False, True]
    assert np.array_equal(np.asarray(fig.data[2].z), shift_sources(6, 16, 8, "online"))
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_shift_figure_rejects_unknown_direction():
    with pytest.raises(ValueError, match="directions"):
        temporal_shift_figure(directions=("sideways",))
