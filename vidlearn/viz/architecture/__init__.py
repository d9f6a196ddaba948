"""Architecture diagrams drawn from the models themselves (every chapter's "what the network looks like").

Nothing here is typed in: each diagram runs the model once (batch of one, ``torch.no_grad``, eval mode,
then the model's mode is restored) with forward hooks on the parts it draws, and reads the modules to find
where things sit (which blocks carry a non-local block, where the temporal shift is, the M_i channels of a
(2+1)D conv, the attention steps of a transformer block). A paper-size model costs nothing on the ``meta``
device, which computes shapes without numbers::

    with torch.device("meta"):
        model = create_model("slowfast_r50")
    slowfast_diagram(model).show()

Shapes are written without the batch, channels first: ``C × T × H × W`` (a 2D network's per-frame maps
``C × H × W``, a transformer's tokens ``L × D``). The figures are boxes, arrows and hover text only (no
callbacks), so they read the same in the static book. ``fig.layout.meta`` holds what was measured (stage
shapes, non-local positions, lateral shapes...), for the tests and for readers who want the numbers.

Functions: :func:`stage_shapes` (the hooks), :func:`stage_diagram` (any video CNN as a chain of stages:
C3D, I3D, the R(2+1)D family, the non-local ResNets), :func:`deepvideo_diagram`, :func:`two_stream_diagram`,
:func:`fusion_diagram`, :func:`tsn_diagram`, :func:`r2plus1d_block_diagram`, :func:`nonlocal_diagram`,
:func:`slowfast_diagram`, :func:`tsm_diagram`, :func:`timesformer_block_diagram`, :func:`vivit_diagram`,
:func:`videomae_diagram`.
"""

from vidlearn.viz.architecture._core import fmt, stage_shapes
from vidlearn.viz.architecture.cnn import (
    deepvideo_diagram,
    fusion_diagram,
    stage_diagram,
    tsn_diagram,
    two_stream_diagram,
)
from vidlearn.viz.architecture.cnn3d import (
    nonlocal_diagram,
    r2plus1d_block_diagram,
    slowfast_diagram,
    tsm_diagram,
)
from vidlearn.viz.architecture.transformers import timesformer_block_diagram, videomae_diagram, vivit_diagram

__all__ = ["stage_shapes", "fmt", "stage_diagram", "deepvideo_diagram", "two_stream_diagram", "fusion_diagram",
           "tsn_diagram", "r2plus1d_block_diagram", "nonlocal_diagram", "slowfast_diagram", "tsm_diagram",
           "timesformer_block_diagram", "vivit_diagram", "videomae_diagram"]
