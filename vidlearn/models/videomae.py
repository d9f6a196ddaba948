"""VideoMAE: masked autoencoding pre-trains a plain video ViT from unlabelled video, then it is fine-tuned.

VideoMAE: Masked Autoencoders are Data-Efficient Learners for Self-Supervised Video Pre-Training.
Tong, Song, Wang, Wang. NeurIPS 2022. https://arxiv.org/abs/2203.12602

The idea: cut a clip into 2 x 16 x 16 tubelets, hide almost all of them and train a ViT to paint the hidden
pixels back. Video is temporally redundant: neighbouring frames are nearly the same, so with *random*
masking a hidden patch can usually be copied from the same place in the next frame, and the task teaches
little. *Tube* masking hides the same spatial positions in every time slot, so the information cannot leak
in time and the model must reason about motion and content; and because the clip is so redundant a very
high ratio (90%) still works, which also makes pre-training cheap: the encoder runs on the visible 10% only.
A narrow decoder gets the encoded visible tokens plus one shared learnable mask token at every hidden
position (each with its position embedding) and predicts the hidden tubelets' pixels, normalised per patch.
For fine-tuning the decoder is dropped and the encoder sees all tokens: mean pooling, LayerNorm, linear head.

    clip (B, 3, 16, 224, 224)
      | tubelet embedding: Conv3d 2 x 16 x 16, stride 2 x 16 x 16   -> 8 x 14 x 14 = 1568 tokens, (t h w) order
      | + fixed sinusoidal position embedding
      | tube mask: 176 of the 196 positions of a time slot hidden, in all 8 slots -> 1408 masked, 160 visible
      v
    encoder ViT-B (12 blocks, width 768, joint space-time attention) on the 160 visible tokens only
      | Linear 768 -> 384 (no bias)
      | + sinusoidal position (width 384)       [mask token + its position] x 1408
      v                                              v
    decoder (4 blocks, width 384) on all 1568 tokens: [160 visible | 1408 mask tokens]
      | LayerNorm -> Linear 384 -> 2*16*16*3 = 1536 pixels, for the 1408 masked tokens only
      v
    loss: MSE to each masked tubelet's pixels, normalised per tubelet and channel (mean 0, std 1)

    fine-tuning: encoder on all 1568 tokens -> mean over tokens -> LayerNorm (fc_norm) -> Linear -> logits

90% of 1568 tokens would leave about 157 visible; the official ``TubeMaskingGenerator`` counts per time
slot instead: ``int(0.9 * 196) = 176`` masked per slot, so 20 x 8 = 160 tokens stay visible (as here).

Shapes: input ``(B, 3, T, H, W)`` float, normalised like the training data (ImageNet statistics in the
official code), ``T`` a multiple of ``tubelet_size``, ``H, W`` multiples of ``patch_size``; tokens in
``(t h w)`` order. :class:`VideoMAEClassifier` returns ``(B, num_classes)`` logits; :class:`VideoMAEPretrain`
returns a :class:`VideoMAEOutput`: ``pred (B, N_masked, tubelet*P*P*3)`` for the masked tokens in
ascending token order, the scalar ``loss``, and the ``mask (B, N)`` (True = masked). Pixel order inside a
tubelet is ``(t, y, x, c)``, as the official code and Hugging Face.

Against the official code (``modeling_pretrain.py``, ``modeling_finetune.py``, ``masking_generator.py``):
- Same: no key bias (a key bias shifts all of a query's scores equally, so the softmax ignores it; query and
  value biases live in ``attn.qkv``, :class:`QVBiasLinear`), the fixed sinusoid table, LayerNorm eps 1e-6,
  xavier init for pre-training and trunc-normal with ``init_scale`` 0.001 on the head for fine-tuning,
  stochastic depth 0.1 for fine-tuning and 0 for pre-training, the per-channel target normalisation.
- Departures: a clip of another size than the configured one gets the sinusoid table of its own token count
  (what the official code builds when constructed at that size; fewer frames at the same resolution take
  exactly the first rows); the MLP drops out after the GELU too (timm's ViT; the official line is commented
  out) and the pre-training encoder has the fine-tuning model's ``pos_drop``, both no-ops at the official
  dropout 0; the mask count ``int(ratio * n)`` has a 1e-9 guard against float error (0.29 * 100 masks 29,
  not 28); an empty batch is refused by the pre-training model (the classifier returns ``(0, classes)``).
  Layer scale (``init_values``) and learnable position embeddings are not built: the released models use
  neither. Pretrained weights: :mod:`vidlearn.models.hf_videomae`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidlearn.layers.attention import Attention
from vidlearn.layers.checks import check_num_classes, check_video
from vidlearn.layers.masking import (  # noqa: F401 (the paper's masks and targets, re-exported)
    MASKS,
    check_mask,
    frame_mask,
    patchify,
    random_mask,
    reconstruction_loss,
    reconstruction_targets,
    tube_mask,
    unpatchify,
)
from vidlearn.layers.transformer import Mlp, drop_path
from vidlearn.registry import register_model
from vidlearn.weights import load_weights

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the official code normalises clips with these (timm's constants)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class VideoMAEConfig:
    num_classes: int = 400  # Kinetics-400 (fine-tuning; the pre-training model has no classes)
    img_size: int = 224
    patch_size: int = 16
    num_frames: int = 16
    tubelet_size: int = 2  # frames per token: a 2 x 16 x 16 tubelet
    in_chans: int = 3
    embed_dim: int = 768  # ViT-B
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0  # encoder and decoder
    decoder_embed_dim: int = 384  # the paper's ViT-B decoder: half the encoder width, 4 blocks
    decoder_depth: int = 4  # official pretrain.sh: --decoder_depth 4
    decoder_num_heads: int = 6
    mask_type: str = "tube"  # tube, random or frame (see MASKS)
    mask_ratio: float = 0.9
    norm_pix_loss: bool = True  # targets normalised per tubelet and channel (official normlize_target)
    # the per-channel normalisation of the input clips, undone to get the pixel targets (official: ImageNet);
    # None: the clip holds the pixels as they are
    pixel_mean: Optional[Tuple[float, ...]] = IMAGENET_MEAN
    pixel_std: Optional[Tuple[float, ...]] = IMAGENET_STD
    drop_rate: float = 0.0
    attn_drop_rate: float = 0.0
    drop_path_rate: float = 0.1  # official fine-tuning default; pre-training uses 0 (videomae_b_pretrain)
    head_init_scale: float = 0.001  # the classifier's initial weights are scaled by this (official init_scale)
    norm_eps: float = 1e-6  # the blocks' and the pre-training encoder's LayerNorms (official)
    head_norm_eps: float = 1e-6  # fc_norm and the decoder's last LayerNorm (official; Hugging Face: 1e-5)
    encoder_norm: bool = True  # pre-training: a LayerNorm after the encoder (official; dropped for fine-tuning)
    use_sdpa: bool = True  # False: the readable softmax path (same numbers, slower)

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")
        if self.mask_type not in MASKS:
            raise ValueError(f"unknown mask_type {self.mask_type!r}; expected one of {list(MASKS)}")
        if not 0.0 < self.mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1), got {self.mask_ratio!r}")

    @classmethod
    def tiny(cls, **overrides) -> VideoMAEConfig:
        base = cls(num_classes=10, img_size=32, patch_size=8, num_frames=8, embed_dim=32, depth=2, num_heads=2,
                   decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2)
        return replace(base, **overrides)


# --- the encoder ------------------------------------------------------------------------------------------------

def sinusoid_table(num_positions: int, dim: int) -> torch.Tensor:
    """The fixed 1D sine-cosine table of the official code (Transformer style, sin and cos interleaved).

    Computed in float64 like its numpy original. Shape: ``(num_positions, dim)`` float32.
    """
    pos = torch.arange(num_positions, dtype=torch.float64)[:, None]  # (N, 1)
    j = torch.arange(dim, dtype=torch.float64)
    angle = pos / torch.pow(10000.0, 2 * torch.div(j, 2, rounding_mode="floor") / dim)  # (N, dim)
    return torch.where(j.long() % 2 == 0, torch.sin(angle), torch.cos(angle)).float()


class QVBiasLinear(nn.Linear):
    """The ``qkv`` projection with biases for queries and values only (the key bias is always zero)."""

    def __init__(self, dim: int):
        super().__init__(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])  # (3D,)
        return F.linear(x, self.weight, bias)  # (B, L, 3D)


class Block(nn.Module):
    """Pre-norm ViT block, joint attention over all given tokens. Shape: ``(B, L, D) -> (B, L, D)``."""

    def __init__(self, dim: int, num_heads: int, cfg: VideoMAEConfig, drop_path: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=cfg.norm_eps)
        self.attn = Attention(dim, num_heads, False, cfg.attn_drop_rate, cfg.drop_rate, cfg.use_sdpa)
        self.attn.qkv = QVBiasLinear(dim)
        self.norm2 = nn.LayerNorm(dim, eps=cfg.norm_eps)
        self.mlp = Mlp(dim, int(dim * cfg.mlp_ratio), cfg.drop_rate)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + drop_path(self.attn(self.norm1(x)), self.drop_path, self.training)  # (B, L, D)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)  # (B, L, D)


def _blocks(dim: int, depth: int, num_heads: int, cfg: VideoMAEConfig) -> nn.ModuleList:
    rates = [cfg.drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]  # linear in depth (official)
    return nn.ModuleList(Block(dim, num_heads, cfg, r) for r in rates)


class VideoMAEEncoder(nn.Module):
    """Tubelet embedding + fixed position embedding (:meth:`embed`), then ViT blocks on the given tokens.

    Shape: :meth:`embed` ``(B, C, T, H, W)`` -> ``(B, N, D)`` and the grid ``(T', H', W')``;
    :meth:`forward` ``(B, L, D) -> (B, L, D)`` for any subset of ``L`` tokens.
    """

    def __init__(self, cfg: VideoMAEConfig, final_norm: bool, name: str):
        super().__init__()
        if cfg.img_size % cfg.patch_size or cfg.num_frames % cfg.tubelet_size:
            raise ValueError(f"img_size={cfg.img_size} must be a multiple of patch_size={cfg.patch_size} and "
                             f"num_frames={cfg.num_frames} of tubelet_size={cfg.tubelet_size}")
        self.cfg, self.name = cfg, name
        k = (cfg.tubelet_size, cfg.patch_size, cfg.patch_size)
        self.proj = nn.Conv3d(cfg.in_chans, cfg.embed_dim, kernel_size=k, stride=k)
        n = (cfg.num_frames // cfg.tubelet_size) * (cfg.img_size // cfg.patch_size) ** 2
        self.register_buffer("pos_embed", sinusoid_table(n, cfg.embed_dim)[None], persistent=False)  # (1, N, D)
        self.pos_drop = nn.Dropout(cfg.drop_rate)
        self.blocks = _blocks(cfg.embed_dim, cfg.depth, cfg.num_heads, cfg)
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps) if final_norm else nn.Identity()

    def grid(self, x: torch.Tensor) -> Tuple[int, int, int]:
        """Check a clip and return its token grid ``(T', H', W')``."""
        cfg = self.cfg
        p, pt = cfg.patch_size, cfg.tubelet_size
        check_video(x, channels=cfg.in_chans, min_frames=pt, min_size=(p, p), model=self.name)
        _, _, t, h, w = x.shape
        if t % pt or h % p or w % p:
            raise ValueError(
                f"{self.name} cuts clips into {pt} x {p} x {p} tubelets, so T must be a multiple of {pt} and H, W "
                f"of {p}; got T x H x W = {t} x {h} x {w} (shape {tuple(x.shape)}). Sample or crop to e.g. "
                f"{max(pt, t // pt * pt)} x {max(p, h // p * p)} x {max(p, w // p * p)}."
            )
        return t // pt, h // p, w // p

    def embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int, int]]:
        grid = self.grid(x)
        tokens = rearrange(self.proj(x), "b d t h w -> b (t h w) d")  # (B, N, D), N = T'*H'*W'
        pos = self.pos_embed
        if pos.shape[1] != tokens.shape[1]:  # another clip size: the table of its own token count
            pos = sinusoid_table(tokens.shape[1], tokens.shape[2]).to(tokens)[None]  # (1, N, D)
        return self.pos_drop(tokens + pos.to(tokens.dtype)), grid  # (B, N, D)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            tokens = block(tokens)  # (B, L, D)
        return self.norm(tokens)  # (B, L, D)


def _init_linear(module: nn.Module, init: Callable[[torch.Tensor], object]) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            init(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _example(cfg: VideoMAEConfig, batch_size: int, small: bool) -> torch.Tensor:
    t, s = (cfg.tubelet_size, 2 * cfg.patch_size) if small else (cfg.num_frames, cfg.img_size)
    return torch.randn(batch_size, cfg.in_chans, t, s, s)


# --- pre-training -------------------------------------------------------------------------------------------

@dataclass
class VideoMAEOutput:
    """What :class:`VideoMAEPretrain` returns.

    pred: ``(B, N_masked, tubelet*P*P*C)`` predicted (normalised) pixels of the masked tokens, ascending order.
    loss: scalar reconstruction loss (:func:`reconstruction_loss`).
    mask: ``(B, N)`` bool, True = masked (given or drawn).
    """

    pred: torch.Tensor
    loss: torch.Tensor
    mask: torch.Tensor


class VideoMAEPretrain(nn.Module):
    """The masked autoencoder: encoder on the visible tokens, narrow decoder, pixel loss on the masked ones.

    Shape:
        video: ``(B, in_chans, T, H, W)`` float, ``B >= 1``; mask: ``(B, N)`` bool with the same count per row,
        or None to draw ``cfg.mask_type`` masks at ``cfg.mask_ratio`` (from ``generator`` if given).
        returns: :class:`VideoMAEOutput`.
    """

    def __init__(self, cfg: VideoMAEConfig):
        super().__init__()
        self.cfg, self.name = cfg, "VideoMAEPretrain"
        d, dd = cfg.embed_dim, cfg.decoder_embed_dim
        self.encoder = VideoMAEEncoder(cfg, final_norm=cfg.encoder_norm, name=self.name)
        self.encoder_to_decoder = nn.Linear(d, dd, bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dd))  # shared by every masked position
        self.register_buffer("decoder_pos_embed", sinusoid_table(self.encoder.pos_embed.shape[1], dd)[None],
                             persistent=False)  # (1, N, D_dec)
        self.decoder_blocks = _blocks(dd, cfg.decoder_depth, cfg.decoder_num_heads, cfg)
        self.decoder_norm = nn.LayerNorm(dd, eps=cfg.head_norm_eps)
        self.decoder_head = nn.Linear(dd, cfg.tubelet_size * cfg.patch_size ** 2 * cfg.in_chans)
        _init_linear(self, nn.init.xavier_uniform_)  # official pre-training init
        nn.init.trunc_normal_(self.mask_token, std=0.02, a=-0.02, b=0.02)

    def draw_mask(self, batch: int, grid: Sequence[int], generator: Optional[torch.Generator] = None
                  ) -> torch.Tensor:
        """A ``cfg.mask_type`` mask ``(B, T'*H'*W')`` for the token grid ``(T', H', W')``."""
        return MASKS[self.cfg.mask_type](batch, grid[0], grid[1] * grid[2], self.cfg.mask_ratio, generator)

    def forward(self, video: torch.Tensor, mask: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None) -> VideoMAEOutput:
        cfg = self.cfg
        tokens, grid = self.encoder.embed(video)  # (B, N, D)
        b, n, d = tokens.shape
        if b == 0:
            raise ValueError(f"{self.name} needs at least one clip, got an empty batch {tuple(video.shape)}")
        mask = self.draw_mask(b, grid, generator) if mask is None else mask
        mask = mask.to(tokens.device)
        k = check_mask(mask, b, n)
        visible = self.encoder(tokens[~mask].reshape(b, n - k, d))  # (B, N_vis, D): the encoder sees no more
        x = self.encoder_to_decoder(visible)  # (B, N_vis, D_dec)
        pos = self.decoder_pos_embed
        if pos.shape[1] != n:
            pos = sinusoid_table(n, x.shape[-1]).to(x)[None]
        pos = pos.to(x.dtype).expand(b, -1, -1)  # (B, N, D_dec)
        x = torch.cat([x + pos[~mask].reshape(b, n - k, -1),  # visible tokens, ascending order
                       self.mask_token + pos[mask].reshape(b, k, -1)], dim=1)  # then masked: (B, N, D_dec)
        for block in self.decoder_blocks:
            x = block(x)  # (B, N, D_dec)
        pred = self.decoder_head(self.decoder_norm(x[:, -k:]))  # (B, N_masked, tubelet*P*P*C)
        loss = reconstruction_loss(pred, video, mask, cfg.tubelet_size, cfg.patch_size, cfg.norm_pix_loss,
                                   cfg.pixel_mean, cfg.pixel_std)
        return VideoMAEOutput(pred, loss, mask)

    @property
    def min_size(self) -> Tuple[int, int]:
        return (self.cfg.patch_size, self.cfg.patch_size)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: one time slot of a 2 x 2 patch grid)."""
        return _example(self.cfg, batch_size, small)


# --- fine-tuning --------------------------------------------------------------------------------------------

class VideoMAEClassifier(nn.Module):
    """The fine-tuning model: the encoder on all tokens, mean pooling, LayerNorm, linear head.

    Shape:
        x: ``(B, in_chans, T, H, W)`` float, ``T`` a multiple of ``tubelet_size``, ``H, W`` of ``patch_size``.
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: VideoMAEConfig):
        super().__init__()
        self.cfg, self.name = cfg, "VideoMAE"
        self.encoder = VideoMAEEncoder(cfg, final_norm=False, name=self.name)  # official use_mean_pooling
        self.fc_norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.head_norm_eps)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)
        _init_linear(self, lambda w: nn.init.trunc_normal_(w, std=0.02))  # official fine-tuning init
        with torch.no_grad():
            self.head.weight.mul_(cfg.head_init_scale)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features, ``(B, C, T, H, W) -> (B, D)``."""
        tokens, _ = self.encoder.embed(x)  # (B, N, D)
        return self.fc_norm(self.encoder(tokens).mean(1))  # (B, D)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))  # (B, num_classes)

    def load_encoder(self, source: Union[VideoMAEPretrain, Mapping[str, torch.Tensor]]) -> VideoMAEClassifier:
        """Copy a pre-trained encoder (a :class:`VideoMAEPretrain` or its state dict) into this model.

        As the official fine-tuning, the pre-training encoder's final LayerNorm and the decoder are dropped;
        ``fc_norm`` and ``head`` keep their fresh initialisation. Shapes must match (errors give both).
        """
        state = source.state_dict() if isinstance(source, nn.Module) else source
        encoder = {k[len("encoder."):]: v for k, v in state.items()
                   if k.startswith("encoder.") and not k.startswith("encoder.norm.")}
        load_weights(self.encoder, encoder)
        return self

    @classmethod
    def from_pretrained_encoder(cls, pretrain: VideoMAEPretrain, **overrides) -> VideoMAEClassifier:
        """A classifier with ``pretrain``'s config (``overrides``, e.g. ``num_classes=10``) and encoder."""
        return cls(replace(pretrain.cfg, **overrides)).load_encoder(pretrain)

    @property
    def min_size(self) -> Tuple[int, int]:
        """The smallest H x W: one patch (and H, W multiples of ``patch_size``)."""
        return (self.cfg.patch_size, self.cfg.patch_size)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: one time slot of a 2 x 2 patch grid)."""
        return _example(self.cfg, batch_size, small)


def _config(tiny: bool, overrides: dict) -> VideoMAEConfig:
    return VideoMAEConfig.tiny(**overrides) if tiny else replace(VideoMAEConfig(), **overrides)


@register_model
def videomae_b(tiny: bool = False, **overrides) -> VideoMAEClassifier:
    """VideoMAE ViT-B for fine-tuning (Tong et al. 2022): 16 x 224 x 224, 2 x 16 x 16 tubelets, K400 head."""
    return VideoMAEClassifier(_config(tiny, overrides))


def videomae_b_pretrain(tiny: bool = False, **overrides) -> VideoMAEPretrain:
    """VideoMAE ViT-B pre-training model: 90% tube masking, 4-block decoder of width 384, no stochastic depth.

    Not registered: it returns a reconstruction, not logits.
    """
    return VideoMAEPretrain(_config(tiny, {"drop_path_rate": 0.0, **overrides}))
