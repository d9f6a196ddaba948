"""Execute the chapters once for both nbval and the book build.

`make test` checks every chapter with nbval and builds the book with warnings as errors. Both used to
execute every chapter, so the chapters ran twice. This module lets the nbval run hand its executed
notebooks to Jupyter Book: as a pytest plugin (``-p tests.book.nbcache --book-cache DIR``) it writes each
chapter whose every cell passed, with the outputs nbval received from the kernel, into Jupyter Book's
execution cache (jupyter-cache, keyed on the chapter's code cells). The book build (``execute_notebooks:
cache``) then renders those outputs and executes only what is not there.

The cache knows the chapters' code but not the package they import, nor the scale they ran at. So the
directory carries a stamp: a digest of vidlearn/, the pins, _config.yml, the scale preset and the versions
of the main libraries. ``python tests/book/nbcache.py prepare DIR`` (run by ``make book`` and
``make book-check`` before building) empties the cache when its stamp is not the current one, so a book is
never built from outputs of other code or another scale. The plugin always starts from an empty cache.

Only notebooks whose every code cell ran and passed in this session are stored; a failed, skipped or
deselected cell leaves the chapter out (the book build then executes it itself and fails on its error).

The plugin works under pytest-xdist (``-n 2 --dist loadfile``: each chapter runs whole on one worker, as nbval
needs): the controller empties the cache and creates its database once, the workers store their chapters
under a file lock, and each stored chapter's time goes to ``TIMES_NAME`` in the cache, which the controller
prints at the end.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAMP_NAME = "vidlearn-stamp.json"
TIMES_NAME = "nbval-seconds.jsonl"   # one {"nodeid", "seconds"} line per stored chapter
LOCK_NAME = ".vidlearn-lock"
# what the chapters' outputs depend on besides their own code cells
SOURCES = ("vidlearn", "requirements.txt", "pyproject.toml", "_config.yml")
LIBRARIES = ("torch", "torchvision", "numpy", "plotly", "opencv-contrib-python-headless", "av", "decord")


def scale_name() -> str:
    """The preset a chapter run now would use (``$VIDLEARN_SCALE``, else vidlearn's default)."""
    sys.path.insert(0, str(ROOT))
    try:
        from vidlearn.scale import preset
    finally:
        sys.path.pop(0)
    return preset().name


def _source_files():
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for sub in sorted(path.rglob("*")):
                if sub.is_file() and "__pycache__" not in sub.parts and sub.suffix != ".pyc":
                    yield sub


def stamp(scale: str | None = None) -> dict:
    """What the cached outputs were computed from: source digest, scale, Python and library versions."""
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    return {"source": digest.hexdigest(), "scale": scale or scale_name(),
            "python": ".".join(map(str, sys.version_info[:3])), "libraries": versions}


def read_stamp(cache: Path) -> dict | None:
    try:
        return json.loads((cache / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return None


def prepare(cache: Path, *, wipe: bool = False, scale: str | None = None) -> bool:
    """Empty ``cache`` unless its stamp is the current one; write the current stamp. True if it was kept."""
    cache = Path(cache)
    current = stamp(scale)
    kept = not wipe and read_stamp(cache) == current
    if not kept:
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / (STAMP_NAME + ".tmp")
        tmp.write_text(json.dumps(current, indent=1, sort_keys=True))
        os.replace(tmp, cache / STAMP_NAME)
    return kept


def executed_notebook(nb, outputs: dict[int, list]):
    """A copy of ``nb`` whose code cells carry ``outputs[i]`` (the i-th code cell's) and execution counts."""
    import nbformat

    done = copy.deepcopy(nb)
    code = [cell for cell in done.cells if cell.cell_type == "code"]
    if sorted(outputs) != list(range(len(code))):
        raise ValueError(f"outputs for code cells {sorted(outputs)}, the notebook has {len(code)}")
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count
        cell.outputs = []
        for out in outputs[count - 1]:
            out = nbformat.from_dict(copy.deepcopy(dict(out)))
            if out.output_type == "execute_result":
                out.execution_count = count
            cell.outputs.append(out)
    nbformat.validate(done)
    return done


@contextmanager
def _locked(cache: Path):
    """Hold the cache's lock file (one writer at a time: the xdist workers share the cache)."""
    with open(Path(cache) / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create(cache: Path) -> None:
    """Create the cache's database now, once, before workers write to it."""
    from jupyter_cache import get_cache

    get_cache(str(cache)).list_cache_records()


def store(cache: Path, path: Path, nb, seconds: float, nodeid: str | None = None) -> int:
    """Cache ``nb`` (executed) as the outputs of the notebook file ``path``; returns the record's id.

    With ``nodeid`` the chapter's time is also appended to the cache's ``TIMES_NAME`` file.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    with _locked(cache):
        record = get_cache(str(cache)).cache_notebook_bundle(
            CacheBundleIn(nb, str(Path(path).resolve()), data={"execution_seconds": seconds}),
            check_validity=False, overwrite=True)
        if nodeid is not None:
            with open(Path(cache) / TIMES_NAME, "a") as times:
                times.write(json.dumps({"nodeid": nodeid, "seconds": round(seconds, 1)}) + "\n")
    return record.pk


def stored_times(cache: Path) -> list:
    """(nodeid, seconds) of every chapter stored in this session, in the order they were stored."""
    try:
        lines = (Path(cache) / TIMES_NAME).read_text().splitlines()
    except OSError:
        return []
    rows = [json.loads(line) for line in lines if line.strip()]
    return [(row["nodeid"], row["seconds"]) for row in rows]


# ---------------------------------------------------------------------------------------- pytest plugin
def pytest_addoption(parser):
    parser.addoption("--book-cache", default=None, metavar="DIR",
                     help="write every notebook that passed nbval, with its outputs, into Jupyter Book's "
                          "execution cache DIR (emptied first)")


def pytest_configure(config):
    cache = config.getoption("book_cache")
    if cache:
        if not hasattr(config, "workerinput"):   # the controller (or a run without xdist) starts it empty
            prepare(Path(cache), wipe=True)
            create(Path(cache))
        config.pluginmanager.register(_Recorder(Path(cache)), "vidlearn-book-cache")


class _Recorder:
    def __init__(self, cache: Path):
        self.cache = cache
        self.outputs: dict = {}   # notebook node -> {code cell number: outputs}
        self.failed: set = set()
        self.started: dict = {}

    def _cell(self, item):
        from nbval.plugin import IPyNbCell

        return isinstance(item, IPyNbCell)

    def pytest_runtest_logreport(self, report):
        if report.failed or report.skipped:
            self.failed.add(report.nodeid.rsplit("::", 1)[0])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        if not self._cell(item):
            yield
            return
        notebook = item.parent
        self.started.setdefault(notebook, time.perf_counter())
        yield
        if item.test_outputs is not None:
            self.outputs.setdefault(notebook, {})[item.cell_num] = list(item.test_outputs)
        if nextitem is None or nextitem.parent is not notebook:
            self._finish(notebook)

    def _finish(self, notebook):
        outputs = self.outputs.pop(notebook, {})
        if notebook.nodeid in self.failed:
            return
        try:
            nb = executed_notebook(notebook.nb, outputs)
        except ValueError:     # a cell did not run (deselected, -x), or nbval's outputs are not valid
            return
        seconds = time.perf_counter() - self.started.pop(notebook)
        store(self.cache, Path(str(notebook.fspath)), nb, seconds, nodeid=notebook.nodeid)

    def pytest_terminal_summary(self, terminalreporter, config):
        if hasattr(config, "workerinput"):
            return
        stored = stored_times(self.cache)   # written by whichever process ran each chapter
        for nodeid, seconds in stored:  # each chapter's time under nbval, as the README's table gives it
            terminalreporter.write_line(f"{seconds:8.1f} s  {nodeid}")
        terminalreporter.write_line(
            f"book cache {self.cache}: {len(stored)} executed notebook(s) stored for the book build")


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["prepare", "stamp"])
    parser.add_argument("cache", type=Path, nargs="?", default=ROOT / "_build" / ".jupyter_cache")
    args = parser.parse_args(argv)
    if args.command == "stamp":
        print(json.dumps(stamp(), indent=1, sort_keys=True))
        return 0
    kept = prepare(args.cache)
    scale = read_stamp(args.cache)["scale"]
    print(f"{args.cache}: " + ("outputs of this tree at " + scale + " kept" if kept else
                               "emptied: no outputs of this tree at " + scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
