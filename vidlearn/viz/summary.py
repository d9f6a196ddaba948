"""Figures for the summary chapter: the published numbers of the four eras, and every vidlearn model compared.

``published_timeline`` puts each paper on one axis of years and one of published top-1 accuracy (UCF101 for
the 2014-2017 works, Kinetics-400 after), coloured by era; papers for which the survey quotes no single
headline number sit on a lane below, with their finding in the hover text. The numbers are exactly those the
survey digest (Zhu et al. 2020, arXiv 2012.06567, as retold in the book's seed survey) quotes; the book's
introduction keeps its own timeline (:func:`vidlearn.viz.timeline.era_timeline`).

``comparison_table`` and ``accuracy_cost_figure`` show the rows the summary chapter measures: one per model,
``{"model", "paper", "era", "year", "params", "flops", "motion", "scene", "time_s"}``. Sorting buttons and the
switch between motion and scene accuracy are precomputed (``restyle``/``update`` arguments), so both work in
the static book without a kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import plotly.graph_objects as go

from vidlearn.viz.style import ERA_COLORS

ERAS = list(ERA_COLORS)
# the hand-crafted state of the art the first deep models were measured against (iDT, UCF101)
IDT_UCF101 = 87.9


@dataclass(frozen=True)
class Published:
    """One paper's published result, as the survey quotes it."""

    name: str
    year: float  # publication year (fraction = month / 12)
    era: str
    venue: str
    idea: str
    cite: str  # key in book/references.bib
    model: str  # the vidlearn registered name of its representative model
    ucf101: Optional[float] = None  # top-1 %, the survey's number
    k400: Optional[float] = None  # top-1 %, the survey's number
    note: str = ""  # what the number is, or the finding when the survey quotes no number


PUBLISHED: List[Published] = [
    Published("DeepVideo", 2014.45, "DeepVideo", "CVPR 2014", "a 2D CNN on frames; single, late, early, slow fusion",
              "karpathy2014large", "slow_fusion", ucf101=65.4,
              note="Sports-1M pre-training; all fusions close, far below iDT's 87.9%"),
    Published("Two-Stream", 2014.9, "Two-Stream", "NeurIPS 2014", "RGB stream + stacked optical-flow stream, "
              "late fusion", "simonyan2014two", "two_stream", ucf101=88.0, note="on a par with iDT (87.9%)"),
    Published("Beyond Short Snippets", 2015.45, "Two-Stream", "CVPR 2015", "conv pooling and LSTMs over many "
              "frames' features", "ng2015beyond", "lstm_snippets", ucf101=88.6, note="+0.6 over Two-Stream"),
    Published("C3D", 2015.95, "3D CNNs", "ICCV 2015", "3x3x3 convolutions learn spatio-temporal features",
              "tran2015learning", "c3d", ucf101=82.3,
              note="1 net + linear SVM; 85.2% with 3 nets, 90.4% with iDT"),
    Published("Two-Stream Fusion", 2016.45, "Two-Stream", "CVPR 2016", "fuse the streams at conv5 with 3D conv "
              "+ 3D pooling", "feichtenhofer2016convolutional", "fusion_two_stream", ucf101=91.5,
              note="about 91.5%"),
    Published("TSN", 2016.7, "Two-Stream", "ECCV 2016", "K segments, one snippet each, segmental consensus",
              "wang2016temporal", "tsn_two_stream", ucf101=94.0, note="about 94%"),
    Published("I3D", 2017.5, "3D CNNs", "CVPR 2017", "inflate ImageNet 2D networks to 3D; the Kinetics data set",
              "carreira2017quo", "i3d", ucf101=98.0, note="two-stream I3D, Kinetics pre-training"),
    Published("Non-local", 2018.45, "3D CNNs", "CVPR 2018", "self-attention over all space-time positions",
              "wang2018non", "nl_i3d_r50",
              note="K400: about 4 points over I3D (ResNet backbone +1, non-local blocks +3)"),
    Published("R(2+1)D", 2018.5, "3D CNNs", "CVPR 2018", "a 2D spatial conv then a 1D temporal conv",
              "tran2018closer", "r2plus1d_18",
              note="best of R2D, MCx, rMCx, R3D and R(2+1)D on Kinetics from scratch; easier to optimise"),
    Published("TSM", 2019.75, "3D CNNs", "ICCV 2019", "shift channels along time: 3D modelling at 2D cost",
              "lin2019tsm", "tsm_r50", note="a 2D CNN with shifts rivals 3D CNNs at a 2D CNN's cost"),
    Published("SlowFast", 2019.8, "3D CNNs", "ICCV 2019", "a slow wide pathway and a fast thin one",
              "feichtenhofer2019slowfast", "slowfast_r50", k400=79.8,
              note="best model (R101 + non-local); 79.0% in the abstract; 28.3 mAP on AVA"),
    Published("TimeSformer", 2021.1, "Video Transformers", "ICML 2021", "ViT on space-time patches, divided "
              "space-time attention", "bertasius2021space", "timesformer", k400=80.7,
              note="TimeSformer-L, ImageNet-21K pre-training"),
]


def _hover(p: Published, number: str) -> str:
    return (f"<b>{p.name}</b> ({p.venue})<br>{p.idea}<br>{number}<br><i>{p.note}</i>"
            f"<br>vidlearn: {p.model}")


def published_timeline(papers: Optional[Sequence[Published]] = None,
                       title: str = "Four eras: published top-1 accuracy, as the survey quotes it") -> go.Figure:
    """Year (x) against published top-1 accuracy (y), one trace per era; UCF101 circles, Kinetics-400 diamonds.

    Papers without a single headline number are drawn on a lane under the axis break (y = 55) with their
    finding in the hover text. Buttons show all eras or one (``update`` of trace visibility: static-safe).
    """
    papers = list(PUBLISHED if papers is None else papers)
    if not papers:
        raise ValueError("papers is empty")
    eras = [e for e in ERAS if any(p.era == e for p in papers)]
    fig = go.Figure()
    lane = 55.0
    for era in eras:
        xs, ys, symbols, texts, hovers, where = [], [], [], [], [], []
        for p in sorted((p for p in papers if p.era == era), key=lambda p: p.year):
            points = [(v, "circle", f"UCF101 {v:.1f}%") for v in [p.ucf101] if v is not None]
            points += [(v, "diamond", f"Kinetics-400 {v:.1f}%") for v in [p.k400] if v is not None]
            if not points:
                points = [(lane, "circle-open", "no single number quoted")]
            for v, sym, number in points:
                xs.append(p.year), ys.append(v), symbols.append(sym), texts.append(p.name)
                hovers.append(_hover(p, number))
                # alternate labels above and below so that papers close in time do not collide
                where.append("top center" if len(where) % 2 == 0 else "bottom center")
        fig.add_scatter(x=xs, y=ys, mode="markers+text", name=era, text=texts, textposition=where,
                        marker=dict(size=14, color=ERA_COLORS[era], symbol=symbols, line=dict(width=2,
                                    color=ERA_COLORS[era])),
                        hovertext=hovers, hoverinfo="text")
    fig.add_hline(y=IDT_UCF101, line_dash="dot", line_color="gray",
                  annotation_text=f"iDT, hand-crafted: {IDT_UCF101}% (UCF101)", annotation_position="bottom right")
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
    era_col = [ERA_COLORS.get(r["era"], "#ffffff") + "33" for r in rows]  # the era colour, 20% opaque
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


__all__ = ["Published", "PUBLISHED", "IDT_UCF101", "published_timeline", "COLUMNS", "SORTS", "sort_rows",
           "comparison_table", "accuracy_cost_figure"]
