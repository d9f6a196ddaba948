"""2D frame backbones shared by the era-2 models (Two-Stream fusion, Beyond Short Snippets, TSN).

Era-2 video models run an image CNN on single frames (or on stacks of flow fields) and merge time
later. This file gives them one interface for the 2D part, whatever the network:

    backbone = build_backbone("resnet50", in_channels=3)    # or "resnet18", "googlenet", "tiny"
    backbone.forward_map(x)    # (N, C, H, W) -> (N, D, h, w)  last conv feature map
    backbone(x)                # (N, C, H, W) -> (N, D)        globally average-pooled features
    backbone.out_dim           # D

torchvision networks are always built with ``weights=None`` (nothing downloads); pretrained weights come
from an explicit state dict or path (:func:`load_backbone_weights`), e.g. torchvision's ImageNet
checkpoints saved once by the user. When the backbone takes more than 3 channels (a stack of 2L optical
flow fields) the RGB weights of the first conv are averaged over their 3 channels and replicated over
the new channels: TSN's cross-modality pre-training (Wang et al. 2016, Sec. 3.2),
:func:`cross_modality_weight`.
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Sequence, Union

import torch
import torch.nn as nn
import torchvision

from vidlearn.weights import read_state_dict

WeightsLike = Union[str, "os.PathLike[str]", Mapping[str, torch.Tensor]]

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
BACKBONES = RESNETS + ("googlenet", "tiny")


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Conv2d (no bias) -> BatchNorm2d -> ReLU, 'same' padding."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class TinyCNN(nn.Module):
    """A small conv-BN-ReLU network for CPU experiments on 32x32 frames.

    Each width is one stride-2 block, so ``len(widths)`` blocks divide the frame size by ``2**len(widths)``.

    Shape: ``forward_map``: ``(N, C, H, W) -> (N, widths[-1], H / 2**n, W / 2**n)``;
    ``forward``: ``(N, C, H, W) -> (N, widths[-1])``.
    """

    first_conv_key = "blocks.0.0.weight"

    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64)):
        super().__init__()
        chans = [in_channels, *widths]
        self.blocks = nn.Sequential(*[conv_bn_relu(a, b, 3, 2) for a, b in zip(chans[:-1], chans[1:])])
        self.out_dim = widths[-1]

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)  # (N, D, H/2^n, W/2^n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))  # (N, D)


class ResNetFeatures(nn.Module):
    """A torchvision ResNet (``weights=None``) without its classifier, as a frame feature extractor.

    Shape: ``forward_map``: ``(N, C, H, W) -> (N, D, H/32, W/32)``; ``forward``: ``(N, C, H, W) -> (N, D)``
    with ``D = 512`` (resnet18/34) or ``2048`` (resnet50/101/152).
    """

    first_conv_key = "net.conv1.weight"

    def __init__(self, arch: str = "resnet50", in_channels: int = 3):
        super().__init__()
        if arch not in RESNETS:
            raise ValueError(f"unknown ResNet {arch!r}; expected one of {', '.join(RESNETS)}")
        self.net = getattr(torchvision.models, arch)(weights=None)
        if in_channels != 3:
            self.net.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.out_dim = self.net.fc.in_features
        self.net.fc = nn.Identity()

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))  # (N, 64, H/4, W/4)
        return n.layer4(n.layer3(n.layer2(n.layer1(x))))  # (N, D, H/32, W/32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))  # (N, D)


class GoogLeNetFeatures(nn.Module):
    """torchvision's GoogLeNet (Inception v1 with batch norm, ``weights=None``) without its classifier.

    The closest torchvision network to the BN-Inception of TSN and to the GoogLeNet of Beyond Short
    Snippets. Shape: ``forward_map``: ``(N, C, H, W) -> (N, 1024, H/32, W/32)``; ``forward``: ``(N, 1024)``.

    With 3 input channels it is built with ``transform_input=True``, as torchvision builds its ImageNet
    GoogLeNet: those weights were trained on pixels scaled to [-1, 1], and the transform maps an input
    normalised with the ImageNet mean and std to that scale, so loading torchvision's weights gives
    torchvision's features on the same (ImageNet-normalised) input. Flow stacks (``in_channels != 3``)
    have no RGB statistics to undo: no transform.
    """

    first_conv_key = "net.conv1.conv.weight"

    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.net = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True,
                                                transform_input=in_channels == 3)
        if in_channels != 3:
            self.net.conv1.conv = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.out_dim = self.net.fc.in_features
        self.net.fc = nn.Identity()

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = n._transform_input(x)  # ImageNet-normalised RGB -> the [-1, 1] scale of the weights (3 channels)
        x = n.maxpool1(n.conv1(x))  # (N, 64, H/4, W/4)
        x = n.maxpool2(n.conv3(n.conv2(x)))  # (N, 192, H/8, W/8)
        x = n.maxpool3(n.inception3b(n.inception3a(x)))  # (N, 480, H/16, W/16)
        x = n.inception4c(n.inception4b(n.inception4a(x)))  # (N, 512, H/16, W/16)
        x = n.inception4e(n.inception4d(x))  # (N, 832, H/16, W/16)
        x = n.maxpool4(x)  # (N, 832, H/32, W/32)
        return n.inception5b(n.inception5a(x))  # (N, 1024, H/32, W/32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))  # (N, 1024)


def build_backbone(name: str, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64),
                   weights: WeightsLike | None = None) -> nn.Module:
    """Build a 2D frame backbone by name: ``resnet18`` ... ``resnet152``, ``googlenet`` or ``tiny``.

    Args:
        name: one of :data:`BACKBONES`.
        in_channels: 3 for RGB, ``2L`` for a stack of L flow fields.
        widths: the block widths of the ``tiny`` backbone (ignored otherwise).
        weights: optional state dict (or path to one) of the same network with 3 input channels, e.g. a
            torchvision ImageNet checkpoint; see :func:`load_backbone_weights`.
    """
    if name in RESNETS:
        net: nn.Module = ResNetFeatures(name, in_channels)
    elif name == "googlenet":
        net = GoogLeNetFeatures(in_channels)
    elif name == "tiny":
        net = TinyCNN(in_channels, widths)
    else:
        raise ValueError(f"unknown 2D backbone {name!r}; expected one of {', '.join(BACKBONES)}")
    if weights is not None:
        load_backbone_weights(net, weights)
    return net


def cross_modality_weight(rgb_weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """TSN's cross-modality initialisation of a first conv: average the RGB filters, replicate them.

    Shape: ``(O, 3, k, k) -> (O, in_channels, k, k)``; every input channel gets the same filter, the mean
    of the three RGB filters (Wang et al. 2016, Sec. 3.2).
    """
    if rgb_weight.dim() != 4:
        raise ValueError(f"expected a conv weight (O, C, k, k), got shape {tuple(rgb_weight.shape)}")
    mean = rgb_weight.mean(dim=1, keepdim=True)  # (O, 1, k, k)
    return mean.expand(-1, in_channels, -1, -1).clone()  # (O, in_channels, k, k)


def _read_state_dict(weights: WeightsLike) -> Dict[str, torch.Tensor]:
    return read_state_dict(weights)  # a path is loaded with weights_only=True, errors name it


def load_backbone_weights(backbone: nn.Module, weights: WeightsLike) -> nn.Module:
    """Load a state dict of the plain network (e.g. torchvision's ``resnet50`` keys) into a backbone.

    The classifier (``fc.*``, ``aux*``) is ignored. If the backbone's first conv takes other than 3
    channels, the RGB filters are converted with :func:`cross_modality_weight`. Every other backbone
    parameter must be present: a missing or misshaped key raises a ``ValueError`` that names it.
    """
    state = _read_state_dict(weights)
    prefix = "net." if hasattr(backbone, "net") else ""  # our wrappers hold the torchvision net as .net

    def plain(k: str) -> str:  # accept both torchvision keys and our wrapper's keys
        return k[len(prefix):] if prefix and k.startswith(prefix) else k

    state = {prefix + plain(k): v for k, v in state.items() if not plain(k).startswith(("fc.", "aux"))}
    own = backbone.state_dict()
    key = backbone.first_conv_key
    if key in state and state[key].shape != own[key].shape:
        state[key] = cross_modality_weight(state[key], own[key].shape[1])
    missing = sorted(set(own) - set(state))
    if missing:
        raise ValueError(f"weights lack {len(missing)} backbone entries, e.g. {missing[:3]}")
    bad = [k for k in own if state[k].shape != own[k].shape]
    if bad:
        k = bad[0]
        raise ValueError(f"weights entry {k!r} has shape {tuple(state[k].shape)}, "
                         f"the backbone expects {tuple(own[k].shape)}")
    backbone.load_state_dict({k: state[k] for k in own})
    return backbone
