"""`make bench`: peer comparisons printed as ratios measured in one run (never asserted in tests).

So far: synthetic data generation against tiny-model training throughput (the loader must never be the
bottleneck), and the optical-flow algorithms against each other and the two-stream literature's TV-L1 figure.
"""

from __future__ import annotations

import time

import numpy as np
import torch

import vidlearn
from vidlearn.data import SyntheticActions, read_video, sample_videos
from vidlearn.flow import FLOW_METHODS, time_flow
from vidlearn.train import fit


def _generation_rate(frames: int, size: int, n: int = 256) -> float:
    data = SyntheticActions("motion", num_samples=n, frames=frames, size=size, seed=0)
    t0 = time.perf_counter()
    for i in range(n):
        data[i]
    return n / (time.perf_counter() - t0)


def generation_vs_training() -> None:
    print(f"SyntheticActions 16x64x64: {_generation_rate(16, 64):8.0f} clips/s generated (one process)")
    for name in ("single_frame", "early_fusion", "r2plus1d_18", "timesformer"):
        torch.manual_seed(0)
        model = vidlearn.create_model(name, num_classes=8, tiny=True)
        x = model.example_input(1)  # the model's own clip size
        frames, size = x.shape[2], x.shape[3]
        gen = _generation_rate(frames, size)
        sub = SyntheticActions("motion", num_samples=128, frames=frames, size=size, seed=0)
        h = fit(model, sub, epochs=1, batch_size=16, device="cpu", progress=False, verbose=False)
        train = h.clips_per_s[-1]  # data generation included
        print(f"  {name:14s} (tiny, {frames}x{size}x{size}): generation {gen:7.0f} clips/s, training "
              f"{train:7.1f} clips/s   generation / training = {gen / train:5.1f}x")


def flow_speed() -> None:
    frames = read_video(sample_videos()["bikes"], np.arange(40, 51))
    for side in (112, 224):
        clip = np.ascontiguousarray(frames[:, :side, :side])
        s = time_flow(clip, FLOW_METHODS)
        line = "  ".join(f"{m} {s[m] * 1000:7.1f} ms ({1 / s[m]:6.1f} fps)" for m in FLOW_METHODS)
        print(f"optical flow {side}x{side}: {line}   tvl1/dis = {s['tvl1'] / s['dis']:.0f}x, "
              f"tvl1 here vs 0.06 s/frame on a GPU (two-stream papers) = {s['tvl1'] / 0.06:.1f}x")


if __name__ == "__main__":
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    generation_vs_training()
    flow_speed()
