"""The four eras of deep video understanding on one interactive timeline (intro and summary chapters).

The published numbers are the ones the survey (Zhu et al. 2020, arXiv 2012.06567) and the papers quote:
UCF101 top-1 accuracy (three splits) for the 2014-2017 works, Kinetics-400 top-1 for later ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import plotly.graph_objects as go

from vidlearn.viz.style import ERA_COLORS

ERAS = list(ERA_COLORS)


@dataclass(frozen=True)
class Milestone:
    name: str
    year: float  # publication year (fraction = month / 12, so points in one year do not overlap)
    era: str
    idea: str
    result: str  # the published number, with its dataset
    cite: str  # key in book/references.bib
    model: Optional[str] = None  # the vidlearn registered name that implements it


MILESTONES: List[Milestone] = [
    Milestone("DeepVideo", 2014.45, "DeepVideo", "CNNs on frames; single, late, early and slow fusion of time",
              "UCF101 65.4% (Sports-1M pre-training)", "karpathy2014large", "single_frame"),
    Milestone("Two-Stream", 2014.9, "Two-Stream", "an RGB stream for appearance + a stacked optical-flow stream "
              "for motion, late fusion", "UCF101 88.0%", "simonyan2014two", "two_stream"),
    Milestone("Beyond Short Snippets", 2015.45, "Two-Stream", "pooling and LSTMs over many frames' features",
              "UCF101 88.6%", "ng2015beyond", "lstm_snippets"),
    Milestone("C3D", 2015.95, "3D CNNs", "3x3x3 convolutions learn spatio-temporal features directly",
              "UCF101 82.3% (1 net + linear SVM)", "tran2015learning", "c3d"),
    Milestone("Two-Stream Fusion", 2016.45, "Two-Stream", "fuse the streams at conv5 with 3D conv + 3D pooling",
              "UCF101 92.5%", "feichtenhofer2016convolutional", "fusion_two_stream"),
    Milestone("TSN", 2016.7, "Two-Stream", "K segments, one snippet each, segmental consensus; training tricks",
              "UCF101 94.2%", "wang2016temporal", "tsn"),
    Milestone("I3D", 2017.5, "3D CNNs", "inflate ImageNet 2D networks into 3D; the Kinetics dataset",
              "UCF101 98.0%, K400 74.2%", "carreira2017quo", "i3d"),
    Milestone("Non-local", 2018.45, "3D CNNs", "self-attention over all space-time positions",
              "K400 77.7%", "wang2018non", "nl_i3d_r50"),
    Milestone("R(2+1)D", 2018.5, "3D CNNs", "factor a 3D conv into a 2D spatial and a 1D temporal conv",
              "K400 75.4% (two-stream)", "tran2018closer", "r2plus1d_18"),
    Milestone("TSM", 2019.75, "3D CNNs", "shift channels along time: 3D modelling at 2D cost",
              "K400 74.1%", "lin2019tsm", "tsm_r50"),
    Milestone("SlowFast", 2019.8, "3D CNNs", "a slow, wide pathway for appearance and a fast, thin one for motion",
              "K400 79.8%", "feichtenhofer2019slowfast", "slowfast_r50"),
    Milestone("TimeSformer", 2021.1, "Video Transformers", "ViT on space-time patches; divided space-time "
              "attention", "K400 78.0% (80.7% TimeSformer-L)", "bertasius2021space", "timesformer"),
]


def era_timeline(milestones: Optional[List[Milestone]] = None, title: str = "Four eras of deep video "
                 "understanding") -> go.Figure:
    """An interactive timeline: one lane per era, one point per paper; hover for the idea and the number.

    Buttons show all eras or one at a time (they work in the static book: no kernel needed).
    """
    ms = milestones or MILESTONES
    fig = go.Figure()
    for lane, era in enumerate(ERAS[::-1]):
        pts = sorted((m for m in ms if m.era == era), key=lambda m: m.year)
        # alternate points above and below the lane so that labels of close papers do not collide
        offsets = [0.17 if i % 2 == 0 else -0.17 for i in range(len(pts))]
        fig.add_scatter(
            x=[m.year for m in pts], y=[lane + o for o in offsets], mode="markers+text", name=era,
            text=[m.name for m in pts],
            textposition=["top center" if o > 0 else "bottom center" for o in offsets],
            marker=dict(size=15, color=ERA_COLORS[era], line=dict(width=1, color="white")),
            customdata=[[m.idea, m.result, m.model or "-", int(m.year)] for m in pts],
            hovertemplate="<b>%{text}</b> (%{customdata[3]})<br>%{customdata[0]}<br>%{customdata[1]}"
                          "<br>vidlearn: %{customdata[2]}<extra></extra>",
        )
    n = len(ERAS)
    buttons = [dict(label="All eras", method="update", args=[{"visible": [True] * n}])]
    for era in ERAS:
        buttons.append(dict(label=era, method="update",
                            args=[{"visible": [ERAS[::-1][j] == era for j in range(n)]}]))
    fig.update_layout(
        title=title, height=460, showlegend=False,
        xaxis=dict(title="year of publication", dtick=1, range=[2013.7, 2021.6]),
        yaxis=dict(title="", tickvals=list(range(len(ERAS))), ticktext=ERAS[::-1], range=[-0.6, len(ERAS) - 0.4],
                   zeroline=False),
        updatemenus=[dict(type="buttons", direction="right", x=0.0, y=-0.22, xanchor="left", buttons=buttons)],
        margin=dict(b=110),
    )
    return fig
