"""Optical flow for the temporal stream: compute it, look at it, stack it, store it.

>>> from vidlearn.flow import compute_flow, flow_to_rgb, stack_flow, quantize_flow
>>> flow = compute_flow(frames, method="tvl1")    # uint8 (T, H, W, 3) -> float32 (2, T-1, H, W)
>>> image = flow_to_rgb(flow)                      # (T-1, H, W, 3) uint8, Middlebury colours
>>> x = stack_flow(flow, start=0, length=10)       # (20, H, W): [x_0, y_0, x_1, y_1, ...]
>>> q = quantize_flow(flow, bound=20.0)            # uint8, what the two-stream papers stored as JPEGs

Computing flow needs OpenCV (``cv2``), imported only when flow is computed; TV-L1 needs the contrib build,
and elsewhere ``"tvl1"`` warns and runs DIS (see ``available_flow_methods()``). Everything else here is
numpy/torch. Used by the flow and Two-Stream/TSN chapters.
"""

from vidlearn.flow.cache import FlowCache, read_frames
from vidlearn.flow.compute import (
    DIS_PRESETS,
    FLOW_METHODS,
    FlowMethodFallback,
    available_flow_methods,
    compute_flow,
    resolve_flow_method,
    time_flow,
    to_gray,
)
from vidlearn.flow.stack import (
    PAPER_STACK_LENGTH,
    dequantize_flow,
    quantize_flow,
    stack_clip,
    stack_flow,
    unstack_flow,
)
from vidlearn.flow.visualize import flow_to_rgb, flow_wheel, make_colorwheel

__all__ = [
    "FLOW_METHODS", "DIS_PRESETS", "PAPER_STACK_LENGTH",
    "compute_flow", "time_flow", "to_gray", "available_flow_methods", "resolve_flow_method", "FlowMethodFallback",
    "flow_to_rgb", "flow_wheel", "make_colorwheel",
    "stack_flow", "stack_clip", "unstack_flow", "quantize_flow", "dequantize_flow",
    "FlowCache", "read_frames",
]
