"""The book's one table of published numbers (vidlearn.published), and the scanner that keeps the book to it.

Every entry names its paper (a key of book/references.bib), where in it, its unit, and for accuracies the
dataset and setting. The scanner reads every chapter (markdown and code), book/intro.md and the figure modules
(vidlearn/viz/*.py) and fails, naming file, cell and number, on a published-looking number (a percentage, mAP,
G multiply-adds, M parameters, GB, "x faster", ms) that is not a value of the table (or the survey's figure
of an entry). Markdown may write a table number out (for readers in Colab and Jupyter); code cells and figure
modules must read it with ``number(key)`` / ``fmt(key)``, so there any such number typed as text fails. Numbers
a chapter computes at run time (f-string placeholders, computed values) are not text and are not scanned.
"""

from __future__ import annotations

import ast
import io
import json
import re
import sys
import tokenize
import types
from pathlib import Path
from typing import Iterator, List, NamedTuple, Tuple

import pytest

from vidlearn import list_models, published
from vidlearn.published import NUMBERS, PAPERS, fmt, number
from vidlearn.viz.style import ERA_COLORS

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"

# ------------------------------------------------------------------------------------------------------
# the table


def bib_keys() -> set:
    return set(re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(), flags=re.M))


def test_every_number_names_a_bibliography_paper_where_and_unit():
    keys = bib_keys()
    for n in NUMBERS.values():
        assert n.paper in keys, f"{n.key}: paper {n.paper!r} is not a key of {BIB.name}"
        assert n.where.strip(), f"{n.key}: no table or section"
        assert n.unit.strip(), f"{n.key}: no unit"
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", n.key), f"{n.key}: keys are dotted lower-case"


def test_every_accuracy_states_dataset_and_setting():
    for n in NUMBERS.values():
        if n.unit in ("%", "mAP") and n.paper != "zhu2020comprehensive":
            assert n.setting.strip(), f"{n.key}: an accuracy needs its setting (backbone, modalities, ...)"
        if n.unit == "mAP" or (n.unit == "%" and "share" not in n.setting):
            assert n.dataset.strip(), f"{n.key}: an accuracy needs its dataset and split"


def test_keys_are_unique_and_a_duplicate_is_refused(monkeypatch):
    assert len(published._NUMBERS) == len(NUMBERS)
    # the module itself refuses a key listed twice: run its source with one entry doubled
    src = Path(published.__file__).read_text()
    head = "_NUMBERS: List[Number] = [\n"
    twice = '    Number("x.twice", 1.0, "%", "p", "w"),\n' * 2
    copy = types.ModuleType("published_doubled")
    monkeypatch.setitem(sys.modules, copy.__name__, copy)  # dataclasses look their module up
    with pytest.raises(ValueError, match="'x.twice' is listed twice"):
        exec(compile(src.replace(head, head + twice), copy.__name__, "exec"), copy.__dict__)


def test_number_names_close_keys_when_missing():
    with pytest.raises(KeyError, match="tsn.ucf101"):
        number("tsn.ucf10")


def test_fmt_prints_accuracies_as_the_papers_do():
    assert fmt("two_stream.ucf101") == "88.0%"
    assert fmt("two_stream.ucf101", 0) == "88%"
    assert fmt("slowfast.ava") == "28.3 mAP"
    assert fmt("timesformer.gpu_memory") == "32 GB"


def test_papers_cite_the_bibliography_name_registered_models_and_known_numbers():
    keys, models = bib_keys(), set(list_models())
    assert len({p.name for p in PAPERS}) == len(PAPERS)
    for p in PAPERS:
        assert p.cite in keys and p.model in models and p.era in ERA_COLORS, p.name
        for k in p.numbers:
            assert k in NUMBERS and NUMBERS[k].paper == p.cite, (p.name, k)


def test_survey_differences_are_explained():
    for n in NUMBERS.values():
        if n.survey is not None:
            assert n.survey != n.value and "survey" in n.note, f"{n.key}: say why the survey differs"


# ------------------------------------------------------------------------------------------------------
# the scanner

NUM = r"(?<![\w.])(?<![A-Za-z]-)(\d+(?:\.\d+)?)"  # not part of a word, a decimal or a name like UCF-101
PATTERNS = [  # (regex, unit group)
    (NUM + r"\s?%", "%"),
    (NUM + r"\s?mAP\b", "mAP"),
    (NUM + r"\s?(?:G|billion)\s?(?:FLOPs?|MACs|multiply-adds)", "G"),
    (NUM + r"\s?M\s?param", "M params"),
    (NUM + r"\s?GB\b", "GB"),
    (NUM + r"\s?ms\b", "ms"),
    (NUM + r"\s?(?:x|×|times) (?:faster|cheaper|fewer|less)", "x"),
]


def unit_group(unit: str) -> str:
    if unit.startswith("M param"):
        return "M params"
    if unit.startswith("G") and unit != "GB":
        return "G"
    return unit


# Numbers that look published but are the book's own, each with its reason: (file, number as written, reason)
ALLOWED: List[Tuple[str, str, str]] = [
    ("book/two_stream.ipynb", "95%", "SyntheticActions' scene mode: the look matches the class in 95% of clips"),
    ("book/tsn.ipynb", "1 GB", "the chapter's own cap on the memory of its stored clips"),
    ("book/snippets.ipynb", "4 GB", "the chapter's own cap on the memory of its stored clips"),
    ("book/c3d.ipynb", "80M param", "vidlearn's C3D at 16x112x112 (79,991,015 parameters, computed)"),
    ("book/r2plus1d.ipynb", "33.4M param", "vidlearn's R3D-18 / R(2+1)D-18 with the paper's M_i rule "
                                           "(tests/test_video_resnet.py)"),
    ("book/c3d.ipynb", "38.5 G multiply-adds", "vidlearn's own count of C3D at 16x112x112, asserted as a "
                                               "regression guard (not a paper's figure)"),
    ("book/timesformer.ipynb", "50%", "chance-level reasoning about four balanced classes (half of them told)"),
    ("book/timesformer.ipynb", "35%", "the chapter's own band for the plateau of its training curve"),
    ("book/timesformer.ipynb", "65%", "the chapter's own band for the plateau of its training curve"),
    ("book/timesformer.ipynb", "75%", "the chapter's own threshold for a learned model"),
]


class Hit(NamedTuple):
    file: str
    cell: str
    text: str  # the number as written, with its unit
    why: str  # "not in the table" or "typed in code"


def numbers_in(text: str) -> Iterator[Tuple[str, str, str]]:
    """(number as written, value, unit group) for every published-looking number in ``text``."""
    found = {}
    for rx, group in PATTERNS:
        for m in re.finditer(rx, text):
            found.setdefault(m.start(), (" ".join(m.group(0).split()), m.group(1), group))
    yield from (found[k] for k in sorted(found))


def _strings(node: ast.AST) -> Iterator[str]:
    """The literal text of a code cell: string constants and the literal parts of f-strings, not placeholders."""
    if isinstance(node, ast.JoinedStr):
        for v in node.values:
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                yield v.value
            elif isinstance(v, ast.FormattedValue):  # a run-time value: skip it and its format spec
                yield from _strings(v.value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    else:
        for child in ast.iter_child_nodes(node):
            yield from _strings(child)


def code_text(src: str, where: str) -> str:
    """A code cell's (or module's) literal strings and comments, joined: what a reader sees as text."""
    lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]  # IPython magics
    src = "\n".join(lines)
    try:
        tree = ast.parse(src)
    except SyntaxError as e:
        raise AssertionError(f"{where}: cannot parse the code to scan it ({e})") from None
    parts = list(_strings(tree))
    parts += [t.string for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type == tokenize.COMMENT]
    return "\n".join(parts)


def sources(root: Path = ROOT) -> Iterator[Tuple[str, str, str, str]]:
    """(file, cell, kind, text to scan) for every chapter cell, book/intro.md and every figure module.

    ``kind`` is ``"prose"`` (markdown: table numbers may be written out) or ``"code"`` (they must be read).
    """
    for nb_path in sorted((root / "book").glob("*.ipynb")):
        rel = str(nb_path.relative_to(root))
        for i, cell in enumerate(json.loads(nb_path.read_text())["cells"]):
            src = "".join(cell["source"])
            cid = f"cell {i} (id {cell.get('id', '?')})"
            if cell["cell_type"] == "code":
                yield rel, cid, "code", code_text(src, f"{rel} {cid}")
            else:
                yield rel, cid, "prose", src
    intro = root / "book" / "intro.md"
    yield str(intro.relative_to(root)), "text", "prose", intro.read_text()
    for py in sorted((root / "vidlearn" / "viz").glob("*.py")):
        rel = str(py.relative_to(root))
        yield rel, "module", "code", code_text(py.read_text(), rel)


def table_values() -> dict:
    """unit group -> [(value, paper, the survey states it)] for every entry's value and survey figure."""
    values: dict = {}
    for n in NUMBERS.values():
        values.setdefault(unit_group(n.unit), []).append((float(n.value), n.paper, "seed survey's" in n.note))
        if n.survey is not None:
            values[unit_group(n.unit)].append((float(n.survey), n.paper, True))
    return values


def in_table(value: str, group: str, values: dict, text: str) -> bool:
    """A written number matches a table entry of its unit, rounded to the decimals it is written with, whose
    paper ``text`` (the whole chapter) cites, or the survey when the number is the survey's: a number of a
    paper the chapter does not cite does not vouch for it."""
    decimals = len(value.split(".")[1]) if "." in value else 0
    return any(round(v, decimals) == float(value) and (paper in text or by_survey and "zhu2020comprehensive" in text)
               for v, paper, by_survey in values.get(group, []))


def unpublished(srcs) -> List[Hit]:
    values, allowed = table_values(), {(f, t) for f, t, _ in ALLOWED}
    srcs = list(srcs)
    chapter: dict = {}
    for file, _, _, text in srcs:
        chapter[file] = chapter.get(file, "") + "\n" + text
    hits = []
    for file, cell, kind, text in srcs:
        for written, value, group in numbers_in(text):
            if any(f == file and written.replace(" ", "").startswith(t.replace(" ", "")) for f, t in allowed):
                continue
            if kind == "code":
                hits.append(Hit(file, cell, written, "typed in code: read it with number()/fmt()"))
            elif not in_table(value, group, values, chapter[file]):
                hits.append(Hit(file, cell, written, "not in vidlearn.published"))
    return hits


def test_scanner_finds_a_published_number_that_is_not_in_the_table():
    md = ("The paper reached 91.7% on UCF101, 12.3 mAP, 42 GFLOPs and 7.5M\nparameters; TSN 94.0% "
          "{footcite:p}`wang2016temporal`.")
    code = code_text('x = 3\nprint(f"{x:.0%} computed, but 88.0% typed")  # 61.2%', "fake")
    hits = unpublished([("fake.ipynb", "cell 0", "prose", md), ("fake.ipynb", "cell 1", "code", code)])
    assert [(h.cell, h.text) for h in hits] == [
        ("cell 0", "91.7%"), ("cell 0", "12.3 mAP"), ("cell 0", "42 GFLOPs"), ("cell 0", "7.5M param"),
        ("cell 1", "88.0%"), ("cell 1", "61.2%")]  # in code even a table number must be read, not typed
    assert "typed in code" in hits[-1].why and "not in" in hits[0].why


def test_scanner_accepts_table_numbers_in_prose_and_skips_run_time_values():
    text = code_text('acc = 0.5\ns = f"{acc:.1%} here; the paper: {fmt(\'tsn.ucf101\')}"', "fake")
    assert "%" not in text  # placeholders and their format specs are run-time values, not text
    assert unpublished([("fake.ipynb", "cell 0", "code", text)]) == []
    prose = ("TSN reached 94.0% (about 94%) {footcite:p}`wang2016temporal`; the survey quotes Fusion at 91.5% "
             "{footcite:p}`feichtenhofer2016convolutional`; UCF-101 has 101 classes")
    assert unpublished([("fake.ipynb", "cell 0", "prose", prose)]) == []
    # a table value only counts when the chapter cites its paper: 80% is SlowFast's P-cells, not TSN's
    uncited = unpublished([("fake.ipynb", "cell 0", "prose", "TSN reached 80% {footcite:p}`wang2016temporal`")])
    assert [h.text for h in uncited] == ["80%"]


def test_allowed_numbers_each_give_a_reason_and_are_still_in_the_book():
    srcs = list(sources())
    for file, written, reason in ALLOWED:
        assert len(reason) > 20, (file, written)
        texts = [t for f, _, _, t in srcs if f == file]
        assert any(written.replace(" ", "") in t.replace(" ", "") for t in texts), \
            f"{file}: allowed number {written!r} no longer appears; drop it from ALLOWED"


def test_no_chapter_or_figure_states_a_published_number_missing_from_the_table():
    hits = unpublished(sources())
    assert not hits, "published-looking numbers outside vidlearn.published (add them to the table with their " \
                     "source, or drop them):\n" + "\n".join(f"  {h.file}, {h.cell}: {h.text} ({h.why})" for h in hits)


def test_every_kinetics_accuracy_names_its_test_views():
    """Kinetics numbers differ by several points between 1 view and 30: each entry says how it was tested."""
    import re

    from vidlearn import published

    unnamed = [n.key for n in published._NUMBERS if n.unit == "%" and "Kinetics" in n.dataset
               and not re.search(r"view|clip|crop|whole video", n.setting + " " + n.note, re.I)]
    assert not unnamed, f"Kinetics accuracies without their test views (clips x crops): {unnamed}"
