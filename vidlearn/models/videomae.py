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

import math
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidlearn.layers.attention import Attention
from vidlearn.layers.checks import check_num_classes, check_video
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


# --- masking: which tokens the encoder may see ---------------------------------------------------------------

def _num_masked(ratio: float, n: int, what: str) -> int:
    """``int(ratio * n)`` as the official generator counts (the tiny guard keeps 0.29 * 100 at 29)."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"mask ratio must be in (0, 1), got {ratio!r}")
    k = math.floor(ratio * n + 1e-9)
    if not 0 < k < n:
        raise ValueError(f"mask ratio {ratio} of {n} {what} masks {k}; at least one must be masked and one "
                         "visible")
    return k


def _hw(grid_hw: Union[int, Sequence[int]]) -> int:
    return grid_hw if isinstance(grid_hw, int) else int(grid_hw[0]) * int(grid_hw[1])


def _choose(batch: int, n: int, k: int, generator: Optional[torch.Generator]) -> torch.Tensor:
    """``(B, n)`` bool with exactly ``k`` True per row at uniformly random places."""
    order = torch.rand(batch, n, generator=generator).argsort(dim=1)  # (B, n): a random permutation per row
    return torch.zeros(batch, n, dtype=torch.bool).scatter_(1, order[:, :k], True)


def tube_mask(batch: int, grid_t: int, grid_hw: Union[int, Sequence[int]], ratio: float = 0.9,
              generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """VideoMAE's tube mask: the same ``int(ratio * H'W')`` spatial positions hidden in every time slot.

    ``grid_hw`` is ``H' * W'`` or ``(H', W')``. Returns ``(B, T'*H'*W')`` bool in ``(t h w)`` order, True =
    masked; every sample draws its own positions (from ``generator``, else torch's global generator).
    """
    hw = _hw(grid_hw)
    per_slot = _choose(batch, hw, _num_masked(ratio, hw, "positions of a time slot"), generator)  # (B, H'W')
    return per_slot.repeat(1, grid_t)  # (B, T'*H'W'): slot after slot, the same positions


def random_mask(batch: int, grid_t: int, grid_hw: Union[int, Sequence[int]], ratio: float = 0.9,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Random masking (paper Fig. 3b): ``int(ratio * N)`` tokens hidden anywhere, ``N = T'*H'*W'``.

    Shape and meaning as :func:`tube_mask`.
    """
    n = grid_t * _hw(grid_hw)
    return _choose(batch, n, _num_masked(ratio, n, "tokens"), generator)  # (B, N)


def frame_mask(batch: int, grid_t: int, grid_hw: Union[int, Sequence[int]], ratio: float = 0.9,
               generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Frame masking (paper Fig. 3c): ``int(ratio * T')`` whole time slots hidden.

    Shape and meaning as :func:`tube_mask`.
    """
    slots = _choose(batch, grid_t, _num_masked(ratio, grid_t, "time slots"), generator)  # (B, T')
    return slots.repeat_interleave(_hw(grid_hw), dim=1)  # (B, T'*H'W')


MASKS: Dict[str, Callable[..., torch.Tensor]] = {"tube": tube_mask, "random": random_mask, "frame": frame_mask}


def check_mask(mask: torch.Tensor, batch: int, num_tokens: int) -> int:
    """Check a ``(B, N)`` bool mask with the same number of masked tokens in every row; return that number."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != (batch, num_tokens):
        got = f"{tuple(mask.shape)} {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"VideoMAE expects a bool mask of shape (B, N) = ({batch}, {num_tokens}), got {got}")
    counts = mask.sum(1)
    k = int(counts[0]) if batch else 0
    if batch and (counts != k).any():
        raise ValueError(f"every clip must have the same number of masked tokens, got {counts.tolist()}")
    if batch and not 0 < k < num_tokens:
        raise ValueError(f"the mask hides {k} of {num_tokens} tokens; at least one must be masked and one visible")
    return k


# --- pixel targets --------------------------------------------------------------------------------------------

def patchify(video: torch.Tensor, tubelet_size: int = 2, patch_size: int = 16) -> torch.Tensor:
    """Cut ``(B, C, T, H, W)`` into tubelets: ``(B, N, tubelet*P*P*C)``, tokens ``(t h w)``, pixels ``(t y x c)``."""
    return rearrange(video, "b c (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw c)", pt=tubelet_size,
                     ph=patch_size, pw=patch_size)


def unpatchify(patches: torch.Tensor, grid: Sequence[int], tubelet_size: int = 2, patch_size: int = 16
               ) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(B, N, tubelet*P*P*C)`` and the grid ``(T', H', W')`` -> ``(B, C, T, H, W)``."""
    t, h, w = grid
    return rearrange(patches, "b (t h w) (pt ph pw c) -> b c (t pt) (h ph) (w pw)", t=t, h=h, w=w,
                     pt=tubelet_size, ph=patch_size, pw=patch_size)


def reconstruction_targets(video: torch.Tensor, tubelet_size: int = 2, patch_size: int = 16,
                           norm_pix: bool = True, mean: Optional[Sequence[float]] = None,
                           std: Optional[Sequence[float]] = None) -> torch.Tensor:
    """The pixels to predict, ``(B, N, tubelet*P*P*C)``.

    ``mean``/``std`` (per channel) undo the input normalisation first. With ``norm_pix`` each tubelet's
    pixels are normalised *per channel* over its ``tubelet*P*P`` values, with the unbiased std plus 1e-6, as
    the official ``engine_for_pretraining.py`` (and Hugging Face) do.
    """
    if mean is not None and std is not None:
        m = torch.as_tensor(mean, dtype=video.dtype, device=video.device).view(1, -1, 1, 1, 1)  # (1, C, 1, 1, 1)
        s = torch.as_tensor(std, dtype=video.dtype, device=video.device).view(1, -1, 1, 1, 1)
        video = video * s + m  # pixels, in [0, 1] for the official pipeline
    if not norm_pix:
        return patchify(video, tubelet_size, patch_size)
    p = rearrange(video, "b c (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw) c", pt=tubelet_size, ph=patch_size,
                  pw=patch_size)  # (B, N, tubelet*P*P, C)
    p = (p - p.mean(dim=-2, keepdim=True)) / (p.var(dim=-2, unbiased=True, keepdim=True).sqrt() + 1e-6)
    return rearrange(p, "b n p c -> b n (p c)")  # (B, N, tubelet*P*P*C)


def reconstruction_loss(pred: torch.Tensor, video: torch.Tensor, mask: torch.Tensor, tubelet_size: int = 2,
                        patch_size: int = 16, norm_pix: bool = True, mean: Optional[Sequence[float]] = None,
                        std: Optional[Sequence[float]] = None) -> torch.Tensor:
    """Mean squared error on the masked tubelets only (visible tokens never count).

    Shape: ``pred`` ``(B, N_masked, D_pix)`` (the masked tokens in ascending order, as the model returns) or
    ``(B, N, D_pix)`` (every token; only the masked ones are used); ``video`` ``(B, C, T, H, W)``; ``mask``
    ``(B, N)`` bool, True = masked. Returns a scalar.
    """
    with torch.no_grad():
        target = reconstruction_targets(video, tubelet_size, patch_size, norm_pix, mean, std)  # (B, N, D_pix)
    b, n, d = target.shape
    k = check_mask(mask, b, n)
    if tuple(pred.shape) == (b, n, d):
        pred = pred[mask].reshape(b, k, d)  # (B, N_masked, D_pix): keep the masked tokens' predictions
    if tuple(pred.shape) != (b, k, d):
        raise ValueError(f"expected predictions of shape (B, N_masked, D_pix) = {(b, k, d)} or (B, N, D_pix) = "
                         f"{(b, n, d)}, got {tuple(pred.shape)}")
    return F.mse_loss(pred, target[mask].reshape(b, k, d))


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


# --- helpers for the chapter: a pre-training loop, reconstructions, the copy-from-a-neighbour baseline ----------

def pretrain(model: VideoMAEPretrain, clips: Union[torch.Tensor, torch.utils.data.Dataset], *, epochs: int,
             batch_size: int = 16, lr: float = 1e-3, weight_decay: float = 0.05, warmup: float = 0.1,
             seed: int = 0) -> List[float]:
    """Pre-train ``model`` on unlabelled ``clips``; return the mean reconstruction loss of every epoch.

    ``clips`` is a tensor ``(N, C, T, H, W)`` or a dataset of ``(clip, label)`` (labels are ignored). As the
    official recipe, in miniature: AdamW with betas (0.9, 0.95), a linear warm-up over the first ``warmup``
    share of the steps, then a cosine decay to zero; a fresh mask for every clip of every step (drawn from a
    generator seeded with ``seed``, like the shuffling). Runs on the model's device; the model ends in eval mode.
    """
    if isinstance(clips, torch.utils.data.Dataset):
        clips = torch.stack([clips[i][0] for i in range(len(clips))])  # (N, C, T, H, W)
    if epochs < 1 or batch_size < 1 or len(clips) == 0:
        raise ValueError(f"pretrain needs epochs >= 1, batch_size >= 1 and clips; got {epochs}, {batch_size}, "
                         f"{len(clips)} clips")
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    steps = epochs * math.ceil(len(clips) / batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=weight_decay)
    warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm else
                                              0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))
    losses = []
    model.train()
    for _ in range(epochs):
        order, total = torch.randperm(len(clips), generator=g), 0.0
        for i in range(0, len(clips), batch_size):
            x = clips[order[i:i + batch_size]].to(device, torch.float32)  # (B, C, T, H, W)
            loss = model(x, generator=g).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(x)
        losses.append(total / len(clips))
    model.eval()
    return losses


def _pixels(video: torch.Tensor, cfg: VideoMAEConfig) -> torch.Tensor:
    """Undo the input normalisation: the clip's pixels (as ``reconstruction_targets`` does)."""
    if cfg.pixel_mean is None or cfg.pixel_std is None:
        return video
    m = torch.as_tensor(cfg.pixel_mean, dtype=video.dtype, device=video.device).view(1, -1, 1, 1, 1)
    s = torch.as_tensor(cfg.pixel_std, dtype=video.dtype, device=video.device).view(1, -1, 1, 1, 1)
    return video * s + m


@torch.no_grad()
def reconstruct(model: VideoMAEPretrain, video: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The clip as the model paints it: visible tubelets as they are, masked ones predicted, in pixels.

    With normalised targets (``norm_pix_loss``) a prediction is mapped back to pixels with the mean and std of
    the true tubelet, per channel, as the MAE papers draw their figures (the model never predicts those two).
    Shape: ``video (B, C, T, H, W)`` normalised as the model's inputs, ``mask (B, N)``; returns the pixels
    ``(B, C, T, H, W)`` (the input normalisation undone).
    """
    cfg = model.cfg
    model.eval()
    pred = model(video, mask=mask).pred  # (B, N_masked, D_pix)
    pixels = _pixels(video, cfg)
    patches = patchify(pixels, cfg.tubelet_size, cfg.patch_size)  # (B, N, D_pix), (pt ph pw c)
    b, n, d = patches.shape
    c = cfg.in_chans
    if cfg.norm_pix_loss:
        p = patches.view(b, n, d // c, c)  # (B, N, pt*P*P, C)
        mean, std = p.mean(-2, keepdim=True), p.var(-2, unbiased=True, keepdim=True).sqrt() + 1e-6
        k = pred.shape[1]
        pred = (pred.view(b, k, d // c, c) * std[mask].view(b, k, 1, c) + mean[mask].view(b, k, 1, c))
        pred = pred.reshape(b, k, d)
    out = patches.clone()
    out[mask] = pred.reshape(-1, d).to(out.dtype)
    grid = (pixels.shape[2] // cfg.tubelet_size, pixels.shape[3] // cfg.patch_size,
            pixels.shape[4] // cfg.patch_size)
    return unpatchify(out, grid, cfg.tubelet_size, cfg.patch_size)  # (B, C, T, H, W)


def copy_from_neighbours(patches: torch.Tensor, mask: torch.Tensor, grid_t: int) -> torch.Tensor:
    """A baseline that learns nothing: fill every masked tubelet by copying a visible one from another time.

    For each masked token it takes the visible token at the *same spatial position* in the nearest time slot
    (the earlier one on a tie); where that position is masked in every slot (always, under tube masking) it
    falls back to the mean of the clip's visible tokens. Shape: ``patches (B, N, D)`` in ``(t h w)`` order,
    ``mask (B, N)`` bool (True = masked); returns ``(B, N, D)`` with the masked rows filled.
    """
    b, n, d = patches.shape
    if n % grid_t:
        raise ValueError(f"{n} tokens do not split into {grid_t} time slots")
    hw = n // grid_t
    x, m = patches.view(b, grid_t, hw, d), mask.view(b, grid_t, hw)  # (B, T', H'W', D)
    vis = (~mask).unsqueeze(-1).to(patches.dtype)  # (B, N, 1)
    fallback = (patches * vis).sum(1) / vis.sum(1).clamp(min=1)  # (B, D): the mean visible token
    out = x.clone()
    for t in range(grid_t):
        filled = ~m[:, t]  # (B, H'W'): visible here, nothing to fill
        out[:, t][m[:, t]] = fallback[:, None].expand(b, hw, d)[m[:, t]]
        for dt in range(1, grid_t):  # nearest slots first, earlier before later
            for s in (t - dt, t + dt):
                if 0 <= s < grid_t:
                    take = ~filled & ~m[:, s]  # (B, H'W'): still empty here, visible there
                    out[:, t][take] = x[:, s][take]
                    filled = filled | take
    return out.view(b, n, d)
