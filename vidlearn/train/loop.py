"""``fit`` and ``evaluate``: the book's one training loop, small enough to read in one sitting.

``fit(model, train_data, val_data, epochs=..., batch_size=..., lr=...)`` trains with AdamW (or SGD) and a
cosine learning-rate schedule, on CUDA with mixed precision when it is there (bf16 where supported, else
fp16 with a gradient scaler) and on the CPU otherwise, and returns a :class:`History`. Batches are
``(inputs, labels)`` where ``inputs`` is a tensor ``(B, C, T, H, W)`` or a list/tuple of tensors (SlowFast's
``[slow, fast]``, Two-Stream's ``(rgb, flow)``) handed to the model as one argument: ``model(inputs)``.

Several processes: run the same script under ``torchrun --nproc_per_node=N script.py`` and ``fit`` trains
with DistributedDataParallel (NCCL on GPUs, Gloo on the CPU): each process sees a different 1/N of every
epoch (a ``DistributedSampler``), gradients are averaged across processes after each backward, and every
process ends with the same weights and the same losses and accuracies in its :class:`History` (times are
each process's own); only rank 0 prints.
"""

from __future__ import annotations

import atexit
import os
import random
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    DistributedSampler,
    RandomSampler,
    SequentialSampler,
)

from vidlearn.train.history import History

Data = Union[Dataset, DataLoader]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); returns a torch Generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(device: Union[str, torch.device] = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU. Anything else is passed to ``torch.device``."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available; use device='auto' or 'cpu'")
    return dev


def _amp_dtype(device: torch.device, amp: Union[bool, str]) -> Optional[torch.dtype]:
    """The autocast dtype: None (fp32) on CPU or when amp is off; bf16 where the GPU supports it, else fp16."""
    if device.type != "cuda" or amp is False:
        return None
    if amp not in (True, "auto"):
        raise ValueError(f"amp must be True, False or 'auto', got {amp!r}")
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def to_device(x: Any, device: torch.device) -> Any:
    """Move a tensor, or a list/tuple/dict of tensors, to ``device`` (non-blocking when pinned)."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(v, device) for v in x)
    if isinstance(x, dict):
        return {k: to_device(v, device) for k, v in x.items()}
    return x


class IndexedBatchSampler(BatchSampler):
    """A ``BatchSampler`` that remembers the dataset indices of every batch of the pass under way
    (``batches[i]`` for the i-th batch), so an error can name the dataset item it came from."""

    def __iter__(self):
        self.batches: List[List[int]] = []
        for batch in super().__iter__():
            self.batches.append(batch)
            yield batch


def make_loader(data: Data, batch_size: int, shuffle: bool, seed: int = 0, num_workers: int = 0,
                pin_memory: bool = False, distributed: bool = False) -> DataLoader:
    """A DataLoader over ``data`` (returned unchanged if it already is one), shuffled repeatably by ``seed``.

    ``distributed``: this process's share of ``data`` through a ``DistributedSampler`` (call its
    ``set_epoch`` every epoch for a new shuffle); ``batch_size`` is then per process. Its batches come
    from an :class:`IndexedBatchSampler` (``loader.batch_sampler.batches``: the dataset indices).
    """
    if isinstance(data, DataLoader):
        return data
    if not hasattr(data, "__getitem__") or not hasattr(data, "__len__"):
        raise TypeError(f"expected a torch Dataset or DataLoader, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("the dataset is empty: there is nothing to train or evaluate on")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    gen = torch.Generator().manual_seed(seed) if shuffle and not distributed else None
    if distributed:
        sampler = DistributedSampler(data, shuffle=shuffle, seed=seed)
    else:  # the samplers DataLoader(shuffle=...) would make, so the order is the same
        sampler = RandomSampler(data, generator=gen) if shuffle else SequentialSampler(data)
    return DataLoader(data, batch_sampler=IndexedBatchSampler(sampler, batch_size, drop_last=False),
                      generator=gen, num_workers=num_workers, pin_memory=pin_memory,
                      persistent_workers=num_workers > 0)


def _sampler_of(loader: DataLoader) -> Any:
    batches = getattr(loader, "batch_sampler", None)
    return getattr(batches, "sampler", None) or getattr(loader, "sampler", None)


def check_labels(labels: Any, num_classes: int, indices: Optional[List[int]] = None, where: str = "fit",
                 step: Optional[int] = None) -> None:
    """Check a batch of class labels on the host before the loss sees it (one min and max per batch).

    Labels must be an integer tensor ``(B,)`` of values in ``0 .. num_classes - 1`` (float ``(B, num_classes)`` class
    probabilities are let through). The error names the label, the class count and the dataset index
    (``indices``, the batch's dataset indices) or, when that is unknown, the position in the batch.
    On CUDA a bad label would otherwise be a device-side assert that names nothing.
    """
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{where}: labels must be a tensor of class indices, got {type(labels).__name__}")
    if labels.is_floating_point() and labels.dim() == 2 and labels.shape[1] == num_classes:
        return  # class probabilities (soft targets) for cross-entropy
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{where}: labels must be integer class indices (torch.int64), got dtype {labels.dtype}; "
                        "return int labels from the dataset (e.g. int(label))")
    if labels.dim() != 1:
        raise ValueError(f"{where}: labels must have shape (B,), got {tuple(labels.shape)}")
    if len(labels) == 0:
        return
    lo, hi = int(labels.min()), int(labels.max())
    if lo >= 0 and hi < num_classes:
        return
    pos = int(torch.nonzero((labels < 0) | (labels >= num_classes))[0, 0])
    bad = int(labels[pos])
    at = (f"dataset index {indices[pos]}" if indices is not None and pos < len(indices)
          else f"position {pos} of the batch" + (f" at step {step}" if step is not None else ""))
    raise ValueError(f"{where}: label {bad} ({at}) is out of range for a model with {num_classes} classes; "
                     f"labels must be 0 .. {num_classes - 1}: is num_classes too small, or are labels 1-based?")


def _batch_indices(loader: DataLoader, i: int) -> Optional[List[int]]:
    batches = getattr(getattr(loader, "batch_sampler", None), "batches", None)
    return batches[i] if batches is not None and i < len(batches) else None


def init_distributed(device: Union[str, torch.device] = "auto") -> bool:
    """Join the process group when this process is one of several; ``True`` if it is.

    Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the group is created here with NCCL on
    GPUs and Gloo on the CPU, unless the script already called ``torch.distributed.init_process_group``.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    use_cuda = torch.cuda.is_available() and str(device) != "cpu"
    dist.init_process_group("nccl" if use_cuda else "gloo")
    atexit.register(dist.destroy_process_group)
    return True


def _all_reduce_sum(*values: float) -> List[float]:
    """Sum numbers over all processes (one collective call), so every rank reports the whole epoch."""
    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return t.tolist()


def _uses_conv3d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv3d) for m in model.modules())


def _conv3d_channels_last(model: nn.Module) -> nn.Module:
    """The 3D convolutions' weights in channels-last-3d (the rest of the model is left as it is)."""
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            m.to(memory_format=torch.channels_last_3d)
    return model


def model_device(model: nn.Module) -> Optional[torch.device]:
    """Where ``model`` keeps its tensors: the device of its first parameter (else buffer); None without any."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return None


@contextmanager
def on_device(model: nn.Module, device: Union[str, torch.device]) -> Iterator[nn.Module]:
    """``model`` on ``device`` inside the ``with`` block, and back on the device it came on afterwards.

    The book's one device rule: every vidlearn helper that moves a model (``fit``, ``evaluate``,
    ``predict``, ``evaluate_views``, ``vidlearn.profile``) hands it back where it found it, also when the
    helper raises, as PyTorch Lightning's teardown does. A model built on the CPU is on the CPU after
    ``fit`` on a GPU, so the next cell can call it on the CPU tensors it makes; to keep it on the GPU,
    move it there first (``model.cuda()``) and it stays. (``fit`` also hands back the weights' memory
    layout: the channels-last-3d it trains with on CUDA is undone at the end.)
    """
    home = model_device(model)
    model.to(device)
    try:
        yield model
    finally:
        if home is not None:
            model.to(home)


def _to_channels_last(x: Any) -> Any:
    """5-D tensors (also inside lists/tuples) in the channels-last-3d memory format."""
    if isinstance(x, torch.Tensor):
        return x.contiguous(memory_format=torch.channels_last_3d) if x.dim() == 5 else x
    if isinstance(x, (list, tuple)):
        return type(x)(_to_channels_last(v) for v in x)
    return x


def _progress_enabled(progress: Optional[bool]) -> bool:
    if progress is not None:
        return progress
    # The book build and nbval execute notebooks without a widget frontend; bars would only leave noise.
    # VIDLEARN_PROGRESS=0 turns them off anywhere.
    return not os.environ.get("VIDLEARN_BOOK_BUILD") and os.environ.get("VIDLEARN_PROGRESS", "1") != "0"


def _batch_size_of(inputs: Any) -> int:
    return len(inputs[0]) if isinstance(inputs, (list, tuple)) else len(inputs)


@torch.no_grad()
def evaluate(model: nn.Module, data: Data, *, batch_size: int = 32, device: Union[str, torch.device] = "auto",
             amp: Union[bool, str] = "auto", loss_fn: Optional[Callable] = None) -> Dict[str, float]:
    """Mean loss and accuracy of ``model`` on ``data`` (a Dataset or DataLoader) in eval mode.

    Returns ``{"loss": ..., "acc": ..., "n": number of clips}``. With the default loss, labels are
    checked as in :func:`fit` (:func:`check_labels`). The model runs on ``device`` and is handed back on the
    device it came on (:func:`on_device`).
    """
    dev = resolve_device(device)
    default_loss = loss_fn is None
    loss_fn = loss_fn or F.cross_entropy
    amp_dtype = _amp_dtype(dev, amp)
    loader = make_loader(data, batch_size, shuffle=False)
    with on_device(model, dev):
        model.eval()
        total_loss, correct, n = 0.0, 0, 0
        for i, (inputs, labels) in enumerate(loader):
            host_labels = labels
            inputs, labels = to_device(inputs, dev), labels.to(dev)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(inputs)
            if default_loss:
                check_labels(host_labels, logits.shape[-1], _batch_indices(loader, i), where="evaluate")
            total_loss += float(loss_fn(logits.float(), labels)) * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            n += len(labels)
    return {"loss": total_loss / n, "acc": correct / n, "n": n}


def fit(
    model: nn.Module,
    train_data: Data,
    val_data: Optional[Data] = None,
    *,
    epochs: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 0.05,
    optimizer: str = "adamw",
    schedule: Optional[str] = "cosine",
    device: Union[str, torch.device] = "auto",
    amp: Union[bool, str] = "auto",
    seed: int = 0,
    num_workers: int = 0,
    loss_fn: Optional[Callable] = None,
    grad_clip: Optional[float] = None,
    progress: Optional[bool] = None,
    verbose: bool = True,
    name: str = "",
    channels_last: Union[bool, str] = "auto",
    compile: Union[bool, str] = False,
) -> History:
    """Train ``model`` on ``train_data`` for ``epochs`` epochs; evaluate on ``val_data`` after each epoch.

    Args:
        model: any vidlearn (or torch) model taking ``inputs`` and returning logits ``(B, num_classes)``.
        train_data, val_data: a Dataset of ``(inputs, label)`` or a DataLoader.
        optimizer: ``"adamw"`` or ``"sgd"`` (momentum 0.9, as the 2014-2019 papers used).
        schedule: ``"cosine"`` (per step, to zero) or ``None`` (constant).
        device: ``"auto"`` (CUDA if present, else CPU), ``"cpu"``, ``"cuda"``...
        amp: mixed precision on CUDA (``"auto"``/``True``: bf16 where supported, else fp16 + GradScaler).
        seed: seeds weights-independent randomness (shuffling, dropout, augmentation); CPU runs repeat exactly.
        progress: tqdm bars over epochs and batches (default: on, except while the book is being built).
        verbose: print one line per epoch.
        channels_last: store 3D-conv models and clips channels-last-3d (``"auto"``: on CUDA with mixed
            precision, where cuDNN's 3D convolutions run faster in that layout; ``True``: always).
        compile: train ``torch.compile(model)`` (the first steps are slow while it compiles; a string
            names the ``torch.compile`` backend, e.g. ``"eager"`` to only check that the model traces).

    Under ``torchrun`` (or after ``torch.distributed.init_process_group``) the model is wrapped in
    DistributedDataParallel and each process trains on its share of ``train_data`` with ``batch_size``
    clips per step (the global batch is ``batch_size x world size``); losses and accuracies are summed
    over processes, every process evaluates on all of ``val_data``, and only rank 0 prints. Pass a
    Dataset there, not a DataLoader (a DataLoader is used as it is: give it a ``DistributedSampler``).
    With a dataset size that is not a multiple of the world size, the sampler repeats a few clips.

    A last training batch of a single clip is skipped when the model has BatchNorm layers (as
    ``drop_last`` would; with ``batch_size`` 1 or a one-batch epoch nothing is skipped): BatchNorm cannot
    train on one clip whose maps end at 1 x 1 x 1, and one clip's statistics are noise anyway.
    With the default loss every batch's labels are checked before the loss (:func:`check_labels`): an
    integer label outside ``0 .. num_classes - 1`` raises a ``ValueError`` naming the label,
    ``num_classes`` and the dataset index.

    The model trains on ``device`` and is handed back, in eval mode, on the device it came on, also when
    training raises (:func:`on_device`): a model built on the CPU is on the CPU again after ``fit`` on a GPU.
    Move it to the GPU before ``fit`` to keep it there.

    Returns:
        :class:`History` with per-epoch loss, accuracy, time and clips per second.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if optimizer not in ("adamw", "sgd"):
        raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {optimizer!r}")
    if schedule not in ("cosine", None):
        raise ValueError(f"schedule must be 'cosine' or None, got {schedule!r}")
    if channels_last not in (True, False, "auto"):
        raise ValueError(f"channels_last must be True, False or 'auto', got {channels_last!r}")
    distributed = init_distributed(device)
    rank = dist.get_rank() if distributed else 0
    dev = resolve_device(device)
    if distributed and dev.type == "cuda":  # one GPU per process
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count())))
        torch.cuda.set_device(dev)
    amp_dtype = _amp_dtype(dev, amp)
    default_loss = loss_fn is None
    loss_fn = loss_fn or F.cross_entropy
    seed_everything(seed)
    loader = make_loader(train_data, batch_size, shuffle=True, seed=seed, num_workers=num_workers,
                         pin_memory=dev.type == "cuda", distributed=distributed)
    home = model_device(model)  # where fit hands the model back (on_device), also when training raises
    model.to(dev)
    try:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the model has no trainable parameters (all requires_grad=False)")
        if channels_last == "auto":
            channels_last = dev.type == "cuda" and amp_dtype is not None and _uses_conv3d(model)
        if channels_last:
            model = _conv3d_channels_last(model)
        net = model  # what the steps call: the model, wrapped for several processes and/or compiled
        if distributed:
            net = DistributedDataParallel(model, device_ids=[dev] if dev.type == "cuda" else None)
        if compile:
            net = torch.compile(net, backend=compile) if isinstance(compile, str) else torch.compile(net)
        if optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        else:
            opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
        total_steps = epochs * len(loader)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total_steps) if schedule == "cosine" else None
        scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        # BatchNorm cannot train on one clip whose maps end at 1 x 1 x 1: skip a lone last clip (as drop_last would)
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
        loader_batch = getattr(loader, "batch_size", None) or getattr(loader.batch_sampler, "batch_size", 1)
        skip_single = has_bn and loader_batch > 1 and len(loader) > 1

        hist = History(device=str(dev), precision={None: "fp32", torch.bfloat16: "bf16",
                                                     torch.float16: "fp16"}[amp_dtype], name=name)
        show = _progress_enabled(progress) and rank == 0
        verbose = verbose and rank == 0
        if show:
            from tqdm.auto import tqdm
        step = 0
        for epoch in range(1, epochs + 1):
            if isinstance(_sampler_of(loader), DistributedSampler):
                _sampler_of(loader).set_epoch(epoch)  # a different shuffle each epoch, the same on every rank
            net.train()
            t0 = time.perf_counter()
            total_loss, correct, n = 0.0, 0, 0
            batches = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False) if show else loader
            for i, (inputs, labels) in enumerate(batches):
                if skip_single and len(labels) == 1:
                    continue  # a last batch of one clip: BatchNorm statistics of one clip (see the docstring)
                host_labels = labels
                inputs, labels = to_device(inputs, dev), labels.to(dev, non_blocking=True)
                if channels_last:
                    inputs = _to_channels_last(inputs)
                with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    logits = net(inputs)
                    if default_loss:
                        check_labels(host_labels, logits.shape[-1], _batch_indices(loader, i), step=step)
                    loss = loss_fn(logits.float(), labels)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}, step {step}; lower lr?")
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if grad_clip is not None:
                    scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(params, grad_clip)
                scaler.step(opt)
                scaler.update()
                if sched is not None:
                    sched.step()
                step += 1
                b = _batch_size_of(labels)
                total_loss += float(loss.detach()) * b
                correct += int((logits.argmax(1) == labels).sum())
                n += b
            if distributed:
                total_loss, correct, n = _all_reduce_sum(total_loss, correct, n)
                n = int(n)
            elapsed = time.perf_counter() - t0
            hist.train_loss.append(total_loss / n)
            hist.train_acc.append(correct / n)
            hist.time_s.append(elapsed)
            hist.clips_per_s.append(n / elapsed)
            hist.steps.append(step)
            if val_data is not None:
                res = evaluate(model, val_data, batch_size=batch_size, device=dev, amp=amp, loss_fn=loss_fn)
                hist.val_loss.append(res["loss"])
                hist.val_acc.append(res["acc"])
            else:
                hist.val_loss.append(None)
                hist.val_acc.append(None)
            if verbose:
                val = (f"  val loss {hist.val_loss[-1]:.3f} acc {hist.val_acc[-1]:.3f}"
                       if val_data is not None else "")
                print(f"{name + ': ' if name else ''}epoch {epoch}/{epochs}  train loss {hist.train_loss[-1]:.3f} "
                      f"acc {hist.train_acc[-1]:.3f}{val}  ({elapsed:.1f} s, {n / elapsed:.0f} clips/s)",
                      file=sys.stdout, flush=True)
        if distributed:  # BatchNorm statistics are per process: end with rank 0's everywhere
            for buf in model.buffers():
                dist.broadcast(buf, src=0)
        if dev.type == "cuda":
            hist.peak_memory_mb = torch.cuda.max_memory_allocated(dev) / 2**20
    finally:
        if channels_last:  # hand the weights back in the layout they came in (a restored copy computes the same)
            for m in model.modules():
                if isinstance(m, nn.Conv3d):
                    m.to(memory_format=torch.contiguous_format)
        if home is not None:
            model.to(home)
    model.eval()
    return hist
