"""Homework checkers: compare a reader's implementation with vidlearn's own on random inputs.

Each chapter's exercises ask the reader to write one piece of a paper (a consensus, an inflated conv, a
(2+1)D block, the temporal shift, divided attention, early fusion) and then call a checker::

    from vidlearn.exercises import check_segment_consensus

    def segment_consensus(scores, mode):
        raise NotImplementedError  # your code here

    check_segment_consensus(segment_consensus)  # prints what is wrong, or that it is right

A checker runs the reader's function and vidlearn's reference on several random inputs (several shapes,
fixed seeds, the caller's random state untouched) and prints a message that says *what* differs (the
shape expected and got; otherwise the largest difference and where: which clip, segment, frame,
channel) and on *which* input shape, with a guess at the usual mistake when it recognises one. A
function that raises ``NotImplementedError`` gets a friendly "not implemented yet" and a hint, so a
notebook that ships an exercise unimplemented still runs top to bottom. Every checker returns ``True``
when the function is correct and ``False`` otherwise; it never raises because of the reader's code.

The checkers and the functions they expect:

* :func:`check_segment_consensus` ``fn(scores (B, K, N), mode: "avg" | "max") -> (B, N)`` (TSN chapter)
* :func:`check_inflate_conv` ``fn(conv2d: nn.Conv2d, time_kernel: int) -> nn.Conv3d``, bootstrapped
  (I3D chapter)
* :func:`check_r2plus1d_conv` ``fn(in_channels, out_channels, mid_channels) -> nn.Module`` (R(2+1)D)
* :func:`check_temporal_shift` ``fn(x (N*T, C, H, W), T: int, fold_div: int) -> (N*T, C, H, W)`` (TSM)
* :func:`check_divided_attention` ``fn(x (B, T*H*W, D), grid (T, H, W), attn_time, attn_space) ->
  (B, T*H*W, D)`` (TimeSformer)
* :func:`check_early_fusion` ``fn(clip (B, C, T, H, W), weight (O, C, T, k, k), bias (O,), stride: int,
  padding: int) -> (B, O, H', W')`` (DeepVideo)

The checkers of the other chapters are in modules of their own, exported here:

* :func:`check_uniform_sampler` ``fn(num_video_frames, num_frames) -> (num_frames,)`` frame indices (Working
  with video; ``exercises.samplers``)
* :func:`check_flow_stack` ``fn(flow (2, T, H, W), start, L, subtract_mean) -> (2L, H, W)`` (Two-Stream)
* :func:`check_conv_pooling` ``fn(maps (B, T, D, h, w)) -> (B, D)`` (Beyond Short Snippets)
* :func:`check_conv_fusion` ``fn(xa (B, D, H, W), xb (B, D, H, W), weight (D, 2D, 1, 1), bias (D,)) ->
  (B, D, H, W)`` (Fusion)
* :func:`check_pooled_shape` ``fn(grid (T, H, W), kernel, stride, padding) -> (T', H', W')`` (MViT;
  ``exercises.mvit``)
* :func:`check_central_frame_init` ``fn(weight_2d (D, C, h, w), t) -> (D, C, t, h, w)`` (ViViT;
  ``exercises.vivit``)
* :func:`check_receptive_field` ``fn(layers: list of nn.Conv3d / nn.MaxPool3d) -> (frames, height, width)``
  (C3D)
* :func:`check_non_local_block` ``fn(x (B, C, T, H, W), theta, phi, g, w_z) -> (B, C, T, H, W)`` (Non-local)
* :func:`check_lateral_connection` ``fn(slow, fast, weight, bn, alpha) -> (B, C + 2C_f, T, H, W)`` (SlowFast)
* :func:`check_view_average` ``fn(logits (B, V, N)) -> (B, N)`` (Summary; ``exercises.views``)
* :func:`check_clip_preprocess` ``fn(frames uint8 (T, H, W, C), mean, std) -> (C, T, H, W)`` (Using vidlearn;
  ``exercises.transforms``)
* :func:`check_tube_mask` ``fn(batch, grid_t, grid_hw, ratio) -> (batch, grid_t * grid_hw)`` bool (VideoMAE;
  ``exercises.videomae``)
* :func:`check_group_split` ``fn(videos, test_groups) -> (train, test)`` UCF101 clips split by group (Your own
  videos; ``exercises.your_own_videos``)

Every chapter's solution is in its page, collapsed (a ``hide-cell`` cell the reader opens after trying).
"""

from __future__ import annotations

import textwrap
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidlearn.layers.attention import Attention, attend_in_groups
from vidlearn.layers.conv_builders import Conv2Plus1D
from vidlearn.layers.inflate import inflate_conv, inflate_weight
from vidlearn.layers.temporal_shift import temporal_shift
from vidlearn.models.tsn import SegmentalConsensus

__all__ = [
    "check_divided_attention",
    "check_early_fusion",
    "check_inflate_conv",
    "check_r2plus1d_conv",
    "check_segment_consensus",
    "check_temporal_shift",
]

PASS, FAIL, TODO = "\u2705", "\u274c", "\u270f\ufe0f"


class _Mismatch(Exception):
    """The reader's function gave a wrong answer; the message says what and where."""


class _NotImplemented(Exception):
    """The reader's function still raises NotImplementedError."""


def _shape(x) -> str:
    return str(tuple(x.shape)) if isinstance(x, torch.Tensor) else repr(x)


def _call(fn: Callable, on: str, *args):
    """Run the reader's function; its exceptions become a message that names the input."""
    try:
        with torch.no_grad():
            return fn(*args)
    except NotImplementedError:
        raise _NotImplemented from None
    except Exception as e:  # the reader's bug, reported, not raised
        raise _Mismatch(f"on {on}, your function raised {type(e).__name__}: {e}") from None


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    a, b = a.detach(), b.detach()
    scale = max(1.0, float(b.abs().max())) if b.numel() else 1.0
    return bool(torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-5 * scale))


def _compare(got, expected: torch.Tensor, on: str, dims: Sequence[str],
             mistakes: Optional[Dict[str, torch.Tensor]] = None,
             shape_hints: Optional[Dict[Tuple[int, ...], str]] = None,
             view: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
             where: Optional[Callable[[Tuple[int, ...]], str]] = None, what: str = "the output") -> None:
    """Raise :class:`_Mismatch` unless ``got`` equals ``expected``; say how they differ.

    ``dims`` names the axes of ``view(expected)`` for the location of the largest difference (``view``
    reshapes e.g. ``(N*T, C, H, W)`` to ``(N, T, C, H, W)``); ``mistakes`` maps an explanation to the
    output a common mistake gives (recognised by value, or by shape when the shape is wrong);
    ``shape_hints`` maps a wrong shape to an explanation; ``where`` adds a remark about a location.
    """
    if not isinstance(got, torch.Tensor):
        raise _Mismatch(f"on {on}, {what} should be a torch.Tensor of shape {_shape(expected)}, "
                        f"got {type(got).__name__}")
    if got.shape != expected.shape:
        msg = f"on {on}, {what} has the wrong shape: expected {_shape(expected)}, got {_shape(got)}"
        hints = dict(shape_hints or {})
        hints.update({tuple(wrong.shape): why for why, wrong in (mistakes or {}).items()
                      if tuple(wrong.shape) not in hints})
        if tuple(got.shape) in hints:
            msg += f". {hints[tuple(got.shape)]}"
        raise _Mismatch(msg)
    if not got.is_floating_point():
        raise _Mismatch(f"on {on}, {what} should be floating point like the input, got {got.dtype}")
    got, expected = got.detach().to(expected.dtype), expected.detach()
    if not torch.isfinite(got).all():
        raise _Mismatch(f"on {on}, {what} contains NaN or inf")
    if _close(got, expected):
        return
    view = view or (lambda t: t)
    diff = (view(got) - view(expected)).abs()
    flat = int(diff.argmax())
    idx = tuple(int(i) for i in np.unravel_index(flat, tuple(diff.shape)))
    loc = ", ".join(f"{name} {i}" for name, i in zip(dims, idx))
    bad = int((diff > 1e-4 * max(1.0, float(expected.abs().max()))).sum())
    msg = (f"on {on}, {what} has the right shape {_shape(expected)} but {bad} of {diff.numel()} values "
           f"differ. Largest difference {float(diff.max()):.4g} at {loc}: expected "
           f"{float(view(expected)[idx]):.4g}, got {float(view(got)[idx]):.4g}")
    if where is not None:
        msg += f" ({where(idx)})"
    for why, wrong in (mistakes or {}).items():
        if _close(got, wrong):
            msg += f". {why}"
            break
    raise _Mismatch(msg)


def _say(message: str) -> None:
    """Print a verdict wrapped to the width of a book page (long lines would scroll there)."""
    lines = [line if line.startswith("    ") else  # code lines (einops patterns) are kept whole
             textwrap.fill(line, width=92, subsequent_indent="   ", break_long_words=False, break_on_hyphens=False)
             for line in message.split("\n")]
    print("\n".join(lines))


def _check(title: str, fn: Callable, hint: str, body: Callable[[Callable], List[str]], seed: int = 0) -> bool:
    """Run ``body(call)`` with a fixed seed (the caller's RNG state is restored) and print the verdict."""
    if not callable(fn):
        _say(f"{FAIL} {title}: pass your function itself (e.g. check(my_fn)), got {type(fn).__name__}")
        return False
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            tried = body(lambda on, *args: _call(fn, on, *args))
        except _NotImplemented:
            _say(f"{TODO} {title}: not implemented yet. Hint: {hint}")
            return False
        except _Mismatch as e:
            _say(f"{FAIL} {title}: {e}.")
            return False
    _say(f"{PASS} {title}: correct on all {len(tried)} test inputs ({'; '.join(tried)}). Well done!")
    return True


# --------------------------------------------------------------------------------------------------
# TSN: segmental consensus


def check_segment_consensus(fn: Callable[[torch.Tensor, str], torch.Tensor]) -> bool:
    """Check TSN's consensus ``fn(scores (B, K, N), mode) -> (B, N)`` for ``mode`` "avg" and "max".

    Reference: :class:`vidlearn.models.tsn.SegmentalConsensus`. Returns True when ``fn`` is right.
    """
    hint = ("scores is (clips B, segments K, classes N); merge the K segment scores of each clip into one "
            "score per class: 'avg' averages over the segment axis, 'max' takes the maximum over it.")

    def body(call) -> List[str]:
        tried = []
        for b, k, n in [(2, 3, 5), (1, 7, 4), (4, 1, 10), (3, 5, 2)]:
            scores = torch.randn(b, k, n)
            for mode in ("avg", "max"):
                expected = SegmentalConsensus(mode, k)(scores)  # (B, N)
                on = f"scores of shape {(b, k, n)} (B, K, N) with mode={mode!r}"
                got = call(on, scores.clone(), mode)
                other = "max" if mode == "avg" else "avg"
                mistakes = {
                    f"It equals the {other!r} consensus: check the mode": SegmentalConsensus(other, k)(scores),
                    "It looks like you merged over the class axis (dim 2) instead of the segments (dim 1)":
                        scores.mean(2) if mode == "avg" else scores.amax(2),
                    "It equals the sum over segments: divide by K for the average": scores.sum(1),
                }
                _compare(got, expected, on, ("clip", "class"), mistakes)
                tried.append(f"{(b, k, n)} {mode}")
        return tried

    return _check("segment consensus", fn, hint, body)


# --------------------------------------------------------------------------------------------------
# I3D: inflating a 2D conv


def check_inflate_conv(fn: Callable[[nn.Conv2d, int], nn.Conv3d]) -> bool:
    """Check I3D's bootstrapped inflation ``fn(conv2d, time_kernel) -> nn.Conv3d``.

    The 3D conv must have kernel ``(time_kernel, kh, kw)``, the 2D weights repeated along time and
    divided by ``time_kernel`` (equal to :func:`vidlearn.layers.inflate.inflate_weight`), the same bias,
    spatial stride and padding, and reproduce the 2D conv on a "boring video" (one image repeated) away
    from the clip's ends. Temporal padding of ``time_kernel // 2`` zeros or none are both accepted.
    """
    hint = ("make an nn.Conv3d with kernel (time_kernel, kh, kw), the same channels, spatial stride and "
            "padding; copy the 2D weight (O, I, kh, kw) into it repeated time_kernel times along a new "
            "time axis (dim 2) and divided by time_kernel; copy the bias.")
    convs = [
        ("Conv2d(3, 8, 3, padding=1)", lambda: nn.Conv2d(3, 8, 3, padding=1)),
        ("Conv2d(4, 6, 5, stride=2, padding=2, bias=False)",
         lambda: nn.Conv2d(4, 6, 5, stride=2, padding=2, bias=False)),
        ("Conv2d(3, 16, 7, stride=2, padding=3)", lambda: nn.Conv2d(3, 16, 7, stride=2, padding=3)),
    ]

    def body(call) -> List[str]:
        tried = []
        for name, make in convs:
            for t in (3, 5, 1):
                conv2d = make()
                before = {k: v.clone() for k, v in conv2d.state_dict().items()}
                on = f"{name} with time_kernel={t}"
                conv3d = call(on, conv2d, t)
                if not isinstance(conv3d, nn.Conv3d):
                    raise _Mismatch(f"on {on}, expected an nn.Conv3d, got {type(conv3d).__name__}")
                if any(not torch.equal(v, conv2d.state_dict()[k]) for k, v in before.items()):
                    raise _Mismatch(f"on {on}, your function changed the 2D conv's weights; leave it as it is")
                w2 = conv2d.weight.detach()
                ref = inflate_weight(w2, t)  # (O, I, t, kh, kw)
                _compare(conv3d.weight.detach(), ref, on, ("out channel", "in channel", "time", "row", "col"),
                         {"It looks like you repeated the 2D weights without dividing by time_kernel: a boring "
                          "video would then give time_kernel times the 2D response": ref * t,
                          "This is the centre initialisation (2D kernel in the middle slice); the exercise asks "
                          "for the bootstrap (repeat and divide by time_kernel)": inflate_weight(w2, t, "center")},
                         shape_hints={tuple(w2.shape) + (t,): "The time axis goes at dim 2: (O, I, t, kh, kw)",
                                      tuple(w2.shape): "The kernel needs a time axis: (O, I, t, kh, kw)",
                                      tuple(w2.shape[:2]) + (1,) + tuple(w2.shape[2:]):
                                          f"The time axis must have size time_kernel = {t}"},
                         what="the 3D conv's weight")
                if (conv3d.bias is None) != (conv2d.bias is None):
                    raise _Mismatch(f"on {on}, the 3D conv should {'have no' if conv2d.bias is None else 'have a'}"
                                    " bias, like the 2D conv")
                if conv2d.bias is not None:
                    _compare(conv3d.bias.detach(), conv2d.bias.detach(), on, ("channel",),
                             what="the 3D conv's bias (copy the 2D bias unchanged)")
                if tuple(conv3d.stride[1:]) != tuple(conv2d.stride) or \
                        tuple(conv3d.padding[1:]) != tuple(conv2d.padding):
                    raise _Mismatch(f"on {on}, the spatial stride/padding should be the 2D conv's "
                                    f"{tuple(conv2d.stride)}/{tuple(conv2d.padding)}, got "
                                    f"{tuple(conv3d.stride[1:])}/{tuple(conv3d.padding[1:])}")
                if conv3d.stride[0] != 1:
                    raise _Mismatch(f"on {on}, keep a temporal stride of 1, got {conv3d.stride[0]}")
                _boring_video(conv2d, conv3d, t, on)
                tried.append(f"weight {tuple(w2.shape)} t={t}")
        return tried

    return _check("inflate conv", fn, hint, body)


def _boring_video(conv2d: nn.Conv2d, conv3d: nn.Conv3d, t: int, on: str) -> None:
    """A static clip through the 3D conv equals the 2D conv on its frame (away from the clip's ends)."""
    frames = 8
    image = torch.randn(2, conv2d.in_channels, 12, 12)
    clip = image[:, :, None].expand(-1, -1, frames, -1, -1).contiguous()  # (B, C, T, H, W), one image
    with torch.no_grad():
        try:
            out = conv3d(clip)  # (B, O, T', H', W')
        except Exception as e:
            raise _Mismatch(f"on {on}, your 3D conv failed on a clip of shape {_shape(clip)}: "
                            f"{type(e).__name__}: {e}") from None
        want = conv2d(image)  # (B, O, H', W')
    extra = out.shape[2] - (frames - t + 1)  # frames of temporal padding, in all
    if extra not in (0, t - 1):
        raise _Mismatch(f"on {on}, a clip of {frames} frames should give {frames} frames (temporal padding "
                        f"time_kernel // 2 = {t // 2}) or {frames - t + 1} (no temporal padding), got "
                        f"{out.shape[2]}")
    # frames whose window lies inside the clip (zero padding changes the ends)
    lo, hi = extra // 2, out.shape[2] - (extra - extra // 2)
    inner = out[:, :, lo:hi]
    expected = want[:, :, None].expand_as(inner)
    _compare(inner, expected, f"{on}, a boring video {_shape(clip)} (one image repeated)",
             ("clip", "channel", "frame", "row", "col"),
             what="the 3D conv's response (it should equal the 2D conv on the image)")
    # any clip: the same as vidlearn's inflation (zero temporal padding) where the windows lie inside
    clip = torch.randn(2, conv2d.in_channels, frames, 10, 10)
    with torch.no_grad():
        got = conv3d(clip)[:, :, lo:hi]
        ref = inflate_conv(conv2d, t, time_padding="zeros")(clip)[:, :, t // 2:frames - t // 2]
    _compare(got, ref, f"{on}, a random clip {_shape(clip)}", ("clip", "channel", "frame", "row", "col"),
             what="the 3D conv's response (vidlearn's inflate_conv gives the expected one)")


# --------------------------------------------------------------------------------------------------
# R(2+1)D: the factorised conv


def check_r2plus1d_conv(fn: Callable[[int, int, int], nn.Module]) -> bool:
    """Check a (2+1)D conv ``fn(in_channels, out_channels, mid_channels) -> nn.Module``.

    Expected: a (1, 3, 3) conv to ``mid_channels`` (padding (0, 1, 1), no bias), BatchNorm3d, ReLU, then a
    (3, 1, 1) conv to ``out_channels`` (padding (1, 0, 0), no bias), as
    :class:`vidlearn.layers.conv_builders.Conv2Plus1D`. Checked: output shapes, parameter count
    ``in*mid*9 + mid*out*3 + 2*mid``, the two kernels, and the output with vidlearn's weights copied in.
    """
    hint = ("return nn.Sequential(nn.Conv3d(in, mid, (1, 3, 3), padding=(0, 1, 1), bias=False), "
            "nn.BatchNorm3d(mid), nn.ReLU(), nn.Conv3d(mid, out, (3, 1, 1), padding=(1, 0, 0), bias=False)): "
            "first space only, then time only.")

    def body(call) -> List[str]:
        tried = []
        for cin, cout, mid in [(3, 8, 5), (16, 16, 24), (8, 4, 7)]:
            on = f"in_channels={cin}, out_channels={cout}, mid_channels={mid}"
            module = call(on, cin, cout, mid)
            if not isinstance(module, nn.Module):
                raise _Mismatch(f"on {on}, expected an nn.Module, got {type(module).__name__}")
            ref = Conv2Plus1D(cin, cout, mid)
            convs = [m for m in module.modules() if isinstance(m, nn.Conv3d)]
            bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm3d)]
            kernels = [tuple(c.kernel_size) for c in convs]
            if kernels != [(1, 3, 3), (3, 1, 1)]:
                raise _Mismatch(f"on {on}, expected two Conv3d, kernels (1, 3, 3) then (3, 1, 1), got "
                                f"{kernels or 'no Conv3d'}: the (2+1)D conv is a spatial conv followed by a "
                                "temporal one")
            if [(c.in_channels, c.out_channels) for c in convs] != [(cin, mid), (mid, cout)]:
                raise _Mismatch(f"on {on}, the convs should map {cin} -> {mid} (spatial) and {mid} -> {cout} "
                                f"(temporal) channels, got "
                                f"{[(c.in_channels, c.out_channels) for c in convs]}")
            if len(bns) != 1 or bns[0].num_features != mid:
                raise _Mismatch(f"on {on}, expected one BatchNorm3d({mid}) between the two convs, got "
                                f"{[b.num_features for b in bns] or 'none'}")
            n_ref = sum(p.numel() for p in ref.parameters())
            n = sum(p.numel() for p in module.parameters())
            if n != n_ref:
                extra = " (bias=False: the BatchNorm after the conv has its own shift)" if any(
                    c.bias is not None for c in convs) else ""
                raise _Mismatch(f"on {on}, expected {n_ref} parameters = {cin}*{mid}*9 + {mid}*{cout}*3 + "
                                f"2*{mid} (BN), got {n}{extra}")
            with torch.no_grad():  # vidlearn's weights (and random BN statistics) in both modules
                ref[1].running_mean.normal_()
                ref[1].running_var.uniform_(0.5, 2)
                ref[1].weight.normal_()
                ref[1].bias.normal_()
                convs[0].weight.copy_(ref[0].weight)
                convs[1].weight.copy_(ref[3].weight)
                bns[0].load_state_dict(ref[1].state_dict())
            module.eval()
            ref.eval()
            for shape in [(2, cin, 4, 6, 6), (1, cin, 3, 5, 7)]:
                x = torch.randn(shape)
                on_x = f"{on}, input {shape} (B, C, T, H, W)"
                got = _run_module(module, x, on_x)
                expected = ref(x)
                mistakes = {"It looks like the ReLU is missing between the two convs":
                            ref[3](ref[1](ref[0](x)))}
                _compare(got, expected, on_x, ("clip", "channel", "frame", "row", "col"), mistakes)
                tried.append(f"{(cin, cout, mid)} on {shape}")
        return tried

    return _check("(2+1)D conv", fn, hint, body)


def _run_module(module: nn.Module, x: torch.Tensor, on: str) -> torch.Tensor:
    try:
        with torch.no_grad():
            return module(x)
    except Exception as e:
        raise _Mismatch(f"on {on}, your module raised {type(e).__name__}: {e}") from None


# --------------------------------------------------------------------------------------------------
# TSM: the temporal shift


def check_temporal_shift(fn: Callable[[torch.Tensor, int, int], torch.Tensor]) -> bool:
    """Check TSM's bidirectional shift ``fn(x (N*T, C, H, W), T, fold_div) -> (N*T, C, H, W)``.

    With ``fold = C // fold_div``: channels ``[0, fold)`` of frame t come from frame t+1, channels
    ``[fold, 2*fold)`` from frame t-1, the rest stay; frames from outside the clip are zeros. Reference:
    :func:`vidlearn.layers.temporal_shift.temporal_shift`. ``x`` must not be modified.
    """
    hint = ("view x as (N, T, C, H, W); start from zeros; channels [0, fold) of frame t take frame t+1's, "
            "channels [fold, 2*fold) take frame t-1's, channels [2*fold, C) are copied; reshape back.")

    def body(call) -> List[str]:
        tried = []
        for n, t, c, h, w, div in [(2, 4, 8, 3, 3, 8), (1, 8, 16, 2, 2, 4), (3, 3, 12, 4, 5, 8),
                                   (2, 5, 6, 1, 1, 3)]:
            x = torch.randn(n * t, c, h, w)
            on = f"x of shape {(n * t, c, h, w)} (N*T, C, H, W) with T={t}, fold_div={div}"
            x_in = x.clone()
            got = call(on, x_in, t, div)
            if not torch.equal(x_in, x):
                raise _Mismatch(f"on {on}, your function modified x in place: return a new tensor")
            fold = c // div
            v = x.view(n, t, c, h, w)
            expected = temporal_shift(x, t, div)
            wrong_way = torch.zeros_like(v)  # [0, fold) from t-1 and [fold, 2 fold) from t+1
            wrong_way[:, 1:, :fold] = v[:, :-1, :fold]
            wrong_way[:, :-1, fold:2 * fold] = v[:, 1:, fold:2 * fold]
            wrong_way[:, :, 2 * fold:] = v[:, :, 2 * fold:]
            rolled = v.clone()
            rolled[:, :, :fold] = v[:, :, :fold].roll(-1, 1)
            rolled[:, :, fold:2 * fold] = v[:, :, fold:2 * fold].roll(1, 1)
            mistakes = {
                "It is shifted the wrong way: channels [0, fold) should come from the NEXT frame (t+1) "
                "and [fold, 2*fold) from the PREVIOUS one (t-1)": wrong_way.reshape(x.shape),
                "It wraps around (like torch.roll): frames shifted in from outside the clip must be zeros":
                    rolled.reshape(x.shape),
                "It is the online (past-only) shift; the exercise asks for the bidirectional one":
                    temporal_shift(x, t, div, "online"),
                "It shifts across clips too: view x as (N, T, C, H, W) so each clip is shifted on its own":
                    _flat_shift(x, fold),
            }

            def where(idx, fold=fold):
                ch = idx[2]
                part = ("channels [0, fold) take frame t+1" if ch < fold else
                        "channels [fold, 2*fold) take frame t-1" if ch < 2 * fold else
                        "channels [2*fold, C) stay unchanged")
                return f"fold = {fold}: {part}"

            _compare(got, expected, on, ("clip", "frame", "channel", "row", "col"), mistakes,
                     view=lambda z, s=(n, t, c, h, w): z.reshape(s), where=where)
            tried.append(f"{(n * t, c, h, w)} T={t} fold_div={div}")
        return tried

    return _check("temporal shift", fn, hint, body)


def _flat_shift(x: torch.Tensor, fold: int) -> torch.Tensor:
    """The shift done on the flat (N*T) batch, so frames leak between clips (a common mistake)."""
    out = torch.zeros_like(x)
    out[:-1, :fold] = x[1:, :fold]
    out[1:, fold:2 * fold] = x[:-1, fold:2 * fold]
    out[:, 2 * fold:] = x[:, 2 * fold:]
    return out


# --------------------------------------------------------------------------------------------------
# TimeSformer: divided space-time attention


def check_divided_attention(fn: Callable[..., torch.Tensor]) -> bool:
    """Check divided space-time attention ``fn(x, grid, attn_time, attn_space) -> (B, T*H*W, D)``.

    ``x`` is ``(B, T*H*W, D)`` patch tokens in ``(t h w)`` order (no class token), ``grid = (T, H, W)``,
    ``attn_time`` and ``attn_space`` are :class:`vidlearn.layers.attention.Attention` layers mapping
    ``(B', L, D) -> (B', L, D)``. Expected (TimeSformer's T+S, without norms and MLP)::

        x = x + attn_time(each patch position's T tokens across frames)     # groups (B*H*W, T, D)
        x = x + attn_space(each frame's H*W tokens)                         # groups (B*T, H*W, D)

    Reference: :func:`vidlearn.layers.attention.attend_in_groups` with steps "time" then "space".
    """
    hint = ("regroup x by patch position, apply attn_time, regroup back and add to x (the residual); then "
            "the same by frame with attn_space. With einops.rearrange the groups are:\n"
            "    time:  'b (t h w) d -> (b h w) t d'\n"
            "    space: 'b (t h w) d -> (b t) (h w) d'")

    def reference(x, grid, a_t, a_s):
        x = x + attend_in_groups(a_t, x, "time", grid)[0]  # (B, THW, D)
        return x + attend_in_groups(a_s, x, "space", grid)[0]

    def body(call) -> List[str]:
        tried = []
        for b, (t, h, w), d, heads in [(2, (4, 3, 3), 16, 2), (1, (3, 2, 4), 8, 1), (2, (2, 4, 4), 12, 3)]:
            grid = (t, h, w)
            a_t, a_s = Attention(d, heads).eval(), Attention(d, heads).eval()
            x = torch.randn(b, t * h * w, d)
            on = f"x of shape {(b, t * h * w, d)} (B, T*H*W, D) with grid (T, H, W) = {grid}"
            with torch.no_grad():
                expected = reference(x, grid, a_t, a_s)
                space_first = x + attend_in_groups(a_s, x, "space", grid)[0]
                space_first = space_first + attend_in_groups(a_t, space_first, "time", grid)[0]
                joint = x + a_s(x)
                no_res = attend_in_groups(a_t, x, "time", grid)[0]
                no_res = attend_in_groups(a_s, no_res, "space", grid)[0]
            got = call(on, x.clone(), grid, a_t, a_s)
            mistakes = {
                "It equals space attention first, then time: TimeSformer's divided block attends over time "
                "first": space_first,
                "It equals joint attention over all T*H*W tokens: divided attention splits it in two steps":
                    joint,
                "It equals the two steps without the residual connections (x + ...)": no_res,
            }

            def where(idx, grid=grid):
                _, tok, _ = idx
                tt, rest = divmod(tok, grid[1] * grid[2])
                return f"token {tok} is frame {tt}, patch row {rest // grid[2]}, column {rest % grid[2]}"

            _compare(got, expected, on, ("clip", "token", "channel"), mistakes, where=where)
            tried.append(f"{(b, t * h * w, d)} grid={grid}")
        return tried

    return _check("divided space-time attention", fn, hint, body)


# --------------------------------------------------------------------------------------------------
# DeepVideo: early fusion


def check_early_fusion(fn: Callable[..., torch.Tensor]) -> bool:
    """Check early fusion's first layer ``fn(clip, weight, bias, stride, padding) -> (B, O, H', W')``.

    ``clip`` is ``(B, C, T, H, W)``, ``weight`` ``(O, C, T, k, k)``: a filter that spans all T frames
    (DeepVideo's 11x11x3xT conv1), ``bias`` ``(O,)``. The answer is one 2D map per filter: time is
    merged at once. Reference: vidlearn's early-fusion conv1, an ``nn.Conv3d`` with kernel ``(T, k, k)``
    and no temporal padding, whose single output frame is squeezed away. Writing it as a 2D conv over the
    frames stacked along channels (``F.conv2d`` on ``(B, C*T, H, W)``) is the intended exercise.
    """
    hint = ("stack the frames along the channels of the clip and of the weight, in the same order, then "
            "call F.conv2d(frames, weight, bias, stride, padding). With einops.rearrange:\n"
            "    clip:   'b c t h w -> b (c t) h w'\n"
            "    weight: 'o c t kh kw -> o (c t) kh kw'")

    def body(call) -> List[str]:
        tried = []
        for b, c, t, s, o, k, stride in [(2, 3, 4, 16, 8, 5, 2), (1, 3, 2, 12, 4, 3, 1), (2, 2, 6, 9, 5, 3, 2)]:
            padding = k // 2
            conv = nn.Conv3d(c, o, (t, k, k), (1, stride, stride), padding=(0, padding, padding))
            clip = torch.randn(b, c, t, s, s)
            w, bias = conv.weight.detach(), conv.bias.detach()
            on = (f"clip {(b, c, t, s, s)} (B, C, T, H, W), weight {tuple(w.shape)}, stride={stride}, "
                  f"padding={padding}")
            with torch.no_grad():
                expected = conv(clip).squeeze(2)  # (B, O, H', W'): the only output frame
            got = call(on, clip.clone(), w.clone(), bias.clone(), stride, padding)
            mixed = F.conv2d(rearrange(clip, "b c t h w -> b (t c) h w"),
                             rearrange(w, "o c t kh kw -> o (c t) kh kw"), bias, stride, padding)
            mistakes = {
                "There is one output frame: squeeze the time axis, the result is (B, O, H', W')":
                    expected[:, :, None],
                "The frames and channels are stacked in different orders in the clip and the weight: use "
                "the same pattern, e.g. '(c t)' for both": mixed,
                "It equals the output without the bias": expected - bias[:, None, None],
            }
            _compare(got, expected, on, ("clip", "filter", "row", "col"), mistakes)
            tried.append(f"{(b, c, t, s, s)} k={k} stride={stride}")
        return tried

    return _check("early fusion", fn, hint, body)


# Checkers of the other chapters, in modules of their own (each uses the helpers above, so they come last)
from vidlearn.exercises.c3d import check_receptive_field  # noqa: E402
from vidlearn.exercises.fusion import check_conv_fusion  # noqa: E402
from vidlearn.exercises.mvit import check_pooled_shape  # noqa: E402
from vidlearn.exercises.non_local import check_non_local_block  # noqa: E402
from vidlearn.exercises.samplers import check_uniform_sampler  # noqa: E402
from vidlearn.exercises.slowfast import check_lateral_connection  # noqa: E402
from vidlearn.exercises.snippets import check_conv_pooling  # noqa: E402
from vidlearn.exercises.transforms import check_clip_preprocess  # noqa: E402
from vidlearn.exercises.two_stream import check_flow_stack  # noqa: E402
from vidlearn.exercises.videomae import check_tube_mask  # noqa: E402
from vidlearn.exercises.views import check_view_average  # noqa: E402
from vidlearn.exercises.vivit import check_central_frame_init  # noqa: E402
from vidlearn.exercises.your_own_videos import check_group_split  # noqa: E402

__all__ += ["check_central_frame_init", "check_clip_preprocess", "check_conv_fusion", "check_conv_pooling",
            "check_flow_stack", "check_lateral_connection", "check_non_local_block", "check_pooled_shape",
            "check_receptive_field", "check_uniform_sampler", "check_view_average", "check_group_split",
            "check_tube_mask"]
