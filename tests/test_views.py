"""evaluate_views (multi-view testing) against a hand computation: a fixed linear model whose scores are
computed here with numpy, view by view, on crops and clips placed by hand."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from pretend_gpu import on_gpu, pretend_gpu
from torch.utils.data import Dataset

from vidlearn import create_model
from vidlearn.data import DenseSampler, SlowFastSampler, VideoFolder, read_video, write_video
from vidlearn.data.transforms import view_crops
from vidlearn.train import evaluate_views

K = 6


class FixedLinear(nn.Module):
    """logits = flatten(x) @ W: a model whose every score can be recomputed by hand."""

    def __init__(self, weight: np.ndarray):
        super().__init__()
        self.register_buffer("weight", torch.from_numpy(weight).float())

    def forward(self, x):
        return x.flatten(1) @ self.weight  # (B, K)


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


class Views(Dataset):
    """Items already split into views: (V, C, T, H, W)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return torch.from_numpy(self.x[i]).float(), int(self.y[i])


def _by_hand(x, weight, boxes):
    """Per video: the mean over clips and crops of softmax(crop @ W); boxes are (top, left, h, w, mirrored)."""
    scores = []
    for video in x:  # (V, C, T, H, W)
        probs = []
        for clip in video:
            for top, left, h, w, mirrored in boxes:
                crop = clip[..., top:top + h, left:left + w]
                crop = crop[..., ::-1] if mirrored else crop
                probs.append(_softmax(crop.reshape(-1) @ weight))
        scores.append(np.mean(probs, axis=0))
    return np.array(scores)


def test_three_crops_of_two_clips_average_the_softmax_as_computed_by_hand():
    rng = np.random.default_rng(0)
    x = rng.random((3, 2, 1, 1, 3, 5))  # 3 videos, 2 clips of (C=1, T=1, H=3, W=5)
    weight = rng.normal(0, 3, (9, K))  # crops are 3x3 (the short side)
    # three 3x3 crops along the long side: left, centre, right
    want = _by_hand(x, weight, [(0, 0, 3, 3, False), (0, 1, 3, 3, False), (0, 2, 3, 3, False)])
    ranks = np.argsort(-want, axis=1)
    y = np.array([ranks[0, 0], ranks[1, 1], ranks[2, -1]])  # right; second best (top-5 only); worst (wrong)
    res = evaluate_views(FixedLinear(weight), Views(x, y), clips=2, crops=3, batch_size=2, device="cpu")
    assert np.allclose(res["scores"].numpy(), want, atol=1e-6)
    assert res["top1"] == pytest.approx(1 / 3) and res["top5"] == pytest.approx(2 / 3)
    assert res["n"] == 3 and res["views"] == 6 and res["labels"].tolist() == y.tolist()


def test_ten_crops_are_centre_and_corners_and_their_mirror_images():
    rng = np.random.default_rng(1)
    x = rng.random((2, 1, 1, 1, 3, 5))
    weight = rng.normal(0, 3, (4, K))
    corners = [(0, 1), (0, 0), (0, 3), (1, 0), (1, 3)]  # centre: slack 1 x 3, halved down as CenterCrop; corners
    boxes = [(t, left, 2, 2, m) for m in (False, True) for t, left in corners]
    want = _by_hand(x, weight, boxes)
    res = evaluate_views(FixedLinear(weight), Views(x, [0, 1]), clips=1, crops=10, crop_size=2, device="cpu")
    assert np.allclose(res["scores"].numpy(), want, atol=1e-6)
    logits = evaluate_views(FixedLinear(weight), Views(x, [0, 1]), clips=1, crops=10, crop_size=2, device="cpu",
                            average="logits")  # TSN: average before the softmax
    by_hand = [_softmax(np.mean([(c[..., t:t + 2, left:left + 2][..., ::-1] if m else
                                  c[..., t:t + 2, left:left + 2]).reshape(-1) @ weight
                                 for c in video for t, left, _, _, m in boxes], axis=0)) for video in x]
    assert np.allclose(logits["scores"].numpy(), by_hand, atol=1e-6)


def test_mirrored_flow_crops_negate_the_x_components():
    flow = torch.randn(4, 2, 6, 6)  # (x0, y0, x1, y1) interleaved, as stack_flow gives
    views = view_crops(flow, crops=10, size=4, flow=True)
    assert views.shape == (10, 4, 2, 4, 4)
    assert torch.equal(views[5, 0::2], -views[0, 0::2].flip(-1))  # x changes sign
    assert torch.equal(views[5, 1::2], views[0, 1::2].flip(-1))  # y does not


def test_videofolder_views_are_clips_spread_over_the_video_and_crops_along_the_long_side(tmp_path):
    rng = np.random.default_rng(2)
    paths = []
    for name in ("left", "right"):
        frames = rng.integers(0, 255, (8, 32, 48, 3), dtype=np.uint8)
        paths.append(write_video(tmp_path / "videos" / name / "a.mp4", frames, fps=8))
    data = VideoFolder(tmp_path / "videos", sampler=DenseSampler(2, train=False))
    weight = rng.normal(0, 0.05, (3 * 2 * 32 * 32, K))
    res = evaluate_views(FixedLinear(weight), data, clips=3, crops=3, device="cpu")
    # 3 clips of 2 frames over 8 frames start at 0, 3 and 6; 3 crops of 32x32 from 32x48 start at x = 0, 8, 16
    want = []
    for path in paths:
        video = read_video(path).astype(np.float64) / 255  # (T, H, W, C)
        probs = [_softmax(video[[s, s + 1], :, left:left + 32].transpose(3, 0, 1, 2).reshape(-1) @ weight)
                 for s in (0, 3, 6) for left in (0, 8, 16)]
        want.append(np.mean(probs, axis=0))
    assert np.allclose(res["scores"].numpy(), want, atol=1e-5)
    assert res["views"] == 9 and isinstance(data.sampler, DenseSampler)  # the dataset itself is unchanged


def test_views_that_do_not_fit_are_clear_errors(tmp_path):
    x = np.zeros((2, 2, 1, 1, 4, 4))
    model = FixedLinear(np.zeros((16, K)))
    with pytest.raises(ValueError, match=r"the dataset gives 2 clips per video, but clips=10"):
        evaluate_views(model, Views(x, [0, 1]), clips=10, crops=1, device="cpu")
    with pytest.raises(ValueError, match=r"crops must be one of \(1, 3, 5, 10\)"):
        evaluate_views(model, Views(x, [0, 1]), clips=2, crops=4, device="cpu")
    with pytest.raises(ValueError, match=r"5 crops \(centre and corners\) need a crop size"):
        evaluate_views(model, Views(x, [0, 1]), clips=2, crops=5, device="cpu")
    write_video(tmp_path / "v" / "a" / "x.mp4", np.zeros((4, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match=r"frames= and stride= do not apply to a SlowFastSampler"):
        evaluate_views(model, VideoFolder(tmp_path / "v", sampler=SlowFastSampler(2, tau=2, alpha=2)), frames=4,
                       device="cpu")


# --- models with two inputs: Two-Stream's (rgb, flow), SlowFast's [slow, fast] ---------------------------------


class PairViews(Dataset):
    """Items ((a, b), label): each input already split into views (V, C, T, H, W)."""

    def __init__(self, a, b, y, kind=tuple):
        self.a, self.b, self.y, self.kind = a, b, y, kind

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.kind((self.a[i], self.b[i])), int(self.y[i])


def _labels_top1_top5_miss(want):
    """Per video: the best class, then the third best (top-5 only), ...: expected top-1 1/2, top-5 1."""
    ranks = np.argsort(-want, axis=1)
    return np.array([ranks[0, 0], ranks[1, 2]])


def test_two_stream_views_are_rgb_flow_pairs_and_their_softmax_is_averaged_as_by_hand():
    torch.manual_seed(0)
    model = create_model("two_stream", tiny=True).eval()  # (rgb (B, 3, 1, 32, 32), flow (B, 2, 4, 32, 32))
    rgb, flow = torch.randn(2, 3, 3, 1, 32, 32), torch.randn(2, 3, 2, 4, 32, 32)  # 2 videos x 3 views
    with torch.no_grad():  # by hand: one view at a time, softmax, mean over the 3
        want = np.array([np.mean([model((rgb[i, j:j + 1], flow[i, j:j + 1])).softmax(-1)[0].numpy()
                                  for j in range(3)], axis=0) for i in range(2)])
    y = _labels_top1_top5_miss(want)
    for kind in (tuple, list):
        res = evaluate_views(model, PairViews(rgb, flow, y, kind), clips=3, crops=1, batch_size=2, device="cpu")
        assert np.allclose(res["scores"].numpy(), want, atol=1e-6)
        assert res["top1"] == pytest.approx(0.5) and res["top5"] == 1.0
        assert res["n"] == 2 and res["views"] == 3 and res["labels"].tolist() == y.tolist()
    # one clip x 3 crops: each view is the same crop box of both inputs (3 along the long side of 32x48)
    rgb, flow = torch.randn(2, 3, 1, 32, 48), torch.randn(2, 2, 4, 32, 48)  # clips=1: (C, T, H, W) items
    with torch.no_grad():
        want = np.array([np.mean([model((rgb[i:i + 1, ..., x:x + 32], flow[i:i + 1, ..., x:x + 32])).softmax(-1)[0]
                                  .numpy() for x in (0, 8, 16)], axis=0) for i in range(2)])
    res = evaluate_views(model, PairViews(rgb, flow, [0, 1]), clips=1, crops=3, device="cpu")
    assert np.allclose(res["scores"].numpy(), want, atol=1e-6)


class FixedPair(nn.Module):
    """logits = flatten(a) @ Wa + flatten(b) @ Wb: a two-input model scored by hand with numpy."""

    def __init__(self, wa, wb):
        super().__init__()
        self.register_buffer("wa", torch.from_numpy(wa).float())
        self.register_buffer("wb", torch.from_numpy(wb).float())

    def forward(self, inputs):
        a, b = inputs
        return a.flatten(1) @ self.wa + b.flatten(1) @ self.wb  # (B, K)


def test_ten_crops_of_rgb_and_flow_mirror_both_and_negate_only_the_flow_x_components():
    rng = np.random.default_rng(3)
    a, b = rng.random((2, 1, 3, 1, 3, 5)), rng.normal(size=(2, 1, 2, 1, 3, 5))  # (rgb, flow): 2 videos, 1 clip
    wa, wb = rng.normal(0, 2, (3 * 4, K)), rng.normal(0, 2, (2 * 4, K))
    corners = [(0, 1), (0, 0), (0, 3), (1, 0), (1, 3)]
    want = []
    for i in range(2):
        probs = []
        for m in (False, True):
            for t, left in corners:
                ca, cb = a[i, 0][..., t:t + 2, left:left + 2], b[i, 0][..., t:t + 2, left:left + 2].copy()
                if m:
                    ca, cb = ca[..., ::-1], cb[..., ::-1] * np.array([-1, 1])[:, None, None, None]
                probs.append(_softmax(ca.reshape(-1) @ wa + cb.reshape(-1) @ wb))
        want.append(np.mean(probs, axis=0))
    data = PairViews(torch.from_numpy(a).float(), torch.from_numpy(b).float(), [0, 1])
    res = evaluate_views(FixedPair(wa, wb), data, clips=1, crops=10, crop_size=2, flow=(False, True), device="cpu")
    assert np.allclose(res["scores"].numpy(), want, atol=1e-5)
    with pytest.raises(ValueError, match=r"one flag per input, e.g. flow=\(False, True\)"):
        evaluate_views(FixedPair(wa, wb), data, clips=1, crops=10, crop_size=2, flow=True, device="cpu")
    with pytest.raises(ValueError, match=r"flow= has 3 flags but the model takes 2 input"):
        evaluate_views(FixedPair(wa, wb), data, clips=1, crops=10, crop_size=2, flow=(0, 1, 0), device="cpu")
    uneven = PairViews(torch.zeros(2, 2, 3, 1, 3, 5), torch.zeros(2, 1, 2, 1, 3, 5), [0, 1])
    with pytest.raises(ValueError, match=r"inputs disagree on \(batch, clips\)"):
        evaluate_views(FixedPair(wa, wb), uneven, clips=1, device="cpu")


def test_slowfast_videofolder_views_are_windows_of_both_pathways_spread_over_the_video(tmp_path):
    rng = np.random.default_rng(4)
    paths = [write_video(tmp_path / "videos" / name / "a.mp4", rng.integers(0, 255, (24, 32, 32, 3), np.uint8),
                         fps=8) for name in ("c0", "c1")]
    torch.manual_seed(0)
    model = create_model("slowfast_r50", tiny=True).eval()  # slow 2 frames, fast 8, tau=4, alpha=4
    sampler = SlowFastSampler(2, tau=4, alpha=4, train=False)  # a window of 8 frames: fast all, slow every 4th
    data = VideoFolder(tmp_path / "videos", sampler=sampler)
    # 3 windows of 8 over 24 frames start at 0, 8 and 16 (slack 16 spread evenly), as MultiViewSampler's clips
    want = []
    with torch.no_grad():
        for path in paths:
            video = torch.from_numpy(read_video(path)).permute(3, 0, 1, 2).float() / 255  # (C, T, H, W)
            probs = [model([video[None, :, s:s + 8:4], video[None, :, s:s + 8]]).softmax(-1)[0] for s in (0, 8, 16)]
            want.append(torch.stack(probs).mean(0).numpy())
    want = np.array(want)
    y = _labels_top1_top5_miss(want)
    data.samples = [(p, int(c)) for p, c in zip(paths, y)]
    res = evaluate_views(model, data, clips=3, crops=1, device="cpu")
    assert np.allclose(res["scores"].numpy(), want, atol=1e-5)
    assert res["top1"] == pytest.approx(0.5) and res["top5"] == 1.0 and res["views"] == 3
    assert data.sampler is sampler  # the dataset itself is unchanged


def test_two_input_views_run_on_the_gpu_and_the_model_comes_back():
    torch.manual_seed(0)
    model = create_model("two_stream", tiny=True)
    data = PairViews(torch.randn(2, 1, 3, 1, 32, 32), torch.randn(2, 1, 2, 4, 32, 32), [0, 1])
    with pretend_gpu():
        seen = []
        model.register_forward_hook(lambda m, i, o: seen.append(on_gpu(i[0][0]) and on_gpu(i[0][1])))
        res = evaluate_views(model, data, clips=1, crops=1, batch_size=2, amp=False)  # device "auto": the GPU
        assert seen == [True] and not on_gpu(res["scores"])
        assert not any(on_gpu(t) for t in [*model.parameters(), *model.buffers()])
