"""Load Hugging Face ``transformers`` VideoMAE weights (the official checkpoints) into vidlearn.

The authors' checkpoints are on the Hugging Face Hub as ``VideoMAEForPreTraining`` (``MCG-NJU/videomae-base``,
pre-trained on Kinetics-400) and ``VideoMAEForVideoClassification`` (``MCG-NJU/videomae-base-finetuned-
kinetics`` and others). This module renames their state dicts to :class:`~vidlearn.models.videomae.
VideoMAEPretrain` and :class:`~vidlearn.models.videomae.VideoMAEClassifier`; with the same weights the models
give the same predictions, loss and logits (tested on randomly initialised small models). It never imports
``transformers`` and never downloads: fetch the weights yourself, e.g. on Colab::

    from transformers import VideoMAEForVideoClassification        # pip install transformers
    hf = VideoMAEForVideoClassification.from_pretrained("MCG-NJU/videomae-base-finetuned-kinetics")
    model = videomae_from_hf(hf)                                    # vidlearn model, same logits
    # or: load_hf_videomae(create_model("videomae_b"), "model.safetensors")

A pre-training checkpoint loads into a classifier too: its encoder only, as the official fine-tuning does
(the decoder and the encoder's last LayerNorm are dropped; ``fc_norm`` and ``head`` stay as they are).

Differences to mind: Hugging Face takes ``pixel_values`` as ``(B, T, C, H, W)``, vidlearn ``(B, C, T, H, W)``;
Hugging Face splits ``qkv`` into ``query``/``key``/``value`` (joined here); its ``fc_norm`` and decoder norm
use torch's default eps 1e-5 and its blocks ``layer_norm_eps`` (1e-12 by default; official 1e-6):
:func:`config_from_hf` copies them. Its pre-training encoder has the final LayerNorm only with
``use_mean_pooling=False`` (what the released pre-training checkpoints use); the config follows that.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import torch

from vidlearn.models.videomae import VideoMAEClassifier, VideoMAEConfig, VideoMAEPretrain
from vidlearn.weights import load_weights, torch_load_file

VideoMAEModel = Union[VideoMAEClassifier, VideoMAEPretrain]

# (Hugging Face prefix, vidlearn prefix) of the transformer layers
_LAYERS = [(r"encoder\.layer\.(\d+)\.", r"encoder.blocks.\1."),
           (r"decoder\.decoder_layers\.(\d+)\.", r"decoder_blocks.\1.")]
# inside a layer; query/key/value weights are joined into attn.qkv.weight. Files on the Hub (and what
# save_pretrained writes) name the biases q_bias/v_bias; a model object in memory query.bias/value.bias
_IN_LAYER = {
    "attention.attention.query.bias": "attn.qkv.q_bias", "attention.attention.q_bias": "attn.qkv.q_bias",
    "attention.attention.value.bias": "attn.qkv.v_bias", "attention.attention.v_bias": "attn.qkv.v_bias",
    "attention.output.dense.weight": "attn.proj.weight", "attention.output.dense.bias": "attn.proj.bias",
    "intermediate.dense.weight": "mlp.fc1.weight", "intermediate.dense.bias": "mlp.fc1.bias",
    "output.dense.weight": "mlp.fc2.weight", "output.dense.bias": "mlp.fc2.bias",
    "layernorm_before.weight": "norm1.weight", "layernorm_before.bias": "norm1.bias",
    "layernorm_after.weight": "norm2.weight", "layernorm_after.bias": "norm2.bias",
}
_QKV = ("query", "key", "value")
_OTHER = {
    "embeddings.patch_embeddings.projection.weight": "encoder.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "encoder.proj.bias",
    "layernorm.weight": "encoder.norm.weight", "layernorm.bias": "encoder.norm.bias",
    "encoder_to_decoder.weight": "encoder_to_decoder.weight", "mask_token": "mask_token",
    "decoder.norm.weight": "decoder_norm.weight", "decoder.norm.bias": "decoder_norm.bias",
    "decoder.head.weight": "decoder_head.weight", "decoder.head.bias": "decoder_head.bias",
    "fc_norm.weight": "fc_norm.weight", "fc_norm.bias": "fc_norm.bias",
    "classifier.weight": "head.weight", "classifier.bias": "head.bias",
}
_PRETRAIN_ONLY = ("encoder.norm.", "decoder_", "encoder_to_decoder.", "mask_token")
_HEAD = ("fc_norm.", "head.")


def config_from_hf(hf_config: Union[Mapping[str, Any], Any], **overrides) -> VideoMAEConfig:
    """The :class:`VideoMAEConfig` of a Hugging Face ``VideoMAEConfig`` (object or ``to_dict()``)."""
    get = hf_config.get if isinstance(hf_config, Mapping) else lambda k, d=None: getattr(hf_config, k, d)
    if get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"vidlearn's VideoMAE uses GELU, the checkpoint uses {get('hidden_act')!r}")
    if not get("qv_bias", get("qkv_bias", True)):
        raise ValueError("vidlearn's VideoMAE has query and value biases (as the official models); this "
                         "checkpoint was built with qv_bias=False")
    image_size, patch_size = get("image_size", 224), get("patch_size", 16)
    if not isinstance(image_size, int) or not isinstance(patch_size, int):
        raise ValueError(f"only square images and patches are supported, got image_size={image_size!r}, "
                         f"patch_size={patch_size!r}")
    hidden, dec = get("hidden_size", 768), get("decoder_hidden_size", 384)
    ratio = get("intermediate_size", 4 * hidden) / hidden
    if get("decoder_intermediate_size", ratio * dec) / dec != ratio:
        raise ValueError(f"vidlearn's VideoMAE uses one mlp_ratio for encoder and decoder; the checkpoint has "
                         f"{ratio} and {get('decoder_intermediate_size') / dec}")
    channels = get("num_channels", 3)
    id2label = get("id2label") or {}
    fields = dict(
        num_classes=get("num_labels", None) or len(id2label) or 400, img_size=image_size, patch_size=patch_size,
        num_frames=get("num_frames", 16), tubelet_size=get("tubelet_size", 2), in_chans=channels,
        embed_dim=hidden, depth=get("num_hidden_layers", 12), num_heads=get("num_attention_heads", 12),
        mlp_ratio=ratio, decoder_embed_dim=dec, decoder_depth=get("decoder_num_hidden_layers", 4),
        decoder_num_heads=get("decoder_num_attention_heads", 6), norm_pix_loss=get("norm_pix_loss", True),
        norm_eps=get("layer_norm_eps", 1e-12), head_norm_eps=1e-5,
        encoder_norm=not get("use_mean_pooling", True),
    )
    if channels != 3:  # Hugging Face un-normalises only RGB clips (ImageNet statistics)
        fields.update(pixel_mean=None, pixel_std=None)
    return VideoMAEConfig(**{**fields, **overrides})


def convert_hf_state_dict(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename a ``VideoMAEModel``, ``VideoMAEForPreTraining`` or ``VideoMAEForVideoClassification`` state dict."""
    out: Dict[str, torch.Tensor] = {}
    qkv: Dict[str, Dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        name = key[len("videomae."):] if key.startswith("videomae.") else key
        if name in _OTHER:
            out[_OTHER[name]] = value
            continue
        for pattern, target in _LAYERS:
            m = re.match(pattern, name)
            if m:
                prefix, rest = m.expand(target), name[m.end():]
                part = re.fullmatch(r"attention\.attention\.(query|key|value)\.weight", rest)
                if part:
                    qkv.setdefault(prefix, {})[part.group(1)] = value
                elif rest in _IN_LAYER:
                    out[prefix + _IN_LAYER[rest]] = value
                else:
                    raise KeyError(f"unexpected key {key!r} in the Hugging Face VideoMAE state dict")
                break
        else:
            raise KeyError(f"unexpected key {key!r} in the Hugging Face VideoMAE state dict")
    for prefix, parts in qkv.items():
        if set(parts) != set(_QKV):
            raise KeyError(f"the Hugging Face VideoMAE state dict has {sorted(parts)} but not all of query, key, "
                           f"value for {prefix}attn.qkv.weight")
        out[prefix + "attn.qkv.weight"] = torch.cat([parts[p] for p in _QKV])  # (3D, D)
    return out


def _read(weights: Union[str, Path, Mapping[str, torch.Tensor]]) -> Mapping[str, torch.Tensor]:
    if not isinstance(weights, (str, Path)):
        return weights
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"no VideoMAE weights file at {path}")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(f"reading {path} needs safetensors: pip install safetensors") from err
        return load_file(str(path))
    return torch_load_file(path, "VideoMAE weights file", "a Hugging Face pytorch_model.bin (a state dict)")


def load_hf_videomae(model: VideoMAEModel, weights: Union[str, Path, Mapping[str, torch.Tensor]],
                     strict: bool = True) -> VideoMAEModel:
    """Copy Hugging Face VideoMAE weights into ``model`` (in place) and return it.

    Args:
        model: a :class:`VideoMAEPretrain` or :class:`VideoMAEClassifier` whose config matches the checkpoint
            (see :func:`config_from_hf`).
        weights: a state dict, or a path to ``model.safetensors`` / ``pytorch_model.bin``.
        strict: every weight must match (a classifier may take a checkpoint without a head: a
            ``VideoMAEModel`` or a pre-training checkpoint, whose decoder is then dropped).

    Raises:
        ValueError: missing or unexpected keys (by name), or weights of the wrong shape (both shapes).
    """
    state = convert_hf_state_dict(_read(weights))
    if isinstance(model, VideoMAEClassifier):  # a pre-training checkpoint: its encoder, as official fine-tuning
        state = {k: v for k, v in state.items() if not k.startswith(_PRETRAIN_ONLY)}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    if isinstance(model, VideoMAEClassifier) and not any(k.startswith(_HEAD) for k in state):
        missing = [k for k in missing if not k.startswith(_HEAD)]  # no head in the checkpoint: keep ours
    unexpected = [k for k in state if k not in own]
    if strict and (missing or unexpected):
        raise ValueError(f"the Hugging Face weights do not fit {type(model).__name__} (is its config the "
                         f"checkpoint's? see config_from_hf): missing {missing}, unexpected {unexpected}")
    return load_weights(model, state, strict=False)  # refuses shape mismatches, naming both shapes


def videomae_from_hf(hf_model: Any) -> VideoMAEModel:
    """A vidlearn VideoMAE with the config and weights of a Hugging Face VideoMAE model object.

    ``VideoMAEForPreTraining`` gives a :class:`VideoMAEPretrain`; anything else (``VideoMAEForVideoClassification``,
    ``VideoMAEModel``) a :class:`VideoMAEClassifier`.
    """
    cfg = config_from_hf(hf_model.config)
    pretrain = hasattr(hf_model, "decoder")
    if hasattr(hf_model, "classifier") and cfg.encoder_norm:
        raise ValueError("a Hugging Face VideoMAE classifier with use_mean_pooling=False reads its first patch "
                         "token (there is no class token); vidlearn's classifier mean-pools, as the official one")
    model = VideoMAEPretrain(cfg) if pretrain else VideoMAEClassifier(cfg)
    return load_hf_videomae(model, hf_model.state_dict())
