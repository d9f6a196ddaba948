"""The four eras of deep video understanding on one interactive timeline (intro chapter).

Every paper and its headline numbers come from the book's one table, :mod:`vidlearn.published` (``PAPERS`` and
``NUMBERS``), which the summary chapter's figure (:func:`vidlearn.viz.summary.published_timeline`) draws from
as well; each hover names the number's dataset and setting.
"""

from __future__ import annotations

from typing import Optional, Sequence

import plotly.graph_objects as go

from vidlearn.published import PAPERS, Paper, label
from vidlearn.viz.style import ERA_COLORS

ERAS = list(ERA_COLORS)


def _result(p: Paper) -> str:
    return "<br>".join(label(k) for k in p.numbers) or p.finding


def era_timeline(papers: Optional[Sequence[Paper]] = None, title: str = "Four eras of deep video "
                 "understanding") -> go.Figure:
    """An interactive timeline: one lane per era, one point per paper; hover for the idea and the numbers.

    Buttons show all eras or one at a time (they work in the static book: no kernel needed).
    """
    ps = list(PAPERS if papers is None else papers)
    if not ps:
        raise ValueError("papers is empty: nothing to draw")
    fig = go.Figure()
    for lane, era in enumerate(ERAS[::-1]):
        pts = sorted((p for p in ps if p.era == era), key=lambda p: p.year)
        # alternate points above and below the lane so that labels of close papers do not collide
        offsets = [0.17 if i % 2 == 0 else -0.17 for i in range(len(pts))]
        fig.add_scatter(
            x=[p.year for p in pts], y=[lane + o for o in offsets], mode="markers+text", name=era,
            text=[p.name for p in pts],
            textposition=["top center" if o > 0 else "bottom center" for o in offsets],
            marker=dict(size=15, color=ERA_COLORS[era], line=dict(width=1, color="white")),
            customdata=[[p.idea, _result(p), p.model, p.venue] for p in pts],
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


__all__ = ["ERAS", "era_timeline"]
