"""Inflation: turn a 2D image network (and its weights) into a 3D video network.

Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset
Carreira, Zisserman. CVPR 2017, Sec. 2.4. https://arxiv.org/abs/1705.07750

Every ``N x N`` conv becomes ``t x N x N``; its 2D weights are *bootstrapped*: repeated ``t`` times along
time and divided by ``t``. A "boring video" (one image repeated over time) then gives every 3D conv the
same response as the 2D conv on the image, so the whole inflated network reproduces the 2D network's
output on that image, and ImageNet training is not lost. The *centre* initialisation (2D kernel in the
middle time slice, zeros elsewhere) has the same property and starts as a frame-wise 2D network.

    2D kernel (O, I, k, k) --bootstrap--> (O, I, t, k, k), each slice w / t    sum over time = w
                           --centre-----> (O, I, t, k, k), slice t//2 = w, others 0

Layers map one to one: ``Conv2d -> Conv3d`` (temporal kernel and stride per layer), ``BatchNorm2d ->
BatchNorm3d`` (statistics kept), ``MaxPool2d / AvgPool2d -> *Pool3d`` (temporal size 1 unless chosen),
adaptive pools pool time globally (``(h, w) -> (1, h, w)``), ``Dropout2d -> Dropout3d``; layers that do
not care about rank (ReLU, LRN, GroupNorm, Linear, Flatten) are kept. The network's own ``forward`` is
reused, so any 2D net whose forward does not hard-code 4D shapes inflates (torchvision ResNets do).

Temporal padding: the boring-video equality is exact with ``time_padding="replicate"`` (the default:
the clip is extended by repeating its end frames). With the paper's zero padding it holds away from the
clip's ends only, for bootstrapped kernels; centre-initialised kernels are exact either way.
Even temporal kernels (2, 4, ...) cannot be centred. A conv pads one frame fewer in front than behind (so
stride 1 keeps the length); with stride == kernel it is not padded at all, so it tiles the clip into
non-overlapping windows: ``T // stride`` frames (I3D's 2x2x2 pool on 8 frames gives 4, not 5). Pools with
an even temporal kernel are not padded in time either (``(T - t) // stride + 1`` frames). An average pool
with an odd temporal kernel pads time by repeating the end frames (:class:`TimePaddedAvgPool3d`), so no zero
frame is averaged in: a constant clip stays constant, and a static clip gives the 2D pool's output.
Shapes: an inflated model takes ``(B, C, T, H, W)`` where the 2D model took ``(B, C, H, W)``.
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

#: a per-layer choice: one int for every layer, ``{"layer1.*": 3}`` patterns (first match wins, others
#: get the default), or ``f(name, module) -> int``
LayerSpec = Union[int, str, Mapping[str, int], Callable[[str, nn.Module], int]]

METHODS = ("bootstrap", "center")


def inflate_weight(weight: torch.Tensor, time: int, method: str = "bootstrap") -> torch.Tensor:
    """A 2D kernel ``(O, I, kh, kw)`` as a 3D kernel ``(O, I, time, kh, kw)`` (bootstrap or centre)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if weight.dim() != 4:
        raise ValueError(f"expected a 2D conv kernel (O, I, kh, kw), got shape {tuple(weight.shape)}")
    if method == "bootstrap":
        return weight.unsqueeze(2).repeat(1, 1, time, 1, 1) / time  # (O, I, t, kh, kw)
    out = weight.new_zeros(weight.shape[:2] + (time,) + weight.shape[2:])  # (O, I, t, kh, kw)
    out[:, :, time // 2] = weight
    return out


class InflatedConv3d(nn.Conv3d):
    """A ``Conv3d`` that pads time itself (zeros or replicate), so even kernels and replicate work.

    Its parameters and state-dict keys are those of ``nn.Conv3d``. Shape: ``(B, I, T, H, W) -> (B, O, T', H', W')``.
    """

    def __init__(self, *args, time_padding: str = "replicate", device=None, dtype=None, **kwargs):
        super().__init__(*args, device=device, dtype=dtype, **kwargs)
        if time_padding not in ("zeros", "replicate"):
            raise ValueError(f"time_padding must be 'zeros' or 'replicate', got {time_padding!r}")
        self.time_padding = time_padding

    def extra_repr(self) -> str:
        return super().extra_repr() + f", time_padding={self.time_padding}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.kernel_size[0]
        front, back = (t - 1) // 2, t // 2
        if t % 2 == 0 and self.stride[0] == t:  # an even kernel tiling time: T // t windows, no padding
            front = back = 0
        if front or back:
            mode = "replicate" if self.time_padding == "replicate" else "constant"
            x = F.pad(x, (0, 0, 0, 0, front, back), mode=mode)  # (B, I, T + t - 1, H, W)
        return super().forward(x)


class TimePaddedAvgPool3d(nn.AvgPool3d):
    """An ``AvgPool3d`` whose temporal padding repeats the clip's end frames instead of adding zeros.

    ``time_pad`` frames are added at each end (replicate); the spatial padding and ``count_include_pad`` are
    the 2D pool's. Shape: ``(B, C, T, H, W) -> (B, C, T', H', W')``, ``T' = (T + 2 time_pad - t) // s + 1``.
    """

    def __init__(self, *args, time_pad: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_pad = time_pad

    def extra_repr(self) -> str:
        return super().extra_repr() + f", time_pad={self.time_pad} (replicate)"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time_pad:
            x = F.pad(x, (0, 0, 0, 0, self.time_pad, self.time_pad), mode="replicate")  # (B, C, T + 2p, H, W)
        return super().forward(x)


def _spec(spec: LayerSpec, name: str, module: nn.Module, default: int) -> int:
    if callable(spec):
        return int(spec(name, module))
    if isinstance(spec, Mapping):
        for pattern, value in spec.items():
            if fnmatch.fnmatch(name, pattern):
                return int(value)
        return default
    if spec == "same":  # I3D: N x N -> N x N x N
        return int(module.kernel_size[0] if isinstance(module.kernel_size, tuple) else module.kernel_size)
    if isinstance(spec, int):
        return spec
    raise ValueError(f"a per-layer spec is an int, 'same', a mapping or a callable, got {spec!r}")


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def inflate_conv(conv: nn.Conv2d, time: int, method: str = "bootstrap", time_stride: int = 1,
                 time_padding: str = "replicate") -> InflatedConv3d:
    """One ``Conv2d`` as a ``time x kh x kw`` conv with bootstrapped/centred weights and the same bias."""
    padding = conv.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif all(k % 2 for k in conv.kernel_size):
            padding = tuple(d * (k - 1) // 2 for k, d in zip(conv.kernel_size, conv.dilation))
        else:
            raise ValueError(f"cannot inflate {conv}: padding='same' with an even kernel")
    # skip_init: no random init of a kernel that is overwritten on the next line
    out = nn.utils.skip_init(
        InflatedConv3d, conv.in_channels, conv.out_channels, (time,) + _pair(conv.kernel_size),
        stride=(time_stride,) + _pair(conv.stride), padding=(0,) + _pair(padding),
        dilation=(1,) + _pair(conv.dilation), groups=conv.groups, bias=conv.bias is not None,
        padding_mode=conv.padding_mode, time_padding=time_padding, device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    with torch.no_grad():
        out.weight.copy_(inflate_weight(conv.weight, time, method))
        if conv.bias is not None:
            out.bias.copy_(conv.bias)
    return out


def _inflate_leaf(name: str, m: nn.Module, opts: dict) -> nn.Module:
    """The 3D counterpart of one 2D layer (or the layer itself when it is rank-agnostic)."""
    stride_t = _spec(opts["time_stride"], name, m, 1)
    if isinstance(m, nn.Conv2d):
        default_t = opts["time_kernel"] if isinstance(opts["time_kernel"], int) else 1
        t = _spec(opts["time_kernel"], name, m, default_t)
        if isinstance(opts["time_kernel"], int) and max(_pair(m.kernel_size)) == 1:
            t = 1  # 1x1 convs stay 1x1x1 unless named in a mapping/callable
        return inflate_conv(m, t, opts["method"], stride_t, opts["time_padding"])
    if isinstance(m, nn.BatchNorm2d):
        bn = nn.BatchNorm3d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
        tensors = list(m.state_dict().values())
        if tensors:
            bn.to(tensors[0].device, tensors[-2 if m.affine else 0].dtype)
        bn.load_state_dict(m.state_dict())
        return bn.train(m.training)
    if isinstance(m, nn.InstanceNorm2d):
        return nn.InstanceNorm3d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        t = _spec(opts["pool_time_kernel"], name, m, 1)
        k, s, p = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
        pad_t = t // 2 if t % 2 else 0  # even kernels are not padded in time (a centred pad does not exist)
        if isinstance(m, nn.MaxPool2d):
            return nn.MaxPool3d((t,) + k, (stride_t,) + s, (pad_t,) + p, (1,) + _pair(m.dilation),
                                ceil_mode=m.ceil_mode)
        return TimePaddedAvgPool3d((t,) + k, (stride_t,) + s, (0,) + p, m.ceil_mode, m.count_include_pad,
                                   m.divisor_override, time_pad=pad_t)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return nn.AdaptiveAvgPool3d((1,) + _pair(m.output_size))
    if isinstance(m, nn.AdaptiveMaxPool2d):
        return nn.AdaptiveMaxPool3d((1,) + _pair(m.output_size))
    if isinstance(m, nn.Dropout2d):
        return nn.Dropout3d(m.p, m.inplace)
    if type(m).__name__.endswith("2d") and not list(m.children()):
        raise TypeError(f"inflate does not know how to turn {name or 'the model'} ({type(m).__name__}) into 3D")
    return m


def _inflate_into(parent: nn.Module, prefix: str, opts: dict) -> None:
    for child_name, child in parent.named_children():
        name = f"{prefix}.{child_name}" if prefix else child_name
        new = _inflate_leaf(name, child, opts)
        if new is not child:
            setattr(parent, child_name, new)
        else:
            _inflate_into(child, name, opts)


def inflate(module2d: nn.Module, time_kernel: LayerSpec = 3, method: str = "bootstrap",
            time_stride: LayerSpec = 1, pool_time_kernel: LayerSpec = 1, time_padding: str = "replicate",
            inplace: bool = False) -> nn.Module:
    """Inflate a 2D network into a 3D one, weights included (I3D Sec. 2.4).

    Args:
        module2d: any 2D network: torchvision ResNets, the book's 2D CNNs, a single layer.
        time_kernel: temporal size of each conv: an int for every conv with a spatial kernel > 1 (1x1
            convs stay 1x1x1), ``"same"`` for I3D's N x N -> N x N x N, ``{"conv1": 5, "layer*.conv1": 3}``
            (fnmatch patterns on module names, first match wins, unmatched convs get 1), or a callable.
        method: ``"bootstrap"`` (repeat and divide by t, the paper's) or ``"center"``.
        time_stride: temporal stride per layer (convs and pools), same forms; default 1 (keep time).
        pool_time_kernel: temporal size of max/avg pools, same forms; default 1.
        time_padding: ``"replicate"`` (boring-video equality exact at the clip's ends) or ``"zeros"``.
        inplace: replace the layers of ``module2d`` itself instead of a deep copy.

    Returns:
        The 3D network, taking ``(B, C, T, H, W)``; a static clip gives the 2D output on its frame.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    opts = dict(time_kernel=time_kernel, method=method, time_stride=time_stride,
                pool_time_kernel=pool_time_kernel, time_padding=time_padding)
    model = module2d if inplace else copy.deepcopy(module2d)
    new = _inflate_leaf("", model, opts)
    if new is not model:  # a single layer was passed
        return new
    _inflate_into(model, "", opts)
    return model


@dataclass
class InflationReport:
    """What :func:`inflate_state_dict` did with each key."""

    copied: List[str] = field(default_factory=list)  # same shape, copied as is
    inflated: List[str] = field(default_factory=list)  # 2D kernels inflated along time
    adapted: List[str] = field(default_factory=list)  # input channels changed (e.g. RGB -> flow)
    missing: List[str] = field(default_factory=list)  # in the 3D model, not in the 2D state dict
    unexpected: List[str] = field(default_factory=list)  # in the 2D state dict, not in the 3D model
    mismatched: Dict[str, str] = field(default_factory=dict)  # key -> "2D shape vs 3D shape", skipped


def inflate_state_dict(state_2d: Mapping[str, torch.Tensor], model_3d: nn.Module, method: str = "bootstrap",
                       strict: bool = False) -> InflationReport:
    """Load a 2D network's state dict into a 3D model with the same key names, inflating kernels.

    Each 4D kernel becomes the 3D model's ``(O, I, t, kh, kw)`` with the 3D model's ``t``; a first conv
    whose input channels differ (RGB weights into a 2-channel flow network) gets the RGB kernels averaged
    over channels and repeated (TSN's cross-modality initialisation, as I3D's flow stream does). Keys
    whose shapes cannot match (a 1000-way ImageNet fc into a 400-way head) are skipped and reported.
    ``strict=True`` raises a ValueError when anything but ``unexpected`` keys is left over.
    """
    target = model_3d.state_dict()
    report, new = InflationReport(), {}
    for key, v3 in target.items():
        if key not in state_2d:
            report.missing.append(key)
            continue
        v2 = state_2d[key]
        if v2.shape == v3.shape:
            new[key] = v2
            report.copied.append(key)
        elif v2.dim() == 4 and v3.dim() == 5 and v2.shape[0] == v3.shape[0] and v2.shape[2:] == v3.shape[3:]:
            if v2.shape[1] != v3.shape[1]:
                v2 = v2.mean(1, keepdim=True).expand(-1, v3.shape[1], -1, -1)  # (O, I3d, kh, kw)
                report.adapted.append(key)
            new[key] = inflate_weight(v2, v3.shape[2], method)  # (O, I, t, kh, kw)
            report.inflated.append(key)
        else:
            report.mismatched[key] = f"{tuple(v2.shape)} vs {tuple(v3.shape)}"
    report.unexpected = [k for k in state_2d if k not in target]
    if strict and (report.missing or report.mismatched):
        raise ValueError(f"2D weights do not cover the 3D model: missing {report.missing}, "
                         f"mismatched {report.mismatched}")
    model_3d.load_state_dict(new, strict=False)
    return report
