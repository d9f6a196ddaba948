"""Figures for the summary chapter: the published numbers of the four eras, and every vidlearn model compared.

``published_timeline`` puts each paper on one axis of years and one of published top-1 accuracy (UCF101 for
the 2014-2017 works, Kinetics-400 after), coloured by era; papers without a UCF101 or Kinetics-400 number sit
on a lane below, with their finding in the hover text. Papers and numbers come from the book's one table,
:mod:`vidlearn.published`, as do the introduction's timeline (:func:`vidlearn.viz.timeline.era_timeline`)
and the hover texts (each number with its dataset and setting).

``comparison_table`` and ``accuracy_cost_figure`` show the rows the summary chapter measures: one per model,
``{"model", "paper", "era", "year", "params", "flops", "motion", "scene", "time_s"}``. Sorting buttons and the
switch between motion and scene accuracy are precomputed (``restyle``/``update`` arguments), so both work in
the static book without a kernel.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

import plotly.graph_objects as go

from vidlearn.published import NUMBERS, PAPERS, Paper, fmt
from vidlearn.published import label as number_label
from vidlearn.viz.style import ERA_COLORS, rgba

ERAS = list(ERA_COLORS)
IDT = "idt.ucf101"  # the hand-crafted state of the art the first deep models were measured against


def _hover(p: Paper, key: Optional[str]) -> str:
    number = number_label(key) if key else "no UCF101 or Kinetics-400 number"
    return (f"<b>{p.name}</b> ({p.venue})<br>{p.idea}<br>{number}<br><i>{p.finding}</i>"
            f"<br>vidlearn: {p.model}")


def published_timeline(papers: Optional[Sequence[Paper]] = None,
                       title: str = "Four eras: published top-1 accuracy") -> go.Figure:
    """Year (x) against published top-1 accuracy (y), one trace per era; UCF101 circles, Kinetics-400 diamonds.

    Papers without a UCF101 or Kinetics-400 number are drawn on a lane under the axis break (y = 55) with
    their finding in the hover text. Buttons show all eras or one (``update`` of trace visibility: static-safe).
    """
    papers = list(PAPERS if papers is None else papers)
    if not papers:
        raise ValueError("papers is empty")
    eras = [e for e in ERAS if any(p.era == e for p in papers)]
    fig = go.Figure()
    lane = 55.0
    for era in eras:
        xs, ys, symbols, texts, hovers, where = [], [], [], [], [], []
        for p in sorted((p for p in papers if p.era == era), key=lambda p: p.year):
            points = [(NUMBERS[k].value, "circle" if NUMBERS[k].dataset.startswith("UCF101") else "diamond", k)
                      for k in p.numbers if NUMBERS[k].dataset.startswith(("UCF101", "Kinetics-400"))]
            if not points:
                points = [(lane, "circle-open", None)]
            for v, sym, key in points:
                xs.append(p.year), ys.append(v), symbols.append(sym), texts.append(p.name)
                hovers.append(_hover(p, key))
                # alternate labels above and below so that papers close in time do not collide
                where.append("top center" if len(where) % 2 == 0 else "bottom center")
        fig.add_scatter(x=xs, y=ys, mode="markers+text", name=era, text=texts, textposition=where,
                        marker=dict(size=14, color=ERA_COLORS[era], symbol=symbols, line=dict(width=2,
                                    color=ERA_COLORS[era])),
                        hovertext=hovers, hoverinfo="text")
    fig.add_hline(y=NUMBERS[IDT].value, line_dash="dot", line_color="gray",
                  annotation_text=f"iDT, hand-crafted: {fmt(IDT)} (UCF101)", annotation_position="bottom right")
    fig.add_hline(y=lane + 3, line_width=1, line_color="lightgray")
    n = len(eras)
    buttons = [dict(label="All eras", method="update", args=[{"visible": [True] * n}])]
    buttons += [dict(label=e, method="update", args=[{"visible": [e == f for f in eras]}]) for e in eras]
    fig.update_layout(
        title=title, height=520,
        xaxis=dict(title="year of publication", dtick=1, range=[2013.8, 2021.6]),
        yaxis=dict(title="published top-1 (%): ● UCF101, ◆ Kinetics-400", range=[lane - 6, 103],
                   tickvals=[lane, 60, 70, 80, 90, 100], ticktext=["no number", "60", "70", "80", "90", "100"]),
        legend=dict(title="era"),
        updatemenus=[dict(type="buttons", direction="right", x=0.0, y=-0.2, xanchor="left", yanchor="top",
                          buttons=buttons)],
        margin=dict(t=60, b=120),
    )
    return fig


# ----------------------------------------------------------------------------------------------------------
# the measured comparison

COLUMNS = [  # (key, header, format)
    ("model", "model", "{}"),
    ("paper", "paper", "{}"),
    ("era", "era", "{}"),
    ("params", "parameters", "{:,}"),
    ("flops", "MFLOPs / clip", "{:.1f}"),
    ("motion", "motion acc.", "{:.2f}"),
    ("scene", "scene acc.", "{:.2f}"),
    ("time_s", "train time (s)", "{:.1f}"),
]
SORTS = [  # (button label, key, descending)
    ("era / year", "year", False),
    ("motion accuracy", "motion", True),
    ("scene accuracy", "scene", True),
    ("parameters", "params", False),
    ("FLOPs", "flops", False),
    ("training time", "time_s", False),
]


def _check_rows(rows: Sequence[Mapping]) -> None:
    if not rows:
        raise ValueError("rows is empty: nothing to show")
    need = {k for k, _, _ in COLUMNS} | {"year"}
    for r in rows:
        missing = need - set(r)
        if missing:
            raise ValueError(f"row {r.get('model', r)!r} lacks {sorted(missing)}; each row needs {sorted(need)}")


def sort_rows(rows: Sequence[Mapping], key: str, descending: bool = False) -> List[Mapping]:
    """Rows sorted by ``key`` (ties: by year, then model name); the order the table's buttons show."""
    sign = -1 if descending else 1
    return sorted(rows, key=lambda r: (sign * r[key], r["year"], r["model"]))


def _cells(rows: Sequence[Mapping]) -> List[List[str]]:
    return [[fmt.format(r[k] / 1e6 if k == "flops" else r[k]) for r in rows] for k, _, fmt in COLUMNS]


def _fill(rows: Sequence[Mapping]) -> List[List[str]]:
    era_col = [rgba(ERA_COLORS.get(r["era"], "#ffffff"), 0.2) for r in rows]  # the era colour, mostly transparent
    return [era_col] * len(COLUMNS)


def comparison_table(rows: Sequence[Mapping], title: str = "Every model on the same synthetic data") -> go.Figure:
    """A table of the measured rows (FLOPs shown in millions), with buttons that sort it by each column.

    Each button ``restyle``s the table's cell values and colours with a precomputed order, so sorting works
    in the static book. Rows are tinted with their era's colour.
    """
    _check_rows(rows)
    first = sort_rows(rows, "year")
    fig = go.Figure(go.Table(
        header=dict(values=[f"<b>{h}</b>" for _, h, _ in COLUMNS], align="left", fill_color="#eeeeee"),
        cells=dict(values=_cells(first), align=["left"] * 3 + ["right"] * 5, fill_color=_fill(first), height=24),
        columnwidth=[1.9, 1.6, 1.3, 1.2, 1.0, 0.9, 0.9, 1.0],
    ))
    buttons = []
    for label, key, desc in SORTS:
        order = sort_rows(rows, key, desc)
        buttons.append(dict(label=label, method="restyle",
                            args=[{"cells.values": [_cells(order)], "cells.fill.color": [_fill(order)]}]))
    fig.update_layout(
        title=title, height=150 + 34 * (len(rows) + 1),  # rows may wrap onto two lines
        updatemenus=[dict(type="dropdown", x=1.0, y=1.02, xanchor="right", yanchor="bottom", buttons=buttons,
                          showactive=True)],
        annotations=[dict(text="sort by", x=0.78, y=1.035, xref="paper", yref="paper", showarrow=False,
                          xanchor="right", yanchor="bottom")],
        margin=dict(l=10, r=10, t=80, b=10),
    )
    return fig


def accuracy_cost_figure(rows: Sequence[Mapping], chance: Optional[float] = None,
                         title: str = "Accuracy against cost, coloured by era") -> go.Figure:
    """Validation accuracy (y) against FLOPs per clip (x, log scale), one trace per era.

    Buttons switch the y values between motion and scene accuracy and the x values between FLOPs, parameters
    and training time (all precomputed ``update`` arguments); ``chance`` draws a dotted line.
    """
    _check_rows(rows)
    eras = [e for e in ERAS if any(r["era"] == e for r in rows)] + sorted(
        {r["era"] for r in rows if r["era"] not in ERAS})
    groups: Dict[str, List[Mapping]] = {e: [r for r in rows if r["era"] == e] for e in eras}
    xs = {"flops": ("MFLOPs per clip (log)", lambda r: r["flops"] / 1e6),
          "params": ("parameters (log)", lambda r: r["params"]),
          "time_s": ("training time, s (log)", lambda r: r["time_s"])}
    fig = go.Figure()
    for e in eras:
        g = groups[e]
        fig.add_scatter(
            x=[xs["flops"][1](r) for r in g], y=[r["motion"] for r in g], mode="markers+text", name=e,
            text=[r["model"] for r in g], textposition="top center",
            marker=dict(size=13, color=ERA_COLORS.get(e, "#7f7f7f"), line=dict(width=1, color="white")),
            customdata=[[r["paper"], r["params"], r["flops"] / 1e6, r["time_s"], r["motion"], r["scene"]]
                        for r in g],
            hovertemplate="<b>%{text}</b> (%{customdata[0]})<br>%{customdata[1]:,} parameters, "
                          "%{customdata[2]:.1f} MFLOPs<br>training %{customdata[3]:.1f} s<br>motion "
                          "%{customdata[4]:.2f}, scene %{customdata[5]:.2f}<extra>" + e + "</extra>")
    if chance is not None:
        fig.add_hline(y=chance, line_dash="dot", line_color="gray", annotation_text=f"chance ({chance:.2f})",
                      annotation_position="bottom right")
    y_buttons = [dict(label=f"{m} accuracy", method="update",
                      args=[{"y": [[r[m] for r in groups[e]] for e in eras]},
                            {"yaxis.title.text": f"validation accuracy on {m} data"}])
                 for m in ("motion", "scene")]
    x_buttons = [dict(label=f"x: {k if k != 'time_s' else 'time'}", method="update",
                      args=[{"x": [[f(r) for r in groups[e]] for e in eras]}, {"xaxis.title.text": label}])
                 for k, (label, f) in xs.items()]
    fig.update_layout(
        title=title, height=520,
        xaxis=dict(title=xs["flops"][0], type="log"),
        yaxis=dict(title="validation accuracy on motion data", range=[0, 1.08]),
        legend=dict(title="era"),
        updatemenus=[dict(type="buttons", direction="right", x=0.0, y=1.02, xanchor="left", yanchor="bottom",
                          buttons=y_buttons, showactive=True),
                     dict(type="buttons", direction="right", x=1.0, y=1.02, xanchor="right", yanchor="bottom",
                          buttons=x_buttons, showactive=True)],
        margin=dict(t=100),
    )
    return fig


__all__ = ["IDT", "published_timeline", "COLUMNS", "SORTS", "sort_rows",
           "comparison_table", "accuracy_cost_figure"]
