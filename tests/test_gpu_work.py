"""benchmarks/gpu_work.py counts a chapter's training work at the gpu preset instead of training."""

import importlib.util
import json
from pathlib import Path

import nbformat

_path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_work.py"
_spec = importlib.util.spec_from_file_location("gpu_work", _path)
gpu_work = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_work)


def test_fit_and_evaluate_are_counted_not_run(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import vidlearn\nfrom vidlearn.data import SyntheticActions\nfrom vidlearn.scale import preset\n"
        "from vidlearn.train import evaluate, fit\nP = preset()\n"
        "train = SyntheticActions('motion', num_samples=123, frames=8, size=32)\n"
        "model = vidlearn.create_model('single_frame', num_classes=8, tiny=True)\n"
        "h = fit(model, train, train, epochs=7, batch_size=4)\n"
        "r = evaluate(model, train)\n"
        "print(P.name, h.epochs, r['n'])\n"
        "assert False, 'a failing cell does not stop the count'\n"),
        nbformat.v4.new_code_cell("fit(model, train, epochs=2)")]
    nbformat.write(nb, tmp_path / "mini.ipynb")
    log = tmp_path / "calls.jsonl"
    gpu_work.run_chapters(["mini"], log, book=tmp_path)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0] == {"chapter": "mini"}
    fits = [c for c in calls if c.get("call") == "fit"]
    assert [(c["train_clips"], c["epochs"]) for c in fits] == [(123, 7), (123, 2)]
    assert fits[0]["train_flops_per_clip"] > fits[0]["val_flops_per_clip"] > 0  # fwd+bwd > fwd
    assert fits[0]["clip"] == [1, 3, 8, 32, 32]
    assert fits[0]["remade_pixels"] == 2 * 123 * 7 * 8 * 32 * 32  # train and val made again every epoch
    made = [c for c in calls if c.get("call") == "made"]
    # the clips count_flops made (one per fit's train and val, one per evaluate), nothing else: fit trained none
    assert made == [{"call": "made", "clips": 4, "pixels": 4 * 8 * 32 * 32}]
    (row,) = gpu_work.summarise(log, gen_rate=100.0, pixels_per_clip=8 * 32 * 32)
    assert row["fits"] == 2 and row["train_clip_epochs"] == 123 * 9
    clips = 4 + 123 * 14 + 123 * 2 + 123  # made + fit(train, val, 7 epochs) + fit(train, 2) + evaluate
    assert row["made_pixels_equiv"] == clips
    assert abs(row["data_s"] - clips / (100.0 * gpu_work.GENERATION_PROCESSES)) < 1e-9
    assert row["t4_s"] == row["data_s"] + row["compute_s"]
    assert "| mini | 2 |" in gpu_work.table([row])


def test_clips_kept_in_memory_are_made_once_not_every_epoch(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import vidlearn\nfrom vidlearn.data import SyntheticActions, in_memory\nfrom vidlearn.train import fit\n"
        "train = in_memory(SyntheticActions('motion', num_samples=50, frames=8, size=32))\n"
        "model = vidlearn.create_model('single_frame', num_classes=8, tiny=True)\n"
        "h = fit(model, train, epochs=9)\n")]
    nbformat.write(nb, tmp_path / "kept.ipynb")
    log = tmp_path / "calls.jsonl"
    gpu_work.run_chapters(["kept"], log, book=tmp_path)
    (row,) = gpu_work.summarise(log, gen_rate=100.0, pixels_per_clip=8 * 32 * 32)
    assert row["train_clip_epochs"] == 50 * 9 and row["made_pixels_equiv"] == 50  # made once, read 9 times
