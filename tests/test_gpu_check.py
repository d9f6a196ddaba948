"""`make gpu-check` stays runnable without a GPU: its smoke run measures every model and configuration."""

import importlib.util
import json
from pathlib import Path

_path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
_spec = importlib.util.spec_from_file_location("gpu_check", _path)
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)


def test_gpu_check_smoke_run_measures_every_model_and_configuration(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert gpu_check.main(["--smoke", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["speedups"]
    models = {r["model"] for r in rows}
    assert models == {*gpu_check.CNNS, gpu_check.TRANSFORMER[0]}
    for name in gpu_check.CNNS:
        assert {r["config"] for r in rows if r["model"] == name} == {
            "fp32", "amp", "amp + channels_last_3d", "amp + torch.compile"}
    tsf = {r["config"]: r for r in rows if r["model"] == "timesformer"}
    assert "sdpa_speedup" in tsf["amp, softmax attention"]
    assert all(r["clips_per_s"] > 0 for r in rows)
    assert "x fp32" in capsys.readouterr().out


def test_gpu_check_refuses_to_pretend_on_a_cpu(capsys, monkeypatch):
    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 2
    assert "no CUDA device" in capsys.readouterr().out


def test_every_chapter_is_in_the_gpu_check_list():
    chapters = {p.stem for p in (_path.parents[1] / "book").glob("*.ipynb")}
    assert set(gpu_check.CHAPTERS) == chapters and len(gpu_check.CHAPTERS) == len(chapters)
