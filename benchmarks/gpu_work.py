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
* data: every synthetic clip the chapter makes on the CPU, counted where it is made
  (``SyntheticActions._generate``, in pixels, since clip sizes differ), plus the clips a data set passed
  straight to ``fit`` would make again every epoch (a ``SyntheticActions`` not kept in memory), at the rate
  measured here (pixels per second, one process: the chapters make their clips in the kernel and ``fit``
  reads them with ``num_workers=0``). Clips kept in memory (``vidlearn.data.in_memory``, lists, ``FlowPairs``)
  are made once. The two terms add up: the kernel makes the clips, then the GPU trains on them.

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
GENERATION_PROCESSES = 1  # the chapters make clips in the kernel; fit reads them with num_workers=0

STARTUP = r'''
import json, os
import torch
import vidlearn.train, vidlearn.train.loop
import vidlearn.data.synthetic as _synthetic
from torch.utils.data import DataLoader
from vidlearn.profile import count_flops
from vidlearn.train.history import History

_LOG = os.environ["VIDLEARN_GPU_WORK_LOG"]
_MADE = {"clips": 0, "pixels": 0}  # every synthetic clip the chapter makes, where it is made
_generate = _synthetic.SyntheticActions._generate


def _counted_generate(self, index):
    _MADE["clips"] += 1
    _MADE["pixels"] += self.frames * self.size * self.size
    return _generate(self, index)


_synthetic.SyntheticActions._generate = _counted_generate


def _remade_pixels(data, epochs):  # a SyntheticActions read by fit makes its clips again every epoch
    d = _dataset(data)
    if isinstance(d, _synthetic.SyntheticActions):
        return len(d) * d.frames * d.size * d.size * epochs
    return 0


def made():  # the last cell of every counted chapter calls it
    _log({"call": "made", **_MADE})


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
    remade = _remade_pixels(train_data, epochs) + (_remade_pixels(val_data, epochs) if val_data is not None else 0)
    _log({"call": "fit", "name": name or type(model).__name__, "train_flops_per_clip": flops, "clip": shape,
          "train_clips": len(_dataset(train_data)), "epochs": epochs, "batch_size": batch_size,
          "val_clips": len(_dataset(val_data)) if val_data is not None else 0, "val_flops_per_clip": val_flops,
          "remade_pixels": remade})
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
          "val_clips": n, "remade_pixels": _remade_pixels(data, 1)})
    return {"loss": 1.0, "acc": 0.5, "n": n}


for _m in (vidlearn.train, vidlearn.train.loop):
    _m.fit, _m.evaluate = fit, evaluate
'''


def generation_rate(frames: int, size: int) -> float:
    """Clips per second one process generates at ``frames x size x size`` (SyntheticActions, motion, with its
    default normalisation, as the chapters read them)."""
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
            nb.cells.append(nbformat.v4.new_code_cell("made()"))  # the clips it made, logged
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


def summarise(log: Path, gen_rate: float, pixels_per_clip: int) -> list:
    """One row per chapter; ``gen_rate`` clips/s of ``pixels_per_clip`` pixels (frames x H x W) each."""
    rows, chapter = {}, None
    for line in log.read_text().splitlines():
        r = json.loads(line)
        if "stopped" in r:
            rows[chapter]["stopped"] = r["stopped"]
            continue
        if "chapter" in r:
            chapter = r["chapter"]
            rows[chapter] = {"chapter": chapter, "fits": 0, "train_clip_epochs": 0, "flops": 0.0,
                             "uncounted": 0, "clips": [], "made_clips": None, "made_pixels": 0,
                             "remade_pixels": 0}
            continue
        row = rows[chapter]
        if r["call"] == "made":
            row["made_clips"], row["made_pixels"] = r["clips"], r["pixels"]
            continue
        row["remade_pixels"] += r.get("remade_pixels", 0)
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
        pixels = row["made_pixels"] + row["remade_pixels"]
        data = pixels / (gen_rate * pixels_per_clip * GENERATION_PROCESSES)
        row.update(compute_s=compute, data_s=data, t4_s=compute + data,
                   made_pixels_equiv=round(pixels / pixels_per_clip),
                   bound="data" if data > compute else "compute", clips=sorted(set(row["clips"])))
        out.append(row)
    return out


def table(rows: list) -> str:
    """The README's table (markdown)."""
    lines = ["| chapter | fit calls | clips x epochs trained | TFLOPs (train + eval) | T4 compute | clips made on "
             "the CPU (16x64x64 equivalents) | making them, 1 process | T4 estimate |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        note = f" ({r['uncounted']} not counted)" if r["uncounted"] else ""
        note += f" ({r['stopped']})" if "stopped" in r else ""
        lines.append(f"| {r['chapter']} | {r['fits']}{note} | {r['train_clip_epochs']:,} | {r['flops'] / 1e12:,.1f} | "
                     f"{r['compute_s'] / 60:.1f} min | {r['made_pixels_equiv']:,} | {r['data_s'] / 60:.1f} min | "
                     f"{r['t4_s'] / 60:.1f} min |")
    return "\n".join(lines)


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
    rows = summarise(log, rate, gpu.frames * gpu.size * gpu.size)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"generation_clips_per_s": rate, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
