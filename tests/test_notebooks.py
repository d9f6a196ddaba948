"""The chapters as files: the shared Colab setup cell, no committed outputs, and a TOC that lists them all."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def repository_url() -> str:
    """The one place the repository URL is kept: _config.yml's repository.url."""
    m = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M)
    assert m, "_config.yml has no repository.url"
    return m.group(1)


def setup_cell_source() -> str:
    url = repository_url()
    return (
        "# Setup: on Colab, install vidlearn from the book's repository; elsewhere this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q",\n'
        f'                    "vidlearn[samples] @ git+{url}@main"], check=True)'
    )


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_shared_setup_cell(path):
    first_code = next(c for c in _cells(path) if c["cell_type"] == "code")
    assert "".join(first_code["source"]).strip() == setup_cell_source(), (
        f"{path.name}: the first code cell must be the shared setup cell (see tests/test_notebooks.py)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c["outputs"] or
                                                                                 c["execution_count"])]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_sizes_from_the_scale_preset(path):
    src = "".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code")
    assert "preset(" in src and ".describe()" in src, f"{path.name}: must read and print its scale preset"


def test_toc_lists_exactly_the_chapters_that_exist():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file:\s*(\S+)", toc)) | set(re.findall(r"root:\s*(\S+)", toc))
    for entry in listed:
        assert list(ROOT.glob(entry + ".*")), f"_toc.yml lists {entry}, which does not exist"
    for nb in NOTEBOOKS:
        assert f"book/{nb.stem}" in listed, f"{nb.name} is not in _toc.yml"


def test_setup_cell_url_matches_the_package_metadata():
    assert repository_url() in (ROOT / "pyproject.toml").read_text()
