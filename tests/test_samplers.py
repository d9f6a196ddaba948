"""Samplers: property tests (hypothesis) for range, order, length, the short-video policy, train randomness
versus test determinism and SlowFast's pathways; bad arguments."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidlearn.data.samplers import DenseSampler, MultiViewSampler, SegmentSampler, SlowFastSampler, UniformSampler

videos = st.integers(min_value=1, max_value=400)  # video lengths, including much shorter than any clip
counts = st.integers(min_value=1, max_value=40)
strides = st.integers(min_value=1, max_value=8)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
FAST = settings(max_examples=60, deadline=None)


def _valid(idx: np.ndarray, n: int) -> None:
    assert idx.dtype == np.int64
    assert idx.min() >= 0 and idx.max() <= n - 1


def _sorted(idx: np.ndarray) -> bool:
    return bool(np.all(np.diff(idx) >= 0))


@FAST
@given(n=videos, t=counts)
def test_uniform_sampler_spreads_sorted_indices_over_the_whole_video(n, t):
    idx = UniformSampler(t)(n)
    _valid(idx, n)
    assert idx.shape == (t,) and _sorted(idx)
    if n >= t:
        assert len(set(idx.tolist())) == t  # no repeats when the video is long enough
        assert idx[0] < n / t and idx[-1] >= n - n / t  # first and last bins are both used
    assert np.array_equal(idx, UniformSampler(t)(n, rng=123))  # deterministic


@FAST
@given(n=videos, t=counts, stride=strides, seed=seeds)
def test_dense_sampler_gives_a_strided_window_inside_the_video(n, t, stride, seed):
    for train in (True, False):
        idx = DenseSampler(t, stride=stride, train=train)(n, rng=seed)
        _valid(idx, n)
        assert idx.shape == (t,) and _sorted(idx)
        span = (t - 1) * stride + 1
        if n >= span:
            assert np.all(np.diff(idx) == stride)
        else:  # the short-video policy: start at 0, clamp past the end to the last frame
            expected = np.minimum(np.arange(t) * stride, n - 1)
            assert np.array_equal(idx, expected)


@FAST
@given(n=st.integers(min_value=1, max_value=60), t=counts, stride=strides)
def test_short_video_indices_past_the_end_are_clamped_to_the_last_frame(n, t, stride):
    for sampler in (DenseSampler(t, stride, train=True), DenseSampler(t, stride, train=False),
                    SegmentSampler(t, 2), UniformSampler(t), MultiViewSampler(3, t, stride),
                    SlowFastSampler(t, tau=4, alpha=2)):
        out = sampler(n, rng=0)
        for idx in (out if isinstance(out, tuple) else (out,)):
            _valid(np.asarray(idx), n)  # never past the end, never an IndexError
    short = DenseSampler(10, stride=3, train=False)(5)
    assert short.tolist() == [0, 3, 4, 4, 4, 4, 4, 4, 4, 4]


@FAST
@given(n=videos, k=st.integers(min_value=1, max_value=12), f=st.integers(min_value=1, max_value=5), seed=seeds)
def test_segment_sampler_takes_one_snippet_from_each_segment(n, k, f, seed):
    for train in (True, False):
        idx = SegmentSampler(k, frames_per_segment=f, train=train)(n, rng=seed)
        _valid(idx, n)
        assert idx.shape == (k * f,)
        snippets = idx.reshape(k, f)
        assert np.all(np.diff(snippets[:, 0]) >= 0)  # segment starts in order
        bounds = (np.arange(k + 1) * n) // k
        if n >= k * f:  # every segment holds a whole snippet: sorted, and each inside its own segment
            assert _sorted(idx)
            assert np.all(np.diff(snippets, axis=1) == 1)
            assert np.all(snippets[:, 0] >= bounds[:-1]) and np.all(snippets[:, -1] < bounds[1:])


def _flat(out) -> tuple:
    return tuple(np.concatenate([np.ravel(a) for a in out]) if isinstance(out, tuple) else np.ravel(out))


@FAST
@given(n=st.integers(min_value=64, max_value=400), seed=seeds)
def test_training_samplers_are_random_and_test_samplers_deterministic(n, seed):
    for make in (lambda train: DenseSampler(8, 2, train=train), lambda train: SegmentSampler(8, train=train),
                 lambda train: SlowFastSampler(4, tau=8, alpha=4, train=train)):
        test = make(False)
        assert _flat(test(n, rng=seed)) == _flat(test(n, rng=seed + 1)) == _flat(test(n))
        train = make(True)
        assert _flat(train(n, rng=seed)) == _flat(train(n, rng=seed))  # the same seed repeats
        draws = {_flat(train(n, rng=s)) for s in range(seed, seed + 12)}
        assert len(draws) > 1  # different draws differ


def test_training_sampler_without_rng_uses_fresh_entropy():
    draws = {tuple(DenseSampler(4, train=True)(1000)) for _ in range(10)}
    assert len(draws) > 1


@FAST
@given(n=videos, t=st.integers(min_value=1, max_value=8), alpha=st.integers(min_value=1, max_value=8),
       extra=st.integers(min_value=0, max_value=8), seed=seeds)
def test_slowfast_fast_pathway_is_alpha_times_denser_over_the_same_span(n, t, alpha, extra, seed):
    tau = alpha + extra
    for train in (True, False):
        slow, fast = SlowFastSampler(t, tau=tau, alpha=alpha, train=train)(n, rng=seed)
        _valid(slow, n)
        _valid(fast, n)
        assert slow.shape == (t,) and fast.shape == (alpha * t,)
        assert _sorted(slow) and _sorted(fast)
        assert np.array_equal(slow, fast[::alpha])  # Slow's frames are every alpha-th Fast frame
        if n >= t * tau:  # same span: both start together, Fast ends within one Slow step of Slow's last
            assert np.all(np.diff(slow) == tau)
            assert fast[0] == slow[0] and slow[-1] <= fast[-1] < slow[-1] + tau


@FAST
@given(n=videos, v=st.integers(min_value=1, max_value=10), t=counts, stride=strides)
def test_multiview_sampler_gives_evenly_spaced_sorted_clips(n, v, t, stride):
    idx = MultiViewSampler(v, t, stride)(n)
    _valid(idx, n)
    assert idx.shape == (v, t)
    assert all(_sorted(row) for row in idx) and _sorted(idx[:, 0])
    span = (t - 1) * stride + 1
    if n >= span:
        assert np.all(np.diff(idx, axis=1) == stride)
        if v > 1:
            assert idx[0, 0] == 0 and idx[-1, -1] == n - 1  # from the start to the end of the video
            gaps = np.diff(idx[:, 0])
            assert gaps.max() - gaps.min() <= 1  # evenly spaced
    assert np.array_equal(idx, MultiViewSampler(v, t, stride)(n, rng=5))


@pytest.mark.parametrize("make, message", [
    (lambda: UniformSampler(0), "num_frames must be >= 1"),
    (lambda: DenseSampler(8, stride=-1), "stride must be >= 1"),
    (lambda: DenseSampler(8, stride=0), "stride must be >= 1"),
    (lambda: DenseSampler(2.5), "num_frames must be a positive int"),
    (lambda: SegmentSampler(0), "num_segments must be >= 1"),
    (lambda: SegmentSampler(3, frames_per_segment=0), "frames_per_segment must be >= 1"),
    (lambda: SlowFastSampler(4, tau=2, alpha=8), "alpha=8 > tau=2"),
    (lambda: MultiViewSampler(0, 8), "num_clips must be >= 1"),
])
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError) as err:
        make()
    assert message in str(err.value)


@pytest.mark.parametrize("n", [0, -3])
def test_empty_video_raises_value_error(n):
    with pytest.raises(ValueError, match=f"video of {n} frames"):
        DenseSampler(4)(n)
