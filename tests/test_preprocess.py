"""kinetics400_preprocess / timesformer_preprocess against the preprocessing of the weights they are for.

torchvision: ``R3D_18_Weights.KINETICS400_V1.transforms()`` and its MC3 / R(2+1)D siblings (building the
enum and its transform downloads nothing). Hugging Face: ``VideoMAEImageProcessor`` (``AutoImageProcessor`` of
TimeSformer), ``TimesformerVideoProcessor`` and the PIL ``VideoMAEImageProcessorPil``, all built from their
code defaults (nothing downloaded). Measured here (torch 2.x, torchvision 0.29.1, transformers 5.24.0):
torchvision: identical (max |diff| 0); HF torchvision backend: 2.4e-7 (float rounding of the fused
normalisation); HF PIL backend: one grey level at most, 1 / (255 * 0.225) = 0.0174 after normalisation, on
0.01-0.5 % of the values (mean |diff| 2e-6 .. 8e-5); our ``resize_backend="vidlearn"`` (float resize, rounded):
also one grey level at most, on 6-20 % of the values (mean |diff| 1.1e-3 .. 3.4e-3).
"""

import numpy as np
import pytest
import torch
from torchvision.models.video import MC3_18_Weights, R2Plus1D_18_Weights, R3D_18_Weights

from vidlearn.data import read_video, sample_videos
from vidlearn.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    KINETICS_MEAN,
    KINETICS_STD,
    TIMESFORMER_MEAN,
    TIMESFORMER_STD,
    KineticsPreprocess,
    kinetics400_preprocess,
    timesformer_preprocess,
)

WEIGHTS = {"r3d_18": R3D_18_Weights, "mc3_18": MC3_18_Weights, "r2plus1d_18": R2Plus1D_18_Weights}
GREY_LEVEL = 1 / (255 * 0.225)  # one uint8 step after normalising with std 0.225


@pytest.fixture(scope="module")
def clips():
    """Frames (T, H, W, 3) uint8 as read_video gives them: a real clip (272 x 640), random odd-sized ones
    (smaller than the output: upsampled; a portrait one larger: downsampled)."""
    rng = np.random.default_rng(0)
    return {"bikes": read_video(sample_videos()["bikes"], [0, 5, 10, 15]),
            "small": rng.integers(0, 256, (3, 97, 131, 3), dtype=np.uint8),
            "portrait": rng.integers(0, 256, (2, 301, 250, 3), dtype=np.uint8)}


def _torchvision_layout(frames):
    return torch.from_numpy(frames).permute(0, 3, 1, 2)  # (T, C, H, W), what torchvision's transform takes


@pytest.mark.parametrize("model", sorted(WEIGHTS))
def test_kinetics400_preprocess_equals_torchvisions_weights_transforms(model, clips):
    ref_transform = WEIGHTS[model].KINETICS400_V1.transforms()
    pre = kinetics400_preprocess(model)
    for name, frames in clips.items():
        want = ref_transform(_torchvision_layout(frames))  # (C, T, 112, 112)
        got = pre(frames)
        assert got.shape == (3, len(frames), 112, 112) == want.shape and got.dtype == torch.float32
        assert torch.allclose(got, want, atol=1e-6, rtol=0), (name, (got - want).abs().max())
        assert torch.allclose(pre(torch.from_numpy(frames)), want, atol=1e-6, rtol=0)  # a torch tensor too
    assert ref_transform.resize_size == [128, 171] and ref_transform.crop_size == [112, 112]
    assert tuple(ref_transform.mean) == KINETICS_MEAN == pre.mean and tuple(ref_transform.std) == KINETICS_STD


def test_kinetics400_clips_are_those_the_weights_were_evaluated_on():
    docs = R2Plus1D_18_Weights.KINETICS400_V1.meta["_docs"]
    assert "frame_rate=15" in docs and "clips_per_video=5" in docs and "clip_len=16" in docs
    pre = kinetics400_preprocess()
    assert (pre.frames, pre.frame_rate, pre.clips_per_video) == (16, 15, 5)
    assert [pre.stride(fps) for fps in (30, 29.97, 25, 15, 10)] == [2, 2, 2, 1, 1]
    assert "resize_size=(128, 171)" in repr(pre) and "frames=16" in repr(pre)


def test_a_batch_of_clips_is_preprocessed_clip_by_clip(clips):
    frames = clips["small"]
    pre = kinetics400_preprocess("r3d_18")
    batch = pre(np.stack([frames, frames[::-1]]))  # (B, T, H, W, 3)
    assert batch.shape == (2, 3, 3, 112, 112)
    assert torch.equal(batch[0], pre(frames)) and torch.equal(batch[1], pre(frames[::-1]))


def test_wrong_frames_are_clear_errors(clips):
    pre = kinetics400_preprocess()
    frames = clips["small"]
    with pytest.raises(ValueError, match=r"got torch.float32 .*a float clip\?"):
        pre(torch.from_numpy(frames).float())
    with pytest.raises(ValueError, match=r"torchvision's layout\? permute them"):
        pre(_torchvision_layout(frames))
    with pytest.raises(ValueError, match=r"expects uint8 RGB frames \(T, H, W, 3\)"):
        pre(frames[0])
    with pytest.raises(TypeError, match=r"as read_video returns them"):
        pre([frames])
    with pytest.raises(ValueError, match=r"knows torchvision's K400 weights of .*'r2plus1d_18'.*got 'r2plus1d_34'"):
        kinetics400_preprocess("r2plus1d_34")
    with pytest.raises(ValueError, match=r"cannot crop 300x300"):
        KineticsPreprocess(256, 300, KINETICS_MEAN, KINETICS_STD, antialias=True)(frames)


def _hf(processor, frames):
    out = processor(list(frames), return_tensors="pt")["pixel_values"]  # (1, T, C, H, W)
    return out[0].transpose(0, 1)  # (C, T, H, W)


def test_timesformer_preprocess_equals_hugging_faces_processors(clips):
    transformers = pytest.importorskip("transformers")  # tests only; vidlearn never imports it
    mean, std = list(TIMESFORMER_MEAN), list(TIMESFORMER_STD)
    image = transformers.VideoMAEImageProcessor(image_mean=mean, image_std=std)
    video = transformers.TimesformerVideoProcessor(image_mean=mean, image_std=std)
    pre = timesformer_preprocess()
    for name, frames in clips.items():
        got = pre(frames)
        want = _hf(image, frames)
        assert got.shape == want.shape == (3, len(frames), 224, 224), name
        assert torch.allclose(got, want, atol=1e-5, rtol=0), (name, (got - want).abs().max())
        from_video = video(torch.from_numpy(frames), return_tensors="pt")["pixel_values"][0].transpose(0, 1)
        assert torch.allclose(got, from_video, atol=1e-5, rtol=0), name
    # the processors' code defaults (not the checkpoint's statistics) are matched by passing them
    frames = clips["bikes"]
    assert torch.allclose(timesformer_preprocess(mean=IMAGENET_MEAN, std=IMAGENET_STD)(frames),
                          _hf(transformers.TimesformerVideoProcessor(), frames), atol=1e-5, rtol=0)
    assert torch.allclose(timesformer_preprocess(mean=(0.5,) * 3, std=(0.5,) * 3)(frames),
                          _hf(transformers.VideoMAEImageProcessor(), frames), atol=1e-5, rtol=0)
    assert transformers.TimesformerConfig().num_frames == pre.frames == 8


def test_pil_and_vidlearn_resizes_are_one_grey_level_from_hugging_face(clips):
    transformers = pytest.importorskip("transformers")
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    mean, std = list(TIMESFORMER_MEAN), list(TIMESFORMER_STD)
    pil = VideoMAEImageProcessorPil(image_mean=mean, image_std=std)
    image = transformers.VideoMAEImageProcessor(image_mean=mean, image_std=std)
    ours = timesformer_preprocess(resize_backend="vidlearn")
    for name, frames in clips.items():
        got = timesformer_preprocess()(frames)
        diff = (got - _hf(pil, frames)).abs()  # measured: max 0.0174 (one level), mean 2e-6 .. 8e-5
        assert diff.max() <= GREY_LEVEL + 1e-5 and diff.mean() < 1e-3, (name, diff.max(), diff.mean())
        diff = (ours(frames) - _hf(image, frames)).abs()  # measured: max 0.0174, mean 1.1e-3 .. 3.4e-3
        assert diff.max() <= GREY_LEVEL + 1e-5 and diff.mean() < 1e-2, (name, diff.max(), diff.mean())
