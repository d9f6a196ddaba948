"""evaluate_views (multi-view testing) against a hand computation: a fixed linear model whose scores are
computed here with numpy, view by view, on crops and clips placed by hand."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import Dataset

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
    with pytest.raises(ValueError, match=r"SlowFast's \[slow, fast\] pathways are not supported"):
        evaluate_views(model, VideoFolder(tmp_path / "v", sampler=SlowFastSampler(2, tau=2, alpha=2)), device="cpu")
