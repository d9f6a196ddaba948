"""Video I/O: PyAV writes real files; every installed reader (decord, torchcodec, PyAV) reads back only the
requested frames, the same pixels for the same indices; clear errors naming the file for missing, corrupt and
out-of-range reads and for frames that cannot be written."""

import sys

import numpy as np
import pytest
import torch
from helpers import keyframes

from vidlearn.data import VideoReadError, open_video, read_video, sample_videos, video_info, write_video
from vidlearn.data.io import BACKEND_ENV, available_backends

BACKENDS = available_backends()  # every reader installed here runs every reading test


def _frames(t=10, h=32, w=48) -> np.ndarray:
    """A horizontal gradient whose brightness steps up by 20 every frame: each frame is recognisable."""
    ramp = np.linspace(0, 60, w)[None, :, None] + np.array([0, 30, 60])[None, None, :]
    frames = np.stack([np.broadcast_to(ramp + 20 * i, (h, w, 3)) for i in range(t)])
    return frames.clip(0, 255).astype(np.uint8)  # (T, H, W, 3)


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    """Each installed reader in turn, chosen the way a user would: ``$VIDLEARN_VIDEO_BACKEND``."""
    monkeypatch.setenv(BACKEND_ENV, request.param)
    return request.param


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    frames = _frames()
    path = write_video(tmp_path_factory.mktemp("io") / "ramp.mp4", frames, fps=8)
    return path, frames


def test_written_video_reads_back_close_to_the_original(video, backend):
    path, frames = video
    back = read_video(path)
    assert back.shape == frames.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - frames).mean() < 3  # H.264 at crf 17: codec error only


def test_read_video_returns_the_requested_frames_in_order(video, backend):
    path, frames = video
    picked = read_video(path, [7, 2, 2, -1])
    assert picked.shape == (4,) + frames.shape[1:]
    for got, want in zip(picked, [7, 2, 2, 9]):
        brightness = got.astype(float).mean()
        assert abs(brightness - frames[want].mean()) < 4, (want, brightness)  # frames differ by 20
    assert np.array_equal(picked[1], picked[2])
    assert np.array_equal(read_video(path, np.array([3])), read_video(path, torch.tensor([3])))
    assert read_video(path, []).shape == (0,) + frames.shape[1:]


def test_video_info_reports_length_rate_and_size(video, backend):
    path, frames = video
    assert video_info(path) == {"num_frames": 10, "fps": 8.0, "height": 32, "width": 48}


def test_fractional_frame_rate_is_kept(tmp_path, backend):
    path = write_video(tmp_path / "ntsc.mp4", _frames(t=4, h=16, w=16), fps=30000 / 1001)
    assert abs(video_info(path)["fps"] - 29.97) < 0.01


def test_odd_sizes_are_padded_to_even(tmp_path, backend):
    frames = _frames(t=3, h=17, w=25)
    path = write_video(tmp_path / "odd.mp4", torch.from_numpy(frames), fps=4)
    back = read_video(path)
    assert back.shape == (3, 18, 26, 3)
    assert np.abs(back[:, :17, :25].astype(int) - frames).mean() < 3
    assert np.abs(back[:, 17, :25].astype(int) - frames[:, 16]).mean() < 6  # the repeated last row


@pytest.mark.parametrize("width", [16, 24, 48, 72])
def test_widths_that_trip_decords_padded_rows_read_correctly(tmp_path, width, backend):
    # decord 0.6 returns FFmpeg's padded rows as extra "channels" for these widths (dmlc/decord#336)
    frames = _frames(t=4, h=16, w=width)
    path = write_video(tmp_path / f"w{width}.mp4", frames, fps=4)
    back = read_video(path, [0, 3])
    assert back.shape == (2, 16, width, 3)
    assert np.abs(back.astype(int) - frames[[0, 3]]).mean() < 4


def test_grayscale_frames_are_written_as_rgb(tmp_path, backend):
    gray = _frames(t=2, h=16, w=16)[..., :1]
    back = read_video(write_video(tmp_path / "gray.mp4", gray, fps=2))
    assert back.shape == (2, 16, 16, 3) and np.abs(back[..., 0].astype(int) - back[..., 2]).max() < 6


def test_mpeg4_encoder_also_round_trips(tmp_path, backend):
    frames = _frames(t=4, h=16, w=32)
    back = read_video(write_video(tmp_path / "m4.mp4", frames, fps=4, codec="mpeg4"))
    assert back.shape == frames.shape and np.abs(back.astype(int) - frames).mean() < 6


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_keyframe_interval_puts_a_keyframe_every_k_frames(tmp_path, codec, backend):
    frames = _frames(t=40, h=16, w=16)
    default = write_video(tmp_path / "default.mp4", frames, fps=8, codec=codec)
    every8 = write_video(tmp_path / "every8.mp4", frames, fps=8, codec=codec, keyframe_interval=8)
    if codec == "libx264":  # x264's default: keyframes only at scene cuts in a short clip (here frame 13)
        assert len(keyframes(default)) < 5
    assert keyframes(every8) == [0, 8, 16, 24, 32]
    back = read_video(every8)
    assert back.shape == frames.shape and np.abs(back.astype(int) - frames).mean() < 6


@pytest.mark.parametrize("bad", [0, -4, 2.5, True, "16"])
def test_keyframe_interval_must_be_a_positive_whole_number(tmp_path, bad):
    with pytest.raises(ValueError, match="keyframe_interval must be a whole number of frames >= 1"):
        write_video(tmp_path / "x.mp4", _frames(t=2, h=8, w=8), keyframe_interval=bad)
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("frames", [np.zeros((3, 8, 8, 3), np.float32), np.zeros((3, 8, 8), np.uint8),
                                    torch.rand(3, 4, 8, 8), np.zeros((0, 8, 8, 3), np.uint8)])
def test_frames_that_cannot_be_written_get_a_clear_error(tmp_path, frames):
    with pytest.raises(ValueError, match=r"write_video expects uint8 frames \(T, H, W, 3\)"):
        write_video(tmp_path / "x.mp4", frames)


def test_missing_file_raises_file_not_found_naming_it(tmp_path, backend):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        read_video(missing)
    with pytest.raises(FileNotFoundError, match="directory"):
        video_info(tmp_path)


@pytest.mark.parametrize("content", [b"", b"not a video at all " * 50])
def test_corrupt_file_raises_video_read_error_naming_it(tmp_path, content, backend):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(VideoReadError) as err:
        read_video(bad)
    assert str(bad) in str(err.value) and f"{backend} says" in str(err.value)
    assert isinstance(err.value, IOError)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no backend traceback attached


def test_truncated_file_raises_video_read_error(tmp_path, video, backend):
    path, _ = video
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoReadError, match=str(cut)):
        read_video(cut)


def test_out_of_range_indices_raise_index_error_with_the_video_length(video, backend):
    path, _ = video
    with pytest.raises(IndexError, match="has 10 frames"):
        read_video(path, [0, 10])
    with pytest.raises(IndexError, match=r"\[-11\]"):
        read_video(path, [-11])


class _MuxFailsAfter:
    """Wraps a PyAV output container so that the ``n``-th ``mux`` raises: an encode interrupted midway."""

    def __init__(self, container, n, error):
        self._container, self._left, self._error = container, n, error

    def __getattr__(self, name):
        return getattr(self._container, name)

    def __enter__(self):
        self._container.__enter__()
        return self

    def __exit__(self, *exc):
        return self._container.__exit__(*exc)

    def mux(self, packet):
        self._left -= 1
        if self._left <= 0:
            raise self._error
        return self._container.mux(packet)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_write_video_failure_keeps_previous_file(tmp_path, monkeypatch, error):
    import av

    path = write_video(tmp_path / "clip.mp4", _frames(t=10), fps=8)
    before = path.read_bytes()
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: _MuxFailsAfter(real_open(*a, **k), 3, error))
    with pytest.raises(type(error)):
        write_video(path, _frames(t=40), fps=8, keyframe_interval=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert read_video(path).shape[0] == 10  # the previous file, all its frames
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary left behind


def test_write_video_replaces_the_file_only_when_complete(tmp_path):
    path = write_video(tmp_path / "clip.mp4", _frames(t=10), fps=8)
    write_video(path, _frames(t=6), fps=8)
    assert read_video(path).shape[0] == 6
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


@pytest.mark.parametrize("fps", [0, -5, float("nan"), float("inf"), True, "8"])
def test_write_video_rejects_a_bad_frame_rate_before_writing(tmp_path, fps):
    with pytest.raises(ValueError, match="fps"):
        write_video(tmp_path / "clip.mp4", _frames(t=3), fps=fps)
    assert list(tmp_path.iterdir()) == []


def test_write_video_to_a_folder_names_the_path(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        write_video(tmp_path, _frames(t=3), fps=8)


@pytest.mark.parametrize("name", ["clip", "clip.txt"])
def test_write_video_without_a_video_extension_names_the_path(tmp_path, name):
    with pytest.raises(ValueError, match=f"{name}.*expected one of .mp4"):
        write_video(tmp_path / name, _frames(t=3), fps=8)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("indices", [[2.7], np.array([0.0, 1.0]), torch.tensor([1.5])])
def test_read_video_refuses_fractional_indices(video, indices, backend):
    path, _ = video
    with pytest.raises(TypeError, match=f"whole numbers.*{path.name}|{path.name}.*whole numbers"):
        read_video(path, indices)


@pytest.mark.parametrize("mask", [[True, False, True], np.ones(10, dtype=bool), torch.ones(10, dtype=torch.bool)])
def test_read_video_refuses_a_boolean_mask(video, mask, backend):
    path, _ = video
    with pytest.raises(TypeError, match="boolean mask.*flatnonzero"):
        read_video(path, mask)


def test_read_video_takes_integer_arrays_tensors_and_ranges(video, backend):
    path, frames = video
    for indices in (np.array([3, 1], dtype=np.int32), torch.tensor([3, 1]), range(3, 0, -2)):
        assert read_video(path, indices).shape == (2,) + frames.shape[1:]
    assert read_video(path, []).shape == (0,) + frames.shape[1:]


def _noise(t=40, h=32, w=48, seed=0) -> np.ndarray:
    """Random frames: every pixel differs from frame to frame, so a frame read off by one shows."""
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("codec,interval", [("libx264", None), ("libx264", 8), ("mpeg4", None), ("mpeg4", 8)])
def test_every_backend_reads_the_same_pixels_as_pyav_on_written_files(tmp_path, codec, interval):
    path = write_video(tmp_path / "noise.mp4", _noise(), fps=8, codec=codec, keyframe_interval=interval)
    for indices in (None, [39, 0, 5, 5, 17, 33, -1], [9, 10, 11, 30], [24]):
        want = read_video(path, indices, backend="pyav")
        for name in BACKENDS:
            assert np.array_equal(read_video(path, indices, backend=name), want), (name, indices)
    for name in BACKENDS:
        assert video_info(path, backend=name) == video_info(path, backend="pyav"), name


@pytest.mark.parametrize("name", ["bikes", "carphone_distorted"])
def test_every_backend_reads_the_same_pixels_on_the_sample_clips(name):
    # real encoder output (B-frames, several keyframes): pixel-equal here too, not merely close
    path = sample_videos()[name]
    indices = [0, 1, 63, 64, 119, 100, 7]
    want = read_video(path, indices, backend="pyav")
    for backend in BACKENDS:
        assert len(open_video(path, backend=backend)) == len(open_video(path, backend="pyav")), backend
        assert np.array_equal(read_video(path, indices, backend=backend), want), backend


def test_reading_works_through_pyav_when_decord_is_hidden(monkeypatch, video):
    path, frames = video
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "decord", None)  # `import decord` now fails, as on macOS arm64
    monkeypatch.setitem(sys.modules, "torchcodec", None)
    assert available_backends() == ["pyav"]
    assert open_video(path).backend == "pyav"
    back = read_video(path, [7, 2])
    assert back.shape == (2,) + frames.shape[1:] and np.abs(back.astype(int) - frames[[7, 2]]).mean() < 3
    assert video_info(path)["num_frames"] == 10


def test_backend_is_chosen_by_argument_then_env_var_then_preference(monkeypatch, video):
    path, _ = video
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert open_video(path).backend == BACKENDS[0]
    monkeypatch.setenv(BACKEND_ENV, "pyav")
    assert open_video(path).backend == "pyav"
    assert open_video(path, backend=BACKENDS[0]).backend == BACKENDS[0]  # the argument wins


def test_an_unknown_or_missing_backend_is_a_clear_error(monkeypatch, video):
    path, _ = video
    with pytest.raises(ValueError, match="backend= must be one of decord, torchcodec, pyav, got 'ffmpeg'"):
        read_video(path, backend="ffmpeg")
    monkeypatch.setenv(BACKEND_ENV, "opencv")
    with pytest.raises(ValueError, match=r"\$VIDLEARN_VIDEO_BACKEND must be one of"):
        read_video(path)
    monkeypatch.setitem(sys.modules, "decord", None)
    with pytest.raises(ImportError, match="'decord' .* not installed here; installed: .*pyav"):
        read_video(path, backend="decord")


class _CountingContainer:
    """Wraps a PyAV input container, counting the frames it decodes."""

    def __init__(self, container):
        self._container, self.decoded = container, 0

    def __getattr__(self, name):
        return getattr(self._container, name)

    def decode(self, *args, **kwargs):
        for frame in self._container.decode(*args, **kwargs):
            self.decoded += 1
            yield frame


def test_pyav_decodes_only_from_the_keyframe_before_each_wanted_frame(tmp_path):
    path = write_video(tmp_path / "k8.mp4", _noise(t=40, h=16, w=16), fps=8, keyframe_interval=8)
    reader = open_video(path, backend="pyav")
    counting = reader._container = _CountingContainer(reader._container)
    from vidlearn.data import get_frames

    got = get_frames(reader, [35, 33])  # keyframe 32: frames 32..35, not 0..35
    assert counting.decoded <= 4 + 2  # the decoder may hand over a frame or two past the last wanted
    assert np.array_equal(got, read_video(path, [35, 33], backend="pyav"))
    counting.decoded = 0
    get_frames(reader, [1, 2, 17])  # 0..2, then a seek to keyframe 16: 16..17
    assert counting.decoded <= 3 + 2 + 2


def test_a_torchcodec_without_ffmpeg_libraries_is_not_offered(monkeypatch):
    # torchcodec's wheel imports without FFmpeg's shared libraries and fails only when a video is opened
    import types

    from vidlearn.data import io

    def load_core_libraries():
        raise RuntimeError("Could not load libtorchcodec")

    fake = types.ModuleType("torchcodec")
    fake._internally_replaced_utils = types.SimpleNamespace(load_core_libraries=load_core_libraries)
    monkeypatch.setitem(sys.modules, "torchcodec", fake)
    monkeypatch.setitem(sys.modules, "torchcodec.decoders", types.ModuleType("torchcodec.decoders"))
    monkeypatch.setitem(sys.modules, "torchcodec._internally_replaced_utils", fake._internally_replaced_utils)
    io._torchcodec_loads.cache_clear()
    try:
        assert "torchcodec" not in available_backends()
        with pytest.raises(ImportError, match="'torchcodec' .* not installed here"):
            io._choose_backend("torchcodec")
    finally:
        io._torchcodec_loads.cache_clear()


@pytest.mark.parametrize("interval", [None, 8])
def test_pyav_reads_the_asked_frames_of_an_avi_with_b_frames(tmp_path, interval):
    # AVI keeps no presentation times: the "pts" PyAV reports for H.264 with B-frames are decode-order
    # guesses, so frames are counted from the keyframe each seek lands on. (decord 0.6 gets sampled reads
    # of such files wrong once there are several keyframes: [29, 3, 17] comes back as frames [5, 3, 1].)
    frames = np.stack([np.full((16, 16, 3), 8 * i, np.uint8) for i in range(30)])  # frame i: brightness 8i
    path = write_video(tmp_path / "b.avi", frames, fps=8, codec="libx264", keyframe_interval=interval)
    for indices in (None, [29, 3, 17, 8, 9, 1, 12], [24, 25]):
        back = read_video(path, indices, backend="pyav")
        which = np.round(back.reshape(len(back), -1).mean(1) / 8).astype(int).tolist()
        assert which == (list(range(30)) if indices is None else indices)


@pytest.mark.parametrize("interval", [None, 8])
def test_the_automatic_choice_reads_the_asked_frames_of_an_h264_avi(tmp_path, interval, monkeypatch):
    # decord misreads sampled frames of H.264 in AVI ([29, 3, 17] of 30 frames as [0, 3, 17], or as
    # [5, 3, 1] with several keyframes): an automatic choice reads .avi with PyAV, other files as before
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    frames = np.stack([np.full((16, 16, 3), 8 * i, np.uint8) for i in range(30)])
    path = write_video(tmp_path / "b.avi", frames, fps=8, codec="libx264", keyframe_interval=interval)
    assert open_video(path).backend == "pyav"
    indices = [29, 3, 17, 8, 9, 1, 12]
    back = read_video(path, indices)
    assert np.round(back.reshape(len(back), -1).mean(1) / 8).astype(int).tolist() == indices
    mp4 = write_video(tmp_path / "b.mp4", frames, fps=8, codec="libx264", keyframe_interval=interval)
    assert open_video(mp4).backend == BACKENDS[0]
    if "decord" in BACKENDS:  # asked for, decord is still used (and still wrong on this file)
        assert open_video(path, backend="decord").backend == "decord"


@pytest.mark.parametrize("want", [0, 5, 9])
def test_pyav_frame_that_never_decodes_is_a_read_error_not_a_hang(video, want):
    path, _ = video
    reader = open_video(path, backend="pyav")
    reader._index = {}  # no decoded frame matches any packet: as in a file whose timestamps are broken
    from vidlearn.data import get_frames

    with pytest.raises(VideoReadError, match=f"{path.name}: pyav says: frame {want} of 10 did not decode"):
        get_frames(reader, [want])
