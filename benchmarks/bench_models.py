"""Models against their peers, same weights and same input, on the CPU.

* 3D ResNets: vidlearn's ``r3d_18``, ``mc3_18``, ``r2plus1d_18`` against ``torchvision.models.video``
  (torchvision's state dict loaded into ours), inference and forward+backward. Target: ratio <= 1.05.
* TimeSformer divided space-time attention against Hugging Face ``transformers``' ``TimesformerModel``
  (config and weights converted by :mod:`vidlearn.models.hf_timesformer`), forward+backward.
  Target: vidlearn <= 0.6 x theirs. Then vidlearn's five schemes against each other per frame count.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from timing import interleaved, operator_diff, top_ops, verdict

import vidlearn
from vidlearn.models.hf_timesformer import timesformer_from_hf


def _step(model: nn.Module, x: torch.Tensor, train: bool, call=None):
    """One inference pass (no grad) or one forward+backward pass of ``model`` on ``x``."""
    call = call or model
    if not train:
        def run():
            with torch.no_grad():
                call(x)
        return run

    def run():
        model.zero_grad(set_to_none=True)
        out = call(x)
        out.float().sum().backward()
    return run


def resnets(repeats: int = 5, batch: int = 2, frames: int = 8, size: int = 112) -> None:
    import torchvision.models.video as tvv

    for name in ("r3d_18", "mc3_18", "r2plus1d_18"):
        torch.manual_seed(0)
        theirs = getattr(tvv, name)()
        ours = vidlearn.create_model(name, num_classes=400, tiny=False)
        ours.load_state_dict(theirs.state_dict())
        x = torch.randn(batch, 3, frames, size, size)
        for train in (False, True):
            ours.train(train)
            theirs.train(train)
            fns = {"ours": _step(ours, x, train), "theirs": _step(theirs, x, train)}
            t = interleaved(fns, repeats=repeats)
            r = t["ours"] / t["theirs"]
            what = "fwd+bwd  " if train else "inference"
            note = ""
            if r > 1.05:  # profile: do the two run different operators, or is the gap the machine's noise?
                note = (f"; profile: operators called differently (ours vs theirs): "
                        f"{operator_diff(fns['ours'], fns['theirs'])}; top: {top_ops(fns['ours'], 3)}")
            print(f"{name:12s} {what} {batch}x3x{frames}x{size}x{size}: vidlearn {t['ours'] * 1000:7.0f} ms, "
                  f"torchvision {t['theirs'] * 1000:7.0f} ms   ratio {r:.3f} (target <= 1.05: {verdict(r, 1.05)}"
                  f"{note})", flush=True)


def _hf_pair(frames: int, size: int, depth: int, scheme: str = "divided_space_time"):
    """A Hugging Face TimesformerModel (random weights, seeded) and the vidlearn model with its weights."""
    import transformers

    config = transformers.TimesformerConfig(image_size=size, patch_size=16, num_frames=frames, hidden_size=768,
                                            num_hidden_layers=depth, num_attention_heads=12,
                                            intermediate_size=3072, attention_type=scheme, num_labels=400)
    torch.manual_seed(0)
    hf = transformers.TimesformerForVideoClassification(config)
    ours = timesformer_from_hf(hf)
    return hf, ours


def timesformer_vs_hf(repeats: int = 3, batch: int = 1, frames: int = 8, size: int = 224, depth: int = 2) -> None:
    hf, ours = _hf_pair(frames, size, depth)
    hf.train()
    ours.train()
    x = torch.randn(batch, 3, frames, size, size)
    xt = x.transpose(1, 2).contiguous()  # Hugging Face takes (B, T, C, H, W)
    with torch.no_grad():
        diff = (hf.eval()(pixel_values=xt).logits - ours.eval()(x)).abs().max().item()
    hf.train()
    ours.train()
    fns = {"ours": _step(ours, x, True), "theirs": _step(hf, xt, True, call=lambda v: hf(pixel_values=v).logits)}
    t = interleaved(fns, repeats=repeats)
    r = t["ours"] / t["theirs"]
    print(f"TimeSformer divided ViT-B/16 ({depth} of 12 blocks) fwd+bwd {batch}x3x{frames}x{size}x{size}: "
          f"vidlearn {t['ours'] * 1000:6.0f} ms, transformers {t['theirs'] * 1000:6.0f} ms   ratio {r:.2f} "
          f"(target <= 0.6: {verdict(r, 0.6)}; same logits, max diff {diff:.1e})", flush=True)
    if r > 0.6:  # what dominates: the linear layers (mm/addmm), which fused attention does not touch
        for who in fns:
            print(f"    profile {who} (self CPU time): {top_ops(fns[who])}", flush=True)


def timesformer_schemes(repeats: int = 3, frames_list=(4, 8, 16), size: int = 112, depth: int = 2) -> None:
    """vidlearn's five attention schemes against divided, fwd+bwd, ViT-B width at ``size`` (7x7 patches)."""
    schemes = ("space", "joint", "divided", "sparse_local_global", "axial")
    for frames in frames_list:
        x = torch.randn(1, 3, frames, size, size)
        fns = {}
        for s in schemes:
            torch.manual_seed(0)
            m = vidlearn.create_model("timesformer", tiny=False, attention=s, num_frames=frames, img_size=size,
                                      depth=depth).train()
            fns[s] = _step(m, x, True)
        t = interleaved(fns, repeats=repeats)
        line = "  ".join(f"{s} {t[s] / t['divided']:.2f}x" for s in schemes if s != "divided")
        print(f"TimeSformer schemes fwd+bwd, {frames:2d} frames {size}x{size} ({depth} blocks), time / divided "
              f"({t['divided'] * 1000:.0f} ms): {line}", flush=True)
