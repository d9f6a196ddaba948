"""Load Hugging Face ``transformers`` ViViT weights (e.g. the public K400 checkpoint) into vidlearn.

The official ViViT-B/16x2 Kinetics-400 model (Model 1, spatio-temporal attention) is published on the Hugging
Face Hub as ``VivitForVideoClassification`` (``google/vivit-b-16x2-kinetics400``). This module renames its
state dict to :class:`vidlearn.models.vivit.ViViT`'s names and fuses the separate query, key and value
projections into one ``qkv``; with the same weights the two models give the same logits (tested on randomly
initialised small models). It never imports ``transformers`` and never downloads: fetch the weights
yourself, e.g. on Colab::

    from transformers import VivitForVideoClassification           # pip install transformers
    hf = VivitForVideoClassification.from_pretrained("google/vivit-b-16x2-kinetics400")
    model = vivit_from_hf(hf)                                      # vidlearn model, same logits
    # or: load_hf_vivit(create_model("vivit_b_16x2"), "model.safetensors")

Both naming schemes are read: transformers 5 (``layers.{i}.attention.q_proj``, ``mlp.fc1``) and the files
on the Hub, written by transformers 4 (``encoder.layer.{i}.attention.attention.query``,
``intermediate.dense``). Hugging Face takes ``pixel_values`` as ``(B, T, C, H, W)``; vidlearn takes
``(B, C, T, H, W)``. Both order tokens ``(t h w)`` and add one learned embedding per position (class token
included), so the embeddings copy as they are. ``VivitModel``'s pooler (dense + tanh on the class token)
feeds no classifier and is skipped; the checkpoint's ``hidden_act`` (``gelu_fast``: the tanh approximation,
as the official Flax code) is matched by :func:`config_from_hf`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import torch

from vidlearn.models.vivit import ViViT, ViViTConfig
from vidlearn.weights import load_weights, read_state_dict

# Hugging Face hidden_act -> torch's F.gelu(approximate=...)
_GELU = {"gelu": "none", "gelu_fast": "tanh", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}

_LAYER = r"(?:layers|encoder\.layer)\.(\d+)\."  # transformers 5 | transformers 4 (the Hub files)
_RENAMES = [  # (Hugging Face name pattern, vidlearn name)
    (r"embeddings\.cls_token$", "encoder.cls_token"),
    (r"embeddings\.position_embeddings$", "encoder.pos_embed"),
    (r"embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (_LAYER + r"layernorm_before\.", r"encoder.blocks.\1.norm1."),
    (_LAYER + r"attention\.(?:o_proj|output\.dense)\.", r"encoder.blocks.\1.attn.proj."),
    (_LAYER + r"layernorm_after\.", r"encoder.blocks.\1.norm2."),
    (_LAYER + r"(?:mlp\.fc1|intermediate\.dense)\.", r"encoder.blocks.\1.mlp.fc1."),
    (_LAYER + r"(?:mlp\.fc2|output\.dense)\.", r"encoder.blocks.\1.mlp.fc2."),
    (r"layernorm\.", "encoder.norm."),
    (r"classifier\.", "head."),
]
_QKV = re.compile(_LAYER + r"attention\.(?:(q|k|v)_proj|attention\.(query|key|value))\.(weight|bias)$")


def config_from_hf(hf_config: Union[Mapping[str, Any], Any], **overrides) -> ViViTConfig:
    """The :class:`ViViTConfig` (Model 1) of a Hugging Face ``VivitConfig`` (object or ``to_dict()``)."""
    get = hf_config.get if isinstance(hf_config, Mapping) else lambda k, d=None: getattr(hf_config, k, d)
    act = get("hidden_act", "gelu_fast")
    if act not in _GELU:
        raise ValueError(f"vidlearn's ViViT uses GELU, exact or tanh-approximated; the checkpoint uses {act!r}")
    image_size = get("image_size", 224)
    if not isinstance(image_size, int):
        if len(set(image_size)) != 1:
            raise ValueError(f"only square images are supported, got image_size={image_size!r}")
        image_size = int(image_size[0])
    id2label = get("id2label") or {}
    hidden = get("hidden_size", 768)
    fields = dict(
        variant="spatio_temporal", num_classes=get("num_labels", None) or len(id2label) or 400,
        img_size=image_size, num_frames=get("num_frames", 32), tubelet_size=tuple(get("tubelet_size", (2, 16, 16))),
        in_chans=get("num_channels", 3), embed_dim=hidden, depth=get("num_hidden_layers", 12),
        num_heads=get("num_attention_heads", 12), mlp_ratio=get("intermediate_size", 4 * hidden) / hidden,
        qkv_bias=get("qkv_bias", True), norm_eps=get("layer_norm_eps", 1e-6), gelu=_GELU[act],
    )
    return ViViTConfig(**{**fields, **overrides})


def convert_hf_state_dict(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename a ``VivitModel`` or ``VivitForVideoClassification`` state dict for vidlearn's Model 1.

    Query, key and value (separate in Hugging Face) are stacked into ``qkv`` in that order; the pooler is
    dropped; a key that matches nothing keeps its name, so loading reports it as unexpected.
    """
    out: Dict[str, torch.Tensor] = {}
    parts: Dict[tuple, Dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        name = key[len("vivit."):] if key.startswith("vivit.") else key
        if name.startswith("pooler."):
            continue
        qkv = _QKV.match(name)
        if qkv:
            layer, which, kind = qkv.group(1), (qkv.group(2) or qkv.group(3))[0], qkv.group(4)
            parts.setdefault((layer, kind), {})[which] = value
            continue
        for pattern, target in _RENAMES:
            if re.match(pattern, name):
                out[re.sub(pattern, target, name, count=1)] = value
                break
        else:
            out[key] = value
    for (layer, kind), qkv in parts.items():
        if set(qkv) != {"q", "k", "v"}:
            missing = sorted({"q", "k", "v"} - set(qkv))
            raise KeyError(f"layer {layer}'s attention {kind} lacks {missing} in the Hugging Face ViViT state dict")
        out[f"encoder.blocks.{layer}.attn.qkv.{kind}"] = torch.cat([qkv["q"], qkv["k"], qkv["v"]], dim=0)
    return out


def load_hf_vivit(
    model: ViViT, state_dict_or_path: Union[str, Path, Mapping[str, torch.Tensor]], strict: bool = True
) -> ViViT:
    """Copy Hugging Face ViViT weights into ``model`` (in place) and return it.

    Args:
        model: a vidlearn ViViT, ``variant="spatio_temporal"``, whose config matches the checkpoint (see
            :func:`config_from_hf`).
        state_dict_or_path: a state dict, or a path to ``model.safetensors`` / ``pytorch_model.bin`` (read
            with safetensors or ``torch.load(weights_only=True)``).
        strict: every weight must be there and used. A ``VivitModel`` checkpoint (no classifier) leaves
            ``model.head`` as it is either way.

    Raises:
        ValueError: another variant, keys missing or unexpected (named), or shapes that differ (both shapes).
        FileNotFoundError, WeightsFileError: no file, or one that cannot be read safely.
    """
    if model.cfg.variant != "spatio_temporal":
        raise ValueError(f"Hugging Face ViViT is Model 1 (spatio_temporal); this model is {model.cfg.variant!r}")
    weights = state_dict_or_path
    if isinstance(weights, (str, Path)):
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"no ViViT weights file at {path}")
        if path.suffix == ".safetensors":
            try:
                from safetensors.torch import load_file
            except ImportError as err:  # pragma: no cover - depends on the environment
                raise ImportError(f"reading {path} needs safetensors: pip install safetensors") from err
            weights = load_file(str(path))
        else:
            weights = read_state_dict(path, "ViViT weights file")
    state = convert_hf_state_dict(weights)
    if "head.weight" not in state:  # a backbone checkpoint: keep our classifier
        state.update({k: v for k, v in model.state_dict().items() if k.startswith("head.")})
    try:
        load_weights(model, state, strict=strict)
    except ValueError as err:
        raise ValueError(f"the Hugging Face ViViT weights do not fit {model.name} (is its config the "
                         f"checkpoint's? see config_from_hf): {err}") from None
    return model


def vivit_from_hf(hf_model: Any) -> ViViT:
    """A vidlearn ViViT with the config and weights of a Hugging Face ViViT model object."""
    model = ViViT(config_from_hf(hf_model.config))
    return load_hf_vivit(model, hf_model.state_dict())
