"""Every figure a reader sees says, in the prose next to it, what to look at (issue 16).

A *figure cell* is a code cell without the ``remove-cell`` tag that shows a figure:

- a top-level statement ``<anything>.show()`` or ``<anything>.plot(...)`` (``History.plot``), anywhere in the
  cell (``fig.show()`` may come before the sentences a cell computes from the run);
- or, as the cell's last statement (the value Jupyter displays), a call to ``plot_histories(...)``,
  ``accuracy_bars(...)`` or ``viz.<anything>(...)``.

Such a cell is captioned when

- the next cell is a markdown cell that starts with ``**What to look at.**``, or
- the nearest markdown cell above it, with only non-figure code cells between (computations, checks),
  starts with ``**What to look at.**`` (for a cell that shows its figure before computed sentences) or
  contains a phrase that directs the eye: "look at", "compare", "watch how", "move the slider", "hover",
  "the figure shows", "the figure compares", "the bars show", "switch between".

A caption must not state the run's result (the chapters compute those sentences below the figures); this
test cannot check that, only that the caption is there.
"""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))

CAPTION_START = "**What to look at.**"
DIRECTING = re.compile(
    # "what to look at" in running prose is not a direction (I3D: "knowing *what to look at*")
    r"\b((?<!what to )look at|compare|watch how|move the slider|hover|the figure shows|the figure compares|"
    r"the bars show|switch between)\b",
    re.IGNORECASE,
)
SHOWN_WHEN_LAST = ("plot_histories", "accuracy_bars")


def _source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _shows_a_figure(source: str) -> bool:
    tree = ast.parse(source)
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in (
            "show",
            "plot",
        ):
            return True
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return False
    last = tree.body[-1].value
    if not isinstance(last, ast.Call):
        return False
    if isinstance(last.func, ast.Name):
        return last.func.id in SHOWN_WHEN_LAST
    root = last.func
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and root.id == "viz"


def is_figure_cell(cell) -> bool:
    return (
        cell["cell_type"] == "code"
        and "remove-cell" not in cell.get("metadata", {}).get("tags", [])
        and _shows_a_figure(_source(cell))
    )


def is_captioned(cells, i) -> bool:
    nxt = cells[i + 1] if i + 1 < len(cells) else None
    if nxt is not None and nxt["cell_type"] == "markdown" and _source(nxt).lstrip().startswith(CAPTION_START):
        return True
    j = i - 1
    while j >= 0 and cells[j]["cell_type"] == "code" and not is_figure_cell(cells[j]):
        j -= 1
    if j < 0 or cells[j]["cell_type"] != "markdown":
        return False
    text = _source(cells[j])
    return text.lstrip().startswith(CAPTION_START) or bool(DIRECTING.search(text))


def uncaptioned(cells):
    """Indices of the figure cells that have no caption, with the first line of each."""
    return [
        (i, _source(c).strip().splitlines()[0])
        for i, c in enumerate(cells)
        if is_figure_cell(c) and not is_captioned(cells, i)
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_says_what_to_look_at(path):
    cells = json.loads(path.read_text())["cells"]
    missing = uncaptioned(cells)
    assert not missing, (
        f"{path.name}: figure cells without a caption (add a markdown cell after each that starts with "
        f"{CAPTION_START!r}, or say in the markdown before it what to look at): {missing}"
    )


def test_the_detection_sees_the_book_idioms():
    figure = ["fig.show()", "plot_histories(h)", "accuracy_bars(a, chance=0.25)", "viz.clip_player(c)",
              "history.plot(title='t')", "fig.show()\ndisplay(Markdown('computed'))",
              "frame_grid(c, cols=8).show()"]
    not_figure = ["print(1)", "fig = plot_histories(h)", "x = viz.color_cycle()", "plot_histories(h)\nprint(1)"]
    for src in figure:
        assert _shows_a_figure(src), src
    for src in not_figure:
        assert not _shows_a_figure(src), src


def test_a_figure_without_a_caption_is_caught():
    def md(text):
        return {"cell_type": "markdown", "metadata": {}, "source": [text]}

    def code(text, tags=()):
        return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": [text]}

    bare = [md("We train two models."), code("h = fit(m, d)"), code("fig.show()")]
    assert uncaptioned(bare) == [(2, "fig.show()")]
    after = bare + [md(f"{CAPTION_START} Compare the dashed curves.")]
    assert uncaptioned(after) == []
    prose = [md("A 2D start brings knowing *what to look at*."), code("fig.show()")]
    assert uncaptioned(prose) == [(1, "fig.show()")]
    above = [md(f"{CAPTION_START} Below, first the bars."), code("fig.show()\ndisplay(Markdown(s))")]
    assert uncaptioned(above) == []
    before = [md("Move the slider to step through the frames."), code("x = 1", ["remove-cell"]), code("fig.show()")]
    assert uncaptioned(before) == []
    # a caption covers one figure: the second of two figures in a row needs its own
    two = [md("Compare the bars."), code("fig.show()"), code("plot_histories(h)")]
    assert uncaptioned(two) == [(2, "plot_histories(h)")]
