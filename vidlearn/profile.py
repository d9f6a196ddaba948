"""What a model costs: parameters, FLOPs, latency and peak memory, and a table comparing models.

Every chapter quotes these numbers, and the summary chapter puts every model in one table:

>>> table = profile_models({"c3d": c3d, "r2plus1d": r2plus1d}, lambda m: m.example_input(batch_size=1))
>>> table          # an HTML table in a notebook; print(table) for aligned text
>>> table.rows     # [{"name": "c3d", "params": ..., "gflops": ..., "latency_ms": ..., "peak_mb": ...}, ...]

Conventions:

- **FLOPs** are counted by ``torch.utils.flop_counter.FlopCounterMode``, as torch does: a multiply-add is
  2 FLOPs, so a ``Conv3d`` costs ``2 * Cin/groups * Cout * kT*kH*kW * T'*H'*W'`` per clip, and only the ops
  torch has formulas for (matmuls, convolutions, attention) are counted; element-wise ops, norms and
  pooling are not. Papers that quote "FLOPs" as multiply-adds (C3D, R(2+1)D, SlowFast, TimeSformer's
  GFLOPs) report half our number.
- **Inputs** are a tensor, or a list/tuple of tensors passed as *one* argument: ``model(inputs)``, as
  SlowFast takes ``[slow, fast]``.
- **Latency** is the median wall-clock time of ``repeats`` passes after ``warmup`` passes.
- **Peak memory** is the most memory the pass allocates on top of what was allocated before it (the
  weights and inputs are not counted; activations, workspaces and outputs are). On CUDA it comes from
  ``torch.cuda.max_memory_allocated``; on the CPU from the torch profiler's allocation events
  (``profile_memory=True``), replayed in time order.

Forward passes run in eval mode under ``torch.no_grad()``; with ``backward=True`` a pass is a training
step (train mode, forward, ``backward`` of the summed outputs) and FLOPs include the backward. A model's
train/eval mode is restored afterwards; :func:`measure_latency`, :func:`peak_memory` and
:func:`profile_model` run the model on ``device`` and hand it back on the device it came on
(:func:`vidlearn.train.on_device`, the rule of every vidlearn helper that moves a model).
"""

from __future__ import annotations

import html
import itertools
import statistics
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Mapping, Sequence, Union

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from vidlearn.train.loop import on_device

Inputs = Union[torch.Tensor, Sequence[torch.Tensor]]


def _check(model: nn.Module, inputs: Inputs) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    tensors = [inputs] if isinstance(inputs, torch.Tensor) else inputs
    ok = isinstance(tensors, (list, tuple)) and tensors and all(isinstance(t, torch.Tensor) for t in tensors)
    if not ok:
        raise TypeError(
            "expected inputs as a tensor or a non-empty list/tuple of tensors (passed as one argument, "
            f"model(inputs)), got {_describe(inputs)}"
        )


def _describe(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of [{', '.join(type(v).__name__ for v in value)}]"
    return type(value).__name__


def _device(device: Union[str, torch.device]) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested, but torch.cuda.is_available() is False")
    return device


def _to(inputs: Inputs, device: torch.device) -> Inputs:
    if isinstance(inputs, torch.Tensor):
        return inputs.to(device)
    return type(inputs)(t.to(device) for t in inputs)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextmanager
def _mode(model: nn.Module, training: bool) -> Iterator[None]:
    """Put the model in train/eval mode for a measurement and restore each module's mode after."""
    modes = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield
    finally:
        for m, was_training in modes:
            m.training = was_training


def _step(model: nn.Module, inputs: Inputs, backward: bool) -> None:
    """One measured pass: forward under no_grad, or forward + backward of the summed outputs."""
    if not backward:
        with torch.no_grad():
            model(inputs)
        return
    out = model(inputs)
    outs = [out] if isinstance(out, torch.Tensor) else list(out.values() if isinstance(out, dict) else out)
    outs = [o for o in outs if isinstance(o, torch.Tensor) and o.requires_grad]
    if not outs:
        raise ValueError("backward=True needs a model output that requires grad; this model returned none")
    sum(o.float().sum() for o in outs).backward()


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared ones once); ``trainable_only`` counts those with ``requires_grad``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, inputs: Inputs, backward: bool = False) -> int:
    """FLOPs of one forward pass (``backward=True``: forward + backward), counted as torch counts them.

    A multiply-add is 2 FLOPs (see the module docstring); runs on the inputs' device, in eval mode
    under ``no_grad`` for a forward pass.
    """
    _check(model, inputs)
    with _mode(model, training=backward), FlopCounterMode(display=False) as counter:
        _step(model, inputs, backward)
    return int(counter.get_total_flops())


def measure_latency(
    model: nn.Module,
    inputs: Inputs,
    warmup: int = 1,
    repeats: int = 3,
    device: Union[str, torch.device] = "cpu",
    backward: bool = False,
) -> float:
    """Median seconds of one pass over ``repeats`` timed passes, after ``warmup`` untimed ones."""
    _check(model, inputs)
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    device = _device(device)
    inputs = _to(inputs, device)
    times = []
    with on_device(model, device), _mode(model, training=backward):  # the model handed back where it came
        for i in range(warmup + repeats):
            _sync(device)
            start = time.perf_counter()
            _step(model, inputs, backward)
            _sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory(
    model: nn.Module, inputs: Inputs, device: Union[str, torch.device] = "cpu", backward: bool = False
) -> int:
    """Peak bytes one pass allocates beyond what was allocated before it (see the module docstring)."""
    _check(model, inputs)
    device = _device(device)
    inputs = _to(inputs, device)
    with on_device(model, device), _mode(model, training=backward):  # the model handed back where it came
        if device.type == "cuda":
            _sync(device)
            before = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            _step(model, inputs, backward)
            _sync(device)
            return max(torch.cuda.max_memory_allocated(device) - before, 0)
        if device.type != "cpu":
            raise ValueError(f"peak_memory measures 'cpu' and 'cuda' devices, got {str(device)!r}")
        return _cpu_peak(model, inputs, backward)


def _cpu_peak(model: nn.Module, inputs: Inputs, backward: bool) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _step(model, inputs, backward)
    # every allocation and free the profiler saw, with its time; the running sum's maximum is the peak.
    # (the public FunctionEvent list sums memory per op, which hides frees inside an op.)
    try:
        from torch._C._profiler import _EventType

        roots = prof.profiler.kineto_results.experimental_event_tree()
    except (AttributeError, ImportError) as err:
        raise RuntimeError(
            f"this torch ({torch.__version__}) does not expose the profiler's allocation events; "
            "measure peak memory on CUDA instead"
        ) from err
    events, stack = [], list(roots)
    while stack:
        node = stack.pop()
        if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
            events.append((node.start_time_ns, node.extra_fields.alloc_size))
        stack.extend(node.children)
    events.sort()
    return max(itertools.accumulate(size for _, size in events), default=0)


def profile_model(
    model: nn.Module,
    inputs: Inputs,
    device: Union[str, torch.device] = "cpu",
    backward: bool = False,
    warmup: int = 1,
    repeats: int = 3,
) -> Dict[str, Any]:
    """Parameters, FLOPs, latency and peak memory of one model on ``inputs``.

    Returns:
        ``{"params", "flops", "latency_s", "peak_memory_bytes", "device", "backward"}``; FLOPs are
        counted on ``device`` too (the counter does not depend on it).
    """
    _check(model, inputs)
    device = _device(device)
    inputs = _to(inputs, device)
    with on_device(model, device):  # the model handed back where it came
        return {
            "params": count_parameters(model),
            "flops": count_flops(model, inputs, backward=backward),
            "latency_s": measure_latency(model, inputs, warmup, repeats, device, backward=backward),
            "peak_memory_bytes": peak_memory(model, inputs, device, backward=backward),
            "device": str(device),
            "backward": backward,
        }


class ProfileTable:
    """Rows of :func:`profile_models`: ``rows`` (dicts), ``str()`` for text, ``_repr_html_`` for notebooks.

    Each row: ``name``, ``params`` (int), ``gflops``, ``latency_ms``, ``peak_mb`` (floats).
    """

    COLUMNS = (  # (key, header, format)
        ("name", "model", "{}"),
        ("params", "params (M)", "{:.2f}"),
        ("gflops", "GFLOPs", "{:.3f}"),
        ("latency_ms", "latency (ms)", "{:.1f}"),
        ("peak_mb", "peak memory (MB)", "{:.1f}"),
    )

    def __init__(self, rows: List[Dict[str, Any]], device: str = "cpu", backward: bool = False):
        self.rows = rows
        self.device = device
        self.backward = backward

    def __len__(self) -> int:
        return len(self.rows)

    def _cells(self) -> List[List[str]]:
        return [
            [fmt.format(row[key] / 1e6 if key == "params" else row[key]) for key, _, fmt in self.COLUMNS]
            for row in self.rows
        ]

    def _caption(self) -> str:
        step = "forward + backward" if self.backward else "forward"
        return f"{step} pass on {self.device}; FLOPs as torch counts them (a multiply-add = 2)"

    def __str__(self) -> str:
        headers = [header for _, header, _ in self.COLUMNS]
        cells = self._cells()
        widths = [max(len(r[i]) for r in [headers, *cells]) for i in range(len(headers))]
        # the name column is left-aligned, numbers right-aligned
        line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(r, widths)))
        rule = "  ".join("-" * w for w in widths)
        return "\n".join([line(headers), rule, *map(line, cells), f"({self._caption()})"])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(header)}</th>" for _, header, _ in self.COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>" for cells in self._cells()
        )
        return (
            f"<table><caption>{html.escape(self._caption())}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


def profile_models(
    models: Mapping[str, nn.Module],
    inputs: Union[Inputs, Callable[[nn.Module], Inputs]],
    device: Union[str, torch.device] = "cpu",
    backward: bool = False,
    warmup: int = 1,
    repeats: int = 3,
) -> ProfileTable:
    """Profile several models into one :class:`ProfileTable`.

    Args:
        models: ``{name: model}``, in the order the table lists them.
        inputs: the same inputs for every model, or a function ``model -> inputs``, e.g.
            ``lambda m: m.example_input(batch_size=1)``.
    """
    if not isinstance(models, Mapping) or not models:
        raise ValueError(f"expected a non-empty dict of {{name: model}}, got {_describe(models)}")
    shared = isinstance(inputs, (torch.Tensor, list, tuple))
    if not shared and not callable(inputs):
        raise TypeError(
            f"expected inputs as tensor(s) or a function model -> inputs, got {_describe(inputs)}"
        )
    rows = []
    for name, model in models.items():
        result = profile_model(model, inputs if shared else inputs(model), device, backward, warmup, repeats)
        rows.append({
            "name": str(name),
            "params": result["params"],
            "gflops": result["flops"] / 1e9,
            "latency_ms": result["latency_s"] * 1e3,
            "peak_mb": result["peak_memory_bytes"] / 1e6,
        })
    return ProfileTable(rows, device=str(_device(device)), backward=backward)
