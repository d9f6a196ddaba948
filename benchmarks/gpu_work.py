"""How much work each chapter does at the ``gpu`` preset, counted on a CPU, and what that means on a T4.

Every chapter runs top to bottom at ``VIDLEARN_SCALE=gpu``, but with ``fit`` and ``evaluate`` replaced (in each
kernel, through an IPython startup file) by versions that count instead of train: for each call, the model's
FLOPs for one clip (forward + backward for ``fit``, forward for ``evaluate``, counted by
``vidlearn.profile.count_flops`` on the clip the data set gives), the clips, the epochs. They return a
``History`` (or a result) with placeholder numbers, so cells that report results print nonsense and the
hidden asserts fail: the run goes on past failed cells (``allow_errors``), and only the counts are kept.
Everything else in a chapter runs for real at ``gpu`` sizes (flow, figures, data written to disk), so the
run takes a while: about a minute a chapter on 2 cores.

The estimate of a chapter's time on a T4 is the sum of two terms, stated with their assumptions:

* compute: FLOPs / ``T4_EFFECTIVE_FLOPS``. NVIDIA's T4 datasheet gives 65 TFLOPS (fp16 tensor cores) and 8.1
  TFLOPS (fp32); the book's tiny models (8 to 64 channels, 16 x 64 x 64 clips) use a small part of either, so
  we assume 4 TFLOPS. It is an assumption until ``make gpu-check`` has measured clips/s on a GPU.
* data: the synthetic clips each epoch generates on the CPU, at the rate measured here (one process,
  ``SyntheticActions`` at the preset's clip size), divided by ``GENERATION_PROCESSES`` (the preset's
  ``num_workers=2``: Colab gives 2 CPU cores). When this term is the larger one, the GPU waits for data.

    python benchmarks/gpu_work.py                      # every chapter, prints the table
    python benchmarks/gpu_work.py deepvideo tsn        # some chapters
    python benchmarks/gpu_work.py --json _build/gpu-work.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T4_EFFECTIVE_FLOPS = 4e12
GENERATION_PROCESSES = 2

STARTUP = r'''
import json, os
import torch
import vidlearn.train, vidlearn.train.loop
from torch.utils.data import DataLoader
from vidlearn.profile import count_flops
from vidlearn.train.history import History

_LOG = os.environ["VIDLEARN_GPU_WORK_LOG"]


def _dataset(data):
    return data.dataset if isinstance(data, DataLoader) else data


def _flops(model, data, backward):
    try:
        x = _dataset(data)[0][0]
        x = [t.unsqueeze(0) for t in x] if isinstance(x, (list, tuple)) else x.unsqueeze(0)  # one clip
        flops = count_flops(model, x, backward=backward)
        model.zero_grad(set_to_none=True)
        shape = [list(t.shape) for t in x] if isinstance(x, list) else list(x.shape)
        return flops, shape
    except Exception as err:  # a model or data set the counter cannot run: the row says so
        return None, f"{type(err).__name__}: {err}"[:200]


def _log(row):
    with open(_LOG, "a") as f:
        f.write(json.dumps(row) + "\n")


def fit(model, train_data, val_data=None, *, epochs, batch_size=32, name="", **kwargs):
    flops, shape = _flops(model, train_data, backward=True)
    val_flops = _flops(model, val_data, backward=False)[0] if val_data is not None else 0
    _log({"call": "fit", "name": name or type(model).__name__, "train_flops_per_clip": flops, "clip": shape,
          "train_clips": len(_dataset(train_data)), "epochs": epochs, "batch_size": batch_size,
          "val_clips": len(_dataset(val_data)) if val_data is not None else 0, "val_flops_per_clip": val_flops})
    h = History(name=name)
    for e in range(epochs):  # placeholders: nothing was trained
        h.train_loss.append(1.0); h.train_acc.append(0.5); h.time_s.append(1.0); h.clips_per_s.append(1.0)
        h.val_loss.append(1.0 if val_data is not None else None)
        h.val_acc.append(0.5 if val_data is not None else None)
        h.steps.append(e + 1)
    model.eval()
    return h


def evaluate(model, data, *, batch_size=32, **kwargs):
    flops, shape = _flops(model, data, backward=False)
    n = len(_dataset(data))
    _log({"call": "evaluate", "name": type(model).__name__, "val_flops_per_clip": flops, "clip": shape,
          "val_clips": n})
    return {"loss": 1.0, "acc": 0.5, "n": n}


for _m in (vidlearn.train, vidlearn.train.loop):
    _m.fit, _m.evaluate = fit, evaluate
'''


def generation_rate(frames: int, size: int) -> float:
    """Clips per second one process generates at ``frames x size x size`` (SyntheticActions, motion)."""
    from vidlearn.data import SyntheticActions

    data = SyntheticActions("motion", num_samples=200, frames=frames, size=size, seed=0)
    data[0]
    t0 = time.perf_counter()
    for i in range(1, 200):
        data[i]
    return 199 / (time.perf_counter() - t0)


def run_chapters(names, log: Path, book: Path = ROOT / "book") -> dict:
    import nbformat
    from nbclient import NotebookClient

    ipython_dir = Path(tempfile.mkdtemp(prefix="vidlearn-gpu-work-"))
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-count-work.py").write_text(STARTUP)
    saved = dict(os.environ)
    os.environ.update(VIDLEARN_SCALE="gpu", VIDLEARN_PROGRESS="0", VIDLEARN_BOOK_BUILD="1",
                      IPYTHONDIR=str(ipython_dir), VIDLEARN_GPU_WORK_LOG=str(log), MPLBACKEND="Agg")
    seconds = {}
    try:
        for name in names:
            nb = nbformat.read(book / f"{name}.ipynb", as_version=4)
            nb.cells.insert(1, nbformat.v4.new_code_cell(f"print('vidlearn-gpu-work chapter {name}')"))
            t0 = time.monotonic()
            with open(log, "a") as f:
                f.write(json.dumps({"chapter": name}) + "\n")
            status = "counted"
            try:
                NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
                               resources={"metadata": {"path": str(book)}}).execute()
            except Exception as err:  # noqa: BLE001  (e.g. the kernel died: out of memory at gpu sizes)
                status = f"stopped: {type(err).__name__} (the calls before it are counted)"
                with open(log, "a") as f:
                    f.write(json.dumps({"stopped": status}) + "\n")
            seconds[name] = time.monotonic() - t0
            print(f"[gpu-work] {name}: {status} in {seconds[name]:.0f} s", flush=True)
    finally:
        shutil.rmtree(ipython_dir, ignore_errors=True)
        os.environ.clear()
        os.environ.update(saved)
    return seconds


def summarise(log: Path, gen_rate: float) -> list:
    rows, chapter = {}, None
    for line in log.read_text().splitlines():
        r = json.loads(line)
        if "stopped" in r:
            rows[chapter]["stopped"] = r["stopped"]
            continue
        if "chapter" in r:
            chapter = r["chapter"]
            rows[chapter] = {"chapter": chapter, "fits": 0, "train_clip_epochs": 0, "flops": 0.0,
                             "uncounted": 0, "clips": []}
            continue
        row = rows[chapter]
        if r["call"] == "fit":
            row["fits"] += 1
            row["train_clip_epochs"] += r["train_clips"] * r["epochs"]
            row["clips"].append(str(r["clip"]))
            if r["train_flops_per_clip"] is None:
                row["uncounted"] += 1
            else:
                row["flops"] += r["train_flops_per_clip"] * r["train_clips"] * r["epochs"]
                row["flops"] += (r["val_flops_per_clip"] or 0) * r["val_clips"] * r["epochs"]
        elif r["val_flops_per_clip"] is not None:
            row["flops"] += r["val_flops_per_clip"] * r["val_clips"]
    out = []
    for row in rows.values():
        compute = row["flops"] / T4_EFFECTIVE_FLOPS
        data = row["train_clip_epochs"] / (gen_rate * GENERATION_PROCESSES)
        row.update(compute_s=compute, data_s=data, t4_s=max(compute, data), bound="data" if data > compute
                   else "compute", clips=sorted(set(row["clips"])))
        out.append(row)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from vidlearn.scale import preset

    gpu = preset("gpu")
    names = args.chapters or sorted(p.stem for p in (ROOT / "book").glob("*.ipynb"))
    rate = generation_rate(gpu.frames, gpu.size)
    print(f"[gpu-work] SyntheticActions at {gpu.frames}x{gpu.size}x{gpu.size}: {rate:.0f} clips/s in one process here",
          flush=True)
    log = Path(tempfile.mkdtemp(prefix="vidlearn-gpu-work-log-")) / "calls.jsonl"
    run_chapters(names, log)
    rows = summarise(log, rate)
    print(f"\n| chapter | fit calls | clips x epochs trained | GFLOPs (train + eval) | T4 compute | data on "
          f"{GENERATION_PROCESSES} CPU processes | estimate |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        note = f" ({r['uncounted']} not counted)" if r["uncounted"] else ""
        note += f" ({r['stopped']})" if "stopped" in r else ""
        print(f"| {r['chapter']} | {r['fits']}{note} | {r['train_clip_epochs']:,} | {r['flops'] / 1e9:,.0f} | "
              f"{r['compute_s'] / 60:.1f} min | {r['data_s'] / 60:.1f} min | {r['t4_s'] / 60:.1f} min "
              f"({r['bound']}-bound) |")
    if args.json:
        args.json.write_text(json.dumps({"generation_clips_per_s": rate, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
