"""ViViT: the four variants, paper parameter counts, tubelet initialisation, the coincidences with TimeSformer
(proved with mapped weights), analytic attention cost against counted FLOPs, and the Hugging Face loader."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import vidlearn
from vidlearn.layers.attention import softmax_attention
from vidlearn.layers.attention_pattern import block_flops, step_mask
from vidlearn.models.hf_vivit import config_from_hf, convert_hf_state_dict, load_hf_vivit, vivit_from_hf
from vidlearn.models.timesformer import TimeSformer, TimeSformerConfig
from vidlearn.models.vivit import (
    VARIANTS,
    Block,
    FactorisedSelfAttentionBlock,
    TubeletEmbed,
    ViViT,
    ViViTConfig,
    attention_cost,
    inflate_patch_embedding,
)
from vidlearn.profile import count_flops
from vidlearn.weights import WeightsFileError

MODELS = {"spatio_temporal": "vivit_b_16x2", "factorised_encoder": "vivit_b_16x2_fe",
          "factorised_self_attention": "vivit_b_16x2_fsa", "factorised_dot_product": "vivit_b_16x2_fdp"}
# ViViT-B/16x2 at 32 x 224 x 224 with a K400 head. Paper Table 2 (Arnab et al. 2021, "Comparison of model
# architectures", ViViT-B, 16x2 tubelets): 88.9M, 115.1M, 117.3M, 88.9M params (Model 2's average-pooling
# baseline, a spatial encoder only: 86.7M)
PAPER_PARAMS = {"spatio_temporal": 88_954_000, "factorised_encoder": 115_062_928,
                "factorised_self_attention": 117_319_312, "factorised_dot_product": 88_952_464}


def _tiny(variant: str, **overrides) -> ViViT:
    torch.manual_seed(0)
    return vidlearn.create_model(MODELS[variant], tiny=True, **overrides)


def _randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every weight (the zero-initialised ones too) a random value; LayerNorm scales stay near 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm_scale = p.dim() == 1 and name.endswith("weight") and "norm" in name
            p.copy_(torch.randn(p.shape, generator=g) * 0.1 + float(is_norm_scale))
    return model


def _close(a, b, **kw):
    torch.testing.assert_close(a, b, atol=kw.get("atol", 1e-5), rtol=kw.get("rtol", 1e-4))


# --- the variants ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_trains_at_tiny_size_on_8_frames_of_32x32(variant):
    model = _tiny(variant)
    assert model.cfg.variant == variant and model.cfg.with_cls == (variant in VARIANTS[:2])
    x = model.example_input()
    assert x.shape == (2, 3, 8, 32, 32) and model.example_input(small=True).shape == (2, 3, 4, 16, 16)
    logits = model(x)
    assert logits.shape == (2, 10)
    logits.logsumexp(-1).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.patch_embed.proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_paper_size_parameter_counts_match_table_2(variant):
    with torch.device("meta"):
        model = vidlearn.create_model(MODELS[variant])
    assert sum(p.numel() for p in model.parameters()) == PAPER_PARAMS[variant]
    cfg = model.cfg
    assert (cfg.img_size, cfg.num_frames, cfg.tubelet_size, cfg.num_classes) == (224, 32, (2, 16, 16), 400)
    assert (cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.temporal_depth) == (768, 12, 12, 4)
    assert cfg.grid == (16, 14, 14)  # 3136 tubelets


def test_hugging_face_default_config_has_our_model_1_parameter_count():
    transformers = pytest.importorskip("transformers")
    with torch.device("meta"):  # google/vivit-b-16x2-kinetics400's config, as VivitConfig's defaults
        hf = transformers.VivitForVideoClassification(transformers.VivitConfig(num_labels=400))
    assert sum(p.numel() for p in hf.parameters()) == PAPER_PARAMS["spatio_temporal"]
    assert config_from_hf(hf.config) == ViViTConfig()


def test_factories_fix_their_variant_and_configs_refuse_what_the_paper_does_not_define():
    assert vidlearn.create_model("vivit_b_16x2", tiny=True, variant="factorised_encoder").cfg.variant == VARIANTS[1]
    with pytest.raises(ValueError, match="vivit_b_16x2_fe fixes variant='factorised_encoder'"):
        vidlearn.create_model("vivit_b_16x2_fe", tiny=True, variant="spatio_temporal")
    with pytest.raises(ValueError, match="unknown ViViT variant 'joint'"):
        ViViTConfig(variant="joint")
    with pytest.raises(ValueError, match="factorised_self_attention has no class token"):
        ViViTConfig(variant="factorised_self_attention", pool="token")
    with pytest.raises(ValueError, match="splits the heads in two halves, got num_heads=3"):
        ViViTConfig.tiny(variant="factorised_dot_product", num_heads=3, embed_dim=24)
    with pytest.raises(ValueError, match=r"num_frames=7 must be multiples of the tubelet_size=\(2, 8, 8\)"):
        ViViTConfig.tiny(num_frames=7)
    assert not _tiny("spatio_temporal", pool="gap").cfg.with_cls


def test_bad_input_gets_a_clear_error():
    model = _tiny("spatio_temporal").eval()
    with pytest.raises(ValueError, match=r"T, H and W must be multiples of 2, 8 and 8; got T x H x W = 3 x 32 x 32"):
        model(torch.randn(1, 3, 3, 32, 32))
    with pytest.raises(ValueError, match=r"multiples of 2, 8 and 8; got T x H x W = 8 x 36 x 32"):
        model(torch.randn(1, 3, 8, 36, 32))
    with pytest.raises(ValueError, match=r"at most num_frames=8 frames, got T=10"):
        model(torch.randn(1, 3, 10, 32, 32))
    with pytest.raises(ValueError, match=r"C=3 channels .* got C=8"):
        model(torch.randn(1, 8, 4, 32, 32))
    with pytest.raises(ValueError, match=r"at least T=2 frames"):
        model(torch.randn(1, 3, 1, 32, 32))


@pytest.mark.parametrize("variant", VARIANTS)
def test_fewer_frames_and_other_sizes_resample_the_position_embeddings(variant):
    model = _tiny(variant).eval()
    with torch.no_grad():
        for shape in [(1, 3, 4, 32, 32), (2, 3, 8, 16, 40), (1, 3, 2, 8, 8)]:
            out = model(torch.randn(shape))
            assert out.shape == (shape[0], 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_sdpa_and_readable_paths_give_the_same_logits_and_eval_is_dropout_free(variant):
    fused = _randomise(_tiny(variant, drop_rate=0.3, attn_drop_rate=0.3, drop_path_rate=0.3)).eval()
    readable = _tiny(variant, use_sdpa=False).eval()
    readable.load_state_dict(fused.state_dict())
    x = torch.randn(2, 3, 6, 24, 32)  # 3 x 3 x 4 tubelets
    with torch.no_grad():
        _close(fused(x), readable(x))
        fused.train()
        assert not torch.allclose(fused(x), fused(x))


def test_weights_argument_loads_a_vidlearn_state_dict():
    model = _randomise(_tiny("factorised_encoder")).eval()
    copy = vidlearn.create_model("vivit_b_16x2_fe", tiny=True, weights=model.state_dict()).eval()
    x = model.example_input(1)
    with torch.no_grad():
        assert torch.equal(model(x), copy(x))


# --- tubelets and their initialisation ------------------------------------------------------------------

def test_tubelet_tokens_are_ordered_t_h_w():
    embed = TubeletEmbed((2, 4, 4), 1, 1)
    with torch.no_grad():
        embed.proj.weight.fill_(1.0), embed.proj.bias.zero_()
    x = torch.zeros(1, 1, 6, 8, 12)  # 3 x 2 x 3 tubelets
    x[0, 0, 2:4, 4:8, 8:12] = 1  # the tubelet at (t, h, w) = (1, 1, 2)
    tokens, grid = embed(x)
    assert grid == (3, 2, 3) and tokens.shape == (1, 18, 1)
    assert tokens[0, :, 0].nonzero().flatten().tolist() == [(1 * 2 + 1) * 3 + 2]


def test_central_frame_and_filter_inflation_reproduce_the_image_patch_embedding():
    torch.manual_seed(0)
    conv2d = nn.Conv2d(3, 16, 8, stride=8)
    frames = torch.randn(2, 3, 3, 16, 16)  # 3 frames: the centre of a 3-frame tubelet is frame 1
    static = frames[:, :, 1:2].repeat(1, 1, 3, 1, 1)  # frame 1 three times
    for method, clip in [("central_frame", frames), ("filter_inflation", static)]:
        embed = TubeletEmbed((3, 8, 8), 3, 16)
        embed.load_2d(conv2d.weight, conv2d.bias, method)
        tokens, _ = embed(clip)  # (B, 1*2*2, D)
        expected = conv2d(clip[:, :, 1]).flatten(2).transpose(1, 2)  # (B, 2*2, D)
        _close(tokens, expected)
    w = inflate_patch_embedding(conv2d.weight, 2)  # even t: the centre is t // 2 = 1, as the official code
    assert w.shape == (16, 3, 2, 8, 8) and not w[:, :, 0].any() and torch.equal(w[:, :, 1], conv2d.weight)
    _close(inflate_patch_embedding(conv2d.weight, 4, "filter_inflation").sum(2), conv2d.weight)
    with pytest.raises(ValueError, match="method must be one of"):
        inflate_patch_embedding(conv2d.weight, 2, "centre")


def test_model_3_temporal_attention_starts_as_the_identity_and_can_still_learn():
    model = _tiny("factorised_self_attention").eval()
    x = model.example_input(2)
    before = model(x)
    for block in model.encoder.blocks:
        time = block.steps["time"]["attn"]
        assert not time.proj.weight.any()
        with torch.no_grad():
            time.qkv.weight.normal_()
    _close(model(x), before)  # the temporal attention cannot change anything yet
    model(x).sum().backward()
    assert model.encoder.blocks[0].steps["time"]["attn"].proj.weight.grad.abs().sum() > 0


def test_zeroing_every_temporal_msa_weight_as_the_paper_says_would_leave_it_without_gradient():
    """Why we zero the output projection only: with query, key, value and output all zero, no gradient
    reaches them, so the temporal attention could never start to act."""
    model = _tiny("factorised_self_attention").train()
    with torch.no_grad():
        for block in model.encoder.blocks:
            for p in block.steps["time"]["attn"].parameters():
                p.zero_()
    model(model.example_input(2)).logsumexp(-1).sum().backward()
    time = model.encoder.blocks[0].steps["time"]["attn"]
    assert not time.qkv.weight.grad.any() and not time.proj.weight.grad.any()
    assert time.proj.bias.grad.abs().sum() > 0  # only the output bias learns


def test_model_3_runs_its_steps_in_the_configured_order_and_the_order_changes_the_output():
    space_first = _randomise(_tiny("factorised_self_attention")).eval()
    time_first = _tiny("factorised_self_attention", factorised_order="time_space").eval()
    assert list(space_first.encoder.blocks[0].steps) == ["space", "time"]
    assert list(time_first.encoder.blocks[0].steps) == ["time", "space"]
    time_first.load_state_dict(space_first.state_dict())  # same names: only the order differs
    x = space_first.example_input(1)
    with torch.no_grad():
        assert not torch.allclose(space_first(x), time_first(x), atol=1e-4)


def test_model_4_heads_are_joint_attention_masked_to_time_for_the_first_half_and_space_for_the_second():
    torch.manual_seed(0)
    block = _tiny("factorised_dot_product", use_sdpa=False).encoder.blocks[0]
    attn, grid = _randomise(block.attn).eval(), (3, 2, 2)
    x = torch.randn(2, 12, 32)  # (B, n_t*N, D)
    q, k, v = attn.qkv(x).view(2, 12, 3, 4, 8).permute(2, 0, 3, 1, 4)  # (B, nh, L, hd) each
    masks = [step_mask("time", *grid), step_mask("space", *grid)]  # same position / same time index
    outs = [softmax_attention(q[:, h], k[:, h], v[:, h], masks[h >= 2])[0] for h in range(4)]  # (B, L, hd)
    expected = attn.proj(torch.cat(outs, dim=-1))  # (B, L, D)
    with torch.no_grad():
        _close(attn(x, grid), expected)


# --- what coincides with TimeSformer: the same weights mapped, the same outputs ----------------------------

def _timesformer(attention: str) -> TimeSformer:
    torch.manual_seed(1)
    cfg = TimeSformerConfig.tiny(attention=attention, img_size=32, patch_size=8, num_frames=4, embed_dim=32,
                                 depth=2, num_heads=4, drop_path_rate=0.0)
    return _randomise(TimeSformer(cfg), seed=1).eval()


def _vivit_like(ts: TimeSformer, variant: str, **overrides) -> ViViT:
    """ViViT with TimeSformer's sizes: 1-frame tubelets (its 2D patches) and the exact GELU."""
    c = ts.cfg
    return ViViT(ViViTConfig.tiny(variant=variant, img_size=c.img_size, num_frames=c.num_frames,
                                  tubelet_size=(1, c.patch_size, c.patch_size), embed_dim=c.embed_dim,
                                  depth=c.depth, num_heads=c.num_heads, mlp_ratio=c.mlp_ratio, gelu="none",
                                  **overrides)).eval()


def _common(ts: TimeSformer):
    """Embedding, MLPs, norm and head: shared by every mapping. TimeSformer's space + time embeddings add up
    to one embedding per (t h w) position."""
    s = ts.state_dict()
    full = (ts.pos_embed[:, None, 1:] + ts.time_embed[:, :, None]).flatten(1, 2) if ts.time_embed is not None else None
    out = {"patch_embed.proj.weight": s["patch_embed.proj.weight"][:, :, None], "patch_embed.proj.bias":
           s["patch_embed.proj.bias"], "head.weight": s["head.weight"], "head.bias": s["head.bias"]}
    return out, s, full


def _block_mlp(s: dict, src: str, dst: str) -> dict:
    return {f"{dst}.{n}": s[f"{src}.{n}"] for n in ("norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                                                     "mlp.fc2.weight", "mlp.fc2.bias")}


def test_model_1_with_one_frame_tubelets_is_timesformer_joint_attention():
    ts = _timesformer("joint")
    vivit = _vivit_like(ts, "spatio_temporal")
    state, s, full = _common(ts)
    state["encoder.cls_token"] = s["cls_token"]
    state["encoder.pos_embed"] = torch.cat([s["pos_embed"][:, :1], full], dim=1)  # (1, 1 + T*N, D)
    state["encoder.norm.weight"], state["encoder.norm.bias"] = s["norm.weight"], s["norm.bias"]
    for i in range(ts.cfg.depth):
        src, dst = f"blocks.{i}", f"encoder.blocks.{i}"
        for a, b in (("norm1", "steps.space_time.norm"), ("attn.qkv", "steps.space_time.attn.qkv"),
                     ("attn.proj", "steps.space_time.attn.proj")):
            for n in ("weight", "bias"):
                state[f"{dst}.{a}.{n}"] = s[f"{src}.{b}.{n}"]
        state.update(_block_mlp(s, src, dst))
    vivit.load_state_dict(state)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        _close(vivit(x), ts(x))


def _fsa_from_divided(ts: TimeSformer) -> ViViT:
    vivit = _vivit_like(ts, "factorised_self_attention", factorised_order="time_space")
    state, s, full = _common(ts)
    state["encoder.pos_embed"] = full  # (1, T*N, D): no class token
    state["encoder.norm.weight"], state["encoder.norm.bias"] = s["norm.weight"], s["norm.bias"]
    for i in range(ts.cfg.depth):
        src, dst = f"blocks.{i}.steps", f"encoder.blocks.{i}.steps"
        for step in ("time", "space"):
            for n in ("norm.weight", "norm.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                      "attn.proj.bias"):
                state[f"{dst}.{step}.{n}"] = s[f"{src}.{step}.{n}"]
        # TimeSformer's temporal_fc after the temporal attention's projection: two linear maps are one
        fc_w, fc_b = s[f"{src}.time.fc.weight"], s[f"{src}.time.fc.bias"]
        state[f"{dst}.time.attn.proj.weight"] = fc_w @ s[f"{src}.time.attn.proj.weight"]
        state[f"{dst}.time.attn.proj.bias"] = fc_w @ s[f"{src}.time.attn.proj.bias"] + fc_b
        state.update(_block_mlp(s, f"blocks.{i}", f"encoder.blocks.{i}"))
    vivit.load_state_dict(state)
    return vivit


def test_model_3_in_time_space_order_is_timesformer_divided_without_its_class_token_and_with_average_pooling():
    ts = _timesformer("divided")
    vivit = _fsa_from_divided(ts)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        real_timesformer = ts(x)
        for block in ts.blocks:  # keep the class token out of the spatial attention: patches cannot read it
            block.steps["space"].with_cls = False
        tokens, cls, grid = ts.embed(x)
        for block in ts.blocks:
            tokens, cls, _ = block(tokens, cls, grid)
        without_cls = ts.head(ts.norm(tokens).mean(1))  # LayerNorm, then global average pooling
        _close(vivit(x), without_cls)
        assert not torch.allclose(vivit(x), real_timesformer, atol=1e-3)  # the class token makes the difference
        space_first = _vivit_like(ts, "factorised_self_attention")
        space_first.load_state_dict(vivit.state_dict())
        assert not torch.allclose(space_first(x), without_cls, atol=1e-3)  # and so does the paper's order


def test_model_2_spatial_encoder_is_timesformer_space_only_frame_by_frame():
    ts = _timesformer("space")
    vivit = _vivit_like(ts, "factorised_encoder")
    state, s, _ = _common(ts)
    state = {**{k: v for k, v in vivit.state_dict().items() if k.startswith("temporal.")}, **state}
    state.update({"spatial.cls_token": s["cls_token"], "spatial.pos_embed": s["pos_embed"],
                  "spatial.norm.weight": s["norm.weight"], "spatial.norm.bias": s["norm.bias"]})
    for i in range(ts.cfg.depth):
        src, dst = f"blocks.{i}", f"spatial.blocks.{i}"
        for a, b in (("norm1", "steps.space.norm"), ("attn.qkv", "steps.space.attn.qkv"),
                     ("attn.proj", "steps.space.attn.proj")):
            for n in ("weight", "bias"):
                state[f"{dst}.{a}.{n}"] = s[f"{src}.{b}.{n}"]
        state.update(_block_mlp(s, src, dst))
    vivit.load_state_dict(state)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        tokens, cls, grid = ts.embed(x)  # (B*T, N, D): every frame an image
        for block in ts.blocks:
            tokens, cls, _ = block(tokens, cls, grid)
        per_frame = ts.norm(cls[:, 0]).view(2, 4, -1)  # (B, T, D)
        ours, (nt, nh, nw) = vivit.embed(x)
        frames = ours.reshape(2 * nt, nh * nw, -1)  # (B*n_t, N, D)
        h = vivit.spatial.pool(vivit.spatial(frames, (1, nh, nw))).view(2, nt, -1)  # what the temporal encoder reads
        _close(h, per_frame)


# --- attention cost: analytic against counted ----------------------------------------------------------

class _Probe(nn.Module):
    def __init__(self, block: nn.Module, grid):
        super().__init__()
        self.block, self.grid = block, grid

    def forward(self, x):
        return self.block(x, self.grid)


@pytest.mark.parametrize("variant", VARIANTS)
def test_attention_cost_matches_the_flops_torch_counts_for_one_block(variant):
    cfg = ViViTConfig.tiny(variant=variant, use_sdpa=False)
    T, h, w, D = 4, 3, 2, cfg.embed_dim
    if variant == "factorised_self_attention":
        block, grid, x = FactorisedSelfAttentionBlock(cfg, 0.0), (T, h, w), torch.randn(1, T * h * w, D)
    elif variant == "factorised_encoder":  # one spatial layer over the T frames: T images of N tokens
        block, grid, x = Block(cfg, 0.0), (1, h, w), torch.randn(T, h * w, D)
    else:
        block = Block(cfg, 0.0, "dot_product" if variant == "factorised_dot_product" else "joint")
        grid, x = (T, h, w), torch.randn(1, T * h * w, D)
    assert count_flops(_Probe(block, grid), x) == attention_cost(variant, T, h * w, D, cfg.mlp_ratio)["flops"]


def test_attention_cost_compares_with_timesformer_schemes():
    T, h, w, D = 16, 14, 14, 768
    n, cost = T * h * w, {v: attention_cost(v, T, h * w, D) for v in VARIANTS}
    assert cost["spatio_temporal"]["flops"] == block_flops("joint", T, h, w, D)
    assert cost["factorised_self_attention"]["flops"] == block_flops("divided", T, h, w, D) - 2 * n * D * D
    assert cost["spatio_temporal"]["pairs"] == n * n
    assert cost["factorised_self_attention"]["pairs"] == cost["factorised_dot_product"]["pairs"] == n * (h * w + T)
    assert cost["factorised_dot_product"]["attention_flops"] * 2 == cost["factorised_self_attention"]["attention_flops"]
    assert cost["spatio_temporal"]["attention_flops"] > 10 * cost["factorised_encoder"]["attention_flops"]
    with pytest.raises(ValueError, match="unknown ViViT variant"):
        attention_cost("joint", T, h * w, D)


# --- Hugging Face transformers: same weights, same logits ---------------------------------------------

def _hf_model(hidden_act: str = "gelu_fast", classifier: bool = True):
    transformers = pytest.importorskip("transformers")  # tests only; vidlearn never imports it
    config = transformers.VivitConfig(image_size=32, num_frames=8, tubelet_size=[2, 8, 8], num_channels=3,
                                      hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=48, num_labels=5, hidden_act=hidden_act)
    torch.manual_seed(0)
    cls = transformers.VivitForVideoClassification if classifier else transformers.VivitModel
    return _randomise(cls(config), seed=1).eval()


@pytest.mark.parametrize("hidden_act", ["gelu_fast", "gelu"])
def test_hugging_face_weights_give_the_same_logits(hidden_act):
    hf = _hf_model(hidden_act)
    ours = vivit_from_hf(hf).eval()
    assert ours.cfg.gelu == ("tanh" if hidden_act == "gelu_fast" else "none") and ours.cfg.mlp_ratio == 1.5
    x = torch.randn(2, 3, 8, 32, 32)  # (B, C, T, H, W); Hugging Face takes (B, T, C, H, W)
    with torch.no_grad():
        _close(ours(x), hf(pixel_values=x.transpose(1, 2)).logits)


def test_hugging_face_weights_load_from_files_and_from_transformers_4_names(tmp_path):
    hf = _hf_model()
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        theirs = hf(pixel_values=x.transpose(1, 2)).logits
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")
    hf.save_pretrained(tmp_path / "saved")  # writes model.safetensors
    old = {}  # the names of the files on the Hub, written by transformers 4
    for k, v in hf.state_dict().items():
        for new, was in ((".layers.", ".encoder.layer."), ("attention.q_proj", "attention.attention.query"),
                         ("attention.k_proj", "attention.attention.key"),
                         ("attention.v_proj", "attention.attention.value"),
                         ("attention.o_proj", "attention.output.dense"), ("mlp.fc1", "intermediate.dense"),
                         ("mlp.fc2", "output.dense")):
            k = k.replace(new, was)
        old[k] = v
    assert "vivit.encoder.layer.1.attention.attention.query.weight" in old
    for weights in [tmp_path / "pytorch_model.bin", tmp_path / "saved" / "model.safetensors", old]:
        model = load_hf_vivit(ViViT(config_from_hf(hf.config)), weights).eval()
        with torch.no_grad():
            _close(model(x), theirs)
    with pytest.raises(FileNotFoundError, match="no ViViT weights file at .*missing.bin"):
        load_hf_vivit(ViViT(config_from_hf(hf.config)), tmp_path / "missing.bin")
    (tmp_path / "bad.bin").write_bytes(b"not a torch file")
    with pytest.raises(WeightsFileError, match="bad.bin"):
        load_hf_vivit(ViViT(config_from_hf(hf.config)), tmp_path / "bad.bin")


def test_hugging_face_backbone_with_pooler_keeps_our_head_and_gives_the_same_features():
    hf = _hf_model(classifier=False)  # VivitModel: a pooler, no classifier
    assert any(k.startswith("pooler.") for k in hf.state_dict())
    model = ViViT(config_from_hf(hf.config)).eval()
    head = model.head.weight.clone()
    load_hf_vivit(model, hf.state_dict())
    assert torch.equal(model.head.weight, head)
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        _close(model.forward_features(x), hf(pixel_values=x.transpose(1, 2)).last_hidden_state[:, 0])


def test_loader_names_missing_and_unexpected_keys_and_both_shapes_of_a_mismatch():
    hf = _hf_model()
    state = dict(hf.state_dict())
    model = ViViT(config_from_hf(hf.config))
    with pytest.raises(ValueError, match=r"missing keys \['encoder.norm.weight'") as err:
        load_hf_vivit(model, {k: v for k, v in state.items() if not k.startswith("vivit.layernorm.")})
    assert "is its config the checkpoint's" in str(err.value)
    with pytest.raises(ValueError, match=r"unexpected keys \['vivit.something.else'\]"):
        load_hf_vivit(model, {**state, "vivit.something.else": torch.zeros(1)})
    wider = ViViT(config_from_hf(hf.config, num_classes=7))
    with pytest.raises(ValueError, match=r"head.weight: \(5, 32\) in the weights, \(7, 32\) in the model"):
        load_hf_vivit(wider, state)
    with pytest.raises(ValueError, match="Hugging Face ViViT is Model 1"):
        load_hf_vivit(_tiny("factorised_encoder"), state)
    with pytest.raises(KeyError, match=r"layer 0's attention weight lacks \['v'\]"):
        convert_hf_state_dict({k: v for k, v in state.items() if k != "vivit.layers.0.attention.v_proj.weight"})
    with pytest.raises(ValueError, match="uses 'relu'"):
        config_from_hf({"hidden_act": "relu"})
