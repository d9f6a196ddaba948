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
    first = _cells(path)[0]
    assert first["cell_type"] == "code" and "".join(first["source"]).strip() == setup_cell_source(), (
        f"{path.name}: the first cell must be the shared setup cell (see tests/test_notebooks.py)"
    )
    assert "remove-cell" in first.get("metadata", {}).get("tags", []), f"{path.name}: hide the setup cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_opens_with_its_title_and_a_motivation(path):
    """One chapter shape: the cell after the setup holds the title and at least one paragraph of motivation."""
    second = _cells(path)[1]
    text = "".join(second["source"])
    assert second["cell_type"] == "markdown" and text.startswith("# "), \
        f"{path.name}: the second cell must be the chapter's title"
    title, _, rest = text.partition("\n")
    paragraph = rest.strip().split("\n\n")[0]
    assert len(paragraph) >= 200 and not paragraph.startswith(("**", "```", "-")), \
        f"{path.name}: the title must be followed by a motivation paragraph, found {paragraph[:60]!r}"


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


def test_notation_and_glossary_pages_are_in_the_book_and_linked_from_the_intro():
    toc = (ROOT / "_toc.yml").read_text()
    intro = (ROOT / "book" / "intro.md").read_text()
    for page in ("notation", "glossary"):
        assert f"file: book/{page}" in toc, f"book/{page}.md is not in _toc.yml"
        assert f"{{doc}}`{page}`" in intro, f"the intro does not link the {page} page"
    glossary = (ROOT / "book" / "glossary.md").read_text()
    assert "```{glossary}" in glossary and ":sorted:" in glossary
    # the terms the issue asked for, each defined once (Sphinx -W fails a {term} role to a missing one)
    terms = re.findall(r"^(\S[^\n]*)$", glossary.split("```{glossary}", 1)[1], flags=re.M)
    for term in ("Top-1", "Hit@1", "mAP", "iDT", "CNN-M", "conv5", "fc8", "SVM", "VLAD", "Fisher vector", "TLE",
                 "Drop path", "MLP ratio"):
        assert terms.count(term) == 1, f"glossary: {term!r} defined {terms.count(term)} times"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_has_two_exercises_and_a_checked_one_with_its_solution_collapsed(path):
    cells = _cells(path)
    markdown = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "## Exercises" in markdown, f"{path.name}: no Exercises section"
    section = markdown.split("## Exercises", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"^\d+\. ", section, flags=re.M)) >= 2, f"{path.name}: fewer than two exercises"
    code = [("".join(c["source"]), c.get("metadata", {}).get("tags", [])) for c in cells if c["cell_type"] == "code"]
    stubs = [src for src, _ in code if "from vidlearn.exercises import check_" in src and "NotImplementedError" in src]
    assert stubs, f"{path.name}: no exercise checked by vidlearn.exercises"
    checker = re.search(r"import (check_\w+)", stubs[0]).group(1)
    solutions = [src for src, tags in code if "hide-cell" in tags and f"assert {checker}(" in src]
    assert solutions, f"{path.name}: no collapsed (hide-cell) solution asserting {checker}"
    assert solutions[0].startswith("# Solution"), f"{path.name}: the solution cell should say what it is"


# Chapters about one paper (all but the foundations, the summary and the practice chapter) follow one shape:
# setup cell, title and motivation, "the paper at a glance", learning goals, ...
NOT_ONE_PAPER = {"working_with_video", "summary", "using_vidlearn", "your_own_videos"}
GLANCE_FIELDS = ["Paper", "Venue", "Idea", "Input", "Backbone", "Headline", "Official code",
                 "Since the previous chapter"]


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem not in NOT_ONE_PAPER], ids=lambda p: p.stem)
def test_paper_chapters_have_the_paper_at_a_glance_between_motivation_and_learning_goals(path):
    cells = _cells(path)
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    box = re.search(r"```\{admonition\} The paper at a glance\n(.*?)```", markdown, re.S)
    assert box, f"{path.name}: no 'The paper at a glance' admonition"
    fields = re.findall(r"^- \*\*([^*]+)\*\*:", box.group(1), re.M)
    assert fields == GLANCE_FIELDS, f"{path.name}: the box's fields are {fields}, expected {GLANCE_FIELDS}"
    title, goals = markdown.find("\n# ") if not markdown.startswith("# ") else 0, markdown.find("Learning goals")
    assert 0 <= title < box.start() < goals, f"{path.name}: the box must come after the title, before the goals"
    kinds = ["".join(c["source"]).lstrip()[:40] for c in cells[2:4]]
    assert kinds[0].startswith("```{admonition} The paper at a glance") and kinds[1].startswith(
        "**Learning goals**"), f"{path.name}: after the title come the paper box and the learning goals, each " \
        f"in its own cell; found {kinds}"
    previous = re.search(r"^- \*\*Since the previous chapter\*\*: \[[^\]]+\]\((\w+)\.ipynb\)", box.group(1), re.M)
    order = re.findall(r"file: book/(\w+)", (ROOT / "_toc.yml").read_text())
    before = order[order.index(path.stem) - 1]
    assert previous and previous.group(1) == before, \
        f"{path.name}: 'Since the previous chapter' must link the chapter before it in the book, {before}.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapters_link_the_glossary_where_its_terms_are_first_used(path):
    block = (ROOT / "book" / "glossary.md").read_text().split("```{glossary}", 1)[1].split("\n```", 1)[0]
    glossary = {ln for ln in block.splitlines() if ln.strip() and not ln.startswith((" ", ":"))}  # the terms
    markdown = "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")
    linked = [m.group(2) or m.group(1) for m in re.finditer(r"\{term\}`([^`<]+?)(?: <([^>]+)>)?`", markdown)]
    assert linked, f"{path.name}: no glossary term is linked ({{term}}`...`)"
    unknown = [t for t in linked if t not in glossary]
    assert not unknown, f"{path.name}: {{term}} links to terms the glossary does not define: {unknown}"


CODE_COLUMN = 90  # characters of code the book's page shows without a sideways scroll


CELL_LINES = 30  # a code cell a reader sees: about 25 lines, never more than this


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_code_comes_in_short_cells(path):
    """A reader sees code a screenful at a time: a longer cell is split where its steps meet, or its work
    moves into the library (the setup cell and hidden checks are not shown)."""
    long = [(i, n) for i, c in enumerate(_cells(path)) if c["cell_type"] == "code" and i > 0
            and "remove-cell" not in c.get("metadata", {}).get("tags", [])
            for n in [len("".join(c["source"]).splitlines())] if n > CELL_LINES]
    assert not long, f"{path.name}: code cells over {CELL_LINES} lines (cell, lines): {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_sizes_come_from_the_preset_not_its_name(path):
    """A chapter reads its sizes from the preset (``P.train_samples``, ``P.recipe(...)``), never picks them by
    the preset's name (``3000 if P.name == "ci" else ...``): a size is then the same at every preset it names."""
    import re

    pick = re.compile(r"\bif\s+(not\s+)?(P\.name|ON_CPU)\b.*\belse\b|\bON_CPU\s*=")
    bad = [(i, ln.strip()) for i, c in enumerate(_cells(path)) if c["cell_type"] == "code"
           for ln in "".join(c["source"]).splitlines() if pick.search(ln)]
    assert not bad, f"{path.name}: sizes picked by the preset's name, cell {bad[0][0]}: {bad[0][1]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_code_fits_the_page(path):
    """Code cells readers see keep their lines within the page's code column (the setup cell is hidden)."""
    long = [(i, ln) for i, c in enumerate(_cells(path)) if c["cell_type"] == "code" and i > 0
            for ln in "".join(c["source"]).splitlines() if len(ln) > CODE_COLUMN]
    assert not long, f"{path.name}: {len(long)} code lines over {CODE_COLUMN} characters, e.g. cell " \
                     f"{long[0][0]}: {long[0][1]!r}"
