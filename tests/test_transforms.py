"""Transforms on clips (C, T, H, W): one crop/flip for every frame, shapes, flow flipping, normalisation
and its inverse, repeatability with a generator, clear errors for wrong input."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vidlearn.data import transforms as transforms_module
from vidlearn.data.transforms import (
    CROP_POSITIONS,
    CenterCrop,
    Compose,
    CornerCrop,
    MultiScaleCrop,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Resize,
    ResizeShortSide,
    ToFloat,
    ToTensorVideo,
)


def _static_clip(c=3, t=5, h=20, w=28, seed=0) -> torch.Tensor:
    """The same random image in every frame: any per-frame difference after a transform is its fault."""
    image = torch.rand(c, 1, h, w, generator=torch.Generator().manual_seed(seed))
    return image.expand(c, t, h, w).clone()


def _same_in_every_frame(x: torch.Tensor) -> bool:
    return bool(torch.allclose(x, x[:, :1].expand_as(x)))


def test_to_tensor_video_turns_uint8_thwc_into_float_cthw_in_unit_range():
    frames = np.random.default_rng(0).integers(0, 256, size=(4, 6, 8, 3), dtype=np.uint8)
    x = ToTensorVideo()(frames)
    assert x.shape == (3, 4, 6, 8) and x.dtype == torch.float32
    assert torch.allclose(x[:, 2, 3, 5] * 255, torch.from_numpy(frames[2, 3, 5]).float())
    assert torch.equal(ToTensorVideo()(torch.from_numpy(frames)), x)
    with pytest.raises(ValueError, match=r"uint8 frames \(T, H, W, C\), got torch.float32"):
        ToTensorVideo()(frames.astype(np.float32))


def test_to_float_scales_uint8_clips():
    x = torch.full((3, 2, 4, 4), 255, dtype=torch.uint8)
    assert torch.equal(ToFloat()(x), torch.ones(3, 2, 4, 4))


@pytest.mark.parametrize("transform, shape", [
    (Resize(16), (3, 5, 16, 16)),
    (Resize((10, 14)), (3, 5, 10, 14)),
    (ResizeShortSide(10), (3, 5, 10, 14)),
    (CenterCrop(12), (3, 5, 12, 12)),
    (RandomCrop((8, 10)), (3, 5, 8, 10)),
    (CornerCrop(12), (3, 5, 12, 12)),
    (MultiScaleCrop(16), (3, 5, 16, 16)),
    (RandomHorizontalFlip(p=1.0), (3, 5, 20, 28)),
    (Normalize((0.5, 0.5, 0.5), (0.2, 0.2, 0.2)), (3, 5, 20, 28)),
])
def test_transforms_give_documented_shape_and_apply_the_same_to_every_frame(transform, shape):
    x = _static_clip()
    for seed in range(5):
        torch.manual_seed(seed)
        out = transform(x)
        assert tuple(out.shape) == shape and out.dtype == torch.float32
        assert _same_in_every_frame(out)  # a static scene stays static: no invented motion


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), h=st.integers(6, 30), w=st.integers(6, 30))
def test_random_crop_takes_one_window_of_the_frames_for_the_whole_clip(seed, h, w):
    x = torch.arange(2 * 3 * 30 * 30, dtype=torch.float32).reshape(2, 3, 30, 30)  # every pixel unique
    out = RandomCrop((h, w), generator=torch.Generator().manual_seed(seed))(x)
    top, left = divmod(int(out[0, 0, 0, 0]) % 900, 30)
    assert torch.equal(out, x[:, :, top:top + h, left:left + w])


def test_random_transforms_repeat_with_the_same_generator_and_vary_without():
    x = torch.rand(3, 4, 24, 32)
    for make in (lambda g: RandomCrop(16, generator=g), lambda g: MultiScaleCrop(12, generator=g),
                 lambda g: CornerCrop(16, generator=g), lambda g: RandomHorizontalFlip(generator=g)):
        a = make(torch.Generator().manual_seed(7))(x)
        b = make(torch.Generator().manual_seed(7))(x)
        assert torch.equal(a, b)
        outs = {make(torch.Generator().manual_seed(s))(x).sum().item() for s in range(20)}
        assert len(outs) > 1


def test_corner_crop_positions_are_the_centre_and_the_four_corners():
    x = torch.arange(10 * 12, dtype=torch.float32).reshape(1, 1, 10, 12)
    crops = {p: CornerCrop((4, 6), position=p)(x)[0, 0] for p in CROP_POSITIONS}
    assert torch.equal(crops["top_left"], x[0, 0, :4, :6])
    assert torch.equal(crops["top_right"], x[0, 0, :4, 6:])
    assert torch.equal(crops["bottom_left"], x[0, 0, 6:, :6])
    assert torch.equal(crops["bottom_right"], x[0, 0, 6:, 6:])
    assert torch.equal(crops["center"], x[0, 0, 3:7, 3:9])
    seen = {CornerCrop((4, 6), generator=torch.Generator().manual_seed(s))(x).sum().item() for s in range(40)}
    assert len(seen) == 5  # random position: all five, nothing else


def test_multiscale_crop_jitters_scale_and_aspect_within_the_allowed_pairs(monkeypatch):
    crops = []
    real = transforms_module._resize

    def spy(x, size):
        crops.append(x)
        return real(x, size)

    monkeypatch.setattr(transforms_module, "_resize", spy)
    x = torch.arange(40 * 60, dtype=torch.float32).reshape(1, 1, 40, 60).expand(3, 2, 40, 60)  # unique pixels
    scales = (1, 0.875, 0.75, 0.66)
    allowed = {(int(40 * scales[i]), int(40 * scales[j])) for i in range(4) for j in range(4) if abs(i - j) <= 1}
    for s in range(80):
        out = MultiScaleCrop(20, scales=scales, max_distort=1, generator=torch.Generator().manual_seed(s))(x)
        assert out.shape == (3, 2, 20, 20)
    sizes, places = set(), set()
    for crop in crops:
        h, w = crop.shape[-2:]
        assert (h, w) in allowed  # both sides from the scales, at most one step apart
        top, left = divmod(int(crop[0, 0, 0, 0]), 60)
        corners = {(0, 0), (0, 60 - w), (40 - h, 0), (40 - h, 60 - w), ((40 - h) // 2, (60 - w) // 2)}
        assert (top, left) in corners  # one of the five positions
        assert torch.equal(crop, x[..., top:top + h, left:left + w])
        sizes.add((h, w))
        if h < 40:  # (a full-height crop cannot tell its top from its centre)
            places.add((top == 0, left == 0, top == 40 - h, left == 60 - w))
    assert len(sizes) >= 6 and len(places) == 5  # scale, aspect and position all jitter


def test_flip_mirrors_every_frame_left_right():
    x = torch.rand(3, 4, 6, 8)
    assert torch.equal(RandomHorizontalFlip(p=1.0)(x), x.flip(-1))
    assert torch.equal(RandomHorizontalFlip(p=0.0)(x), x)


def test_flow_flip_negates_the_x_components_only():
    flow = torch.randn(6, 3, 5, 7)  # interleaved (x_0, y_0, x_1, y_1, x_2, y_2)
    out = RandomHorizontalFlip(p=1.0, flow=True)(flow)
    mirrored = flow.flip(-1)
    assert torch.equal(out[0::2], -mirrored[0::2])  # x: mirrored and negated
    assert torch.equal(out[1::2], mirrored[1::2])  # y: only mirrored
    assert torch.equal(flow, flow.clone())  # the input is not modified
    with pytest.raises(ValueError, match="even C"):
        RandomHorizontalFlip(p=1.0, flow=True)(torch.randn(3, 2, 4, 4))


def test_flow_flip_matches_the_flow_of_a_mirrored_motion():
    # a pattern moving right by 2 pixels per frame has flow (+2, 0); mirrored, it moves left: (-2, 0)
    flow = torch.zeros(2, 3, 8, 8)
    flow[0] = 2.0
    out = RandomHorizontalFlip(p=1.0, flow=True)(flow)
    assert torch.all(out[0] == -2.0) and torch.all(out[1] == 0.0)


def test_normalize_inverse_recovers_the_clip():
    x = torch.rand(3, 4, 5, 6)
    norm = Normalize((0.43, 0.39, 0.37), (0.23, 0.22, 0.21))
    y = norm(x)
    assert torch.allclose(y[1], (x[1] - 0.39) / 0.22)
    assert torch.allclose(norm.inverse(y), x, atol=1e-6)
    assert abs(norm(torch.full((3, 1, 2, 2), 0.43))[0].mean().item()) < 1e-6


def test_compose_applies_in_order():
    frames = np.full((4, 32, 48, 3), 128, dtype=np.uint8)
    pipeline = Compose([ToTensorVideo(), ResizeShortSide(16), CenterCrop(16), Normalize([0.5] * 3, [0.5] * 3)])
    out = pipeline(frames)
    assert out.shape == (3, 4, 16, 16) and torch.allclose(out, torch.full_like(out, 128 / 255 * 2 - 1), atol=1e-5)
    assert "ResizeShortSide(16)" in repr(pipeline)


def test_resize_keeps_uint8_clips_uint8():
    x = torch.full((3, 2, 8, 8), 200, dtype=torch.uint8)
    out = Resize(4)(x)
    assert out.dtype == torch.uint8 and torch.all(out == 200)


@pytest.mark.parametrize("transform", [CenterCrop(8), RandomCrop(8), Resize(8), RandomHorizontalFlip(),
                                       MultiScaleCrop(8), CornerCrop(8), Normalize([0.5] * 3, [0.5] * 3)])
def test_wrong_rank_gets_a_clear_error(transform):
    with pytest.raises(ValueError, match=r"expects a clip \(C, T, H, W\) with 4 dimensions, got 5"):
        transform(torch.rand(2, 3, 4, 16, 16))
    with pytest.raises(ValueError, match=r"got 3 dimensions .* add the time axis"):
        transform(torch.rand(3, 16, 16))
    with pytest.raises(TypeError, match="ToTensorVideo"):
        transform(np.zeros((4, 16, 16, 3), dtype=np.uint8))


def test_crop_larger_than_the_frame_gets_a_clear_error():
    with pytest.raises(ValueError, match="cannot crop 32x32 .* from frames of 20x28"):
        RandomCrop(32)(_static_clip())


def test_normalize_with_wrong_channel_count_gets_a_clear_error():
    with pytest.raises(ValueError, match="3 channel statistics but the clip has C=2"):
        Normalize([0.5] * 3, [0.5] * 3)(torch.rand(2, 1, 4, 4))
    with pytest.raises(ValueError, match="std > 0"):
        Normalize([0.5] * 3, [0.5, 0.0, 0.5])


def test_sample_frames_picks_the_samplers_frames_from_its_own_generator():
    from vidlearn.data.samplers import DenseSampler, SegmentSampler, SlowFastSampler
    from vidlearn.data.transforms import SampleFrames

    clip = torch.arange(24.0).view(1, 24, 1, 1).expand(3, 24, 2, 2)  # every value is its frame number
    test = SampleFrames(SegmentSampler(4, train=False))(clip)
    assert test.shape == (3, 4, 2, 2) and test[0, :, 0, 0].tolist() == SegmentSampler(4, train=False)(24).tolist()
    a, b = SampleFrames(SegmentSampler(4, train=True), seed=3), SegmentSampler(4, train=True)
    rng = np.random.default_rng(3)
    for _ in range(3):  # the same draws as the sampler with a generator of that seed, call after call
        assert a(clip)[0, :, 0, 0].tolist() == b(24, rng).tolist()
    assert SampleFrames(DenseSampler(8, train=False))(clip)[0, :, 0, 0].tolist() == list(range(8, 16))
    with pytest.raises(ValueError, match="one per pathway"):
        SampleFrames(SlowFastSampler(2, tau=4, alpha=2))(clip)
    with pytest.raises(TypeError, match="expects a sampler"):
        SampleFrames(8)
