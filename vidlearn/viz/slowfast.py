"""Figures for the SlowFast chapter (Feichtenhofer et al., ICCV 2019): which frames each pathway takes, how
wide each pathway is and what flows through the lateral connections, and where the FLOPs go.

Every control is precomputed: the sampling figure has one slider step per ``(T, tau, alpha)`` combination,
each step carrying its own markers and thumbnails, so the figures work in the static book.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence, Tuple

import numpy as np
import plotly.graph_objects as go

from vidlearn.viz.style import PALETTE, title_over_legend
from vidlearn.viz.video import _slider, png_uri

SLOW_COLOR, FAST_COLOR, LATERAL_COLOR, HEAD_COLOR = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]
Combo = Tuple[int, int, int]  # (T, tau, alpha)


def slowfast_sampling_figure(num_video_frames: int, combos: Sequence[Combo],
                             thumbnail: Optional[Callable[[int], np.ndarray]] = None, fps: float = 25.0,
                             active: Optional[Combo] = (4, 16, 8),
                             title: str = "SlowFast sampling: the frames each pathway takes") -> go.Figure:
    """A video timeline with the frames of the Slow and Fast pathways, one slider step per ``(T, tau, alpha)``.

    The window of ``T * tau`` frames is centred in the video (as :class:`~vidlearn.data.SlowFastSampler`
    does at test time); Slow takes ``T`` frames ``tau`` apart, Fast ``alpha * T`` frames ``tau / alpha`` apart.

    Args:
        num_video_frames: length of the video.
        combos: ``(T, tau, alpha)`` triples, each with ``alpha <= tau``; one slider step each.
        thumbnail: ``frame index -> uint8 (h, w, 3)`` image; the Slow frames are shown above the timeline.
        fps: frame rate, for the hover text (seconds).
        active: the combination shown first (the paper's 4x16, alpha=8 by default; the first if absent).

    Each step zooms the time axis to its window, so the thumbnails fill the gaps between Slow frames.
    """
    from vidlearn.data.samplers import SlowFastSampler

    if not combos:
        raise ValueError("combos must hold at least one (T, tau, alpha) triple")
    fig = go.Figure()
    combos = [tuple(c) for c in combos]
    first = combos.index(tuple(active)) if active is not None and tuple(active) in combos else 0
    steps, cache = [], {}
    per_step = 3  # traces per combo: window, slow, fast
    n_traces = per_step * len(combos)
    for k, (t, tau, alpha) in enumerate(combos):
        slow, fast = SlowFastSampler(t, tau=tau, alpha=alpha, train=False)(num_video_frames)
        span = t * tau
        lo = int(fast[0])
        vis = k == first
        fig.add_scatter(x=[lo, lo + span - 1, lo + span - 1, lo, lo], y=[-0.5, -0.5, 1.5, 1.5, -0.5],
                        fill="toself", fillcolor="rgba(128,128,128,0.12)", line=dict(width=0), mode="lines",
                        name=f"window: T x tau = {span} of {num_video_frames} frames", visible=vis,
                        hoverinfo="skip")
        fig.add_scatter(x=slow, y=[1] * len(slow), mode="markers", visible=vis, name=f"Slow: T = {t} frames",
                        marker=dict(size=12, color=SLOW_COLOR, symbol="square"),
                        customdata=np.asarray(slow) / fps,
                        hovertemplate="Slow: frame %{x} (%{customdata:.2f} s)<extra></extra>")
        fig.add_scatter(x=fast, y=[0] * len(fast), mode="markers", visible=vis,
                        name=f"Fast: alpha T = {alpha * t} frames",
                        marker=dict(size=7, color=FAST_COLOR, symbol="line-ns-open", line=dict(width=2)),
                        customdata=np.asarray(fast) / fps,
                        hovertemplate="Fast: frame %{x} (%{customdata:.2f} s)<extra></extra>")
        images = []
        if thumbnail is not None:
            width = max(span / max(t, 1) * 0.9, 1.0)
            for i in slow:
                i = int(i)
                if i not in cache:
                    cache[i] = png_uri(thumbnail(i))
                images.append(dict(source=cache[i], xref="x", yref="y", x=i, y=2.9, sizex=width, sizey=1.2,
                                   xanchor="center", yanchor="top", layer="above", sizing="contain"))
        xrange = [lo - 0.12 * span, lo + 1.08 * span]
        if k == first:
            fig.update_layout(images=images, xaxis_range=xrange)
        visible = [False] * n_traces
        visible[per_step * k: per_step * (k + 1)] = [True] * per_step
        stride = tau / alpha
        caption = (f"T={t}, tau={tau}, alpha={alpha}: Slow {t} frames every {tau} "
                   f"({fps / tau:.1f} fps), Fast {alpha * t} frames every {stride:g} ({fps / stride:.1f} fps)")
        layout = {"images": images, "xaxis.range": xrange, "title.text": f"{title}<br><sub>{caption}</sub>"}
        steps.append(dict(method="update", label=f"T={t} tau={tau} a={alpha}", args=[{"visible": visible}, layout]))
    slider = _slider(steps, prefix="", y=-0.08)
    slider["active"] = first
    # the title's caption changes with the slider: the top margin holds its two lines and the legend's rows
    fig.update_layout(sliders=[slider], height=520, xaxis=dict(title="frame of the video"),
                      yaxis=dict(tickvals=[0, 1], ticktext=["Fast", "Slow"], range=[-0.8, 3.0],
                                 title="pathway"),
                      **title_over_legend(steps[first]["args"][1]["title.text"]))
    return fig


_STAGES = ("pool1", "res2", "res3", "res4", "res5")


def pathway_widths_figure(shapes: Mapping[str, Tuple[int, ...]],
                          title: str = "Channels through the two pathways and their lateral connections"
                          ) -> go.Figure:
    """Channel widths of Slow, Fast and the laterals per stage (log scale), with the full shapes on hover.

    Args:
        shapes: the dict of :meth:`vidlearn.models.slowfast.SlowFast.feature_shapes` (keys ``"slow res2"``,
            ``"fast res2"``, ``"lateral -> res3"``, ...); shapes ``(B, C, T, H, W)``.
    """
    fig = go.Figure()
    rows = [("Slow", "slow {}", SLOW_COLOR), ("Fast", "fast {}", FAST_COLOR),
            ("lateral (into the next Slow stage)", "lateral -> {}", LATERAL_COLOR)]
    found = False
    for name, key, color in rows:
        xs, ys, text = [], [], []
        for i, stage in enumerate(_STAGES):
            k = key.format(_STAGES[i + 1] if name.startswith("lateral") and i + 1 < len(_STAGES) else stage)
            if name.startswith("lateral") and i + 1 >= len(_STAGES):
                continue
            if k in shapes:
                s = tuple(shapes[k])
                xs.append(stage)
                ys.append(s[1])
                text.append("C={} T={} {}x{}".format(*s[1:]))
        if xs:
            found = True
            fig.add_bar(x=xs, y=ys, name=name, marker_color=color, customdata=text,
                        hovertemplate=f"{name}<br>after %{{x}}: %{{customdata}}<extra></extra>")
    if not found:
        raise ValueError("shapes has none of the keys 'slow <stage>', 'fast <stage>', 'lateral -> <stage>' "
                         "(pass SlowFast.feature_shapes(x))")
    fig.update_layout(barmode="group", height=440, yaxis=dict(type="log", title="channels (log)"),
                      xaxis=dict(title="stage (laterals: from the Fast output after this stage)"),
                      **title_over_legend(title))
    return fig


def flops_split_figure(parts: Mapping[str, Mapping[str, int]],
                       title: str = "Where the computation goes") -> go.Figure:
    """Stacked horizontal bars of FLOPs (G multiply-adds) per model, split Slow / Fast / lateral / head.

    Args:
        parts: model name -> :func:`vidlearn.models.slowfast.flops_by_part` output (FLOPs, 2 per multiply-add).
    """
    if not parts:
        raise ValueError("parts is empty")
    names = list(parts)
    fig = go.Figure()
    for key, label, color in (("slow", "Slow pathway", SLOW_COLOR), ("fast", "Fast pathway", FAST_COLOR),
                              ("lateral", "laterals", LATERAL_COLOR), ("head", "head", HEAD_COLOR)):
        vals = [parts[n].get(key, 0) / 2e9 for n in names]
        share = [100 * parts[n].get(key, 0) / max(parts[n]["total"], 1) for n in names]
        fig.add_bar(y=names, x=vals, orientation="h", name=label, marker_color=color, customdata=share,
                    text=[f"{s:.1f}%" if s >= 3 else "" for s in share], textposition="inside",
                    hovertemplate=f"{label}: %{{x:.2f}} G multiply-adds (%{{customdata:.1f}}%)<extra></extra>")
    fig.update_layout(barmode="stack", height=190 + 60 * len(names),
                      xaxis=dict(title="G multiply-adds per clip"), yaxis=dict(autorange="reversed"),
                      **title_over_legend(title))
    return fig


def accuracy_flops_figure(results: Mapping[str, Mapping[str, float]],
                          title: str = "Accuracy vs computation in miniature") -> go.Figure:
    """One point per model per dataset: FLOPs per clip (x, M multiply-adds) against validation accuracy.

    Args:
        results: model name -> ``{"flops": FLOPs (2 per multiply-add), "<dataset>": accuracy, ...}``.
        Each dataset name becomes one trace (marker series); ``chance`` (optional key) draws a line.
    """
    if not results:
        raise ValueError("results is empty")
    names = list(results)
    datasets = sorted({k for r in results.values() for k in r if k not in ("flops", "chance")})
    fig = go.Figure()
    symbols = ("circle", "diamond", "square", "triangle-up")
    for j, ds in enumerate(datasets):
        xs = [results[n]["flops"] / 2e6 for n in names if ds in results[n]]
        ys = [results[n][ds] for n in names if ds in results[n]]
        labels = [n for n in names if ds in results[n]]
        fig.add_scatter(x=xs, y=ys, mode="markers+text", text=labels, textposition="top center",
                        name=ds, marker=dict(size=13, symbol=symbols[j % len(symbols)],
                                             color=PALETTE[(j + 4) % len(PALETTE)]),
                        hovertemplate="%{text}<br>%{x:.1f} M multiply-adds<br>accuracy %{y:.3f}<extra>"
                                      + ds + "</extra>")
    chance = next((r["chance"] for r in results.values() if "chance" in r), None)
    if chance is not None:
        fig.add_hline(y=chance, line_dash="dot", annotation_text="chance", annotation_position="bottom right")
    fig.update_layout(title=title, height=420, xaxis=dict(title="M multiply-adds per clip", type="log"),
                      yaxis=dict(title="validation accuracy", range=[0, 1.08]), legend=dict(title="data"))
    return fig


def paper_settings(alphas: Sequence[int] = (2, 4, 8), taus: Sequence[int] = (4, 8, 16),
                   frames: Sequence[int] = (4,)) -> list:
    """The ``(T, tau, alpha)`` grid for :func:`slowfast_sampling_figure`, dropping ``alpha > tau``."""
    return [(t, tau, a) for t in frames for tau in taus for a in alphas if a <= tau]


__all__ = ["slowfast_sampling_figure", "pathway_widths_figure", "flops_split_figure", "accuracy_flops_figure",
           "paper_settings"]
