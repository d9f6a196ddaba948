"""A pretend GPU on a CPU-only machine: finds the code that would mix devices on a real one.

Where readers run the book (a Colab GPU runtime), ``device="auto"`` means CUDA, and a cell that hands a
CPU tensor to a model left on the GPU fails with "Expected all tensors to be on the same device". No GPU is
here, so this module makes one up, in Python, on top of the CPU:

* Each tensor carries a mark, "on the GPU" or not (an attribute on the tensor object). The arithmetic runs
  on the CPU as before; only the marks are pretend.
* A :class:`~torch.overrides.TorchFunctionMode` sees every torch call (functions, tensor methods, the
  ``.device`` / ``.grad`` / ``.data`` properties) and keeps the marks the way CUDA keeps devices:
  ``x.to("cuda")``, ``x.cuda()``, ``module.to("cuda")`` and factories with ``device="cuda"`` give marked
  tensors (copies, as a real move would); ``.cpu()`` / ``.to("cpu")`` unmarked copies; an operation on
  marked inputs gives marked outputs; a marked tensor reports ``device(type='cuda', index=0)`` and
  ``is_cuda``; gradients of marked parameters are marked.
* The checks CUDA makes: an operation whose tensors are marked and unmarked (an unmarked 0-dim tensor
  aside, which CUDA also accepts) raises torch's own "Expected all tensors to be on the same device"
  error, and ``.numpy()`` / ``np.asarray`` of a marked tensor raises torch's "can't convert cuda:0
  device type tensor to numpy". Copies between devices (``.to``, ``copy_``, ``.data =``) and indexing
  are allowed, as on CUDA.
* vidlearn's ``resolve_device("auto")`` (used by ``fit``, ``evaluate``, ``predict``, ``evaluate_views``)
  answers ``cuda:0``, and the ``torch.cuda`` calls those make on a GPU (``is_bf16_supported``: False,
  as on Colab's T4; the memory statistics: 0; ``torch.backends.cudnn.is_acceptable``: False, as there are
  no cuDNN kernels to run) answer as a GPU without memory statistics or cuDNN would.
  ``torch.cuda.is_available()`` itself stays False: code that times or measures memory on a GPU
  (``vidlearn.profile`` with ``device="cuda"``) cannot be pretended and takes its CPU branch.

What it cannot see: computation in C++ that never returns to Python (inside one operator) is not checked,
which is fine, because an operator sees only its own inputs; and a tensor made by C++ from nothing
(autograd's gradient buffers) starts unmarked until Python reads it through ``.grad``.

Use: ``install()`` in a process (the Colab reproduction does it in every chapter's kernel, through an
IPython startup file), or ``with pretend_gpu(): ...`` in a test.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch.overrides import TorchFunctionMode

MARK = "_pretend_gpu"
GPU = torch.device("cuda", 0)
_SAME_DEVICE = ("Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu! "
                "(pretend GPU: {func})")
_NUMPY = ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory "
          "first. (pretend GPU)")

# calls that may take tensors of both devices, as on CUDA (copies, indexing with CPU indices, printing)
_CROSS_OK = {"to", "copy_", "__getitem__", "__setitem__", "cpu", "cuda", "set_", "__repr__", "__format__",
             "tolist", "item", "__bool__", "__len__", "__iter__", "__reduce_ex__", "__deepcopy__", "__array__",
             "numpy", "untyped_storage", "data_ptr", "_has_compatible_shallow_copy_type", "_has_same_storage_numel",
             "is_set_to", "_is_zerotensor"}


def on_gpu(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and getattr(t, MARK, False)


def _mark(out: Any, value: bool) -> Any:
    if isinstance(out, torch.Tensor):
        try:
            setattr(out, MARK, value)
        except (AttributeError, RuntimeError):  # a tensor type without a __dict__
            pass
    elif isinstance(out, (list, tuple)):
        for o in out:
            _mark(o, value)
    return out


def _is_gpu(device: Any) -> bool:
    if device is None or isinstance(device, torch.Tensor):
        return False
    try:
        return torch.device(device).type == "cuda"
    except (RuntimeError, TypeError):
        return isinstance(device, int)  # .cuda(0), .to(0)


def _tensors(args: Any, kwargs: dict) -> Iterator[torch.Tensor]:
    for a in (*args, *kwargs.values()):
        if isinstance(a, torch.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, torch.Tensor):
                    yield b


def _descriptor(func: Any) -> tuple[str, str]:
    """("device", "__get__") for the getter of Tensor.device, ("", "") for anything that is not a property."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "")
    if name in ("__get__", "__set__") and type(owner).__name__ == "getset_descriptor":
        return owner.__name__, name
    return "", ""


class PretendGPU(TorchFunctionMode):
    """The mode that keeps the marks and makes CUDA's checks (see the module docstring)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        prop, access = _descriptor(func)
        if prop:
            self_ = args[0]
            if access == "__get__":
                if prop == "device" and on_gpu(self_):
                    return GPU
                if prop == "is_cuda" and on_gpu(self_):
                    return True
                out = func(*args, **kwargs)
                if prop in ("grad", "data", "T", "mT", "H", "mH", "real", "imag") and on_gpu(self_):
                    _mark(out, True)
                return out
            out = func(*args, **kwargs)  # a setter: param.data = t moves param where t is
            if prop == "data":
                _mark(self_, on_gpu(args[1]))
            return out
        name = getattr(func, "__name__", "")
        if name == "to" and args and isinstance(args[0], torch.Tensor):
            return self._to(func, args, kwargs)
        if name == "cuda" and args and isinstance(args[0], torch.Tensor):
            return _mark(args[0].to("cpu", copy=True) if not on_gpu(args[0]) else args[0], True)
        if name == "cpu" and args and isinstance(args[0], torch.Tensor):
            return _mark(args[0].clone(), False) if on_gpu(args[0]) else args[0]
        if name in ("numpy", "__array__") and args and on_gpu(args[0]):
            raise TypeError(_NUMPY)
        if "device" in kwargs and _is_gpu(kwargs["device"]):  # factories: torch.zeros(..., device="cuda")
            out = func(*args, **dict(kwargs, device="cpu"))
            return _mark(out, True)
        if name in _CROSS_OK:  # the result is where the tensor it is called on is (x[i], x.copy_(y))
            out = func(*args, **kwargs)
            if name == "__getitem__" and on_gpu(args[0]):
                _mark(out, True)
            return out
        tensors = list(_tensors(args, kwargs))
        gpu = [t for t in tensors if on_gpu(t)]
        if gpu and any(not on_gpu(t) and t.dim() > 0 for t in tensors):
            raise RuntimeError(_SAME_DEVICE.format(func=getattr(func, "__qualname__", name)))
        out = func(*args, **kwargs)
        if gpu:
            _mark(out, True)
        return out

    @staticmethod
    def _to(func, args, kwargs):
        self_ = args[0]
        rest = args[1:]
        if rest and isinstance(rest[0], torch.Tensor):  # x.to(other): other's device and dtype
            target, dtype = on_gpu(rest[0]), rest[0].dtype
            device = None
        else:
            device, dtype, _, _ = torch._C._nn._parse_to(*rest, **kwargs)
            target = on_gpu(self_) if device is None else device.type == "cuda"
        if device is not None and device.type not in ("cuda", "cpu"):  # meta and others: as torch does
            return func(*args, **kwargs)
        if device is None and self_.device.type == "meta":  # a meta tensor's dtype or layout: it stays on meta
            return func(*args, **kwargs)
        out = func(self_, "cpu", dtype if dtype is not None else self_.dtype,
                   non_blocking=kwargs.get("non_blocking", False), copy=kwargs.get("copy", False),
                   **({"memory_format": kwargs["memory_format"]} if "memory_format" in kwargs else {}))
        if target != on_gpu(self_) and out is self_:
            out = self_.clone()  # a move is a copy: the original stays where it was
        return _mark(out, target)


_installed: list[Any] = []


def _patches() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement): what a GPU runtime answers differently, for vidlearn and torch.cuda."""
    import vidlearn.train.errors
    import vidlearn.train.loop
    import vidlearn.train.views

    original = vidlearn.train.loop.resolve_device

    def resolve_device(device="auto"):
        if isinstance(device, str) and device == "auto" or _is_gpu(device):
            return GPU
        return original(device)

    patches = [(m, "resolve_device", resolve_device)
               for m in (vidlearn.train.loop, vidlearn.train.errors, vidlearn.train.views, vidlearn.train)]
    patches += [(torch.cuda, "is_bf16_supported", lambda *a, **k: False),  # Colab's T4
                (torch.cuda, "reset_peak_memory_stats", lambda *a, **k: None),
                (torch.cuda, "max_memory_allocated", lambda *a, **k: 0),
                (torch.cuda, "memory_allocated", lambda *a, **k: 0),
                (torch.cuda, "synchronize", lambda *a, **k: None),
                (torch.backends.cudnn, "is_acceptable", lambda *a, **k: False)]  # no cuDNN kernels (LSTM)
    return patches


def install() -> None:
    """Pretend a GPU in this process from now on."""
    if _installed:
        return
    saved = []
    for owner, attr, new in _patches():
        saved.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, new)
    mode = PretendGPU()
    mode.__enter__()
    _installed.extend([mode, saved])


def uninstall() -> None:
    if not _installed:
        return
    mode, saved = _installed
    mode.__exit__(None, None, None)
    for owner, attr, old in reversed(saved):
        setattr(owner, attr, old)
    _installed.clear()


@contextlib.contextmanager
def pretend_gpu() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()
