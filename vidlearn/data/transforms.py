"""Video transforms on clips ``(C, T, H, W)``: one set of random parameters for all frames of a clip.

A clip is one moment seen through one camera, so a crop, a flip or a scale is drawn once per clip and
applied to every frame (cropping each frame differently would invent motion). Random transforms take an
optional ``generator`` (``torch.Generator``) for repeatability; without one they use torch's global
generator, which DataLoader seeds differently in every worker.

    Compose([ToTensorVideo(), ResizeShortSide(128), RandomCrop(112), RandomHorizontalFlip(),
             Normalize(KINETICS_MEAN, KINETICS_STD)])

``view_crops(clip, crops=3)`` stacks the spatial views of multi-view testing (the centre, 3 along the long
side, the centre and corners, those mirrored: :func:`view_crop_boxes`), used by
:func:`vidlearn.train.evaluate_views`.

``MultiScaleCrop`` is TSN's corner cropping with scale jittering (Wang et al., ECCV 2016, Sec. 3.2);
``RandomHorizontalFlip(flow=True)`` flips an optical-flow clip, whose x components change sign when the
image is mirrored. Used by ``VideoFolder`` and the chapters on Two-Stream, TSN and 3D CNNs.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

Size = Union[int, Tuple[int, int]]
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)  # torchvision's video models (Kinetics-400)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
CROP_POSITIONS = ("center", "top_left", "top_right", "bottom_left", "bottom_right")


def _clip(x, who: str) -> torch.Tensor:
    """Check that ``x`` is a clip tensor ``(C, T, H, W)``; the error says what came instead."""
    if not isinstance(x, torch.Tensor):
        hint = " (uint8 frames (T, H, W, C) from read_video convert with ToTensorVideo())" \
            if isinstance(x, np.ndarray) else ""
        raise TypeError(f"{who} expects a clip as a torch.Tensor (C, T, H, W), got {type(x).__name__}{hint}")
    if x.dim() != 4:
        hint = {5: " (a batch? transforms apply to one clip)", 3: " (one image? add the time axis: x[:, None])"}
        raise ValueError(f"{who} expects a clip (C, T, H, W) with 4 dimensions, got {x.dim()} dimensions "
                         f"{tuple(x.shape)}{hint.get(x.dim(), '')}")
    return x


def _pair(size: Size, name: str = "size") -> Tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    if h < 1 or w < 1:
        raise ValueError(f"{name} must be positive, got {size}")
    return int(h), int(w)


def _randint(high: int, generator: Optional[torch.Generator]) -> int:
    """A uniform int in [0, high)."""
    return int(torch.randint(high, (1,), generator=generator))


def _resize(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    frames = x.transpose(0, 1)  # (T, C, H, W): every frame through the same resampling
    out = F.interpolate(frames.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
    if not x.is_floating_point():
        out = out.round().clamp(0, 255)
    return out.to(x.dtype).transpose(0, 1)  # (C, T, H', W')


def _crop(x: torch.Tensor, top: int, left: int, h: int, w: int) -> torch.Tensor:
    return x[..., top:top + h, left:left + w]  # (C, T, h, w)


def _check_fits(x: torch.Tensor, h: int, w: int, who: str) -> None:
    if h > x.shape[-2] or w > x.shape[-1]:
        raise ValueError(f"{who}: cannot crop {h}x{w} (H x W) from frames of {x.shape[-2]}x{x.shape[-1]}; "
                         "resize first (ResizeShortSide)")


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class ToTensorVideo:
    """uint8 frames ``(T, H, W, C)`` (numpy or torch, as ``read_video`` returns) -> float ``(C, T, H, W)``
    in [0, 1]."""

    def __call__(self, frames) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frames)) if isinstance(frames, np.ndarray) else frames
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.dtype != torch.uint8:
            shape = tuple(getattr(x, "shape", ()))
            raise ValueError(f"ToTensorVideo expects uint8 frames (T, H, W, C), got "
                             f"{getattr(x, 'dtype', type(x).__name__)} with shape {shape}")
        return x.permute(3, 0, 1, 2).float().div_(255)  # (C, T, H, W)

    def __repr__(self) -> str:
        return "ToTensorVideo()"


class ToFloat:
    """A uint8 clip tensor ``(C, T, H, W)`` -> float in [0, 1]."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _clip(x, "ToFloat")
        return x.float().div_(255) if x.dtype == torch.uint8 else x.float()

    def __repr__(self) -> str:
        return "ToFloat()"


class Resize:
    """Resize every frame to exactly ``size`` (an int: a square ``size x size``), bilinear with antialiasing."""

    def __init__(self, size: Size):
        self.size = _pair(size)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _resize(_clip(x, "Resize"), self.size)

    def __repr__(self) -> str:
        return f"Resize({self.size})"


class ResizeShortSide:
    """Resize every frame so that its shorter side is ``size``, keeping the aspect ratio (e.g. 128 then crop
    112, as C3D did)."""

    def __init__(self, size: int):
        self.size = _pair(size)[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h, w = _clip(x, "ResizeShortSide").shape[-2:]
        scale = self.size / min(h, w)
        return _resize(x, (max(1, round(h * scale)), max(1, round(w * scale))))

    def __repr__(self) -> str:
        return f"ResizeShortSide({self.size})"


class CenterCrop:
    """The central ``size`` crop of every frame."""

    def __init__(self, size: Size):
        self.size = _pair(size)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _clip(x, "CenterCrop")
        h, w = self.size
        _check_fits(x, h, w, "CenterCrop")
        return _crop(x, (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2, h, w)

    def __repr__(self) -> str:
        return f"CenterCrop({self.size})"


class RandomCrop:
    """A ``size`` crop at a random position, the same position in every frame."""

    def __init__(self, size: Size, generator: Optional[torch.Generator] = None):
        self.size, self.generator = _pair(size), generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _clip(x, "RandomCrop")
        h, w = self.size
        _check_fits(x, h, w, "RandomCrop")
        top = _randint(x.shape[-2] - h + 1, self.generator)
        left = _randint(x.shape[-1] - w + 1, self.generator)
        return _crop(x, top, left, h, w)

    def __repr__(self) -> str:
        return f"RandomCrop({self.size})"


def _corner(x: torch.Tensor, h: int, w: int, position: str) -> torch.Tensor:
    dy, dx = x.shape[-2] - h, x.shape[-1] - w
    top, left = {"center": (dy // 2, dx // 2), "top_left": (0, 0), "top_right": (0, dx),
                 "bottom_left": (dy, 0), "bottom_right": (dy, dx)}[position]
    return _crop(x, top, left, h, w)


class CornerCrop:
    """A ``size`` crop at one of five positions (``CROP_POSITIONS``: the centre and the four corners).

    ``position=None`` draws one at random per clip (TSN's corner cropping); a name fixes it (the five
    crops of multi-crop testing).
    """

    def __init__(self, size: Size, position: Optional[str] = None, generator: Optional[torch.Generator] = None):
        if position is not None and position not in CROP_POSITIONS:
            raise ValueError(f"position must be one of {CROP_POSITIONS} or None, got {position!r}")
        self.size, self.position, self.generator = _pair(size), position, generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _clip(x, "CornerCrop")
        h, w = self.size
        _check_fits(x, h, w, "CornerCrop")
        position = self.position or CROP_POSITIONS[_randint(len(CROP_POSITIONS), self.generator)]
        return _corner(x, h, w, position)

    def __repr__(self) -> str:
        return f"CornerCrop({self.size}, position={self.position!r})"


class MultiScaleCrop:
    """TSN's corner cropping with scale jittering, then a resize to ``size``.

    The crop's height and width are each ``scale * min(H, W)`` for scales drawn from ``scales`` at most
    ``max_distort`` steps apart in the list (so the aspect ratio jitters too); the crop sits at one of the
    five ``CROP_POSITIONS``; it is resized to ``size``. The same crop for every frame of the clip.
    """

    def __init__(self, size: Size, scales: Sequence[float] = (1, 0.875, 0.75, 0.66), max_distort: int = 1,
                 generator: Optional[torch.Generator] = None):
        if not scales or any(not 0 < s <= 1 for s in scales):
            raise ValueError(f"scales must be in (0, 1], got {tuple(scales)}")
        self.size, self.scales, self.max_distort = _pair(size), tuple(scales), int(max_distort)
        self.generator = generator
        n = len(self.scales)
        self.pairs = [(i, j) for i in range(n) for j in range(n) if abs(i - j) <= self.max_distort]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _clip(x, "MultiScaleCrop")
        base = min(x.shape[-2:])
        i, j = self.pairs[_randint(len(self.pairs), self.generator)]
        h, w = max(1, int(base * self.scales[i])), max(1, int(base * self.scales[j]))
        position = CROP_POSITIONS[_randint(len(CROP_POSITIONS), self.generator)]
        return _resize(_corner(x, h, w, position), self.size)  # (C, T, size)

    def __repr__(self) -> str:
        return f"MultiScaleCrop({self.size}, scales={self.scales}, max_distort={self.max_distort})"


class RandomHorizontalFlip:
    """Mirror the whole clip left-right with probability ``p``.

    ``flow=True``: the clip is optical flow with interleaved channels ``(x_0, y_0, x_1, y_1, ...)``; a
    mirrored image moves the other way in x, so the x components (even channels) change sign.
    """

    def __init__(self, p: float = 0.5, flow: bool = False, generator: Optional[torch.Generator] = None):
        if not 0 <= p <= 1:
            raise ValueError(f"p is a probability in [0, 1], got {p}")
        self.p, self.flow, self.generator = p, flow, generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _clip(x, "RandomHorizontalFlip")
        if self.flow and x.shape[0] % 2:
            raise ValueError(f"RandomHorizontalFlip(flow=True) expects interleaved x/y flow channels (an even C), "
                             f"got C={x.shape[0]} (shape {tuple(x.shape)})")
        if float(torch.rand(1, generator=self.generator)) >= self.p:
            return x
        out = x.flip(-1)
        if self.flow:
            out[0::2] = -out[0::2]  # x components point the other way
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p}, flow={self.flow})"


class Normalize:
    """``(x - mean) / std`` per channel; ``inverse`` undoes it (for showing a normalised clip)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        if len(mean) != len(std) or any(s <= 0 for s in std):
            raise ValueError(f"mean and std need one value per channel and std > 0, got {mean} and {std}")
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1)  # (C, 1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1)

    def _stats(self, x: torch.Tensor, who: str) -> Tuple[torch.Tensor, torch.Tensor]:
        x = _clip(x, who)
        if x.shape[0] != len(self.mean):
            raise ValueError(f"{who} has {len(self.mean)} channel statistics but the clip has C={x.shape[0]} "
                             f"(shape {tuple(x.shape)}; clips are (C, T, H, W))")
        if not x.is_floating_point():
            raise TypeError(f"{who} expects a float clip, got {x.dtype}; use ToTensorVideo or ToFloat first")
        return self.mean.to(x), self.std.to(x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(x, "Normalize")
        return (x - mean) / std

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(x, "Normalize.inverse")
        return x * std + mean

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()})"


VIEW_CROPS = (1, 3, 5, 10)  # the spatial views of multi-view testing that the papers use
Box = Tuple[int, int, int, int, bool]  # top, left, height, width, mirrored


def view_crop_boxes(height: int, width: int, crops: int, size: Optional[Size] = None) -> List[Box]:
    """Where the ``crops`` test crops of a ``height`` x ``width`` frame lie: ``(top, left, h, w, mirrored)``.

    - 1: the centre crop.
    - 3: the start, centre and end of the longer side (left, centre, right of a landscape frame), so that
      with the default size, a square of the short side, they cover the frame: SlowFast's "3 crops of
      256x256 to cover the spatial dimensions" after resizing the short side to 256.
    - 5: the centre and the four corners (``CROP_POSITIONS`` order); 10: those five and their mirror images
      (Two-Stream's and TSN's ten crops). 5 and 10 need ``size``.
    """
    if crops not in VIEW_CROPS:
        raise ValueError(f"crops must be one of {VIEW_CROPS} (centre; 3 along the long side; centre + corners; "
                         f"those mirrored), got {crops!r}")
    if size is None and crops in (5, 10):
        raise ValueError(f"{crops} crops (centre and corners) need a crop size smaller than the frame: pass size=")
    h, w = _pair(size) if size is not None else (min(height, width),) * 2
    if h > height or w > width:
        raise ValueError(f"cannot crop {h}x{w} (H x W) from frames of {height}x{width}; resize first (ResizeShortSide)")
    dy, dx = height - h, width - w
    if crops == 1:
        return [(dy // 2, dx // 2, h, w, False)]
    if crops == 3:
        if height > width:
            return [(top, dx // 2, h, w, False) for top in (0, dy // 2, dy)]
        return [(dy // 2, left, h, w, False) for left in (0, dx // 2, dx)]
    corners = {"center": (dy // 2, dx // 2), "top_left": (0, 0), "top_right": (0, dx),
               "bottom_left": (dy, 0), "bottom_right": (dy, dx)}
    boxes = [(*corners[p], h, w, False) for p in CROP_POSITIONS]
    return boxes + [(t, left, h, w, True) for t, left, h, w, _ in boxes] if crops == 10 else boxes


def view_crops(x: torch.Tensor, crops: int = 3, size: Optional[Size] = None, flow: bool = False) -> torch.Tensor:
    """The spatial views of multi-view testing, stacked: ``(C, T, H, W) -> (M, C, T, h, w)``, M = ``crops``.

    The crops are those of :func:`view_crop_boxes`. ``flow=True``: the clip is optical flow with its x
    components in the even channels, which change sign in a mirrored crop (as ``RandomHorizontalFlip``).
    """
    x = _clip(x, "view_crops")
    views = []
    for top, left, h, w, mirrored in view_crop_boxes(x.shape[-2], x.shape[-1], crops, size):
        view = _crop(x, top, left, h, w)
        if mirrored:
            view = view.flip(-1)
            if flow:
                view[0::2] = -view[0::2]  # x components point the other way
        views.append(view)
    return torch.stack(views)  # (M, C, T, h, w)
