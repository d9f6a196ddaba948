"""SyntheticActions: determinism, shapes, balance, the single-frame invariance of motion mode (statistically
and by training), scene mode's appearance shortcut, and the long variant's two ordered events."""

import time

import numpy as np
import pytest
import torch
import torch.nn as nn

import vidlearn
from vidlearn.data import LONG_CLASSES, MOTION_CLASSES, SyntheticActions
from vidlearn.data.samplers import DenseSampler, SegmentSampler
from vidlearn.data.synthetic import EVENT_COLOURS, EVENT_TYPES, LONG_MATCH_CLASSES
from vidlearn.data.transforms import Normalize
from vidlearn.scale import preset

CI = preset("ci")  # 8 frames of 32x32, 320 train / 160 val clips


def _tensors(ds):
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return torch.stack(xs), torch.tensor(ys)


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (largest gap between the empirical CDFs)."""
    grid = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def _ks_critical(n: int, m: int) -> float:
    """KS statistic above which two samples differ at level 0.001."""
    return 1.95 * np.sqrt((n + m) / (n * m))


# ----------------------------------------------------------------------------------------------- basics
def test_items_have_documented_shape_dtype_range_and_label():
    ds = SyntheticActions("motion", num_samples=10, frames=6, size=24, seed=0)
    raw = SyntheticActions("motion", num_samples=10, frames=6, size=24, seed=0, transform=None)
    for i in range(len(ds)):
        clip, label = ds[i]
        assert clip.shape == (3, 6, 24, 24) and clip.dtype == torch.float32
        assert 0.0 <= raw[i][0].min() and raw[i][0].max() <= 1.0  # made in [0, 1]
        assert torch.equal(raw[i][0], torch.from_numpy(ds.clip(i)[0]))
        assert torch.equal(clip, (raw[i][0] - 0.45) / 0.25)  # then normalised by default, as documented
        assert isinstance(label, int) and label == i % ds.num_classes
    assert ds.classes == list(MOTION_CLASSES) and ds.num_classes == len(MOTION_CLASSES)


def test_clips_are_deterministic_per_seed_and_index():
    a = SyntheticActions("motion", num_samples=20, frames=8, size=32, seed=3)
    b = SyntheticActions("motion", num_samples=20, frames=8, size=32, seed=3)
    for i in (0, 7, 19):
        assert torch.equal(a[i][0], b[i][0])
        assert torch.equal(a[i][0], a[i][0])
    assert torch.equal(a[-1][0], a[19][0])


def test_different_seeds_and_indices_give_different_clips():
    a = SyntheticActions("motion", num_samples=20, frames=8, size=32, seed=0)
    b = SyntheticActions("motion", num_samples=20, frames=8, size=32, seed=1)
    assert not torch.equal(a[0][0], b[0][0])
    assert not torch.equal(a[0][0], a[8][0])  # same class, different clip
    assert (a[0][0] - b[0][0]).abs().mean() > 0.05


def test_labels_are_balanced():
    for kwargs in ({}, {"mode": "scene"}, {"long": True, "frames": 12}):
        ds = SyntheticActions(num_samples=6 * 8 * 5, frames=kwargs.pop("frames", 4), size=16, **kwargs)
        counts = np.bincount([ds[i][1] for i in range(len(ds))], minlength=ds.num_classes)
        assert counts.min() == counts.max() == len(ds) // ds.num_classes


def test_transform_is_applied_to_the_clip():
    ds = SyntheticActions(num_samples=4, frames=4, size=16, transform=lambda x: x[:, :2] * 0 - 1)
    clip, _ = ds[1]
    assert clip.shape == (3, 2, 16, 16) and torch.all(clip == -1)


def test_classes_select_a_subset_by_name_or_count():
    ds = SyntheticActions(num_samples=4, frames=4, size=16, classes=["rotate_ccw", "move_up"])
    assert ds.classes == ["rotate_ccw", "move_up"] and ds.describe(0)["class"] == "rotate_ccw"
    assert SyntheticActions(classes=3).classes == list(MOTION_CLASSES[:3])
    assert SyntheticActions(long=True, frames=12).classes == list(LONG_CLASSES)


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "kinetics"}, "mode must be"),
    ({"frames": 1}, "frames must be >= 2"),
    ({"long": True, "frames": 8}, "frames must be >= 12 for long clips"),
    ({"size": 8}, "size must be >= 16"),
    ({"noise": -0.1}, "must be >= 0"),
    ({"classes": ["move_up", "jump"]}, "unknown: ['jump']"),
    ({"classes": 1}, "between 2 and"),
    ({"long": True, "mode": "scene", "frames": 24}, "long=True"),
    ({"long": "match", "mode": "scene", "frames": 24}, "long='match'"),
    ({"long": "match", "frames": 8}, "frames must be >= 12 for long clips"),
    ({"long": "reverse", "frames": 24}, "long must be False, True, 'order' or 'match'"),
    ({"long": 1, "frames": 24}, "long must be False, True, 'order' or 'match'"),
    ({"long": "match", "frames": 24, "classes": ["same", "a_then_b"]}, "unknown: ['a_then_b']"),
])
def test_bad_arguments_get_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=None) as err:
        SyntheticActions(**kwargs)
    assert message in str(err.value)


def test_out_of_range_index_raises_index_error():
    with pytest.raises(IndexError, match="out of range for a dataset of 5 clips"):
        SyntheticActions(num_samples=5, frames=4, size=16)[5]


def test_generation_is_fast():
    ds = SyntheticActions("motion", num_samples=400, frames=16, size=64)
    ds[0]
    start = time.process_time()
    for i in range(200):
        ds[i]
    rate = 200 / max(time.process_time() - start, 1e-9)
    assert rate > 300, f"{rate:.0f} clips/s at 16x64x64 (documented: about 2,400 on one core)"


# ------------------------------------------------------------------------ motion mode: single frames alike
def test_motion_mode_object_position_and_angle_are_uniform_at_every_frame_for_every_class():
    t, s, per_class = 8, 32, 150
    ds = SyntheticActions("motion", num_samples=per_class * 8, frames=t, size=s, seed=5)
    info = [ds.describe(i) for i in range(len(ds))]
    crit = 1.95 * np.sqrt(1 / per_class)  # one-sample KS against the uniform, level 0.001
    for label in range(ds.num_classes):
        rows = [d for d in info if d["label"] == label]
        for frame in (0, t // 2, t - 1):
            for values, period in (([d["y"][frame] for d in rows], s), ([d["x"][frame] for d in rows], s),
                                   ([d["theta"][frame] for d in rows], 2 * np.pi)):
                u = np.sort(np.mod(values, period) / period)
                gap = np.max(np.abs(u - (np.arange(1, len(u) + 1) - 0.5) / len(u))) + 0.5 / len(u)
                assert gap < crit, (ds.classes[label], frame, gap)


def _frame_features(clip: np.ndarray, frame: int) -> np.ndarray:
    f = clip[:, frame]  # (C, H, W)
    bright = f.max(axis=0) > 0.7
    return np.array([f[0].mean(), f[1].mean(), f[2].mean(), f.std(), bright.mean()])


@pytest.mark.parametrize("mode, same", [("motion", True), ("scene", False)])
def test_single_frame_statistics_depend_on_the_class_only_in_scene_mode(mode, same):
    t, per_class = 6, 120
    ds = SyntheticActions(mode, num_samples=per_class * 8, frames=t, size=24, seed=11)
    clips = [ds.clip(i) for i in range(len(ds))]
    labels = np.array([y for _, y in clips])
    worst = 0.0
    for frame in (0, t - 1):
        feats = np.stack([_frame_features(c, frame) for c, _ in clips])  # (N, F)
        for label in range(ds.num_classes):
            inside, outside = feats[labels == label], feats[labels != label]
            for k in range(feats.shape[1]):
                worst = max(worst, _ks(inside[:, k], outside[:, k]))
    crit = _ks_critical(per_class, per_class * 7) * 1.2  # ~80 comparisons: a margin for the largest one
    assert (worst < crit) == same, (mode, worst, crit)


# ------------------------------------------------------------------------------------ training contrast
def _small_3d_cnn(num_classes: int, frames: int) -> nn.Module:
    def block(cin, cout, stride=(1, 2, 2)):
        return [nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm3d(cout), nn.ReLU()]

    # keeps the time axis to the end, so the order of two moves stays visible to the classifier
    return nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 32), *block(32, 32, stride=1),
                         nn.AdaptiveAvgPool3d((None, 1, 1)), nn.Flatten(), nn.Linear(32 * frames, num_classes))


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = (len(x) + 31) // 32
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def _ci_data(mode: str):
    kw = dict(frames=CI.frames, size=CI.size, transform=Normalize([0.5] * 3, [0.25] * 3))
    train = SyntheticActions(mode, num_samples=CI.train_samples, seed=0, **kw)
    val = SyntheticActions(mode, num_samples=CI.val_samples, seed=1, **kw)
    return _tensors(train), _tensors(val), train.num_classes


def _frames_as_samples(x: torch.Tensor, y: torch.Tensor, step: int):
    """Every ``step``-th frame of each clip as a one-frame clip: how the single-frame model was trained."""
    x = x[:, :, ::step]
    b, c, t, h, w = x.shape
    return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, 1, h, w).contiguous(), y.repeat_interleave(t)


@pytest.fixture(scope="module")
def motion_data():
    return _ci_data("motion")


def test_small_3d_cnn_learns_motion_data_at_ci_scale(motion_data):
    (x, y), (xv, yv), k = motion_data
    torch.manual_seed(0)
    model = _train(_small_3d_cnn(k, CI.frames), x, y, epochs=12, lr=1e-2)
    acc = _accuracy(model, xv, yv)
    assert acc >= 0.9, f"small 3D CNN: {acc:.1%} on motion data"


def test_single_frame_model_stays_at_chance_on_motion_data(motion_data):
    (x, y), _, k = motion_data
    torch.manual_seed(0)
    model = vidlearn.create_model("single_frame", num_classes=k, tiny=True)
    model = _train(model, *_frames_as_samples(x, y, step=4), epochs=10, lr=3e-3)
    # a larger validation set than the ci preset's: chance +- 5 points is then over 3 standard errors
    val = SyntheticActions("motion", num_samples=3 * CI.val_samples, frames=CI.frames, size=CI.size, seed=2,
                           transform=Normalize([0.5] * 3, [0.25] * 3))
    acc = _accuracy(model, *_tensors(val))
    assert abs(acc - 1 / k) <= 0.05, f"single frame: {acc:.1%} on motion data, chance {1 / k:.1%}"


def test_single_frame_model_learns_scene_data():
    (x, y), (xv, yv), k = _ci_data("scene")
    torch.manual_seed(0)
    model = vidlearn.create_model("single_frame", num_classes=k, tiny=True)
    model = _train(model, *_frames_as_samples(x, y, step=4), epochs=10, lr=3e-3)
    acc = _accuracy(model, xv, yv)
    assert acc >= 0.8, f"single frame: {acc:.1%} on scene data"


# ------------------------------------------------------------------------------------------ long variant
@pytest.mark.parametrize("frames", [CI.long_frames, 48])
def test_long_clip_class_is_the_order_of_two_events_far_apart(frames):
    ds = SyntheticActions(long=True, num_samples=36, frames=frames, size=32, seed=2, clutter=0, noise=0)
    third = frames // 3
    for i in range(len(ds)):
        info = ds.describe(i)
        (a, start_a, end_a), (b, start_b, end_b) = info["events"]
        assert info["class"] == f"{a}_then_{b}" and a != b
        assert end_a <= third and start_b >= frames - third  # first third, last third
        assert start_b - end_a >= third  # far apart: a window of frames // 3 frames cannot see both
        # the events are on screen: their colour covers a large area exactly while they last
        clip, _ = ds.clip(i)
        for kind, start, end in info["events"]:
            colour = np.array(EVENT_COLOURS[kind])[:, None, None, None]
            area = (np.abs(clip - colour) < 0.02).all(axis=0).sum(axis=(1, 2))  # (T,) pixels of that colour
            assert area[start:end].min() > 20, (i, kind, area)
            assert np.delete(area, np.arange(start, end)).max() < area[start:end].min() / 2, (i, kind, area)


def test_long_clip_dense_window_sees_one_event_and_segments_see_both():
    frames = CI.long_frames
    ds = SyntheticActions(long=True, num_samples=60, frames=frames, size=16, seed=4)
    window = DenseSampler(frames // 3, train=True)
    segments = SegmentSampler(3, frames_per_segment=frames // 6, train=False)
    rng = np.random.default_rng(0)
    for i in range(len(ds)):
        events = ds.describe(i)["events"]
        for _ in range(5):
            seen = set(window(frames, rng=rng).tolist())
            assert sum(bool(seen & set(range(s, e))) for _, s, e in events) <= 1
        seen = set(segments(frames).tolist())
        assert all(seen & set(range(s, e)) for _, s, e in events)


def test_long_classes_differ_only_in_order_for_a_single_frame():
    ds = SyntheticActions(long=True, num_samples=12, frames=CI.long_frames, size=16)
    pairs = {tuple(sorted(c.split("_then_"))) for c in ds.classes}
    assert len(pairs) == len(ds.classes) // 2  # every pair of events appears in both orders


# ------------------------------------------------------------------------------------------ long="match"
def test_long_order_is_long_true_unchanged():
    a = SyntheticActions(long=True, num_samples=12, frames=CI.long_frames, size=16, seed=7)
    b = SyntheticActions(long="order", num_samples=12, frames=CI.long_frames, size=16, seed=7)
    assert a.long == b.long == "order" and a.classes == b.classes == list(LONG_CLASSES)
    assert SyntheticActions(num_samples=1, frames=4, size=16).long is False
    for i in range(len(a)):
        assert torch.equal(a[i][0], b[i][0]) and a[i][1] == b[i][1]
        assert a.describe(i)["events"] == b.describe(i)["events"]
    assert repr(a).startswith("SyntheticActions(long,")


@pytest.mark.parametrize("frames", [CI.long_frames, 48])
def test_long_match_class_is_whether_the_two_events_have_the_same_type(frames):
    ds = SyntheticActions(long="match", num_samples=60, frames=frames, size=32, seed=2, clutter=0, noise=0)
    assert ds.classes == list(LONG_MATCH_CLASSES) == ["same", "different"] and ds.num_classes == 2
    assert repr(ds).startswith("SyntheticActions(long match,")
    third, pairs = frames // 3, set()
    for i in range(len(ds)):
        info = ds.describe(i)
        (a, start_a, end_a), (b, start_b, end_b) = info["events"]
        assert info["label"] == i % 2 and info["class"] == ("same" if a == b else "different")
        assert a in EVENT_TYPES and b in EVENT_TYPES
        assert end_a <= third and start_b >= frames - third and start_b - end_a >= third
        pairs.add((a, b))
        # the painted events are the described ones: their colour covers a large area while they last
        clip, label = ds.clip(i)
        assert label == info["label"]
        for kind, start, end in info["events"]:
            colour = np.array(EVENT_COLOURS[kind])[:, None, None, None]
            area = (np.abs(clip - colour) < 0.02).all(axis=0).sum(axis=(1, 2))  # (T,)
            assert area[start:end].min() > 20, (i, kind, area)
        if a != b:  # the other type's colour is absent during each event
            for (_, start, end), other in ((info["events"][0], b), (info["events"][1], a)):
                colour = np.array(EVENT_COLOURS[other])[:, None, None, None]
                assert (np.abs(clip[:, start:end] - colour) < 0.02).all(axis=0).sum() == 0
    assert pairs == {(a, b) for a in EVENT_TYPES for b in EVENT_TYPES}  # every type, both orders


def test_long_match_is_deterministic_and_balanced():
    kw = dict(long="match", num_samples=40, frames=CI.long_frames, size=16)
    a, b = SyntheticActions(seed=5, **kw), SyntheticActions(seed=5, **kw)
    c = SyntheticActions(seed=6, **kw)
    for i in (0, 1, 17):
        assert torch.equal(a[i][0], b[i][0]) and a.describe(i)["events"] == b.describe(i)["events"]
    assert not torch.equal(a[0][0], c[0][0])
    labels = [a[i][1] for i in range(len(a))]
    assert labels.count(0) == labels.count(1) == 20
    # each event's type alone says nothing about the class: every type starts "same" and "different" clips
    firsts = {(a.describe(i)["events"][0][0], a.describe(i)["class"]) for i in range(len(a))}
    assert firsts == {(t, c) for t in EVENT_TYPES for c in LONG_MATCH_CLASSES}
    swapped = SyntheticActions(classes=["different", "same"], **{**kw, "num_samples": 4})
    assert swapped.describe(0)["class"] == "different" and swapped.describe(1)["class"] == "same"


def test_the_defaults_train_a_tiny_motion_model_well_above_chance():
    """Issue 16: a student's first run, with every default, learns (raw clips stayed at exactly 1/8)."""
    from vidlearn import create_model
    from vidlearn.train import fit

    torch.manual_seed(0)
    train = SyntheticActions("motion", num_samples=3000, frames=8, size=32, seed=0)
    val = SyntheticActions("motion", num_samples=400, frames=8, size=32, seed=1)
    model = create_model("early_fusion", tiny=True, num_classes=train.num_classes, frames=8)
    h = fit(model, train, val, epochs=4, batch_size=64, lr=2e-3, verbose=False, progress=False)
    assert h.final_val_acc > 3 * (1 / train.num_classes), h.val_acc
