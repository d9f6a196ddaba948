"""Figures for the book: pure functions returning plotly figures that stay interactive in static HTML.

Importing this module registers the book's plotly template and, while the book is built, the renderer
that makes figures show in Jupyter Book (see :mod:`vidlearn.viz.style`).
"""

from vidlearn.viz.style import ERA_COLORS, PALETTE, color_cycle
from vidlearn.viz.timeline import MILESTONES, era_timeline

__all__ = ["ERA_COLORS", "PALETTE", "color_cycle", "MILESTONES", "era_timeline"]
