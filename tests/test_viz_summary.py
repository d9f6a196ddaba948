"""Summary figures: the published timeline draws each paper of vidlearn.published once; table sorting and
scatter switches are static."""

import re

import pytest

from vidlearn import list_models
from vidlearn.published import NUMBERS, PAPERS
from vidlearn.viz.style import ERA_COLORS
from vidlearn.viz.summary import (
    COLUMNS,
    SORTS,
    accuracy_cost_figure,
    comparison_table,
    published_timeline,
    sort_rows,
)

ROWS = [
    dict(model="c3d", paper="C3D", era="3D CNNs", year=2015.9, params=1000, flops=3e6, motion=0.9, scene=0.8,
         time_s=2.0),
    dict(model="two_stream", paper="Two-Stream", era="Two-Stream", year=2014.9, params=500, flops=1e6, motion=0.5,
         scene=0.95, time_s=1.0),
    dict(model="timesformer", paper="TimeSformer", era="Video Transformers", year=2021.1, params=2000, flops=2e6,
         motion=0.3, scene=0.9, time_s=3.0),
]


def test_published_papers_name_registered_models_and_known_eras():
    models = set(list_models())
    for p in PAPERS:
        assert p.model in models, p.name
        assert p.era in ERA_COLORS, p.name
        assert p.numbers or p.finding, p.name


def test_published_timeline_draws_every_paper_with_the_tables_numbers_and_buttons_toggle_eras():
    fig = published_timeline()
    assert [d.name for d in fig.data] == list(ERA_COLORS)
    assert {t for d in fig.data for t in d.text} == {p.name for p in PAPERS}
    points = sum(len(d.x) for d in fig.data)
    expected = sum(max(1, (p.ucf101 is not None) + (p.k400 is not None)) for p in PAPERS)
    assert points == expected
    drawn = sorted(y for d in fig.data for y in d.y if y > 60)
    table = sorted(NUMBERS[k].value for p in PAPERS for k in p.numbers
                   if NUMBERS[k].dataset.startswith(("UCF101", "Kinetics-400")))
    assert drawn == table  # the figure draws exactly the table's headline numbers, none typed again
    buttons = fig.layout.updatemenus[0].buttons
    assert len(buttons) == 1 + len(ERA_COLORS)
    assert buttons[2].args[0]["visible"] == [e == "Two-Stream" for e in ERA_COLORS]
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_published_timeline_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        published_timeline([])


def test_sort_rows_orders_by_key():
    assert [r["model"] for r in sort_rows(ROWS, "year")] == ["two_stream", "c3d", "timesformer"]
    assert [r["model"] for r in sort_rows(ROWS, "motion", descending=True)] == ["c3d", "two_stream", "timesformer"]


def test_comparison_table_buttons_hold_each_sorted_order():
    fig = comparison_table(ROWS)
    table = fig.data[0]
    assert len(table.header.values) == len(COLUMNS)
    assert list(table.cells.values[0]) == ["two_stream", "c3d", "timesformer"]  # by year first
    assert table.cells.values[4][1] == "3.0"  # FLOPs shown in millions
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == [s[0] for s in SORTS]
    by_scene = next(b for b in buttons if b.label == "scene accuracy")
    assert by_scene.method == "restyle"
    assert by_scene.args[0]["cells.values"][0][0] == ["two_stream", "timesformer", "c3d"]


def test_comparison_table_rejects_incomplete_rows():
    with pytest.raises(ValueError, match="lacks"):
        comparison_table([{"model": "c3d"}])
    with pytest.raises(ValueError, match="empty"):
        comparison_table([])


def test_accuracy_cost_figure_switches_accuracy_and_cost():
    fig = accuracy_cost_figure(ROWS, chance=0.25)
    assert [d.name for d in fig.data] == ["DeepVideo", "Two-Stream", "3D CNNs", "Video Transformers"][1:]
    y_buttons, x_buttons = fig.layout.updatemenus[0].buttons, fig.layout.updatemenus[1].buttons
    scene = next(b for b in y_buttons if b.label.startswith("scene"))
    assert scene.args[0]["y"] == [[0.95], [0.8], [0.9]]
    params = next(b for b in x_buttons if "params" in b.label)
    assert params.args[0]["x"] == [[500], [1000], [2000]]
    assert list(fig.data[1].x) == [3.0]  # MFLOPs
    assert fig.layout.xaxis.type == "log" and fig.layout.title.text


# plotly 5 (Colab ships 5.24) takes hex colours of 3 or 6 digits, rgb/rgba/hsl/hsv functions and names, not
# 8-digit hex: a table tinted with '#1f77b433' fails there with "Invalid element(s) received for 'color'"
_PLOTLY5_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|(rgb|rgba|hsl|hsla|hsv|hsva)\([^)]*\)|[a-z]+)$")


def _colours(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if "color" in k:
                yield from (v if isinstance(v, (list, tuple)) else [v])
            yield from _colours(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _colours(v)


def _flat(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        elif isinstance(v, str):
            yield v


def test_comparison_table_colours_are_ones_plotly_5_accepts():
    fig = comparison_table(ROWS).to_plotly_json()
    colours = list(_flat(_colours(fig)))
    assert colours, "no colours found"
    bad = sorted({c for c in colours if not _PLOTLY5_COLOUR.match(c)})
    assert not bad, f"colours plotly 5 rejects: {bad}"


def test_rgba_turns_hex_into_a_translucent_colour():
    from vidlearn.viz.style import rgba

    assert rgba("#1f77b4", 0.2) == "rgba(31,119,180,0.2)" and rgba("#fff", 1) == "rgba(255,255,255,1)"
    with pytest.raises(ValueError, match="#rrggbb"):
        rgba("#1f77b433", 0.2)
