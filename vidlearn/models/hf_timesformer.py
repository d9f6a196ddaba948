"""Load Hugging Face ``transformers`` TimeSformer weights (e.g. the public K400 checkpoints) into vidlearn.

The official TimeSformer checkpoints are published on the Hugging Face Hub as
``TimesformerForVideoClassification`` (``facebook/timesformer-base-finetuned-k400`` and others). This module
renames their state dict to :class:`vidlearn.models.timesformer.TimeSformer`'s names; with the same weights
the two models give the same logits (tested on randomly initialised small models). It never imports
``transformers`` and never downloads: fetch the weights yourself, e.g. on Colab::

    from transformers import TimesformerForVideoClassification       # pip install transformers
    hf = TimesformerForVideoClassification.from_pretrained("facebook/timesformer-base-finetuned-k400")
    model = timesformer_from_hf(hf)                                   # vidlearn model, same logits
    # or: load_hf_timesformer(create_model("timesformer"), "model.safetensors")

Only the schemes that the official code has exist there: ``divided_space_time`` (our ``divided``),
``joint_space_time`` (``joint``) and ``space_only`` (``space``). Hugging Face takes ``pixel_values`` as
``(B, T, C, H, W)``; vidlearn takes ``(B, C, T, H, W)``. Hugging Face orders tokens ``(h w t)``, vidlearn
``(t h w)``: attention does not care, so the class token (and the logits) agree. For ``space_only``,
Hugging Face normalises every frame's class token and returns one row of logits per frame; vidlearn, as the
official code, averages the frames' class tokens, then normalises and scores the clip once (so the logits
differ from the mean of Hugging Face's rows by the order of the final LayerNorm and the average).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import torch

from vidlearn.models.timesformer import TimeSformer, TimeSformerConfig
from vidlearn.weights import torch_load_file

_ATTENTION = {"divided_space_time": "divided", "joint_space_time": "joint", "space_only": "space"}

# (Hugging Face name pattern, vidlearn name); {last} is the block's last step (space or space_time)
_RENAMES = [
    (r"embeddings\.cls_token", "cls_token"),
    (r"embeddings\.position_embeddings", "pos_embed"),
    (r"embeddings\.time_embeddings", "time_embed"),
    (r"embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"encoder\.layer\.(\d+)\.temporal_layernorm\.", r"blocks.\1.steps.time.norm."),
    (r"encoder\.layer\.(\d+)\.temporal_attention\.attention\.qkv\.", r"blocks.\1.steps.time.attn.qkv."),
    (r"encoder\.layer\.(\d+)\.temporal_attention\.output\.dense\.", r"blocks.\1.steps.time.attn.proj."),
    (r"encoder\.layer\.(\d+)\.temporal_dense\.", r"blocks.\1.steps.time.fc."),
    (r"encoder\.layer\.(\d+)\.layernorm_before\.", r"blocks.\1.steps.{last}.norm."),
    (r"encoder\.layer\.(\d+)\.attention\.attention\.qkv\.", r"blocks.\1.steps.{last}.attn.qkv."),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"blocks.\1.steps.{last}.attn.proj."),
    (r"encoder\.layer\.(\d+)\.layernorm_after\.", r"blocks.\1.norm2."),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.", r"blocks.\1.mlp.fc1."),
    (r"encoder\.layer\.(\d+)\.output\.dense\.", r"blocks.\1.mlp.fc2."),
    (r"layernorm\.", "norm."),
    (r"classifier\.", "head."),
]


def config_from_hf(hf_config: Union[Mapping[str, Any], Any], **overrides) -> TimeSformerConfig:
    """The :class:`TimeSformerConfig` of a Hugging Face ``TimesformerConfig`` (object or ``to_dict()``)."""
    get = hf_config.get if isinstance(hf_config, Mapping) else lambda k, d=None: getattr(hf_config, k, d)
    attention_type = get("attention_type", "divided_space_time")
    if attention_type not in _ATTENTION:
        raise ValueError(
            f"unknown Hugging Face attention_type {attention_type!r}; expected one of {list(_ATTENTION)}"
        )
    if get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"vidlearn's TimeSformer uses GELU, the checkpoint uses {get('hidden_act')!r}")
    image_size, patch_size = get("image_size", 224), get("patch_size", 16)
    if not isinstance(image_size, int) or not isinstance(patch_size, int):
        raise ValueError(f"only square images and patches are supported, got image_size={image_size!r}, "
                         f"patch_size={patch_size!r}")
    id2label = get("id2label") or {}
    hidden = get("hidden_size", 768)
    fields = dict(
        attention=_ATTENTION[attention_type], num_classes=get("num_labels", None) or len(id2label) or 400,
        img_size=image_size, patch_size=patch_size, num_frames=get("num_frames", 8),
        in_chans=get("num_channels", 3), embed_dim=hidden, depth=get("num_hidden_layers", 12),
        num_heads=get("num_attention_heads", 12), mlp_ratio=get("intermediate_size", 4 * hidden) / hidden,
        qkv_bias=get("qkv_bias", True), norm_eps=get("layer_norm_eps", 1e-6),
    )
    return TimeSformerConfig(**{**fields, **overrides})


def convert_hf_state_dict(
    state_dict: Mapping[str, torch.Tensor], attention: str = "divided"
) -> Dict[str, torch.Tensor]:
    """Rename a ``TimesformerModel`` or ``TimesformerForVideoClassification`` state dict for vidlearn."""
    if attention not in ("divided", "joint", "space"):
        raise ValueError(
            f"Hugging Face checkpoints exist for divided, joint and space attention, not {attention!r}"
        )
    last = "space_time" if attention == "joint" else "space"
    out = {}
    for key, value in state_dict.items():
        name = key[len("timesformer."):] if key.startswith("timesformer.") else key
        for pattern, target in _RENAMES:
            if re.match(pattern, name):
                out[re.sub(pattern, target.replace("{last}", last), name, count=1)] = value
                break
        else:
            raise KeyError(f"unexpected key {key!r} in the Hugging Face TimeSformer state dict")
    return out


def load_hf_timesformer(
    model: TimeSformer, weights: Union[str, Path, Mapping[str, torch.Tensor]], strict: bool = True
) -> TimeSformer:
    """Copy Hugging Face TimeSformer weights into ``model`` (in place) and return it.

    Args:
        model: a vidlearn TimeSformer whose config matches the checkpoint (see :func:`config_from_hf`).
        weights: a state dict, or a path to ``model.safetensors`` / ``pytorch_model.bin``.
        strict: every weight must match. A ``TimesformerModel`` checkpoint (no classifier) leaves
            ``model.head`` as it is either way.
    """
    if isinstance(weights, (str, Path)):
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"no TimeSformer weights file at {path}")
        if path.suffix == ".safetensors":
            try:
                from safetensors.torch import load_file
            except ImportError as err:  # pragma: no cover - depends on the environment
                raise ImportError(f"reading {path} needs safetensors: pip install safetensors") from err
            weights = load_file(str(path))
        else:
            weights = torch_load_file(path, "TimeSformer weights file",
                                      "a Hugging Face pytorch_model.bin (a state dict)")
    state = convert_hf_state_dict(weights, model.cfg.attention)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("head.")] if "head.weight" not in state else missing
    if strict and (missing or unexpected):
        raise RuntimeError(
            f"the Hugging Face weights do not fit {model.name} (is its config the checkpoint's? see "
            f"config_from_hf): missing {missing}, unexpected {unexpected}"
        )
    return model


def timesformer_from_hf(hf_model: Any) -> TimeSformer:
    """A vidlearn TimeSformer with the config and weights of a Hugging Face TimeSformer model object."""
    model = TimeSformer(config_from_hf(hf_model.config))
    return load_hf_timesformer(model, hf_model.state_dict())
