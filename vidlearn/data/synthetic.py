"""SyntheticActions: the book's laboratory, a video dataset generated on the fly.

Real action datasets cannot be downloaded in CI and take hours to train on; this one trains in minutes
and makes each era's finding *visible*. A clip shows one main object (an asymmetric shape) on a
textured background, doing one of a few motions, with optional clutter: distractor objects moving at
random, pixel noise and camera shake. Used by every chapter of the book.

``mode="motion"`` (Something-Something-like): the class is defined ONLY by motion, and every class has
exactly the same single-frame distribution at every time step ``t``. The argument: at every ``t`` the
object's centre is uniform on the torus (the frame with wrap-around), its angle uniform on the circle,
and its shape, size and colours (and the background, distractors, noise and shake) are drawn
independently of the class. A wrap-around displacement ``d(t)`` of a uniform start leaves the position
uniform, whatever ``d`` the class prescribes (``move_*``; ``right_then_up`` / ``up_then_right``; the
swing of ``rotate_*`` around its invisible, uniformly placed pivot); turning a uniform angle by
``+w*t`` or ``-w*t`` leaves it uniform (``rotate_cw`` / ``rotate_ccw``). Objects are painted at whole
pixels, so a frame's pixels depend only on those per-frame values, never on how the object got there.
So a single-frame model is at chance however long it trains; only motion (which way, which sense,
which order) tells the classes apart.

``mode="scene"`` (Kinetics-like): the same motions, but with probability ``scene_bias`` the appearance
is that of the class (background colour and plaid, object shape and colour), so single frames score well.

``long=True``: long clips whose class is the ORDER of two short events far apart in time: event ``a``
(a large flashing shape) starts in the first third, event ``b`` ends in the last third, class
``"a_then_b"`` for every ordered pair of distinct event types (``EVENT_TYPES``: 6 classes). The main
object and the clutter move as in motion mode, independently of the class. A dense clip of at most
``frames // 3`` consecutive frames sees at most one event (near chance); segments spread over the
whole clip (TSN) see both; only a model that keeps the segments' order (LSTM, attention with
positions, temporal convolutions) can tell ``a_then_b`` from ``b_then_a``. (``long="order"`` is the same.)

``long="match"``: long clips whose class is a RELATION between the two events: ``"same"`` when the event of
the first third and the event of the last third have the same type, ``"different"`` when not
(``LONG_MATCH_CLASSES``). The types are drawn uniformly (``"different"``: an unordered pair of distinct
types, in random order), so each event alone, and the set of frames seen in any order, carries the type
of each event but not the class. A "bag of frames" model (per-frame features averaged over time, then a
linear classifier, as in C2D) cannot solve it: the averaged features of ``a`` + ``b`` are the mean of
those of ``a`` + ``a`` and ``b`` + ``b``, so the score of every "different" clip lies between the scores
of two "same" clips and no threshold separates the classes (with ``K`` event types its accuracy is at
most ``(1 + 1/K) / 2``, 0.67 for the 3 types, by singling out one type). A non-local block compares every
position with every other (``theta(x_i) . phi(x_j)``), so one event's features can meet the other's and
the following layers can decide whether they agree: a network with blocks is not bound by that ceiling
(the Non-local chapter trains a tiny C2D with and without blocks on clean 12-frame clips: the blocks pass
it). The order plays no role (``"same"`` and ``"different"`` are both closed under time
reversal), so time-symmetric models are not handicapped.
Match events are larger and last longer than order events (radius 0.3 frame sides instead of 0.22, a
quarter of the clip instead of a sixth, still inside their third): a tiny C2D has to see each event's
type in its features before a block can compare them.

``mode="binding"`` (the Fusion chapter's data): two objects of the same shape and size, a red one and
a green one, one of them moving in one of four directions and the other still; the class is WHICH object
moves WHICH way (``BINDING_CLASSES``: ``red_moves_right``, ``green_moves_right``, ...; 8 classes, and
``classes=4`` keeps right and left). Neither stream of a two-stream network can tell alone, by design:
the two colours are ``grey +- c * chroma`` along a direction of zero BT.601 luma, so the grayscale clip,
and with it the optical flow computed from it, is the same whichever object moves (for the same random
draws: only the colours trade places), and the flow tells which way something moves but not what; and
every single frame shows one red and one green object, each uniform on the torus and independent of
the other whatever the class (for the same draws, the first frame is identical for every direction, and
for the two movers differs only by the two colours trading places), so appearance tells what is there but
not what moves. Averaging the two streams' class scores cannot bind the two; a model that
fuses the streams' feature maps at the same position can (the red thing *here* moves right).

    index --> rng([seed, index]) --> class = index % K --> background (C, T, H, W)
                                                     --> paint distractors, main object, events
                                                     --> + noise, clip to [0, 1] --> clip (C, T, H, W)

Everything is vectorised over ``(T, H, W)`` in numpy: about 2,400 clips/s at 16x64x64 (default
clutter, noise and shake) on one core of the CI machine, so data is never the bottleneck.
"""

from __future__ import annotations

import functools
import numbers
import os
import shutil
from pathlib import Path, PurePath
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from vidlearn.data.transforms import Normalize

MOTION_CLASSES = ("move_right", "move_left", "move_down", "move_up",
                  "rotate_cw", "rotate_ccw", "right_then_up", "up_then_right")
SHAPES = ("L", "T", "triangle", "pacman")  # main-object shapes: none is rotationally symmetric
EVENT_TYPES = ("square", "disc", "cross")  # the long variant's events, each with its own colour
LONG_CLASSES = tuple(f"{a}_then_{b}" for a in EVENT_TYPES for b in EVENT_TYPES if a != b)
LONG_MATCH_CLASSES = ("same", "different")  # long="match": are the two events of the same type?
LONG_TASKS = ("order", "match")  # the values of ``long`` besides False (True means "order")
BINDING_OBJECTS = ("red", "green")  # mode="binding": the two objects, alike but for their colour
BINDING_CLASSES = tuple(f"{o}_moves_{d}" for d in ("right", "left", "down", "up") for o in BINDING_OBJECTS)
EVENT_COLOURS = {"square": (0.95, 0.15, 0.1), "disc": (0.1, 0.9, 0.2), "cross": (0.15, 0.3, 1.0)}
_CORNERS = np.array([[(i >> 2) & 1, (i >> 1) & 1, i & 1] for i in (1, 2, 4, 3, 5, 6, 0, 7)], np.float32)
_RADIUS = (0.16, 0.22)  # main object radius, in frame sides
_EVENT_RADIUS = 0.22  # long="order": event radius, in frame sides
_MATCH_DURATION = 0.25  # long="match": an event lasts this fraction of the clip (at most a third)...
_MATCH_RADIUS = 0.3  # ... and has this radius, in frame sides (larger and longer than "order" events)
# mode="binding": a colour direction with zero BT.601 luma (0.299 R + 0.587 G + 0.114 B = 0): the red
# object is grey + c * _CHROMA, the green one grey - c * _CHROMA, so the two look the same in grayscale
_CHROMA = np.array([1.0, -0.299 / 0.587, 0.0], np.float32)
_ARM = 0.2  # rotate_*: distance from the (invisible) pivot to the object's centre, in frame sides
# unit vectors (dy, dx) on screen, y pointing down
_DIRS = {"right": (0.0, 1.0), "left": (0.0, -1.0), "down": (1.0, 0.0), "up": (-1.0, 0.0)}


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test of a shape in its own coordinates ``(u, v)``, in units of its radius."""
    au, av = np.abs(u), np.abs(v)
    if shape == "square":
        return (au <= 0.8) & (av <= 0.8)
    if shape == "disc":
        return u * u + v * v <= 1.0
    if shape == "cross":
        return ((au <= 0.3) & (av <= 1.0)) | ((av <= 0.3) & (au <= 1.0))
    if shape == "L":
        return ((au <= 0.9) & (v >= 0.3) & (v <= 0.9)) | ((u >= -0.9) & (u <= -0.3) & (av <= 0.9))
    if shape == "T":
        return ((au <= 0.9) & (v >= -0.9) & (v <= -0.4)) | ((au <= 0.25) & (av <= 0.9))
    if shape == "triangle":
        return (v <= 0.7) & (au <= 0.5625 * (v + 0.9))
    if shape == "pacman":
        return (u * u + v * v <= 1.0) & ~((u > 0) & (av < 0.7 * u))
    raise ValueError(f"unknown shape {shape!r}")


def _paint(clip: np.ndarray, shape: str, cy: np.ndarray, cx: np.ndarray, radius: np.ndarray,
           theta: np.ndarray, colour: np.ndarray, visible: Optional[np.ndarray] = None) -> None:
    """Paint one object into ``clip`` (C, T, H, W) in place, on the torus (wrap-around).

    ``cy, cx, radius, theta, visible`` are per-frame ``(T,)``. Centres are rounded to whole pixels, so
    a frame's pixels depend only on (shape, angle, radius, pixel position, colour), whatever the motion
    that brought the object there (the single-frame invariance of motion mode needs exactly this).
    The shape is evaluated on a small patch, once when angle and radius do not change.
    """
    _, t, h, w = clip.shape
    r = int(np.ceil(float(radius.max()) * 1.3)) + 1  # every shape fits in a disc of 1.3 radii
    offs = np.arange(-r, r + 1, dtype=np.float32)
    frames = np.arange(t) if visible is None else np.flatnonzero(visible)
    static = np.ptp(theta) == 0 and np.ptp(radius) == 0
    sel = frames[:1] if static else frames
    cos = (np.cos(theta[sel]) / radius[sel]).astype(np.float32)[:, None, None]
    sin = (np.sin(theta[sel]) / radius[sel]).astype(np.float32)[:, None, None]
    u = cos * offs[None, None, :] + sin * offs[None, :, None]  # (F, P, P): screen -> object coordinates
    v = cos * offs[None, :, None] - sin * offs[None, None, :]  # (F, P, P)
    fi, py, px = np.nonzero(_shape_mask(shape, u, v))  # (N,) each
    if static:  # the same pixels in every frame
        fi, py, px = np.repeat(frames, py.size), np.tile(py, frames.size), np.tile(px, frames.size)
    else:
        fi = frames[fi]
    iy, ix = np.floor(cy + 0.5).astype(np.int64), np.floor(cx + 0.5).astype(np.int64)
    clip[:, fi, (iy[fi] + py - r) % h, (ix[fi] + px - r) % w] = colour[:, None]  # (C, N)


@functools.lru_cache(maxsize=4)
def _noise_bank(seed: int, std: float, clip_size: int) -> np.ndarray:
    """Gaussian noise values from which every clip takes a window at a random offset.

    Drawing 200k normals per clip would take longer than everything else together; drawing 2**20 extra
    values once per (seed, noise level) makes the noise one addition per clip.
    """
    rng = np.random.default_rng([seed, 0x6E6F697365])  # "noise"
    bank = rng.standard_normal(2**20 + clip_size, dtype=np.float32) * np.float32(std)
    bank.flags.writeable = False
    return bank


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour (h in turns) as float32 RGB."""
    k = (np.array([5.0, 3.0, 1.0]) + 6.0 * (h % 1.0)) % 6.0
    return (v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)).astype(np.float32)


MEAN, STD = 0.45, 0.25
#: The default transform: ``(x - 0.45) / 0.25`` for every pixel. 0.45 is the mean of a scene clip and 0.25
#: lies between the standard deviations of the two modes (0.18 motion, 0.32 scene; the motion clips' mean
#: is 0.25). One pair for both modes, fixed (no statistic of the clip itself), so that a model sees the
#: same numbers for the same pixels in every data set it is trained or evaluated on.
NORMALIZE = Normalize((MEAN,) * 3, (STD,) * 3)


class SyntheticActions(Dataset):
    """Synthetic action clips, generated on the fly; deterministic per ``(seed, index)``.

    Items are ``(clip, label)``: ``clip`` float32 ``(C=3, T, H, W)``, made in [0, 1] and then normalised by
    the default ``transform`` (:data:`NORMALIZE`, ``(x - 0.45) / 0.25``), ``label`` an int in
    ``[0, num_classes)``, ``index % num_classes``: every class appears equally often. ``transform=None``
    gives the clips in [0, 1] (for showing them, or for a transform of your own); ``clip(index)`` always does.

    Why normalised by default: a network learns badly from inputs that are all positive and far from zero
    mean. With raw clips, ``fit(create_model("early_fusion", tiny=True), SyntheticActions("motion", 3000,
    frames=8, size=32), epochs=4, batch_size=64, lr=2e-3)`` stays at chance (1/8); normalised, it learns
    (``tests/test_synthetic.py`` checks it). torchvision's data sets return raw images and leave the
    normalisation to a transform the user must remember; here the default is the one that trains.
    Generation runs at about 2,400 clips/s at 16x64x64 with the default clutter on one core (4,500 at 8x32x32).

    Motion classes (``MOTION_CLASSES``): ``move_right/left/down/up`` (wrap-around translation),
    ``rotate_cw/ccw`` (a rigid rotation about an invisible pivot, like the hand of a clock: the shape
    turns and swings around the pivot), ``right_then_up`` / ``up_then_right`` (two moves; only their
    order differs). The defaults (one distractor, a little noise, 1-pixel shake) are tuned so that at the
    ``ci`` scale (8 frames of 32x32, 320 training clips) a small 3D CNN learns motion data to over 90%
    in seconds while a single-frame model stays at chance.

    Args:
        mode: ``"motion"`` (class only in motion; single frames at chance), ``"scene"`` (appearance
            correlated with the class; single frames score well) or ``"binding"`` (class = which of a red
            and a green object moves which way, ``BINDING_CLASSES``). See the module docstring.
        num_samples: length of the dataset.
        frames: clip length ``T``.
        size: frame side ``H = W`` (at least 16).
        seed: different seeds give different clips; the same ``(seed, index)`` the same clip.
        classes: a subset of class names (``MOTION_CLASSES``; ``BINDING_CLASSES`` in binding mode;
            ``LONG_CLASSES`` when ``long`` is ``True`` or ``"order"``; ``LONG_MATCH_CLASSES`` when
            ``"match"``), or an int ``k`` for the first ``k``; all of them when omitted.
        clutter: number of distractor objects (smaller squares and discs drifting in random directions).
        noise: standard deviation of the Gaussian pixel noise (each clip takes a window at a random
            offset of a fixed bank of noise drawn once per seed, which keeps generation fast).
        shake: camera shake: every frame is shifted by up to ``shake`` pixels in x and y.
        long: ``False`` (short clips), ``True`` or ``"order"`` (long clips; class = the ORDER of two events
            far apart, ``LONG_CLASSES``) or ``"match"`` (long clips; class = whether the two events have
            the same type, ``LONG_MATCH_CLASSES``); long clips need ``frames >= 12``. ``ds.long`` holds
            ``False``, ``"order"`` or ``"match"``. See the module docstring.
        scene_bias: in scene mode, the probability that a clip has its class's appearance.
        speed: translation speed of the main object, in frame sides per frame (times 0.8 to 1.25).
        texture: amplitude of the background's plaid texture.
        transform: applied to the clip tensor (in [0, 1]) in ``__getitem__``; :data:`NORMALIZE` by default,
            ``None`` for the clips in [0, 1]. A transform of your own replaces the normalisation (compose
            ``NORMALIZE`` into it to keep it).
    """

    def __init__(self, mode: str = "motion", num_samples: int = 1000, frames: int = 16, size: int = 64,
                 seed: int = 0, classes: Union[None, int, Sequence[str]] = None, clutter: int = 1,
                 noise: float = 0.04, shake: int = 1, long: Union[bool, str] = False, scene_bias: float = 0.95,
                 speed: float = 0.06, texture: float = 0.07,
                 transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = NORMALIZE):
        if mode not in ("motion", "scene", "binding"):
            raise ValueError(f"mode must be 'motion', 'scene' or 'binding', got {mode!r}")
        if isinstance(long, (bool, np.bool_)):
            task: Union[bool, str] = "order" if long else False
        elif isinstance(long, str) and long in LONG_TASKS:
            task = long
        else:
            raise ValueError(f"long must be False, True, 'order' or 'match', got {long!r}")
        if task and mode == "binding":
            raise ValueError(f"long={long!r} and mode='binding' both define the classes; use one of them")
        if task and mode != "motion":
            what = "the order of two events" if task == "order" else "whether two events match"
            raise ValueError(f"long={long!r} defines its own classes ({what}); use mode='motion'")
        long = task
        min_frames = 12 if long else 2
        for arg, value in (("num_samples", num_samples), ("frames", frames), ("size", size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{arg} must be an int, got {value!r} ({type(value).__name__})")
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1 (the number of clips), got {num_samples}")
        if frames < min_frames:
            raise ValueError(f"frames must be >= {min_frames}{' for long clips' if long else ''}, got {frames}")
        if size < 16:
            raise ValueError(f"size must be >= 16 pixels, got {size}")
        if min(num_samples, clutter, shake, noise, speed, texture) < 0:
            raise ValueError("num_samples, clutter, shake, noise, speed and texture must be >= 0, got "
                             f"{num_samples}, {clutter}, {shake}, {noise}, {speed}, {texture}")
        if not 0.0 <= scene_bias <= 1.0:
            raise ValueError(f"scene_bias is a probability in [0, 1], got {scene_bias}")
        everything = {False: MOTION_CLASSES, "order": LONG_CLASSES, "match": LONG_MATCH_CLASSES}[long]
        if mode == "binding":
            everything = BINDING_CLASSES
        if classes is None:
            chosen = list(everything)
        elif isinstance(classes, int):
            if not 2 <= classes <= len(everything):
                raise ValueError(f"classes={classes}: expected between 2 and {len(everything)} classes")
            chosen = list(everything[:classes])
        else:
            chosen = list(classes)
            unknown = [c for c in chosen if c not in everything]
            if unknown or len(set(chosen)) != len(chosen) or len(chosen) < 2:
                raise ValueError(f"classes must be 2 or more distinct names from {list(everything)}; "
                                 f"got {chosen} (unknown: {unknown})")
        self.mode, self.long, self.classes = mode, long, chosen
        self.num_samples, self.frames, self.size, self.seed = num_samples, frames, size, seed
        self.clutter, self.noise, self.shake = int(clutter), float(noise), int(shake)
        self.scene_bias, self.speed, self.transform = float(scene_bias), float(speed), transform
        self.texture = float(texture)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        if not -self.num_samples <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for a dataset of {self.num_samples} clips")
        clip, label, _ = self._generate(index % self.num_samples)
        x = torch.from_numpy(clip)  # (C, T, H, W)
        if self.transform is not None:
            x = self.transform(x)
        return x, label

    def clip(self, index: int) -> Tuple[np.ndarray, int]:
        """The raw clip (float32 numpy ``(C, T, H, W)``, no transform) and label of item ``index``."""
        clip, label, _ = self._generate(index)
        return clip, label

    def describe(self, index: int) -> Dict[str, object]:
        """How item ``index`` was made: class, shapes, motion parameters, events (for figures and tests).

        Long clips have ``"events"``: ``[(type, start, end), (type, start, end)]``, the first event's
        frames ``start:end`` inside the first third, the second's inside the last third.
        """
        return self._generate(index)[2]

    def __repr__(self) -> str:
        kind = {False: self.mode, "order": "long", "match": "long match"}[self.long]
        return (f"SyntheticActions({kind}, {self.num_samples} clips of {self.frames}x{self.size}x{self.size}, "
                f"{self.num_classes} classes, clutter={self.clutter}, noise={self.noise}, shake={self.shake}, "
                f"seed={self.seed})")

    # ------------------------------------------------------------------------------------------ generation
    def _generate(self, index: int) -> Tuple[np.ndarray, int, Dict[str, object]]:
        rng = np.random.default_rng([self.seed, index])
        t, s = self.frames, self.size
        label = index % self.num_classes
        name = self.classes[label]
        info: Dict[str, object] = {"index": index, "label": label, "class": name}
        if self.mode == "binding":
            return self._binding(rng, label, info)

        # appearance: class-independent in motion mode; the class's own (with prob scene_bias) in scene mode
        if self.mode == "scene":
            look = label if rng.random() < self.scene_bias else int(rng.integers(self.num_classes))
            # backgrounds: the 8 corners of the RGB cube, as far apart as colours get; objects: the colour
            # of the class 3 further on (so no two classes show the same two colours, swapped)
            base = 0.15 + 0.6 * _CORNERS[look % 8] + rng.uniform(-0.05, 0.05, 3).astype(np.float32)
            colour = 0.1 + 0.85 * _CORNERS[(look + 3) % 8]
            shape = SHAPES[look % len(SHAPES)]
            info["appearance_of"] = self.classes[look]
        else:
            # a bright object on a darker background, hues at random: motion filters need not learn
            # every contrast polarity from a few hundred clips
            base = _hsv(rng.random(), rng.uniform(0.3, 0.8), rng.uniform(0.15, 0.45))
            colour = _hsv(rng.random(), rng.uniform(0.2, 0.8), rng.uniform(0.8, 1.0))
            shape = SHAPES[rng.integers(len(SHAPES))]
            look = None
        # camera shake: the same integer shift of everything in a frame (the world is a torus)
        sy, sx = rng.integers(-self.shake, self.shake + 1, size=(2, t))
        clip = self._background(rng, base, sy, sx, look)  # (C, T, H, W)

        for _ in range(self.clutter):  # distractors: small squares/discs drifting in random directions
            angle = rng.uniform(0, 2 * np.pi)
            v = self.speed * s * rng.uniform(0.5, 1.5)
            steps = np.arange(t)
            cy = rng.uniform(0, s) + v * np.sin(angle) * steps + sy
            cx = rng.uniform(0, s) + v * np.cos(angle) * steps + sx
            _paint(clip, ("square", "disc")[rng.integers(2)], cy, cx,
                   np.full(t, s * rng.uniform(0.05, 0.09)), np.full(t, rng.uniform(0, 2 * np.pi)),
                   _hsv(rng.random(), rng.uniform(0.2, 0.8), rng.uniform(0.5, 0.75)))

        motion = str(rng.choice(MOTION_CLASSES)) if self.long else name
        cy, cx, theta = self._motion(motion, rng)
        radius = np.full(t, s * rng.uniform(*_RADIUS))
        _paint(clip, shape, cy + sy, cx + sx, radius, theta, colour)
        info.update(shape=shape, motion=motion, y=cy % s, x=cx % s, theta=theta, radius=radius[0])

        if self.long:
            info["events"] = self._events(clip, rng, name, sy, sx)
        if self.noise > 0:  # Gaussian pixel noise: a window at a random offset of a fixed noise bank
            bank = _noise_bank(self.seed, float(self.noise), clip.size)
            start = int(rng.integers(bank.size - clip.size + 1))
            clip += bank[start:start + clip.size].reshape(clip.shape)
        np.clip(clip, 0.0, 1.0, out=clip)
        return clip, label, info

    def _binding(self, rng: np.random.Generator, label: int,
                 info: Dict[str, object]) -> Tuple[np.ndarray, int, Dict[str, object]]:
        """``mode="binding"``: a red and a green object, one moving (the class says which, and where to).

        Every random draw is made in the same order whatever the class, and the class only decides which
        of the two (drawn) tracks, still or moving, the red object takes: so the same ``(seed, index)``
        gives the same grayscale clip for ``red_moves_d`` and ``green_moves_d`` (the two colours have the
        same luma), and the same first frame for every direction ``d``.
        """
        t, s = self.frames, self.size
        mover, direction = str(info["class"]).split("_moves_")
        base = _hsv(rng.random(), rng.uniform(0.3, 0.8), rng.uniform(0.15, 0.35))
        sy, sx = rng.integers(-self.shake, self.shake + 1, size=(2, t))
        clip = self._background(rng, base, sy, sx)  # (C, T, H, W)
        steps = np.arange(t, dtype=np.float64)
        for _ in range(self.clutter):  # distractors, as in motion mode
            angle = rng.uniform(0, 2 * np.pi)
            v = self.speed * s * rng.uniform(0.5, 1.5)
            _paint(clip, ("square", "disc")[rng.integers(2)], rng.uniform(0, s) + v * np.sin(angle) * steps + sy,
                   rng.uniform(0, s) + v * np.cos(angle) * steps + sx, np.full(t, s * rng.uniform(0.05, 0.09)),
                   np.full(t, rng.uniform(0, 2 * np.pi)),
                   _hsv(rng.random(), rng.uniform(0.2, 0.8), rng.uniform(0.5, 0.75)))
        shape = SHAPES[rng.integers(len(SHAPES))]
        radius = np.full(t, s * rng.uniform(*_RADIUS))
        grey, chroma = rng.uniform(0.45, 0.55), rng.uniform(0.18, 0.26)  # every channel in [0.19, 0.81]
        colours = {"red": grey + chroma * _CHROMA, "green": grey - chroma * _CHROMA}
        starts = rng.uniform(0, s, size=(2, 2))  # (track, yx): track 0 moves, track 1 stays
        thetas = rng.uniform(0, 2 * np.pi, size=2)
        v = self.speed * s * rng.uniform(0.8, 1.25)  # pixels per frame
        first = int(rng.integers(2))  # which track is painted first (below the other where they overlap)
        # the red object takes the moving track when it is the mover; the green one takes the other
        track = {mover: 0, BINDING_OBJECTS[1 - BINDING_OBJECTS.index(mover)]: 1}
        uy, ux = _DIRS[direction]
        ys = np.stack([starts[0, 0] + uy * v * steps, np.full(t, starts[1, 0])])  # (track, T)
        xs = np.stack([starts[0, 1] + ux * v * steps, np.full(t, starts[1, 1])])
        for k in (first, 1 - first):
            obj = next(o for o, j in track.items() if j == k)
            _paint(clip, shape, ys[k] + sy, xs[k] + sx, radius, np.full(t, thetas[k]), colours[obj])
        info.update(shape=shape, motion=f"move_{direction}", mover=mover, direction=direction,
                    radius=radius[0], colours={o: colours[o].copy() for o in BINDING_OBJECTS},
                    y={o: ys[track[o]] % s for o in BINDING_OBJECTS},
                    x={o: xs[track[o]] % s for o in BINDING_OBJECTS})
        if self.noise > 0:
            bank = _noise_bank(self.seed, float(self.noise), clip.size)
            start = int(rng.integers(bank.size - clip.size + 1))
            clip += bank[start:start + clip.size].reshape(clip.shape)
        np.clip(clip, 0.0, 1.0, out=clip)
        return clip, label, info

    def _background(self, rng: np.random.Generator, base: np.ndarray, sy: np.ndarray, sx: np.ndarray,
                    look: Optional[int] = None) -> np.ndarray:
        """A separable plaid texture (whole cycles, so it tiles the torus), shifted by the shake.

        Random stripe frequencies, or (scene mode) the stripes of class ``look``: a pattern per class.
        """
        s = self.size
        pos = np.arange(s, dtype=np.float32) * (2 * np.pi / s)
        if look is None:
            freq = rng.integers(1, 5, size=(2, 3, 2, 1))  # (axis, C, wave, 1)
            amp = rng.uniform(0.3, 1.0, size=(2, 3, 2, 1)) * self.texture
        else:  # rows 1-4 cycles, columns 1 or 6 cycles: 8 distinct plaids
            freq = np.array([1 + look % 4, 1 + 5 * (look // 4 % 2)]).reshape(2, 1, 1, 1)
            amp = np.full((2, 3, 2, 1), 0.9 * self.texture)
        phase = rng.uniform(0, 2 * np.pi, size=(2, 3, 2, 1))
        waves = (amp * np.sin(freq * pos + phase)).sum(axis=2).astype(np.float32)  # (2, C, S)
        grid = np.arange(s)
        # contiguous copies: a broadcast add over a fancy-indexed (channel-last strided) view is 4x slower
        rows = np.ascontiguousarray(waves[0][:, (grid[None, :] - sy[:, None]) % s]) + base[:, None, None]
        cols = np.ascontiguousarray(waves[1][:, (grid[None, :] - sx[:, None]) % s])  # (C, T, W)
        return rows[:, :, :, None] + cols[:, :, None, :]  # (C, T, H, W)

    def _motion(self, name: str, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-frame centre ``(cy, cx)`` (unwrapped) and angle ``theta`` of the main object."""
        t, s = self.frames, self.size
        steps = np.arange(t, dtype=np.float64)
        y0, x0 = rng.uniform(0, s, size=2)
        theta = np.full(t, rng.uniform(0, 2 * np.pi))
        v = self.speed * s * rng.uniform(0.8, 1.25)  # pixels per frame
        dy, dx = np.zeros(t), np.zeros(t)
        if name.startswith("move_"):
            uy, ux = _DIRS[name[5:]]
            dy, dx = uy * v * steps, ux * v * steps
        elif name.startswith("rotate_"):
            # a rigid rotation about a pivot _ARM frame sides away, like a clock hand: the object
            # turns by w per frame and its centre swings along the circle; the arm starts within a
            # quarter turn of "pointing right" (so a few hundred clips teach a small 3D CNN the sense).
            # The pivot is uniform on the torus and invisible, so a frame's distribution is unchanged.
            w = (1.0 if name == "rotate_cw" else -1.0) * rng.uniform(0.6, 0.8)  # clockwise: angles grow
            phi = rng.uniform(0, np.pi / 2) + w * steps
            dy, dx = _ARM * s * (np.sin(phi) - np.sin(phi[0])), _ARM * s * (np.cos(phi) - np.cos(phi[0]))
            theta = theta + w * steps
        else:  # "<first>_then_<second>": two moves, in this order, each for half of the clip
            first, second = name.split("_then_")
            half = t // 2
            d1, d2 = v * np.minimum(steps, half), v * np.maximum(steps - half, 0)
            dy = _DIRS[first][0] * d1 + _DIRS[second][0] * d2
            dx = _DIRS[first][1] * d1 + _DIRS[second][1] * d2
        return y0 + dy, x0 + dx, theta

    def _events(self, clip: np.ndarray, rng: np.random.Generator, name: str, sy: np.ndarray,
                sx: np.ndarray) -> List[Tuple[str, int, int]]:
        """Paint event ``a`` inside the first third and ``b`` inside the last third of the clip.

        ``long="order"``: ``a`` and ``b`` come from the class name ``a_then_b``; ``"match"``: the types
        are drawn here, equal for ``"same"`` and two distinct ones (in random order) for ``"different"``.
        """
        t, s = self.frames, self.size
        third, dur, radius = t // 3, max(2, t // 6), s * _EVENT_RADIUS
        if self.long == "match":
            dur, radius = max(2, min(third, int(t * _MATCH_DURATION))), s * _MATCH_RADIUS
            i = int(rng.integers(len(EVENT_TYPES)))
            j = i if name == "same" else (i + 1 + int(rng.integers(len(EVENT_TYPES) - 1))) % len(EVENT_TYPES)
            first, second = EVENT_TYPES[i], EVENT_TYPES[j]
        else:
            first, second = name.split("_then_")
        starts = (int(rng.integers(0, third - dur + 1)), int(rng.integers(t - third, t - dur + 1)))
        events = []
        for kind, start in zip((first, second), starts):
            visible = np.zeros(t, dtype=bool)
            visible[start:start + dur] = True
            _paint(clip, kind, rng.uniform(0, s) + sy, rng.uniform(0, s) + sx, np.full(t, radius),
                   np.full(t, rng.uniform(0, np.pi / 2)), np.asarray(EVENT_COLOURS[kind], np.float32),
                   visible)
            events.append((kind, start, start + dur))
        return events


def write_video_folder(dataset: Dataset, root: Union[str, Path], fps: int = 8,
                       indices: Optional[Sequence[int]] = None, crf: int = 12,
                       keyframe_interval: Optional[int] = None) -> Path:
    """Write ``dataset`` as a class-per-folder tree of real mp4 files: ``root/<class>/<index>.mp4``.

    The files are named after the dataset index (``00000.mp4``, ``00001.mp4``...) and encoded with
    :func:`vidlearn.data.io.write_video`; ``VideoFolder(root, classes=dataset.classes)`` reads the tree
    back with the same labels (without ``classes=`` it numbers the class folders alphabetically).
    A :class:`SyntheticActions` is written without its ``transform``; any other dataset must give
    ``(clip float (C, T, H, W) in [0, 1], label)`` items and have ``.classes``. ``keyframe_interval``
    (e.g. 16) writes a keyframe every that many frames, as real footage has: a sampling reader then decodes
    from the nearest keyframe instead of the start of the file (see ``benchmarks/bench_data.py``).

    A half-written tree never looks complete: the videos are encoded into a hidden staging folder next to
    ``root`` (``.<root name>.<pid>-<thread>-<random>.tmp``), which is renamed to ``root`` once every
    video is written (when ``root`` already exists, the new files are moved into it only then). An error
    or Ctrl-C while encoding removes the staging folder and leaves ``root`` as it was, as pip installs a
    package.

    Returns:
        ``root`` as a :class:`pathlib.Path`.

    Raises:
        ValueError: a class name that is not a plain folder name (empty, ``.``/``..``, starting with a
            dot, or holding ``/``, ``\\`` or NUL): the message names the class; nothing is written.
    """
    from vidlearn.data.io import write_video
    from vidlearn.files import temporary_sibling

    root = Path(root)
    classes = getattr(dataset, "classes", None)
    if classes is None:
        raise TypeError(f"write_video_folder needs a dataset with .classes, got {type(dataset).__name__}")
    names = [_folder_name(name, label) for label, name in enumerate(classes)]
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"cannot write a video folder to {root}: it is a file")
    stage = temporary_sibling(root.resolve())
    try:
        for index in range(len(dataset)) if indices is None else indices:
            if isinstance(dataset, SyntheticActions):
                clip, label = dataset.clip(index)
            else:
                clip, label = dataset[index]
            clip = torch.as_tensor(clip)
            if clip.dim() != 4 or clip.shape[0] != 3:
                raise ValueError(f"item {index}: expected a clip (3, T, H, W), got shape {tuple(clip.shape)}")
            frames = (clip.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 3, 0)  # (T, H, W, C)
            write_video(stage / names[int(label)] / f"{index:05d}.mp4", frames, fps=fps, crf=crf,
                        keyframe_interval=keyframe_interval)
        stage.mkdir(parents=True, exist_ok=True)  # an empty selection still gives an (empty) root
        if not root.exists():
            os.rename(stage, root)  # the whole tree appears at once
        else:  # merge: every video is already complete, so only the (fast) moves remain
            for video in sorted(stage.rglob("*.mp4")):
                target = root / video.relative_to(stage)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(video, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return root


def _folder_name(name, label: int) -> str:
    """``name`` as a class folder name, if it is a plain one (it must not reach outside the root)."""
    text = str(name)
    plain = (text not in ("", ".", "..") and not text.startswith(".") and not PurePath(text).drive
             and not any(c in text for c in ("/", "\\", "\0")))
    if not plain:
        raise ValueError(f"class {label} is named {name!r}, which cannot be a folder name: class names "
                         "become folders under root, so they must be plain names (not empty, not '.' or '..' "
                         "or starting with '.', no '/', '\\' or NUL)")
    return text
