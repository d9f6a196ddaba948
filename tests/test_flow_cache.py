"""FlowCache keeps its promise on damaged and foreign data: damaged, foreign-shaped or stale entries are
computed again (never a BadZipFile), threads writing one entry all succeed, and clear() removes only the
cache's own files."""

import threading
from pathlib import Path

import numpy as np
import pytest

from vidlearn.data import write_video
from vidlearn.flow import FlowCache


@pytest.fixture()
def video(tmp_path: Path) -> Path:
    """A real 4-frame mp4 of a moving bright square."""
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    for t in range(4):
        frames[t, 8:16, 4 + 3 * t:12 + 3 * t] = 255
    return write_video(tmp_path / "clip.mp4", frames, fps=8)


def _counting(flow: np.ndarray):
    calls = []

    def compute() -> np.ndarray:
        calls.append(1)
        return flow

    return compute, calls


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "bit-flipped":
        flipped = bytearray(data)
        flipped[120] ^= 0x10  # inside the compressed flow array
        path.write_bytes(bytes(flipped))
    else:
        path.write_bytes(b"not an npz file " * 40)


@pytest.mark.parametrize("how", ["empty", "truncated", "bit-flipped", "garbage"])
def test_damaged_cache_entry_is_recomputed_not_raised(tmp_path, video, how):
    flow = np.random.default_rng(0).normal(0, 3, size=(2, 2, 8, 8)).astype(np.float32)
    compute, calls = _counting(flow)
    cache = FlowCache(tmp_path / "cache")
    first = cache.get_or_compute(video, [0, 1, 2], compute=compute)
    entry = cache.entry_path(video, [0, 1, 2])
    _damage(entry, how)
    again = cache.get_or_compute(video, [0, 1, 2], compute=compute)
    np.testing.assert_array_equal(again, first)
    assert len(calls) == 2 and cache.recomputed == 1
    np.testing.assert_array_equal(cache.get_or_compute(video, [0, 1, 2], compute=compute), first)  # rewritten
    assert len(calls) == 2 and cache.hits == 1


@pytest.mark.parametrize("bad", [np.zeros((2, 5, 8, 8), np.uint8), np.zeros((2, 2, 8, 8), np.float32),
                                 np.zeros((3, 2, 8, 8), np.uint8), np.zeros((2, 2, 8), np.uint8)],
                         ids=["frame-count", "dtype", "channels", "rank"])
def test_well_formed_entry_of_the_wrong_shape_or_dtype_is_recomputed(tmp_path, video, bad):
    compute, calls = _counting(np.ones((2, 2, 6, 6), np.float32))
    cache = FlowCache(tmp_path / "cache")
    cache.get_or_compute(video, [0, 1, 2], compute=compute)
    entry = cache.entry_path(video, [0, 1, 2])
    with np.load(entry) as data:
        key = str(data["key"])
    FlowCache._write(entry, key, bad)  # a sound file, with this key, holding the wrong array
    again = cache.get_or_compute(video, [0, 1, 2], compute=compute)
    assert again.shape == (2, 2, 6, 6) and len(calls) == 2 and cache.recomputed == 1


def test_entry_at_the_wrong_size_is_recomputed(tmp_path, video):
    cache = FlowCache(tmp_path / "cache")
    cache.get_or_compute(video, [0, 1], method="farneback", size=16)
    entry = cache.entry_path(video, [0, 1], method="farneback", size=16)
    with np.load(entry) as data:
        key = str(data["key"])
    FlowCache._write(entry, key, np.zeros((2, 1, 8, 8), np.uint8))
    assert cache.get_or_compute(video, [0, 1], method="farneback", size=16).shape == (2, 1, 16, 16)
    assert cache.recomputed == 1


def test_threads_writing_one_key_all_succeed(tmp_path, video):
    cache = FlowCache(tmp_path / "cache")
    flow = np.random.default_rng(1).normal(0, 3, size=(2, 1, 32, 32)).astype(np.float32)
    barrier = threading.Barrier(6)

    def compute():
        barrier.wait(timeout=30)  # every thread misses, then all write the same entry at once
        return flow

    results, errors = [], []

    def worker():
        try:
            results.append(cache.get_or_compute(video, [0, 1], compute=compute))
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 6
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cache.entry_path(video, [0, 1]).name]
    fresh = FlowCache(tmp_path / "cache")
    np.testing.assert_array_equal(fresh.get_or_compute(video, [0, 1], compute=compute), results[0])
    assert fresh.hits == 1


def test_clear_removes_only_what_the_cache_wrote(tmp_path, video):
    root = tmp_path / "cache"
    cache = FlowCache(root)
    compute, _ = _counting(np.zeros((2, 1, 4, 4), np.float32))
    cache.get_or_compute(video, [0, 1], compute=compute)
    entry = cache.entry_path(video, [0, 1])
    leftover = root / f".{entry.name}.123-456-abcdef12.tmp.npz"  # what a killed writer leaves
    leftover.write_bytes(b"partial")
    mine = [root / "features.npz", root / "clip-notahash.npz", root / "notes.txt"]
    for path in mine:
        np.savez(path, x=np.zeros(3)) if path.suffix == ".npz" else path.write_text("keep me")
    assert len(cache) == 1
    assert cache.clear() == 2 and len(cache) == 0
    assert sorted(p.name for p in root.iterdir()) == sorted(p.name for p in mine)


def test_compute_returning_the_wrong_shape_is_refused_and_not_cached(tmp_path, video):
    cache = FlowCache(tmp_path / "cache")
    with pytest.raises(ValueError, match=r"must return flow \(2, 2, H, W\), got shape \(2, 5, 8, 8\)"):
        cache.get_or_compute(video, [0, 1, 2], compute=lambda: np.zeros((2, 5, 8, 8), np.float32))
    assert len(cache) == 0
