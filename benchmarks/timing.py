"""Timing helpers for the benchmarks: ratios measured side by side, never absolute times.

The machines that run ``make bench`` are shared and noisy, so every comparison times its contenders
*interleaved* (A, B, A, B, ...) in one process and reports the median of each; the ratio of the medians
is what a line prints. Absolute times are shown for orientation only.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Dict, Tuple


def measure(fns: Dict[str, Callable[[], object]], repeats: int = 5,
            warmup: int = 1) -> Dict[str, Tuple[float, float]]:
    """Median (wall seconds, CPU seconds of the whole process) per call of each function.

    The functions are called in turn, ``repeats`` times, in alternating order. CPU time counts every
    thread of the process and not the time spent waiting for a core, so on a loaded machine it shows the
    work done where wall time also shows the queueing.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: Dict[str, list] = {name: [] for name in fns}
    for r in range(repeats):
        order = list(fns.items())
        if r % 2:  # alternate the order too, so neither side always runs on a warm cache
            order.reverse()
        for name, fn in order:
            w, c = time.perf_counter(), time.process_time()
            fn()
            times[name].append((time.perf_counter() - w, time.process_time() - c))
    return {name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
            for name, ts in times.items()}


def interleaved(fns: Dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1) -> Dict[str, float]:
    """Median wall seconds per call of each function (see :func:`measure`)."""
    return {name: wall for name, (wall, _) in measure(fns, repeats, warmup).items()}


def verdict(ratio: float, target: float, higher_is_better: bool = False) -> str:
    """``"ok"`` or ``"MISSED"`` against a target ratio."""
    ok = ratio >= target if higher_is_better else ratio <= target
    return "ok" if ok else "MISSED"


def top_ops(fn: Callable[[], object], k: int = 4) -> str:
    """One run of ``fn`` under torch.profiler: the ``k`` operators with the most self CPU time, as shares."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return ", ".join(f"{e.key} {100 * e.self_cpu_time_total / total:.0f}%" for e in events[:k])


def operator_diff(fn_a: Callable[[], object], fn_b: Callable[[], object]) -> str:
    """The torch operators two functions call a different number of times (one profiled run each)."""
    from torch.profiler import ProfilerActivity, profile

    counts = []
    for fn in (fn_a, fn_b):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        counts.append({e.key: e.count for e in prof.key_averages() if e.key.startswith("aten::")})
    diff = [f"{k} {counts[0].get(k, 0)} vs {counts[1].get(k, 0)}" for k in sorted(set(counts[0]) | set(counts[1]))
            if counts[0].get(k, 0) != counts[1].get(k, 0)]
    return ", ".join(diff) or "none"
