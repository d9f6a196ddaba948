"""Figures for the book: pure functions returning plotly figures that stay interactive in static HTML.

Importing this module registers the book's plotly template and, while the book is built, the renderer
that makes figures show in Jupyter Book (see :mod:`vidlearn.viz.style`). Topic modules:
``video`` (clips, samplers, datasets), ``flow``, ``timeline`` (the papers of :mod:`vidlearn.published`),
``fusion`` (DeepVideo / fusion points), ``two_stream``, ``inflation`` (I3D), ``attention`` (TimeSformer), and
one module per later chapter; ``architecture`` draws every model family's diagram from the model itself.
:func:`live` wraps any figure function in ipywidgets controls for Jupyter and Colab (the static figure
elsewhere).
"""

from vidlearn.viz.architecture import (
    deepvideo_diagram,
    fusion_diagram,
    nonlocal_diagram,
    r2plus1d_block_diagram,
    slowfast_diagram,
    stage_diagram,
    timesformer_block_diagram,
    tsm_diagram,
    tsn_diagram,
    two_stream_diagram,
    vivit_diagram,
)
from vidlearn.viz.attention import (
    attention_cost_figure,
    attention_patterns_figure,
    paper_scale_cost_figure,
    rollout_figure,
    scheme_accuracy_figure,
)
from vidlearn.viz.flow import flow_explorer, flow_methods_figure
from vidlearn.viz.fusion import accuracy_bars, fusion_points_figure, multires_streams_figure
from vidlearn.viz.inflation import boring_video_figure, kernel_inflation_figure
from vidlearn.viz.live import live
from vidlearn.viz.style import ERA_COLORS, PALETTE, color_cycle
from vidlearn.viz.timeline import era_timeline
from vidlearn.viz.two_stream import flow_stack_figure
from vidlearn.viz.video import clip_player, dataset_gallery, frame_grid, png_uri, sampler_timeline, to_uint8_frames

__all__ = [
    "ERA_COLORS", "PALETTE", "color_cycle", "era_timeline",
    "clip_player", "frame_grid", "dataset_gallery", "sampler_timeline", "png_uri", "to_uint8_frames",
    "flow_explorer", "flow_methods_figure", "flow_stack_figure",
    "fusion_points_figure", "multires_streams_figure", "accuracy_bars",
    "kernel_inflation_figure", "boring_video_figure",
    "attention_patterns_figure", "attention_cost_figure", "paper_scale_cost_figure", "scheme_accuracy_figure",
    "rollout_figure",
    "stage_diagram", "deepvideo_diagram", "two_stream_diagram", "fusion_diagram", "tsn_diagram",
    "r2plus1d_block_diagram", "nonlocal_diagram", "slowfast_diagram", "tsm_diagram", "timesformer_block_diagram",
    "vivit_diagram",
    "live",
]
