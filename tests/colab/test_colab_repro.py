"""Fast checks of the Colab reproduction script (the run itself is `make colab-check`)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("colab_repro", HERE / "colab_repro.py")
colab_repro = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_repro)


def test_the_setup_cell_is_run_with_only_its_url_replaced(tmp_path):
    original = colab_repro.setup_cell_source()
    local = colab_repro.colab_setup_source(tmp_path)
    remote = f"git+{colab_repro.repository_url()}@main"
    assert local == original.replace(remote, tmp_path.as_uri())
    assert f'"vidlearn[samples] @ {tmp_path.as_uri()}"' in local
    compile(local, "setup-cell", "exec")


def test_the_image_is_the_shared_colab_list():
    """colab-image.txt holds the versions of ../shared/colab's list (but Sphinx) and Python 3.13."""
    minor, installs = colab_repro.read_image()
    assert minor == "3.13"
    ours = {line for group in installs for line in group}
    shared = sorted((HERE.parents[2].parent / "shared" / "colab").glob("image-*.txt"))
    if shared:  # beside the checkout in CI and here; the image file must not drift from the newest list
        listed = {line.strip() for line in shared[-1].read_text().splitlines()
                  if line.strip() and not line.startswith("#")}
        assert ours == listed - {"Sphinx==8.2.3"}
    for pin in ("torch==2.11.0", "numpy==2.1.3", "plotly==5.24.1", "ipython==7.34.0", "ipywidgets==7.7.1"):
        assert pin in ours
    names = [line.split("==")[0] for line in ours]
    assert "vidlearn" not in names and "av" not in names  # those must come from vidlearn's own requirements


def test_opencv_wheels_are_installed_last_one_at_a_time_in_the_files_order():
    _, installs = colab_repro.read_image()
    assert not any(p.lower().startswith("opencv") for p in installs[0])
    assert [g for g in installs[1:]] == [["opencv-contrib-python==4.14.0.94"], ["opencv-python-headless==5.0.0.93"],
                                         ["opencv-python==5.0.0.93"]]  # cv2 ends as 5.0: no TV-L1


@pytest.mark.parametrize("text, message", [
    ("python==3.13\ntorch>=2\n", "x.txt:2: expected 'name==version', got 'torch>=2'"),
    ("torch==2.11.0\n", "x.txt: no 'python==X.Y' line"),
    ("python==3.13.15\n", "x.txt:1: expected the interpreter as 'python==X.Y'"),
])
def test_a_bad_image_line_names_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "x.txt"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        colab_repro.read_image(path)
    assert message in str(err.value).replace(str(tmp_path) + "/", "")


def test_find_python_takes_a_working_interpreter_of_that_version(monkeypatch, tmp_path):
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    monkeypatch.setenv("COLAB_PYTHON", sys.executable)
    assert colab_repro.find_python(here) is not None
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    assert colab_repro._version_of(str(broken)) is None  # e.g. a pyenv shim for a version not selected
    assert colab_repro.find_python("2.1") is None


def test_chapters_run_longest_first_by_the_last_times(monkeypatch, tmp_path):
    times = tmp_path / "nbval-seconds.jsonl"
    times.write_text("\n".join(json.dumps(r) for r in [{"nodeid": "book/a.ipynb::Cell 0", "seconds": 5},
                                                      {"nodeid": "book/b.ipynb", "seconds": 50}]) + "\nnot json\n")
    monkeypatch.setattr(colab_repro, "TIMES", times)
    chapters = [Path("book/a.ipynb"), Path("book/c.ipynb"), Path("book/b.ipynb")]
    assert [c.name for c in colab_repro.chapters_longest_first(chapters)] == ["b.ipynb", "a.ipynb", "c.ipynb"]


def test_the_copied_tree_is_installable():
    files = colab_repro.working_tree_files()
    assert "pyproject.toml" in files and "vidlearn/__init__.py" in files
    assert "tests/colab/colab-image.txt" in files
    assert not any(f.startswith((".venv/", "_build/")) for f in files)
