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

``kinetics400_preprocess("r2plus1d_18")`` and ``timesformer_preprocess()`` turn uint8 frames as ``read_video``
returns them into the input that the public Kinetics-400 weights expect (torchvision's R3D/MC3/R(2+1)D, Hugging
Face's TimeSformer): :class:`KineticsPreprocess`.

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


def _resize(x: torch.Tensor, size: Tuple[int, int], antialias: bool = True) -> torch.Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    frames = x.transpose(0, 1)  # (T, C, H, W): every frame through the same resampling
    out = F.interpolate(frames.float(), size=size, mode="bilinear", align_corners=False, antialias=antialias)
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


class SampleFrames:
    """Pick the frames a sampler chooses from a clip held in memory: ``(C, T, H, W) -> (C, T', H, W)``.

    ``sampler`` is any of :mod:`vidlearn.data.samplers` (``SegmentSampler(8)``, ``DenseSampler(8)``, ...), called
    with the clip's length. A training sampler draws its frames from this transform's own generator
    (``numpy.random.default_rng(seed)``), so a data set read in the same order draws the same frames. With
    :meth:`vidlearn.data.InMemoryClips.with_transform` it gives one stored set of long clips many samplings:

        long = in_memory(SyntheticActions("motion", 640, frames=36, long=True), dtype="uint8")
        tsn = long.with_transform(Compose([SampleFrames(SegmentSampler(8, train=True)), NORMALIZE]))
    """

    def __init__(self, sampler: Callable, seed: int = 0):
        if not callable(sampler):
            raise TypeError(f"SampleFrames expects a sampler (a callable taking the clip length), got "
                            f"{type(sampler).__name__}")
        self.sampler, self.seed = sampler, seed
        self.rng = np.random.default_rng(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _clip(x, "SampleFrames")
        idx = self.sampler(x.shape[1], self.rng)
        if isinstance(idx, tuple):
            raise ValueError(f"SampleFrames takes a sampler of one frame list; {type(self.sampler).__name__} "
                             "returns one per pathway (index the clip with each of them instead)")
        return x[:, torch.as_tensor(np.asarray(idx), dtype=torch.long)]  # (C, T', H, W)

    def __repr__(self) -> str:
        return f"SampleFrames({self.sampler!r}, seed={self.seed})"


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


# --- the input that public Kinetics-400 weights expect -------------------------------------------------------

_TORCHVISION_K400 = ("r3d_18", "mc3_18", "r2plus1d_18")
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # transformers' IMAGENET_DEFAULT_MEAN / STD
IMAGENET_STD = (0.229, 0.224, 0.225)
TIMESFORMER_MEAN = (0.45, 0.45, 0.45)  # TimeSformer's own training (its config defaults, _C.DATA.MEAN / STD)
TIMESFORMER_STD = (0.225, 0.225, 0.225)


def _frames_tensor(frames, who: str) -> torch.Tensor:
    """uint8 frames ``(T, H, W, C)`` or ``(B, T, H, W, C)``, numpy or torch -> a uint8 tensor of the same shape."""
    x = torch.from_numpy(np.ascontiguousarray(frames)) if isinstance(frames, np.ndarray) else frames
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who} expects uint8 frames (T, H, W, C) as read_video returns them (numpy or torch), "
                        f"got {type(frames).__name__}")
    shape = tuple(x.shape)
    if x.dim() not in (4, 5) or x.dtype != torch.uint8 or shape[-1] != 3:
        hint = ""
        if x.dim() in (4, 5) and shape[-3] == 3:
            hint = " (frames (T, C, H, W), torchvision's layout? permute them to (T, H, W, C): x.permute(0, 2, 3, 1))"
        elif x.dtype != torch.uint8:
            hint = " (a float clip? this takes the decoded uint8 frames; use Compose of Resize, CenterCrop, Normalize)"
        raise ValueError(f"{who} expects uint8 RGB frames (T, H, W, 3) (or a batch (B, T, H, W, 3)), got "
                         f"{x.dtype} with shape {shape}{hint}")
    return x


class KineticsPreprocess:
    """uint8 frames ``(T, H, W, 3)`` (as :func:`~vidlearn.data.read_video` returns them) -> the float clip
    ``(C, T, h, w)`` that a pretrained Kinetics-400 model expects: resize, centre crop, scale to [0, 1], normalise.

    Build it with :func:`kinetics400_preprocess` (torchvision's R3D-18, MC3-18, R(2+1)D-18 weights) or
    :func:`timesformer_preprocess` (Hugging Face's TimeSformer). A batch ``(B, T, H, W, 3)`` gives
    ``(B, C, T, h, w)``. It takes the frames of one clip; which frames to decode is the sampler's job, and the
    clip the weights were evaluated with is given by ``frames`` (frames per clip), ``frame_rate`` (the frame
    rate they are taken at) and ``clips_per_video``; ``stride(fps)`` is the frame step in a video of ``fps``::

        pre = kinetics400_preprocess("r2plus1d_18")
        info = video_info(path)
        sampler = MultiViewSampler(pre.clips_per_video, pre.frames, pre.stride(info["fps"]))
        clip = pre(read_video(path, sampler(info["num_frames"])[0]))   # (3, 16, 112, 112)

    Args:
        resize_size: ``(h, w)``: every frame to exactly that size; an int: its short side to that size, the long
            side ``int(size * long / short)`` (rounded down, as Hugging Face's processors do).
        crop_size: the centre crop ``(h, w)`` (or a side).
        mean, std: per-channel statistics applied to frames scaled to [0, 1].
        antialias: low-pass filter before downsampling (bilinear in both cases).
        crop_rounding: ``"round"``: crop offsets ``round((H - h) / 2)`` (torchvision's ``center_crop``);
            ``"floor"``: ``(H - h) // 2`` (Hugging Face's and :class:`CenterCrop`).
        resize_backend: ``"vidlearn"``: resize as :class:`Resize` does (float, then rounded back to uint8);
            ``"torchvision"``: ``torchvision.transforms.v2.functional.resize`` on the uint8 frames, the call
            Hugging Face's (torchvision-backed) processors make; its uint8 kernel rounds differently, by one grey
            level at most.
    """

    def __init__(self, resize_size: Size, crop_size: Size, mean: Sequence[float], std: Sequence[float], *,
                 antialias: bool, crop_rounding: str = "floor", resize_backend: str = "vidlearn",
                 frames: Optional[int] = None, frame_rate: Optional[float] = None, clips_per_video: int = 1,
                 name: str = "KineticsPreprocess"):
        if crop_rounding not in ("round", "floor"):
            raise ValueError(f"crop_rounding must be 'round' or 'floor', got {crop_rounding!r}")
        if resize_backend not in ("vidlearn", "torchvision"):
            raise ValueError(f"resize_backend must be 'vidlearn' or 'torchvision', got {resize_backend!r}")
        self.resize_size = resize_size if isinstance(resize_size, int) else _pair(resize_size, "resize_size")
        self.crop_size = _pair(crop_size, "crop_size")
        self.normalize = Normalize(mean, std)
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
        self.antialias, self.crop_rounding, self.resize_backend = bool(antialias), crop_rounding, resize_backend
        self.frames, self.frame_rate, self.clips_per_video = frames, frame_rate, clips_per_video
        self.name = name

    def stride(self, fps: float) -> int:
        """The frame step that takes frames at ``frame_rate`` from a video of ``fps`` (at least 1)."""
        if self.frame_rate is None:
            raise ValueError(f"{self.name} has no frame rate to sample at")
        return max(1, round(fps / self.frame_rate))

    def _size(self, h: int, w: int) -> Tuple[int, int]:
        if not isinstance(self.resize_size, int):
            return self.resize_size
        s = self.resize_size
        return (s, int(s * w / h)) if h <= w else (int(s * h / w), s)

    def _one(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 ``(T, H, W, C)`` -> float ``(C, T, h, w)``."""
        x = x.permute(3, 0, 1, 2)  # (C, T, H, W) uint8
        size = self._size(*x.shape[-2:])
        if self.resize_backend == "torchvision" and tuple(x.shape[-2:]) != size:
            from torchvision.transforms.v2 import functional as TF
            x = TF.resize(x.transpose(0, 1), list(size), antialias=self.antialias).transpose(0, 1)  # (C, T, H', W')
        else:
            x = _resize(x, size, antialias=self.antialias)  # (C, T, H', W')
        h, w = self.crop_size
        _check_fits(x, h, w, self.name)
        dy, dx = x.shape[-2] - h, x.shape[-1] - w
        top, left = (int(round(dy / 2)), int(round(dx / 2))) if self.crop_rounding == "round" else (dy // 2, dx // 2)
        x = _crop(x, top, left, h, w).float().div_(255)  # (C, T, h, w) in [0, 1]
        return self.normalize(x)

    def __call__(self, frames) -> torch.Tensor:
        x = _frames_tensor(frames, self.name)
        if x.dim() == 5:
            return torch.stack([self._one(clip) for clip in x])  # (B, C, T, h, w)
        return self._one(x)  # (C, T, h, w)

    def __repr__(self) -> str:
        return (f"{self.name}(resize_size={self.resize_size}, crop_size={self.crop_size}, mean={self.mean}, "
                f"std={self.std}, antialias={self.antialias}, frames={self.frames}, frame_rate={self.frame_rate}, "
                f"clips_per_video={self.clips_per_video})")


def kinetics400_preprocess(model: str = "r2plus1d_18") -> KineticsPreprocess:
    """The preprocessing of torchvision's Kinetics-400 weights for ``model`` (``"r3d_18"``, ``"mc3_18"``,
    ``"r2plus1d_18"``, all the same): frames ``(T, H, W, 3)`` uint8 -> float ``(3, T, 112, 112)``.

    As torchvision's ``R2Plus1D_18_Weights.KINETICS400_V1.transforms()`` (``VideoClassification(crop_size=(112,
    112), resize_size=(128, 171))``, torchvision 0.29): every frame resized to exactly 128 x 171 (bilinear,
    ``antialias=False``, as torchvision keeps it to preserve the published accuracy), the central 112 x 112
    (offsets rounded as torchvision's ``center_crop``), scaled to [0, 1], normalised with ``KINETICS_MEAN`` /
    ``KINETICS_STD`` ``(0.43216, 0.394666, 0.37645)`` / ``(0.22803, 0.22145, 0.216989)``. torchvision's own
    transform takes ``(T, C, H, W)`` tensors; this one takes the ``(T, H, W, C)`` frames of ``read_video``, and
    gives the same numbers (a test checks it).

    The weights' documentation gives the clips their accuracy was measured on: ``clip_len=16`` frames at
    ``frame_rate=15`` fps, ``clips_per_video=5``, video-level (the clips' scores averaged); the result carries
    them as ``frames``, ``frame_rate``, ``clips_per_video`` (``stride(30) == 2`` for a 30 fps video).
    """
    if model not in _TORCHVISION_K400:
        raise ValueError(f"kinetics400_preprocess knows torchvision's K400 weights of {_TORCHVISION_K400}, got "
                         f"{model!r}; for Hugging Face's TimeSformer use timesformer_preprocess()")
    return KineticsPreprocess((128, 171), 112, KINETICS_MEAN, KINETICS_STD, antialias=False, crop_rounding="round",
                              frames=16, frame_rate=15, clips_per_video=5, name=f"kinetics400_preprocess({model!r})")


def timesformer_preprocess(size: int = 224, crop_size: Size = 224, mean: Sequence[float] = TIMESFORMER_MEAN,
                           std: Sequence[float] = TIMESFORMER_STD, frames: int = 8,
                           resize_backend: str = "torchvision") -> KineticsPreprocess:
    """The preprocessing of Hugging Face's TimeSformer (``facebook/timesformer-base-finetuned-k400``): frames
    ``(T, H, W, 3)`` uint8 -> float ``(3, T, 224, 224)``.

    The pipeline of ``transformers``' ``VideoMAEImageProcessor`` (the image processor ``AutoImageProcessor``
    gives TimeSformer) and ``TimesformerVideoProcessor`` (transformers 5.x): the short side resized to
    ``size`` (the long side ``int(size * long / short)``), bilinear with antialiasing, the central ``crop_size``
    (offsets rounded down), ``x / 255``, normalised. With the default ``resize_backend="torchvision"`` it makes
    the same resize call as their torchvision backend and matches them to float rounding; ``"vidlearn"``
    resizes as :class:`Resize`; that and their PIL backend (``VideoMAEImageProcessorPil``, resizing with PIL)
    differ from it by one grey level at most (0.0174 after normalising), on 6-20 % and under 0.5 % of the
    values respectively (measured in tests/test_preprocess.py).

    Which mean and std: the processors' *code* defaults are not the checkpoint's. ``VideoMAEImageProcessor``
    defaults to 0.5 / 0.5, ``TimesformerVideoProcessor`` to ImageNet's ``IMAGENET_MEAN`` / ``IMAGENET_STD``; a
    checkpoint's ``preprocessor_config.json`` sets its own. The default here, ``TIMESFORMER_MEAN`` /
    ``TIMESFORMER_STD`` = 0.45 / 0.225, is what TimeSformer was trained with (the defaults of its own
    configuration, ``_C.DATA.MEAN`` / ``_C.DATA.STD`` in facebookresearch/TimeSformer); the Hub checkpoint's
    ``preprocessor_config.json`` could not be read offline here: compare it (``processor.image_mean``,
    ``image_std``) and pass ``mean=``, ``std=`` if they differ.

    ``frames=8``: the clip of the K400 checkpoints (``TimesformerConfig.num_frames``); TimeSformer's 8 x 32
    setting samples every 32nd frame of a 30 fps video (``frame_rate=30 / 32``), and tests on one clip x 3 crops.
    """
    return KineticsPreprocess(size, crop_size, mean, std, antialias=True, crop_rounding="floor",
                              resize_backend=resize_backend, frames=frames, frame_rate=30 / 32, clips_per_video=1,
                              name="timesformer_preprocess")
