"""C3D: generic spatiotemporal features from a plain 3D ConvNet.

Learning Spatiotemporal Features with 3D Convolutional Networks
Tran, Bourdev, Fergus, Torresani, Paluri. ICCV 2015. https://arxiv.org/abs/1412.0767

The idea: a VGG-style network in which *every* convolution and pooling is 3D keeps temporal information
through all of its layers, where 2D convolutions on stacked frames (early fusion) collapse time in the
first layer. A search over kernel depths found 3x3x3 everywhere best. Trained on Sports-1M, its fc6
activations, averaged over the 16-frame clips of a video and L2-normalised, are a generic video
descriptor: a linear SVM on them matched or beat the state of the art on several benchmarks (UCF101
82.3% with C3D alone), which is the workflow ``video_features`` + ``train_linear_classifier`` reproduce.

    clip (B, 3, 16, 112, 112)
      conv1a 64                 pool1 1x2x2  (B, 64, 16, 56, 56)   the first pool keeps time
      conv2a 128                pool2 2x2x2  (B, 128, 8, 28, 28)
      conv3a 256, conv3b 256    pool3 2x2x2  (B, 256, 4, 14, 14)
      conv4a 512, conv4b 512    pool4 2x2x2  (B, 512, 2, 7, 7)
      conv5a 512, conv5b 512    pool5 2x2x2  (B, 512, 1, 4, 4)    (ceil mode in space: 7 -> 4)
      fc6 4096 -> fc7 4096 -> fc8 num_classes        (8 convs, 5 pools, 2 fc, all convs 3x3x3 stride 1)

    fc6 and fc7 are each followed by ReLU and dropout 0.5 (drop6, drop7), as in the released model.

The layers follow the official Caffe model (facebookarchive/C3D, C3D-v1.0 ``examples/c3d_feature_extraction/
prototxt/c3d_sport1m_feature_extractor_frm.prototxt``): convs 3x3x3 with padding 1 in space and time; pools
2x2x2 stride 2 except pool1 (1x2x2, temporal stride 1). No pool is padded: Caffe sizes pooling outputs with
``ceil`` (``ceil_mode=True`` here, on every pool), so pool5 turns the 7x7 maps of conv5b into 4x4 with
windows starting at 0, 2, 4, 6, the last one clipped to a single column. (Padding pool5 by one pixel, as some PyTorch
ports do, gives the same 4x4 shape but windows shifted by one pixel, so Caffe weights would see other inputs.)

Shapes: input ``(B, 3, 16, 112, 112)`` float at paper size; other sizes work too (T >= 16, H, W >= 16): an
adaptive pool brings pool5 to the 1x4x4 grid fc6 was built for, as torchvision's VGG does with 7x7, and
is the identity at the configured size. Output ``(B, num_classes)``; ``forward_features``: fc6 ``(B, 4096)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidlearn.layers.checks import check_num_classes, check_video
from vidlearn.registry import register_model


@dataclass(frozen=True)
class C3DConfig:
    num_classes: int = 487  # Sports-1M
    in_channels: int = 3
    widths: Tuple[int, int, int, int, int] = (64, 128, 256, 512, 512)  # conv1 .. conv5
    # temporal stride of pool1..pool5; the paper keeps time in pool1 only ("not to merge the temporal
    # signal too early"), so a 16-frame clip reaches pool5 as one time step
    time_pools: Tuple[int, int, int, int, int] = (1, 2, 2, 2, 2)
    fc_dim: int = 4096
    dropout: float = 0.5
    frames: int = 16
    size: int = 112  # 112x112 crops of 128x171 frames

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> C3DConfig:
        """A CPU-sized C3D, deliberately not the paper's: 8-frame 32x32 clips, 1/8 to 1/16 of the channels,
        fc 64 and dropout 0.2 (the paper's 4096 and 0.5 would dwarf and starve such a small net). pool2 keeps
        time too (``time_pools=(1, 1, 2, 2, 2)``) so the 8 frames still reach pool5 as one step, as 16 do in
        the paper; pool5 then takes the 2x2 maps to 1x1. Same 8 convs, 5 pools and pooling rule.
        """
        base = cls(num_classes=10, widths=(8, 16, 32, 32, 32), time_pools=(1, 1, 2, 2, 2), fc_dim=64,
                   dropout=0.2, frames=8, size=32)
        return replace(base, **overrides)


def _pool5_grid(cfg: C3DConfig) -> Tuple[int, int, int]:
    """The (T, H, W) grid pool5 gives at the configured input size, which fixes fc6's input size."""
    t, s = cfg.frames, cfg.size
    for tp in cfg.time_pools:
        t, s = -(-t // tp), -(-s // 2)  # every pool rounds up, as Caffe's does
    return t, s, s


class C3D(nn.Module):
    """The C3D network: 8 convs (3x3x3), 5 max pools, fc6, fc7, fc8.

    Shape:
        x: ``(B, C, T, H, W)`` float with ``T >= prod(time_pools)`` (16 at paper size), ``H, W >= 16``.
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: C3DConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3, c4, c5 = cfg.widths
        convs = [(cfg.in_channels, c1), (c1, c2), (c2, c3), (c3, c3), (c3, c4), (c4, c4), (c4, c5), (c5, c5)]
        names = ["conv1a", "conv2a", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b"]
        pool_after = {"conv1a": 0, "conv2a": 1, "conv3b": 2, "conv4b": 3, "conv5b": 4}
        layers = []
        for name, (cin, cout) in zip(names, convs):
            layers += [nn.Conv3d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
            if name in pool_after:
                i = pool_after[name]
                tp = cfg.time_pools[i]
                # unpadded and rounding up, as Caffe pools: pool5 takes 7x7 to 4x4, its last window clipped
                layers.append(nn.MaxPool3d((tp, 2, 2), (tp, 2, 2), ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.grid = _pool5_grid(cfg)
        self.pool5_grid = nn.AdaptiveMaxPool3d(self.grid)  # identity at the configured size
        self.min_frames = math.prod(cfg.time_pools)
        # rounding-up pools run on any size; ask for what keeps pool1..pool4's windows whole, as time does
        self.min_size = (16, 16)
        self.fc6 = nn.Linear(c5 * math.prod(self.grid), cfg.fc_dim)
        self.fc7 = nn.Linear(cfg.fc_dim, cfg.fc_dim)
        self.fc8 = nn.Linear(cfg.fc_dim, cfg.num_classes)
        self.dropout = nn.Dropout(cfg.dropout)

    def _check(self, x: torch.Tensor) -> None:
        check_video(x, channels=self.cfg.in_channels, min_frames=self.min_frames, min_size=self.min_size,
                    model="C3D")

    def forward_features(self, x: torch.Tensor, layer: str = "fc6") -> torch.Tensor:
        """Activations of ``layer``: ``"pool5"`` ``(B, C5, t, h, w)``, ``"fc6"`` or ``"fc7"`` ``(B, fc_dim)``.

        fc6 (after its ReLU) is the paper's video descriptor.
        """
        self._check(x)
        x = self.pool5_grid(self.features(x))  # (B, 512, 1, 4, 4)
        if layer == "pool5":
            return x
        x = F.relu(self.fc6(x.flatten(1)))  # (B, 4096)
        if layer == "fc6":
            return x
        if layer == "fc7":
            return F.relu(self.fc7(self.dropout(x)))  # (B, 4096)
        raise ValueError(f"layer must be 'pool5', 'fc6' or 'fc7', got {layer!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x, "fc6")  # (B, 4096)
        x = F.relu(self.fc7(self.dropout(x)))  # (B, 4096)
        return self.fc8(self.dropout(x))  # (B, num_classes)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: the fewest frames it takes, at 16x16)."""
        t, s = (self.min_frames, 16) if small else (self.cfg.frames, self.cfg.size)
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)


@torch.no_grad()
def video_features(model: C3D, video: torch.Tensor, clip_len: Optional[int] = None, stride: Optional[int] = None,
                   layer: str = "fc6", batch_size: int = 8, normalize: bool = True) -> torch.Tensor:
    """The paper's video descriptor: ``layer`` activations averaged over clips, then L2-normalised.

    The video is cut into ``clip_len``-frame clips (16 in the paper) with ``stride`` frames between
    clip starts (8: consecutive clips overlap by half, as in the paper); each clip goes through the
    network and the clips' fc6 vectors are averaged. ``video`` is one float video ``(C, T, H, W)``
    already resized/cropped to the model's frame size; ``T < clip_len`` raises a ValueError.

    Shape: ``(C, T, H, W) -> (fc_dim,)``.
    """
    clip_len = model.cfg.frames if clip_len is None else clip_len
    stride = max(1, clip_len // 2) if stride is None else stride
    if not isinstance(video, torch.Tensor) or video.dim() != 4:
        got = tuple(video.shape) if isinstance(video, torch.Tensor) else type(video).__name__
        raise ValueError(f"video_features expects one video (C, T, H, W), got {got}")
    t = video.shape[1]
    if t < clip_len:
        raise ValueError(f"video_features needs at least clip_len={clip_len} frames, the video has T={t}")
    was_training = model.training
    model.eval()
    starts = range(0, t - clip_len + 1, stride)
    clips = torch.stack([video[:, s:s + clip_len] for s in starts])  # (N_clips, C, clip_len, H, W)
    feats = torch.cat([model.forward_features(c, layer) for c in clips.split(batch_size)])  # (N_clips, D)
    model.train(was_training)
    feat = feats.flatten(1).mean(0)  # (D,)
    return F.normalize(feat, dim=0) if normalize else feat


def train_linear_classifier(features: torch.Tensor, labels: torch.Tensor, num_classes: Optional[int] = None,
                            c: float = 1.0, steps: int = 300, lr: float = 0.1) -> nn.Linear:
    """A multi-class linear SVM on fixed features (the paper trains a linear SVM on C3D descriptors).

    Minimises the Weston-Watkins multi-class hinge loss (``F.multi_margin_loss``) plus the SVM's
    ``||W||^2 / (2 C N)`` penalty with full-batch Adam steps: on a few thousand 4096-d descriptors this
    takes seconds. Returns an ``nn.Linear`` whose argmax is the predicted class.

    Shape: ``features (N, D)``, ``labels (N,)`` int -> ``nn.Linear(D, num_classes)``.
    """
    if features.dim() != 2 or labels.dim() != 1 or len(features) != len(labels):
        raise ValueError(f"expected features (N, D) and labels (N,), got {tuple(features.shape)} and "
                         f"{tuple(labels.shape)}")
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    clf = nn.Linear(features.shape[1], k)
    nn.init.zeros_(clf.weight)
    nn.init.zeros_(clf.bias)
    opt = torch.optim.Adam(clf.parameters(), lr=lr)
    x, y = features.detach().float(), labels.long()
    for _ in range(steps):
        opt.zero_grad()
        loss = F.multi_margin_loss(clf(x), y) + clf.weight.pow(2).sum() / (2 * c * len(x))
        loss.backward()
        opt.step()
    return clf


def _config(tiny: bool, overrides: dict) -> C3DConfig:
    return C3DConfig.tiny(**overrides) if tiny else replace(C3DConfig(), **overrides)


@register_model
def c3d(tiny: bool = False, **overrides) -> C3D:
    """C3D (Tran et al. 2015): 8 3x3x3 convs, 5 pools, fc6/fc7 4096, 16x112x112 clips, Sports-1M head."""
    return C3D(_config(tiny, overrides))
