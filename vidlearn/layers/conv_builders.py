"""Interchangeable spatiotemporal convolutions: 3D, 2D (frame-wise) and (2+1)D.

A Closer Look at Spatiotemporal Convolutions for Action Recognition
Tran, Wang, Torresani, Ray, LeCun, Paluri. CVPR 2018. https://arxiv.org/abs/1711.11248

The R(2+1)D paper compares networks that differ *only* in how each residual block convolves space and
time. Every builder here has the same signature ``builder(in_ch, out_ch, mid_ch, stride)`` and answers
its own downsampling stride (``downsample_stride``), so one network class builds R2D, MCx, rMCx, R3D and
R(2+1)D by choosing a builder per stage (as torchvision's ``VideoResNet`` does):

    Conv3D          t x d x d                                  (R3D, and the 3D groups of MCx / rMCx)
    Conv2D          1 x d x d, no temporal stride              (frame-wise 2D: f-R2D, 2D groups)
    Conv2Plus1D     1 x d x d (M_i ch) -> BN -> ReLU -> t x 1 x 1   (R(2+1)D)

``midplanes(in_ch, out_ch)`` is the paper's rule (Sec. 3.5) for the M_i intermediate channels of a
(2+1)D conv: M_i = floor(t d^2 N_{i-1} N_i / (d^2 N_{i-1} + t N_i)) makes the (2+1)D conv's parameter count
equal (up to the floor) to the t x d x d conv it replaces, so R(2+1)D and R3D are compared at equal size.
The module layout mirrors torchvision's ``torchvision.models.video.resnet`` so state dicts are
interchangeable. Shapes: ``(B, C_in, T, H, W) -> (B, C_out, T / s_t, H / s, W / s)``.
"""

from __future__ import annotations

from typing import Dict, Tuple, Type, Union

import torch.nn as nn


def midplanes(in_ch: int, out_ch: int, t: int = 3, d: int = 3) -> int:
    """M_i of R(2+1)D Sec. 3.5: the width that gives a (2+1)D conv the parameters of a t x d x d conv."""
    return (t * d * d * in_ch * out_ch) // (d * d * in_ch + t * out_ch)


class Conv3D(nn.Conv3d):
    """A full 3 x 3 x 3 convolution (R3D): space and time convolved jointly, strided in both."""

    def __init__(self, in_ch: int, out_ch: int, mid_ch: int | None = None, stride: int = 1):
        super().__init__(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)

    @staticmethod
    def downsample_stride(stride: int) -> Tuple[int, int, int]:
        return (stride, stride, stride)


class Conv2D(nn.Conv3d):
    """A 1 x 3 x 3 convolution: a 2D conv applied to every frame; never strides in time."""

    def __init__(self, in_ch: int, out_ch: int, mid_ch: int | None = None, stride: int = 1):
        super().__init__(in_ch, out_ch, kernel_size=(1, 3, 3), stride=(1, stride, stride),
                         padding=(0, 1, 1), bias=False)

    @staticmethod
    def downsample_stride(stride: int) -> Tuple[int, int, int]:
        return (1, stride, stride)


class Conv2Plus1D(nn.Sequential):
    """A (2+1)D convolution: 1 x 3 x 3 to ``mid_ch`` channels, BN, ReLU, then 3 x 1 x 1.

    The extra ReLU between the two halves doubles the non-linearities of the block, one of the two
    reasons the paper gives for R(2+1)D's lower training error at equal parameter count.
    """

    def __init__(self, in_ch: int, out_ch: int, mid_ch: int | None = None, stride: int = 1):
        mid_ch = midplanes(in_ch, out_ch) if mid_ch is None else mid_ch
        super().__init__(
            nn.Conv3d(in_ch, mid_ch, kernel_size=(1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1),
                      bias=False),
            nn.BatchNorm3d(mid_ch),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid_ch, out_ch, kernel_size=(3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0),
                      bias=False),
        )

    @staticmethod
    def downsample_stride(stride: int) -> Tuple[int, int, int]:
        return (stride, stride, stride)


ConvBuilder = Type[Union[Conv3D, Conv2D, Conv2Plus1D]]

#: the builders by the short names configs use
CONV_BUILDERS: Dict[str, ConvBuilder] = {"3d": Conv3D, "2d": Conv2D, "2+1d": Conv2Plus1D}


def conv_builder(name: str) -> ConvBuilder:
    """The builder called ``name`` (``"3d"``, ``"2d"`` or ``"2+1d"``), with a clear error otherwise."""
    if name not in CONV_BUILDERS:
        raise ValueError(f"unknown conv type {name!r}; expected one of {sorted(CONV_BUILDERS)}")
    return CONV_BUILDERS[name]
