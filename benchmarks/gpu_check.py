"""`make gpu-check`: what the book does on one GPU, in one prepared run of under 10 minutes.

Run it whenever a GPU is available (Colab, a lent machine) and copy the lines it prints into the README's
GPU section; CI never depends on it. Two parts, each line a measurement of this run:

1. **Speed-ups, as ratios in one run.** For the 3D CNNs (``r3d_18``, ``r2plus1d_18``, ``i3d``, paper size,
   ``2 x 3 x 16 x 112 x 112`` clips... see ``CNNS``) and TimeSformer (paper size, 8 x 224 x 224), training
   steps on clips already on the GPU (so that nothing but the model is timed), in each configuration: fp32,
   AMP (``torch.autocast``, bf16 where supported, else fp16), AMP + ``channels_last_3d`` (3D CNNs), AMP +
   ``torch.compile``, and for TimeSformer AMP with the readable softmax attention against fused
   ``scaled_dot_product_attention``. Each line: clips per second, peak memory, and the ratio to fp32 (or to
   the softmax path), the configurations timed interleaved (``timing.interleaved``).
2. **The chapters at ``gpu``.** The chapters (``CHAPTERS``, in that order) executed top to bottom at
   ``VIDLEARN_SCALE=gpu`` as a reader on a GPU runtime runs them, until the time budget is spent: each
   chapter's time and whether every cell passed, which includes the hidden cells that assert each chapter's
   finding. A chapter that would start past the budget is listed as not run.

    python benchmarks/gpu_check.py                   # both parts, 9-minute budget for the chapters
    python benchmarks/gpu_check.py --budget 300      # seconds for part 2
    python benchmarks/gpu_check.py --smoke           # on any machine: tiny models, 2 steps, no chapters
                                                     #   (what the unit tests run, to keep this script working)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sibling modules, also under `python -m`

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from timing import interleaved  # noqa: E402

import vidlearn  # noqa: E402
from vidlearn.train.loop import _amp_dtype, _conv3d_channels_last, _to_channels_last  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CNNS = {"r3d_18": (16, 3, 16, 112), "r2plus1d_18": (16, 3, 16, 112), "i3d": (8, 3, 16, 112)}  # B, C, T, side
TRANSFORMER = ("timesformer", (4, 3, 8, 224))
# the chapters in the order part 2 runs them: the cheap ones first, so a short budget still covers most
CHAPTERS = ["working_with_video", "deepvideo", "two_stream", "tsn", "snippets", "i3d", "r2plus1d", "c3d",
            "slowfast", "tsm", "non_local", "fusion", "timesformer", "vivit", "mvit", "videomae", "summary",
            "using_vidlearn", "your_own_videos"]


def _step_fn(model, x, y, amp_dtype, channels_last: bool) -> Callable[[], None]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    dev = x.device

    def step():
        inputs = _to_channels_last(x) if channels_last else x
        with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = F.cross_entropy(model(inputs).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
    return step


def _peak_mb(step: Callable[[], None], dev: torch.device) -> float:
    if dev.type != "cuda":
        return float("nan")
    torch.cuda.reset_peak_memory_stats(dev)
    step()
    return torch.cuda.max_memory_allocated(dev) / 2**20


def speedups(dev: torch.device, smoke: bool, repeats: int) -> List[Dict]:
    """Part 1: clips/s and peak memory per configuration, ratios against fp32 in the same run."""
    amp = _amp_dtype(dev, True) if dev.type == "cuda" else None
    rows = []
    models = {**CNNS, TRANSFORMER[0]: TRANSFORMER[1]}
    for name, (b, c, t, side) in models.items():
        configs: Dict[str, Dict] = {"fp32": {"amp": None}}
        if amp is not None or smoke:
            configs["amp"] = {"amp": amp}
            if name != "timesformer":
                configs["amp + channels_last_3d"] = {"amp": amp, "channels_last": True}
            else:
                configs["amp, softmax attention"] = {"amp": amp, "use_sdpa": False}
            configs["amp + torch.compile"] = {"amp": amp, "compile": True}
        steps = {}
        for label, cfg in configs.items():
            torch.manual_seed(0)
            kwargs = {"use_sdpa": cfg.get("use_sdpa", True)} if name == "timesformer" else {}
            model = vidlearn.create_model(name, num_classes=10, tiny=smoke, **kwargs).to(dev).train()
            if cfg.get("channels_last"):
                model = _conv3d_channels_last(model)
            if cfg.get("compile") and not smoke:  # (the smoke run only checks that the script works)
                model = torch.compile(model)
            x = model.example_input(2).to(dev) if smoke else torch.randn(b, c, t, side, side, device=dev)
            b, t, side = x.shape[0], x.shape[2], x.shape[-1]
            y = torch.randint(0, 10, (b,), device=dev)
            steps[label] = _step_fn(model, x, y, cfg["amp"], bool(cfg.get("channels_last")))
            steps[label]()  # warm up (and compile) before timing
        seconds = interleaved(steps, repeats=repeats, warmup=1)
        base = seconds["fp32"]
        for label, s in seconds.items():
            row = {"model": name, "config": label, "batch": b, "clip": f"{t}x{side}x{side}",
                   "clips_per_s": b / s, "vs_fp32": base / s, "peak_mb": _peak_mb(steps[label], dev)}
            if label == "amp, softmax attention":
                row["sdpa_speedup"] = s / seconds["amp"]
            rows.append(row)
            extra = f", fused attention {row['sdpa_speedup']:.2f}x faster" if "sdpa_speedup" in row else ""
            print(f"{name:12s} {label:26s} batch {b} x {t}x{side}x{side}: {b / s:8.1f} clips/s, "
                  f"{row['peak_mb']:8.0f} MB peak, {base / s:5.2f}x fp32{extra}", flush=True)
    return rows


def chapters(budget_s: float, names: List[str]) -> List[Dict]:
    """Part 2: the chapters at VIDLEARN_SCALE=gpu, top to bottom, until the budget is spent."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.update(VIDLEARN_SCALE="gpu", VIDLEARN_PROGRESS="0")
    rows, start = [], time.monotonic()
    out_dir = ROOT / "_build" / "gpu-check"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        left = budget_s - (time.monotonic() - start)
        if left < 30:
            rows.append({"chapter": name, "status": "not run (budget spent)"})
            print(f"{name:20s} not run: the {budget_s:.0f} s budget is spent", flush=True)
            continue
        nb = nbformat.read(ROOT / "book" / f"{name}.ipynb", as_version=4)
        client = NotebookClient(nb, timeout=int(left), kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT / "book")}})
        t0 = time.monotonic()
        try:
            client.execute()
            status = "every cell passed"
        except Exception as err:  # noqa: BLE001  (a failed cell or the budget's timeout: both are reported)
            status = f"FAILED: {type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}"
        seconds = time.monotonic() - t0
        nbformat.write(nb, out_dir / f"{name}.ipynb")
        rows.append({"chapter": name, "seconds": round(seconds, 1), "status": status})
        print(f"{name:20s} {seconds:7.1f} s at gpu: {status}", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=540, help="seconds for part 2 (the chapters)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per configuration")
    parser.add_argument("--smoke", action="store_true", help="tiny models, 2 steps, no chapters (any device)")
    parser.add_argument("--skip-chapters", action="store_true")
    parser.add_argument("--json", type=Path, help="write every measured row to this file")
    args = parser.parse_args(argv)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type != "cuda" and not args.smoke:
        print("gpu-check: no CUDA device here; run it on a GPU (or pass --smoke to check the script itself)")
        return 2
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU (smoke run: the ratios mean nothing)"
    print(f"gpu-check on {name}, torch {torch.__version__}, vidlearn {vidlearn.__version__}", flush=True)
    rows = {"device": name, "torch": torch.__version__,
            "speedups": speedups(dev, args.smoke, 2 if args.smoke else args.repeats)}
    if not (args.smoke or args.skip_chapters):
        rows["chapters"] = chapters(args.budget, CHAPTERS)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
