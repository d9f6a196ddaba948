"""Figures for the book: pure functions returning plotly figures that stay interactive in static HTML.

Importing this module registers the book's plotly template and, while the book is built, the renderer
that makes figures show in Jupyter Book (see :mod:`vidlearn.viz.style`).
"""

from vidlearn.viz.flow import flow_explorer, flow_methods_figure
from vidlearn.viz.style import ERA_COLORS, PALETTE, color_cycle
from vidlearn.viz.timeline import MILESTONES, era_timeline
from vidlearn.viz.video import clip_player, dataset_gallery, frame_grid, png_uri, sampler_timeline, to_uint8_frames

__all__ = ["ERA_COLORS", "PALETTE", "color_cycle", "MILESTONES", "era_timeline", "clip_player", "frame_grid",
           "dataset_gallery", "sampler_timeline", "flow_explorer", "flow_methods_figure", "png_uri", "to_uint8_frames"]
