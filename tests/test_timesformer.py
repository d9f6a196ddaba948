"""TimeSformer: the five schemes, paper parameter counts, input checks, dropout, and the HF weight loader."""

from __future__ import annotations

import pytest
import torch

import vidlearn
from vidlearn.models.hf_timesformer import (
    config_from_hf,
    convert_hf_state_dict,
    load_hf_timesformer,
    timesformer_from_hf,
)
from vidlearn.models.timesformer import TimeSformer, TimeSformerConfig

SCHEME_MODELS = {
    "space": "timesformer_space",
    "joint": "timesformer_joint",
    "divided": "timesformer",
    "sparse_local_global": "timesformer_sparse_local_global",
    "axial": "timesformer_axial",
}
# paper size (ViT-B/16, 8 x 224 x 224, K400 head); Table 1 of the paper: 85.9M, 85.9M, 121.4M, 121.4M, 156.8M
PAPER_PARAMS = {
    "space": 86_106_256,
    "joint": 86_112_400,
    "divided": 121_566_352,
    "sparse_local_global": 121_566_352,
    "axial": 157_020_304,
}


def _tiny(scheme: str, **overrides) -> TimeSformer:
    torch.manual_seed(0)
    return vidlearn.create_model(SCHEME_MODELS[scheme], tiny=True, **overrides)


def _randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every weight (the zero-initialised fc and embeddings too) a random value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm_scale = p.dim() == 1 and name.endswith("weight")  # LayerNorm weights stay near 1
            p.copy_(torch.randn(p.shape, generator=g) * 0.1 + float(is_norm_scale))


@pytest.mark.parametrize("scheme", SCHEME_MODELS)
def test_every_scheme_trains_at_tiny_size(scheme):
    model = _tiny(scheme)
    assert model.cfg.attention == scheme
    assert 50_000 <= sum(p.numel() for p in model.parameters()) <= 500_000
    assert model.example_input().shape == (2, 3, 8, 32, 32)
    assert model.example_input(small=True).shape == (2, 3, 2, 8, 8)
    x = torch.randn(2, 3, 4, 16, 16)  # 4 frames of a 4 x 4 patch grid: fast
    logits = model(x)
    assert logits.shape == (2, 10)
    logits.logsumexp(-1).sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert model.head.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("scheme", SCHEME_MODELS)
def test_paper_size_parameter_counts(scheme):
    with torch.device("meta"):  # count without allocating 0.5 GB per model
        model = vidlearn.create_model(SCHEME_MODELS[scheme])
    assert sum(p.numel() for p in model.parameters()) == PAPER_PARAMS[scheme]
    cfg = model.cfg
    assert (cfg.img_size, cfg.patch_size, cfg.num_frames, cfg.num_classes) == (224, 16, 8, 400)


def test_paper_size_example_inputs():
    with torch.device("meta"):
        model = vidlearn.create_model("timesformer")
    assert model.example_input().shape == (2, 3, 8, 224, 224)
    assert model.example_input(batch_size=1, small=True).shape == (1, 3, 2, 32, 32)  # the registry test's


def test_attention_override_and_paper_names_select_the_scheme():
    model = vidlearn.create_model("timesformer", tiny=True, attention="T+W+H")
    assert model.cfg.attention == "axial" and list(model.blocks[0].steps) == ["time", "width", "height"]
    with pytest.raises(ValueError, match="timesformer_axial fixes attention='axial'"):
        vidlearn.create_model("timesformer_axial", tiny=True, attention="joint")
    with pytest.raises(ValueError, match="unknown attention scheme 'diagonal'"):
        vidlearn.create_model("timesformer", tiny=True, attention="diagonal")


def test_non_final_steps_start_at_zero_so_the_model_starts_as_an_image_model():
    model = _tiny("divided").eval()
    x = torch.randn(2, 3, 4, 16, 16)
    before = model(x)
    for block in model.blocks:
        assert not block.steps["time"].fc.weight.detach().any()
        assert isinstance(block.steps["space"].fc, torch.nn.Identity)
        with torch.no_grad():  # the temporal attention cannot change anything yet
            block.steps["time"].attn.qkv.weight.normal_()
    torch.testing.assert_close(model(x), before)



def test_every_blocks_temporal_fc_starts_at_zero_block_0_included_as_the_official_loop():
    model = vidlearn.create_model("timesformer", tiny=True)
    fcs = [block.steps["time"].fc for block in model.blocks]
    assert len(fcs) == model.cfg.depth
    assert all(not fc.weight.any() and not fc.bias.any() for fc in fcs)


def test_drop_path_rate_defaults_to_the_official_0_1_growing_linearly_from_0():
    cfg = TimeSformerConfig()
    assert cfg.drop_path_rate == 0.1
    with torch.device("meta"):
        model = TimeSformer(cfg)
    rates = [block.drop_path for block in model.blocks]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.1)
    assert all(b - a == pytest.approx(0.1 / 11) for a, b in zip(rates, rates[1:]))


def test_stochastic_depth_drops_the_class_token_and_patch_residuals_of_a_sample_together():
    torch.manual_seed(0)
    model = vidlearn.create_model("timesformer", tiny=True, drop_path_rate=0.9).train()
    _randomise(model)
    step = model.blocks[-1].steps["space"]  # the last step: carries the class token
    x, cls, grid = model.embed(model.example_input(64))
    out_x, out_cls, _ = step(x, cls, grid)
    kept_x = (out_x - x).flatten(1).abs().amax(1) > 0  # (B,): the patches' residual was kept
    kept_cls = (out_cls - cls).flatten(1).abs().amax(1) > 0
    assert 0 < kept_x.sum() < 64  # some samples dropped, some kept
    assert torch.equal(kept_x, kept_cls)  # one mask per sample


def test_space_only_averages_the_frames_class_tokens_then_normalises_as_the_official_code():
    torch.manual_seed(0)
    model = vidlearn.create_model("timesformer_space", tiny=True).eval()
    _randomise(model)
    clip = model.example_input(2)
    with torch.no_grad():
        x, cls, grid = model.embed(clip)  # (B*T, N, D), (B*T, 1, D)
        for block in model.blocks:
            x, cls, _ = block(x, cls, grid)
        per_frame = cls[:, 0].view(2, -1, cls.shape[-1])  # (B, T, D)
        expected = model.norm(per_frame.mean(1))
        torch.testing.assert_close(model.forward_features(clip), expected)
        assert not torch.allclose(expected, model.norm(per_frame).mean(1), atol=1e-4)  # the order matters

@pytest.mark.parametrize("scheme", SCHEME_MODELS)
def test_eval_output_is_deterministic_and_dropout_free(scheme):
    noisy = _tiny(scheme, drop_rate=0.3, attn_drop_rate=0.3, drop_path_rate=0.3)
    _randomise(noisy)
    clean = _tiny(scheme, drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0)
    clean.load_state_dict(noisy.state_dict())
    x = torch.randn(1, 3, 4, 16, 16)
    noisy.eval(), clean.eval()
    assert torch.equal(noisy(x), noisy(x))
    torch.testing.assert_close(noisy(x), clean(x))
    noisy.train()
    assert not torch.allclose(noisy(x), noisy(x))


@pytest.mark.parametrize("scheme", ["divided", "sparse_local_global"])
def test_sdpa_and_readable_paths_give_the_same_logits(scheme):
    fused = _tiny(scheme).eval()
    _randomise(fused)
    readable = _tiny(scheme, use_sdpa=False).eval()
    readable.load_state_dict(fused.state_dict())
    x = torch.randn(2, 3, 3, 20, 28)  # odd patch grid: L+G pads
    torch.testing.assert_close(fused(x), readable(x), atol=1e-5, rtol=1e-4)


def test_space_only_model_ignores_frame_order_and_divided_does_not():
    x = torch.randn(2, 3, 4, 16, 16)
    perm = torch.tensor([2, 0, 3, 1])
    space = _tiny("space").eval()
    _randomise(space)
    torch.testing.assert_close(space(x[:, :, perm]), space(x), atol=1e-5, rtol=1e-4)
    divided = _tiny("divided").eval()
    _randomise(divided)
    assert not torch.allclose(divided(x[:, :, perm]), divided(x), atol=1e-4)


@pytest.mark.parametrize("scheme", ["joint", "divided", "axial"])
def test_zero_time_embedding_makes_attention_blind_to_frame_order_and_time_embed_std_fixes_it(scheme):
    """With the official all-zero time embedding, a fresh model gives the same logits for any frame order
    (attention is a set operation); ``time_embed_std`` starts it random, so the order shows at once."""
    x = torch.randn(2, 3, 4, 16, 16)
    perm = torch.tensor([2, 0, 3, 1])
    torch.manual_seed(0)
    zero = _tiny(scheme, drop_path_rate=0.0).eval()
    for block in zero.blocks:  # let every step act (the paper zero-initialises the temporal fc)
        for step in block.steps.values():
            if isinstance(step.fc, torch.nn.Linear):
                torch.nn.init.normal_(step.fc.weight, std=0.1)
    assert torch.count_nonzero(zero.time_embed) == 0
    torch.testing.assert_close(zero(x[:, :, perm]), zero(x), atol=1e-5, rtol=1e-4)
    torch.manual_seed(0)
    ordered = _tiny(scheme, drop_path_rate=0.0, time_embed_std=0.5).eval()
    ordered.load_state_dict({**zero.state_dict(), "time_embed": ordered.time_embed.detach().clone()})
    assert 0.3 < ordered.time_embed.std().item() < 0.6
    assert not torch.allclose(ordered(x[:, :, perm]), ordered(x), atol=1e-4)


def test_bad_input_gets_a_clear_error():
    model = _tiny("divided").eval()
    with pytest.raises(ValueError, match=r"multiples of 4; got H x W = 34 x 32"):
        model(torch.randn(1, 3, 8, 34, 32))
    with pytest.raises(ValueError, match=r"at most num_frames=8 frames, got T=9"):
        model(torch.randn(1, 3, 9, 32, 32))
    with pytest.raises(ValueError, match=r"C=3 channels .* got C=8"):
        model(torch.randn(1, 8, 3, 32, 32))
    with pytest.raises(ValueError, match="5 dimensions"):
        model(torch.randn(3, 8, 32, 32))
    with pytest.raises(ValueError, match="img_size=30 must be a multiple of patch_size=4"):
        _tiny("joint", img_size=30)


@pytest.mark.parametrize("scheme", SCHEME_MODELS)
def test_fewer_frames_and_other_sizes_resample_the_embeddings(scheme):
    model = _tiny(scheme).eval()
    for shape in [(1, 3, 3, 16, 16), (1, 3, 8, 12, 24), (1, 3, 1, 4, 4)]:
        out = model(torch.randn(shape))
        assert out.shape == (shape[0], 10) and torch.isfinite(out).all()
    if scheme == "space":  # no time embedding: any clip length
        assert model(torch.randn(1, 3, 12, 16, 16)).shape == (1, 10)


def test_embeddings_at_the_configured_size_are_used_as_they_are():
    model = _tiny("divided").eval()
    _randomise(model)
    x = model.example_input(batch_size=1)
    tokens, cls, grid = model.embed(x)
    patches, _ = model.patch_embed(x)
    expected = patches.view(1, 8, 64, -1) + model.pos_embed[:, None, 1:] + model.time_embed[:, :, None]
    assert grid == (8, 8, 8)
    torch.testing.assert_close(tokens, expected.view(1, 512, -1))
    torch.testing.assert_close(cls, model.cls_token + model.pos_embed[:, :1])


@pytest.mark.parametrize("scheme", SCHEME_MODELS)
def test_attention_rollout_is_a_distribution_over_patches_and_the_class_token(scheme):
    model = _tiny(scheme).eval()
    x = torch.randn(2, 3, 4, 16, 16)
    rollout = model.attention_rollout(x)
    assert rollout.shape == (2, 4, 4, 4)
    assert float(rollout.min()) >= 0
    assert 0 < float(rollout.sum((1, 2, 3)).max()) <= 1 + 1e-5  # the rest stays on the class token
    maps = model.attention_maps(x)
    assert len(maps) == model.cfg.depth and list(maps[0]) == list(model.blocks[0].steps)


# --- Hugging Face transformers: same weights, same logits -------------------------------------------------

HF_ATTENTION = {"divided": "divided_space_time", "joint": "joint_space_time", "space": "space_only"}


def _hf_model(scheme: str):
    import transformers  # tests only (pinned in requirements.txt); vidlearn never imports it
    config = transformers.TimesformerConfig(
        image_size=32, patch_size=8, num_channels=3, num_frames=4, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=48, num_labels=5, attention_type=HF_ATTENTION[scheme],
    )
    torch.manual_seed(0)
    hf = transformers.TimesformerForVideoClassification(config).eval()
    _randomise(hf, seed=1)
    return hf


@pytest.mark.parametrize("scheme", ["divided", "joint", "space"])
def test_hugging_face_weights_give_the_same_logits(scheme):
    hf = _hf_model(scheme)
    ours = timesformer_from_hf(hf).eval()
    assert ours.cfg.attention == scheme and ours.cfg.mlp_ratio == 1.5
    x = torch.randn(2, 3, 4, 32, 32)  # (B, C, T, H, W); Hugging Face takes (B, T, C, H, W)
    with torch.no_grad():
        out = hf(pixel_values=x.transpose(1, 2), output_hidden_states=True)
        theirs = out.logits
        mine = ours(x)
        if scheme == "space":  # Hugging Face normalises and scores every frame; the official code (and
            # vidlearn) averages the frames' class tokens, then normalises: compare on HF's last hidden state
            cls = out.hidden_states[-1][:, 0].view(2, 4, -1)  # (B, T, D), before the final LayerNorm
            theirs = ours.head(ours.norm(cls.mean(1)))
    assert mine.shape == theirs.shape
    torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)


def test_hugging_face_weights_load_from_files(tmp_path):
    hf = _hf_model("divided")
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        theirs = hf(pixel_values=x.transpose(1, 2)).logits
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")
    hf.save_pretrained(tmp_path / "saved")  # writes model.safetensors
    for path in [tmp_path / "pytorch_model.bin", tmp_path / "saved" / "model.safetensors"]:
        model = load_hf_timesformer(TimeSformer(config_from_hf(hf.config)), path).eval()
        with torch.no_grad():
            torch.testing.assert_close(model(x), theirs, atol=1e-5, rtol=1e-4)
    with pytest.raises(FileNotFoundError, match="no TimeSformer weights file at .*missing.bin"):
        load_hf_timesformer(TimeSformer(config_from_hf(hf.config)), tmp_path / "missing.bin")


def test_hugging_face_backbone_without_classifier_keeps_our_head():
    hf = _hf_model("divided")
    backbone = {k: v for k, v in hf.state_dict().items() if not k.startswith("classifier.")}
    model = TimeSformer(config_from_hf(hf.config))
    head = model.head.weight.clone()
    load_hf_timesformer(model, backbone)
    assert torch.equal(model.head.weight, head)
    torch.testing.assert_close(model.cls_token, hf.timesformer.embeddings.cls_token)


def test_loader_rejects_schemes_and_keys_that_hugging_face_does_not_have():
    with pytest.raises(ValueError, match="not 'axial'"):
        convert_hf_state_dict({}, attention="axial")
    with pytest.raises(KeyError, match="unexpected key 'something.else'"):
        convert_hf_state_dict({"something.else": torch.zeros(1)})
    cfg = config_from_hf({"attention_type": "divided_space_time", "num_labels": 400, "hidden_size": 768,
                          "intermediate_size": 3072})
    assert cfg == TimeSformerConfig()
    with pytest.raises(RuntimeError, match="do not fit"):
        load_hf_timesformer(_tiny("divided"), {"timesformer.embeddings.cls_token": torch.zeros(1, 1, 64)})
