"""SyntheticActions(mode="binding"), the Fusion chapter's data: the class is which of two objects moves which
way, and neither stream of a two-stream network can tell alone (the flow is the same whichever object moves;
single frames are the same for every class)."""

import numpy as np
import pytest

from vidlearn.data import BINDING_CLASSES, SyntheticActions
from vidlearn.flow import compute_flow
from vidlearn.flow.compute import to_gray

T, S = 8, 32
_DIRS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


def test_binding_classes_are_every_object_with_every_direction():
    assert len(BINDING_CLASSES) == 8 and len(set(BINDING_CLASSES)) == 8
    assert SyntheticActions("binding", frames=T, size=S).classes == list(BINDING_CLASSES)
    assert SyntheticActions("binding", classes=4).classes == ["red_moves_right", "green_moves_right",
                                                              "red_moves_left", "green_moves_left"]
    with pytest.raises(ValueError, match="unknown"):
        SyntheticActions("binding", classes=["move_right", "red_moves_up"])
    with pytest.raises(ValueError, match="mode='binding'"):
        SyntheticActions("binding", long=True, frames=24)


def test_binding_class_is_which_object_moves_which_way():
    ds = SyntheticActions("binding", 40, frames=T, size=S, shake=0, noise=0.0, transform=None)
    for i in range(len(ds)):
        d = ds.describe(i)
        assert d["class"] == f"{d['mover']}_moves_{d['direction']}" == ds.classes[ds[i][1]]
        still = "green" if d["mover"] == "red" else "red"
        uy, ux = _DIRS[d["direction"]]
        wrap = lambda a: (a + S / 2) % S - S / 2  # noqa: E731  (signed step on the torus)
        dy, dx = wrap(np.diff(d["y"][d["mover"]])), wrap(np.diff(d["x"][d["mover"]]))
        assert np.all(dy * uy + dx * ux > 1.0)  # at least a pixel a frame, the class's way...
        assert np.allclose(dy * ux, 0) and np.allclose(dx * uy, 0)  # ... and only that way
        assert np.ptp(d["y"][still]) == 0 and np.ptp(d["x"][still]) == 0
        # the two objects differ only in colour (same shape and size), and the colours have the same luma
        luma = np.array([0.299, 0.587, 0.114])
        red, green = d["colours"]["red"], d["colours"]["green"]
        assert abs(red @ luma - green @ luma) < 1e-6 and red[0] - green[0] > 0.3


def test_binding_flow_is_the_same_whichever_object_moves():
    # the same draws with the mover swapped: the class names at each index trade places
    a = SyntheticActions("binding", 24, frames=T, size=S, classes=["red_moves_right", "green_moves_right"],
                         transform=None)
    b = SyntheticActions("binding", 24, frames=T, size=S, classes=["green_moves_right", "red_moves_right"],
                         transform=None)
    for i in range(len(a)):
        (ca, _), (cb, _) = a.clip(i), b.clip(i)
        assert a.describe(i)["mover"] != b.describe(i)["mover"]
        assert np.abs(ca - cb).max() > 0.3  # appearance: the colours differ where the objects are...
        ga, gb = to_gray(ca).astype(int), to_gray(cb).astype(int)
        assert np.abs(ga - gb).max() <= 1 and (ga != gb).mean() < 1e-3  # ... the grayscale clip does not
        fa, fb = compute_flow(ca), compute_flow(cb)
        assert np.abs(fa - fb).mean() < 0.02 * np.abs(fa).mean() + 1e-3


def test_binding_single_frames_do_not_depend_on_the_class():
    # for the same draws the first frame is the same for every direction of one mover
    reds = [c for c in BINDING_CLASSES if c.startswith("red")]
    rotated = [SyntheticActions("binding", 8, frames=T, size=S, classes=reds[k:] + reds[:k], transform=None)
               for k in range(4)]
    for i in range(8):
        first = [ds.clip(i)[0][:, 0] for ds in rotated]
        assert {ds.describe(i)["direction"] for ds in rotated} == {"right", "left", "down", "up"}
        assert all(np.array_equal(first[0], f) for f in first[1:])
    # and at every frame each object's position is uniform on the torus, whatever the class
    per_class = 100
    ds = SyntheticActions("binding", per_class * 8, frames=T, size=S, seed=3)
    info = [ds.describe(i) for i in range(len(ds))]
    crit = 1.95 * np.sqrt(1 / per_class)  # one-sample KS against the uniform, level 0.001
    for label in range(ds.num_classes):
        rows = [d for d in info if d["label"] == label]
        for frame in (0, T - 1):
            for obj in ("red", "green"):
                for axis in ("y", "x"):
                    u = np.sort(np.asarray([d[axis][obj][frame] for d in rows]) / S)
                    gap = np.max(np.abs(u - (np.arange(1, len(u) + 1) - 0.5) / len(u))) + 0.5 / len(u)
                    assert gap < crit, (ds.classes[label], frame, obj, axis, gap)

