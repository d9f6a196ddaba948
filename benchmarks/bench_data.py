"""Data and optical flow: how fast clips and flow fields reach the model.

* ``VideoFolder`` (vidlearn's reader, the first installed of decord, torchcodec and PyAV, decoding only up
  to the sampled frames and converting only those) against the
  obvious alternative, decoding every frame of every video with PyAV and sampling afterwards, on an mp4
  tree written by ``write_video_folder``. Target: >= 3x more clips per second.
* ``SyntheticActions`` generation against the training throughput of each tiny model (the loader must
  never be the bottleneck).
* DIS, Farneback and TV-L1 at 112 and 224 pixels against the Two-Stream paper's flow time (0.06 s a frame
  pair on a GPU, Brox et al.'s method: ``vidlearn.published`` "two_stream.flow_seconds"), and the flow
  cache's second epoch against its first.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from timing import interleaved, measure, verdict

import vidlearn
from vidlearn.data import SyntheticActions, VideoFolder, read_video, sample_videos, write_video_folder
from vidlearn.data.samplers import DenseSampler, UniformSampler
from vidlearn.flow import FLOW_METHODS, FlowCache, time_flow
from vidlearn.published import number
from vidlearn.train import fit

PAPER_FLOW = number("two_stream.flow_seconds").value  # s a frame pair, GPU (Two-Stream, Sec. 5)


def _pyav_whole_video_clip(path: str, indices) -> torch.Tensor:
    """The naive reader: decode every frame with PyAV, then keep the sampled ones."""
    import av

    with av.open(path) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    return torch.from_numpy(frames[indices]).permute(3, 0, 1, 2).float().div_(255)


def video_folder_vs_pyav(videos: int = 6, frames: int = 192, size: int = 112, repeats: int = 5) -> None:
    """Clips/s of VideoFolder against whole-video PyAV decoding, same videos and the same frame indices."""
    source = SyntheticActions("motion", num_samples=videos, frames=frames, size=size, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"write_video_folder (x264 default: one keyframe)": write_video_folder(source, Path(tmp) / "a"),
                 "write_video_folder(keyframe_interval=16)": write_video_folder(source, Path(tmp) / "b",
                                                                                 keyframe_interval=16)}
        samplers = {"uniform 8": UniformSampler(8), "dense 8x2": DenseSampler(8, stride=2, train=False)}
        for tree, root in trees.items():
            for sname, sampler in samplers.items():
                folder = VideoFolder(root, sampler=sampler)
                paths = [p for p, _ in folder.samples]
                idx = sampler(frames)
                same = float((folder[0][0] - _pyav_whole_video_clip(paths[0], idx)).abs().max())

                def ours(folder=folder):
                    for i in range(len(folder)):
                        folder[i]

                def naive(paths=paths, idx=idx):
                    for p in paths:
                        _pyav_whole_video_clip(p, idx)

                t = measure({"ours": ours, "naive": naive}, repeats=repeats)
                wall = t["naive"][0] / t["ours"][0]
                cpu = t["naive"][1] / t["ours"][1]
                print(f"VideoFolder vs PyAV whole video, {sname} of {frames} frames {size}x{size}, {tree}: "
                      f"{videos / t['ours'][0]:5.1f} vs {videos / t['naive'][0]:5.1f} clips/s, speed-up wall "
                      f"{wall:.1f}x (target >= 3: {verdict(wall, 3, higher_is_better=True)}), CPU time {cpu:.1f}x; "
                      f"max pixel diff {same:.3f}", flush=True)


def _generation_rate(frames: int, size: int, n: int = 256) -> float:
    data = SyntheticActions("motion", num_samples=n, frames=frames, size=size, seed=0)
    t0 = time.perf_counter()
    for i in range(n):
        data[i]
    return n / (time.perf_counter() - t0)


def generation_vs_training() -> None:
    print(f"SyntheticActions 16x64x64: {_generation_rate(16, 64):8.0f} clips/s generated (one process)")
    for name in ("single_frame", "early_fusion", "c3d", "r3d_18", "r2plus1d_18", "tsm_r50", "timesformer"):
        torch.manual_seed(0)
        model = vidlearn.create_model(name, num_classes=8, tiny=True)
        x = model.example_input(1)  # the model's own clip size
        frames, size = x.shape[2], x.shape[3]
        gen = _generation_rate(frames, size)
        sub = SyntheticActions("motion", num_samples=128, frames=frames, size=size, seed=0)
        h = fit(model, sub, epochs=1, batch_size=16, device="cpu", progress=False, verbose=False)
        train = h.clips_per_s[-1]  # data generation included
        print(f"  {name:14s} (tiny, {frames}x{size}x{size}): generation {gen:7.0f} clips/s, training "
              f"{train:7.1f} clips/s   generation / training = {gen / train:5.1f}x", flush=True)


def flow_speed() -> None:
    frames = read_video(sample_videos()["bikes"], np.arange(40, 51))
    for side in (112, 224):
        clip = np.ascontiguousarray(frames[:, :side, :side])
        s = time_flow(clip, FLOW_METHODS, repeats=3)
        line = "  ".join(f"{m} {s[m] * 1000:7.1f} ms ({1 / s[m]:6.1f} fps)" for m in FLOW_METHODS)
        print(f"optical flow {side}x{side}: {line}   tvl1/dis = {s['tvl1'] / s['dis']:.0f}x, "
              f"tvl1 here vs the Two-Stream paper's {PAPER_FLOW} s/frame on a GPU = {s['tvl1'] / PAPER_FLOW:.1f}x",
              flush=True)


def flow_cache_epochs(clips: int = 4, length: int = 6, method: str = "tvl1", size: int = 112) -> None:
    video = sample_videos()["bikes"]
    starts = [10 * k for k in range(clips)]
    with tempfile.TemporaryDirectory() as tmp:
        cache = FlowCache(tmp)

        def epoch():
            for s in starts:
                cache.get_or_compute(video, range(s, s + length), method=method, size=size)

        t0 = time.perf_counter()
        epoch()
        first = time.perf_counter() - t0
        t = interleaved({"second": epoch}, repeats=3, warmup=0)["second"]
        assert cache.misses == clips
    print(f"flow cache ({clips} clips x {length - 1} {method} fields at {size}x{size}): first epoch "
          f"{first * 1000:.0f} ms (computed), later epochs {t * 1000:.1f} ms (read from disk)   "
          f"{first / t:.0f}x faster", flush=True)
