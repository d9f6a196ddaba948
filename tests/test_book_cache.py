"""`make test` runs the chapters once: nbval's outputs are what the book renders (tests/book/nbcache.py)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("nbcache", ROOT / "tests" / "book" / "nbcache.py")
nbcache = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbcache)

CELLS = [
    "print('hello')\nimport sys\nprint('to stderr', file=sys.stderr)",
    "from IPython.display import HTML, display\ndisplay(HTML('<b>bold</b>'))\nprint('after')",
    "x = 6 * 7\nx",
    "# no output",
]


def _write(tmp_path: Path, cells, name="chapter.ipynb") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter")] + [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _nbval(path: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", str(path), "-q", "-p", "no:cacheprovider",
         "--rootdir", str(path if path.is_dir() else path.parent),
         "-p", "tests.book.nbcache", "--book-cache", str(cache), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300)


def _comparable(nb):
    return [[{k: v for k, v in out.items() if k != "execution_count"} for out in cell.outputs]
            for cell in nb.cells if cell.cell_type == "code"]


def test_the_book_gets_the_outputs_nbval_saw_as_nbclient_would_make_them(tmp_path):
    path, cache = _write(tmp_path, CELLS), tmp_path / "cache"
    run = _nbval(path, cache)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 executed notebook(s) stored" in run.stdout

    nb = nbformat.read(path, as_version=4)
    record = get_cache(str(cache)).match_cache_notebook(nb)   # what myst-nb's cache mode looks up
    assert record.data["execution_seconds"] > 0
    _, merged = get_cache(str(cache)).merge_match_into_notebook(nb)

    from nbclient import NotebookClient

    reference = nbformat.read(path, as_version=4)
    NotebookClient(reference, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert _comparable(merged) == _comparable(reference)
    assert [c.execution_count for c in merged.cells if c.cell_type == "code"] == [1, 2, 3, 4]
    assert merged.cells[3].outputs[0]["execution_count"] == 3
    nbformat.validate(merged)


def test_a_notebook_with_a_failing_cell_is_not_stored(tmp_path):
    good = _write(tmp_path, ["print('fine')"], "good.ipynb")
    bad = _write(tmp_path, ["print('fine')", "raise ValueError('broken chapter')", "print('later')"], "bad.ipynb")
    cache = tmp_path / "cache"
    run = _nbval(tmp_path, cache)
    assert run.returncode != 0 and "broken chapter" in run.stdout
    assert "1 executed notebook(s) stored" in run.stdout
    get_cache(str(cache)).match_cache_notebook(nbformat.read(good, as_version=4))
    with pytest.raises(KeyError):
        get_cache(str(cache)).match_cache_notebook(nbformat.read(bad, as_version=4))


def test_a_partly_run_notebook_is_not_stored(tmp_path):
    path, cache = _write(tmp_path, CELLS), tmp_path / "cache"
    run = _nbval(path, cache, "--deselect", "chapter.ipynb::Cell 3")
    assert run.returncode == 0 and "1 deselected" in run.stdout, run.stdout + run.stderr
    with pytest.raises(KeyError):
        get_cache(str(cache)).match_cache_notebook(nbformat.read(path, as_version=4))


def test_chapters_run_on_two_xdist_workers_are_all_stored(tmp_path):
    # `make notebooks` runs the chapters on two workers (-n 2 --dist loadfile): the controller empties the
    # cache once, every worker stores the chapters it ran, and the controller lists them all with their times
    later = ["x = 6 * 7", "import time; time.sleep(1); print(x)"]   # needs its first cell: runs in order
    goods = [_write(tmp_path, later, f"good{i}.ipynb") for i in range(3)]
    bad = _write(tmp_path, ["raise ValueError('broken chapter')"], "bad.ipynb")
    cache = tmp_path / "cache"
    run = _nbval(tmp_path, cache, "-n", "2", "--dist", "loadfile")
    assert run.returncode != 0 and "broken chapter" in run.stdout, run.stdout + run.stderr
    assert "3 executed notebook(s) stored" in run.stdout, run.stdout
    for good in goods:
        record = get_cache(str(cache)).match_cache_notebook(nbformat.read(good, as_version=4))
        assert record.data["execution_seconds"] > 0
        assert f"{good.name}" in run.stdout   # its time is in the summary
    with pytest.raises(KeyError):
        get_cache(str(cache)).match_cache_notebook(nbformat.read(bad, as_version=4))
    assert sorted(Path(nodeid).name for nodeid, _ in nbcache.stored_times(cache)) == [g.name for g in goods]


def test_nbval_starts_from_an_empty_cache(tmp_path):
    cache = tmp_path / "cache"
    (tmp_path / "old").mkdir()
    old = _write(tmp_path / "old", ["print('old')"])
    assert _nbval(old, cache).returncode == 0
    new = _write(tmp_path, ["print('new')"])
    assert _nbval(new, cache).returncode == 0
    with pytest.raises(KeyError):     # a chapter run by an earlier session is not kept
        get_cache(str(cache)).match_cache_notebook(nbformat.read(old, as_version=4))


def test_prepare_keeps_outputs_only_of_this_tree_and_scale(tmp_path):
    cache = tmp_path / "cache"
    assert nbcache.prepare(cache, scale="ci") is False
    (cache / "marker").write_text("an executed chapter")
    assert nbcache.prepare(cache, scale="ci") is True and (cache / "marker").exists()
    assert nbcache.prepare(cache, scale="cpu") is False and not (cache / "marker").exists()
    assert json.loads((cache / nbcache.STAMP_NAME).read_text())["scale"] == "cpu"
    (cache / "marker").write_text("x")
    (cache / nbcache.STAMP_NAME).write_text("{not json")
    assert nbcache.prepare(cache, scale="cpu") is False and not (cache / "marker").exists()
    (cache / "marker").write_text("x")
    assert nbcache.prepare(cache, scale="cpu", wipe=True) is False and not (cache / "marker").exists()


def test_the_stamp_follows_the_package_source(tmp_path, monkeypatch):
    (tmp_path / "vidlearn" / "models").mkdir(parents=True)
    (tmp_path / "vidlearn" / "models" / "c3d.py").write_text("WIDTH = 64\n")
    (tmp_path / "_config.yml").write_text("title: x\n")
    monkeypatch.setattr(nbcache, "ROOT", tmp_path)
    first = nbcache.stamp("ci")
    assert nbcache.stamp("ci") == first
    (tmp_path / "vidlearn" / "models" / "c3d.py").write_text("WIDTH = 32\n")
    changed = nbcache.stamp("ci")
    assert changed["source"] != first["source"]
    (tmp_path / "vidlearn" / "models" / "__pycache__").mkdir()
    (tmp_path / "vidlearn" / "models" / "__pycache__" / "c3d.cpython-311.pyc").write_bytes(b"\0")
    assert nbcache.stamp("ci") == changed          # byte code is not source
    (tmp_path / "_config.yml").write_text("title: y\n")
    assert nbcache.stamp("ci")["source"] != changed["source"]
    assert nbcache.stamp("cpu")["scale"] == "cpu" != changed["scale"]
