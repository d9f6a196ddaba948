"""One look for every figure of the book, and plotly output that works in the static book.

``vidlearn.viz`` registers a plotly template (``"vidlearn"``: fonts, sizes, one colour per era) and makes it
the default. In a live Jupyter or Colab kernel plotly keeps its own renderer. While the book is built
(``VIDLEARN_BOOK_BUILD=1``, set by ``make book``/``make test``) figures are rendered as HTML that uses the
``plotly.min.js`` the book serves from its own ``_static`` folder: no CDN, so pages work offline and
Jupyter Book 1 (which cannot show plotly's own mimetype) shows every figure, sliders and buttons included.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

BOOK_ENV = "VIDLEARN_BOOK_BUILD"

# one colour per era, used by the timeline, the summary and the chapters' figures
ERA_COLORS = {
    "DeepVideo": "#1f77b4",
    "Two-Stream": "#ff7f0e",
    "3D CNNs": "#2ca02c",
    "Video Transformers": "#9467bd",
}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def title_over_legend(title: str, legend_rows: int = 2, **legend: Any) -> Dict[str, Any]:
    """Layout for a figure whose legend stands on top of the plot, under its title, without the two meeting.

    The title hangs from the top of the figure and the top margin holds its lines (``<br>`` breaks) and up to
    ``legend_rows`` rows of a horizontal legend placed just above the plot (``legend`` overrides its keys,
    e.g. ``x=1, xanchor="right"``). Returns ``update_layout`` keyword arguments.
    """
    lines = 1 + title.count("<br>")
    return dict(title=dict(text=title, y=1, yref="container", yanchor="top", pad=dict(t=10)),
                legend=dict(dict(orientation="h", y=1.02, yanchor="bottom", x=0), **legend),
                margin=dict(t=24 + 26 * lines + 26 * legend_rows))


def one_variant_at_a_time(fig: go.Figure, names: Sequence[str],
                          view: Callable[[int], Tuple[List[bool], Dict[str, Any]]], y: float) -> Tuple[dict, dict]:
    """A row of buttons that shows one variant of ``fig`` at a time (the book's "pick a model" idiom).

    ``view(k)`` gives variant ``k``'s visibility flag per trace and its layout changes (plotly
    ``"update"`` arguments). Variant 0 is made visible now; returns the ``updatemenus`` entry (place it at
    paper height ``y``) and variant 0's layout changes, for the caller's ``update_layout``.
    """
    visible, layout = view(0)
    for trace, v in zip(fig.data, visible):
        trace.visible = v
    buttons = []
    for k, name in enumerate(names):
        flags, changes = view(k)
        buttons.append(dict(label=name, method="update", args=[{"visible": flags}, changes]))
    menu = dict(type="buttons", direction="right", x=0, xanchor="left", y=y, yanchor="bottom",
                buttons=buttons, showactive=True, active=0)
    return menu, layout


def rgba(hex_color: str, alpha: float) -> str:
    """``"#1f77b4", 0.2 -> "rgba(31,119,180,0.2)"``: a translucent colour every plotly version accepts.

    (8-digit hex such as ``"#1f77b433"`` is rejected by plotly 5, which Colab ships.)
    """
    h = hex_color.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    if len(h) != 6 or any(c not in "0123456789abcdefABCDEF" for c in h):
        raise ValueError(f"expected a colour '#rrggbb' or '#rgb', got {hex_color!r}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


def color_cycle() -> Iterator[str]:
    return itertools.cycle(PALETTE)


class BookHTMLRenderer(MimetypeRenderer):
    """Emit a figure as an HTML ``<div>`` + script that uses the page's own plotly.js (no CDN, no inline copy)."""

    def to_mimebundle(self, fig_dict):
        html = pio.to_html(fig_dict, include_plotlyjs=False, full_html=False, validate=False, auto_play=False,
                           config={"responsive": True, "displaylogo": False})
        return {"text/html": html}


def _register() -> None:
    pio.templates["vidlearn"] = go.layout.Template(
        layout=dict(
            font=dict(family="Inter, Helvetica, Arial, sans-serif", size=13),
            title=dict(font=dict(size=16), x=0.02, xanchor="left"),
            colorway=PALETTE,
            margin=dict(l=60, r=30, t=60, b=50),
            hoverlabel=dict(font_size=12),
        )
    )
    pio.templates.default = "plotly_white+vidlearn"
    pio.renderers["vidlearn_book"] = BookHTMLRenderer()
    if os.environ.get(BOOK_ENV):
        pio.renderers.default = "vidlearn_book"


_register()
