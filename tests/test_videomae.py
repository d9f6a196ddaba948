"""VideoMAE: masks, the asymmetric encoder-decoder, the masked pixel loss, fine-tuning and the HF loader."""

from __future__ import annotations

import math

import pytest
import torch

import vidlearn
from vidlearn.models.hf_videomae import config_from_hf, convert_hf_state_dict, load_hf_videomae, videomae_from_hf
from vidlearn.models.videomae import (
    VideoMAEClassifier,
    VideoMAEConfig,
    VideoMAEPretrain,
    check_mask,
    frame_mask,
    patchify,
    random_mask,
    reconstruction_loss,
    reconstruction_targets,
    sinusoid_table,
    tube_mask,
    unpatchify,
    videomae_b_pretrain,
)

# ViT-B/16, 16 x 224 x 224, 2 x 16 x 16 tubelets. Paper (Tables 6-7): 87M for ViT-B on Kinetics-400. Exact
# counts from Hugging Face transformers 5.24: VideoMAEForVideoClassification(VideoMAEConfig(num_labels=400))
# has 86,534,800 parameters; VideoMAEForPreTraining(VideoMAEConfig(use_mean_pooling=False)) 94,210,944.
PAPER_CLASSIFIER_PARAMS = 86_534_800
PAPER_PRETRAIN_PARAMS = 94_210_944


def _randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every weight (mask token and zero biases too) a random value; LayerNorm scales stay near 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm_scale = p.dim() == 1 and name.endswith("weight")
            p.copy_(torch.randn(p.shape, generator=g) * 0.1 + float(is_norm_scale))


def _tiny_pretrain(**overrides) -> VideoMAEPretrain:
    torch.manual_seed(0)
    return videomae_b_pretrain(tiny=True, **overrides)


# --- masks ------------------------------------------------------------------------------------------------

def test_tube_mask_hides_the_same_positions_in_every_time_slot_with_the_official_count():
    g = torch.Generator().manual_seed(0)
    mask = tube_mask(3, 8, (14, 14), 0.9, generator=g)  # the paper's 16 x 224 x 224 grid
    assert mask.shape == (3, 1568) and mask.dtype == torch.bool
    slots = mask.view(3, 8, 196)
    assert (slots == slots[:, :1]).all()  # the same spatial mask in every time slot
    assert (slots.sum(-1) == int(0.9 * 196)).all()  # official TubeMaskingGenerator: int(), 176 per slot
    assert ((~mask).sum(1) == 160).all()  # 20 visible per slot, 160 of 1568
    assert not torch.equal(mask[0], mask[1])  # each clip draws its own
    assert torch.equal(mask, tube_mask(3, 8, 196, 0.9, generator=torch.Generator().manual_seed(0)))


def test_random_mask_hides_an_exact_count_anywhere_and_frame_mask_hides_whole_time_slots():
    g = torch.Generator().manual_seed(0)
    mask = random_mask(4, 8, 196, 0.9, generator=g)
    assert (mask.sum(1) == int(0.9 * 1568)).all()
    slots = mask.view(4, 8, 196)
    assert not (slots == slots[:, :1]).all()  # time slots differ: a hidden patch may be seen next door
    frames = frame_mask(4, 8, (14, 14), 0.9, generator=g).view(4, 8, 196)
    assert (frames.all(-1) | ~frames.any(-1)).all()  # every slot is all masked or all visible
    assert (frames.all(-1).sum(1) == 7).all()  # int(0.9 * 8)
    assert math.floor(0.29 * 100) == 28 and (random_mask(1, 1, 100, 0.29).sum() == 29)  # float guard


@pytest.mark.parametrize("make, ratio, match", [
    (tube_mask, 0.0, r"in \(0, 1\), got 0.0"), (tube_mask, 1.0, r"in \(0, 1\), got 1.0"),
    (random_mask, -0.5, "got -0.5"), (frame_mask, 0.2, "0.2 of 4 time slots masks 0"),
])
def test_masks_refuse_ratios_that_leave_nothing_to_see_or_to_predict(make, ratio, match):
    with pytest.raises(ValueError, match=match):
        make(1, 4, 16, ratio)


def test_check_mask_refuses_wrong_shapes_dtypes_and_unequal_counts():
    with pytest.raises(ValueError, match=r"bool mask of shape \(B, N\) = \(2, 8\), got \(2, 7\)"):
        check_mask(torch.zeros(2, 7, dtype=torch.bool), 2, 8)
    with pytest.raises(ValueError, match="torch.int64"):
        check_mask(torch.zeros(2, 8, dtype=torch.long), 2, 8)
    uneven = torch.zeros(2, 8, dtype=torch.bool)
    uneven[0, :3], uneven[1, :4] = True, True
    with pytest.raises(ValueError, match=r"same number of masked tokens, got \[3, 4\]"):
        check_mask(uneven, 2, 8)
    with pytest.raises(ValueError, match="hides 8 of 8"):
        check_mask(torch.ones(2, 8, dtype=torch.bool), 2, 8)


# --- the pre-training model ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mask_type, visible", [("tube", 4 * (16 - int(0.9 * 16))), ("random", 64 - int(0.9 * 64)),
                                                  ("frame", 16 * (4 - int(0.9 * 4)))])
def test_encoder_sees_only_the_visible_tokens_and_the_decoder_all_of_them(mask_type, visible):
    model = _tiny_pretrain(mask_type=mask_type).eval()
    lengths = {}
    model.encoder.blocks[0].register_forward_pre_hook(lambda m, a: lengths.update(encoder=a[0].shape[1]))
    model.decoder_blocks[0].register_forward_pre_hook(lambda m, a: lengths.update(decoder=a[0].shape[1]))
    out = model(model.example_input(2), generator=torch.Generator().manual_seed(0))
    n = 4 * 4 * 4  # 8 x 32 x 32 in 2 x 8 x 8 tubelets; tube masks keep 2 per time slot
    assert lengths == {"encoder": visible, "decoder": n}
    assert out.mask.shape == (2, n) and out.pred.shape == (2, n - visible, 2 * 8 * 8 * 3)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)


def test_the_paper_grid_keeps_160_of_1568_tokens_for_the_encoder():
    with torch.device("meta"):
        model = videomae_b_pretrain()
    mask = model.draw_mask(1, (8, 14, 14))
    assert mask.shape == (1, 1568) and int((~mask).sum()) == 160
    assert model.cfg.decoder_depth == 4 and model.cfg.decoder_embed_dim == 384 and model.cfg.mask_ratio == 0.9


def test_prediction_order_is_the_masked_tokens_ascending():
    model = _tiny_pretrain().eval()
    _randomise(model)
    video = model.example_input(1)
    mask = tube_mask(1, 4, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        pred = model(video, mask).pred  # (1, 56, 384)
        target = reconstruction_targets(video, 2, 8, mean=model.cfg.pixel_mean, std=model.cfg.pixel_std)
    loss = reconstruction_loss(pred, video, mask, 2, 8, mean=model.cfg.pixel_mean, std=model.cfg.pixel_std)
    manual = ((pred[0] - target[0, mask[0].nonzero()[:, 0]]) ** 2).mean()
    torch.testing.assert_close(loss, manual)


def test_loss_counts_only_the_masked_tokens():
    g = torch.Generator().manual_seed(0)
    video = torch.randn(2, 3, 4, 16, 16, generator=g)
    mask = tube_mask(2, 2, 4, 0.5, generator=g)  # (2, 8)
    pred = torch.randn(2, 8, 2 * 8 * 8 * 3, generator=g)  # a prediction for every token
    loss = reconstruction_loss(pred, video, mask, 2, 8)
    changed = pred.clone()
    changed[~mask] += 100.0  # visible tokens' predictions: ignored
    torch.testing.assert_close(reconstruction_loss(changed, video, mask, 2, 8), loss)
    changed[mask] += 1.0
    assert reconstruction_loss(changed, video, mask, 2, 8) > loss + 0.5
    torch.testing.assert_close(reconstruction_loss(pred[mask].view(2, 4, -1), video, mask, 2, 8), loss)
    with pytest.raises(ValueError, match=r"\(B, N_masked, D_pix\) = \(2, 4, 384\)"):
        reconstruction_loss(pred[:, :3], video, mask, 2, 8)


def test_targets_are_normalised_per_tubelet_and_channel_by_hand():
    g = torch.Generator().manual_seed(0)
    video = torch.rand(1, 3, 4, 8, 8, generator=g)  # 2 x 4 x 4 tubelets: grid 2 x 2 x 2
    target = reconstruction_targets(video, 2, 4, norm_pix=True)  # (1, 8, 96), pixels (t y x c)
    # token 5 = (t=1, h=0, w=1): frames 2-3, rows 0-3, columns 4-7
    tube = video[0, :, 2:4, 0:4, 4:8]  # (C, 2, 4, 4)
    for c in range(3):
        x = tube[c].flatten()
        expected = (x - x.mean()) / (x.std(unbiased=True) + 1e-6)  # the official normalisation, per channel
        torch.testing.assert_close(target[0, 5].view(32, 3)[:, c], expected)
    raw = reconstruction_targets(video, 2, 4, norm_pix=False)
    torch.testing.assert_close(raw[0, 5].view(2, 4, 4, 3).permute(3, 0, 1, 2), tube)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)  # undo the input normalisation first
    undone = video * torch.tensor(std).view(1, 3, 1, 1, 1) + torch.tensor(mean).view(1, 3, 1, 1, 1)
    torch.testing.assert_close(reconstruction_targets(video, 2, 4, False, mean, std), patchify(undone, 2, 4))


def test_patchify_follows_the_tubelet_embedding_token_order_and_inverts():
    video = torch.randn(2, 3, 4, 16, 24)
    patches = patchify(video, 2, 8)  # (2, 2*2*3, 384)
    assert patches.shape == (2, 12, 384)
    torch.testing.assert_close(unpatchify(patches, (2, 2, 3), 2, 8), video)
    model = _tiny_pretrain()
    conv = model.encoder.proj  # a tubelet's token is its pixels times the conv kernel, same (t h w) order
    expected = patches @ conv.weight.permute(0, 2, 3, 4, 1).reshape(32, -1).T + conv.bias
    torch.testing.assert_close(model.encoder.proj(video).flatten(2).transpose(1, 2), expected,
                               atol=1e-5, rtol=1e-4)


def test_position_embedding_is_the_fixed_official_sinusoid_and_not_a_weight():
    table = sinusoid_table(10, 6)
    pos, j = 7, 3  # official: pos / 10000 ** (2 * (j // 2) / d), sin on even dims, cos on odd
    assert table[pos, j].item() == pytest.approx(math.cos(pos / 10000 ** (2 * (j // 2) / 6)), abs=1e-7)
    assert table[pos, 2].item() == pytest.approx(math.sin(pos / 10000 ** (2 / 6)), abs=1e-7)
    model = _tiny_pretrain()
    names = dict(model.named_parameters())
    assert not any("pos" in n for n in names) and not any("pos" in k for k in model.state_dict())
    torch.testing.assert_close(model.encoder.pos_embed[0], sinusoid_table(64, 32))
    # fewer frames at the same size take the first rows of the table (the table of their token count)
    short = model.encoder.embed(torch.zeros(1, 3, 4, 32, 32))[0]
    torch.testing.assert_close(short[0] - model.encoder.proj.bias, model.encoder.pos_embed[0, :32])


def test_pretraining_runs_on_a_gpu_without_a_cpu_tensor():
    from pretend_gpu import on_gpu, pretend_gpu

    torch.manual_seed(0)
    with pretend_gpu():
        model = _tiny_pretrain().cuda()
        for clip in (model.example_input(2), torch.randn(2, 3, 4, 16, 16)):  # the configured size and another
            out = model(clip.cuda(), tube_mask(2, clip.shape[2] // 2, clip.shape[3] * clip.shape[4] // 64))
            assert on_gpu(out.pred) and on_gpu(out.loss) and on_gpu(out.mask)
            out.loss.backward()


def test_pretrain_refuses_bad_clips_with_clear_errors():
    model = _tiny_pretrain()
    with pytest.raises(ValueError, match=r"T must be a multiple of 2 and H, W of 8; got T x H x W = 7 x 32 x 32"):
        model(torch.randn(1, 3, 7, 32, 32))
    with pytest.raises(ValueError, match="got T x H x W = 8 x 36 x 32"):
        model(torch.randn(1, 3, 8, 36, 32))
    with pytest.raises(ValueError, match="C=3 channels"):
        model(torch.randn(1, 8, 3, 32, 32))
    with pytest.raises(ValueError, match="5 dimensions"):
        model(torch.randn(3, 8, 32, 32))
    with pytest.raises(ValueError, match="empty batch"):
        model(torch.randn(0, 3, 8, 32, 32))
    with pytest.raises(ValueError, match="bool mask"):
        model(torch.randn(2, 3, 8, 32, 32), torch.zeros(2, 63, dtype=torch.bool))
    with pytest.raises(ValueError, match="unknown mask_type 'cube'"):
        VideoMAEConfig.tiny(mask_type="cube")


# --- fine-tuning ------------------------------------------------------------------------------------------------

def test_paper_size_parameter_counts_and_inputs():
    with torch.device("meta"):
        classifier, pretrain = vidlearn.create_model("videomae_b"), videomae_b_pretrain()
    assert sum(p.numel() for p in classifier.parameters()) == PAPER_CLASSIFIER_PARAMS
    assert sum(p.numel() for p in pretrain.parameters()) == PAPER_PRETRAIN_PARAMS
    cfg = classifier.cfg
    assert (cfg.num_frames, cfg.img_size, cfg.tubelet_size, cfg.patch_size, cfg.num_classes) == (16, 224, 2, 16, 400)
    assert cfg.drop_path_rate == 0.1 and pretrain.cfg.drop_path_rate == 0.0  # official scripts
    assert classifier.example_input().shape == (2, 3, 16, 224, 224)
    assert classifier.example_input(1, small=True).shape == (1, 3, 2, 32, 32)


def test_classifier_mean_pools_all_tokens_then_fc_norm_then_head():
    model = vidlearn.create_model("videomae_b", tiny=True).eval()
    _randomise(model)
    x = model.example_input(2)
    with torch.no_grad():
        tokens = model.encoder(model.encoder.embed(x)[0])  # (2, 64, 32): no final LayerNorm
        expected = model.head(model.fc_norm(tokens.mean(1)))
        torch.testing.assert_close(model(x), expected)
    assert isinstance(model.encoder.norm, torch.nn.Identity)
    assert 30_000 <= sum(p.numel() for p in model.parameters()) <= 100_000


def test_head_starts_small_as_the_official_init_scale():
    model = vidlearn.create_model("videomae_b", tiny=True)
    assert 0.5 * 0.02 * 0.001 < model.head.weight.std() < 1.5 * 0.02 * 0.001  # trunc_normal(0.02) * 0.001
    assert not model.head.bias.any()


def test_load_encoder_copies_the_pretrained_encoder_and_drops_its_norm():
    pretrain = _tiny_pretrain()
    _randomise(pretrain, seed=3)
    classifier = VideoMAEClassifier.from_pretrained_encoder(pretrain, num_classes=5).eval()
    assert classifier.head.out_features == 5
    for k, v in classifier.encoder.state_dict().items():
        torch.testing.assert_close(v, pretrain.encoder.state_dict()[k])
    x = classifier.example_input(1)
    with torch.no_grad():
        tokens = pretrain.encoder.embed(x)[0]
        for block in pretrain.encoder.blocks:
            tokens = block(tokens)
        torch.testing.assert_close(classifier.fc_norm(tokens.mean(1)), classifier.forward_features(x))
    wider = VideoMAEClassifier(VideoMAEConfig.tiny(embed_dim=64))
    with pytest.raises(ValueError, match=r"proj.weight: \(32, 3, 2, 8, 8\) in the weights, \(64, 3, 2, 8, 8\)"):
        wider.load_encoder(pretrain)


def test_tiny_pretraining_then_fine_tuning_both_reduce_their_loss():
    torch.manual_seed(0)
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 1, 32)  # every tubelet holds a left-to-right ramp
    video = ramp + 0.05 * torch.rand(4, 3, 8, 32, 32)  # (4, 3, 8, 32, 32)
    pretrain = _tiny_pretrain().train()
    opt = torch.optim.AdamW(pretrain.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):  # a new tube mask every step
        loss = pretrain(video).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    classifier = VideoMAEClassifier.from_pretrained_encoder(pretrain, num_classes=2).train()
    clips, labels = torch.cat([video[:2], video[2:].flip(-1)]), torch.tensor([0, 0, 1, 1])  # class: direction
    opt = torch.optim.AdamW(classifier.parameters(), lr=1e-2)
    ce = []
    for _ in range(12):
        loss = torch.nn.functional.cross_entropy(classifier(clips), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ce.append(loss.item())
    assert ce[-1] < 0.5 * ce[0]


# --- Hugging Face transformers: same weights, same outputs ----------------------------------------------------

def _hf_config(**kw):
    import transformers  # tests only; vidlearn never imports it

    return transformers.VideoMAEConfig(
        image_size=32, patch_size=8, num_frames=8, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=128, decoder_hidden_size=16, decoder_num_hidden_layers=1,
        decoder_num_attention_heads=2, decoder_intermediate_size=64, num_labels=5, **kw)


def _hf(kind: str, **kw):
    import transformers

    cls = {"pretrain": transformers.VideoMAEForPreTraining,
           "classify": transformers.VideoMAEForVideoClassification}[kind]
    hf = cls(_hf_config(**kw)).eval()
    _randomise(hf, seed=1)
    return hf


def test_hf_classifier_gives_the_same_logits():
    hf = _hf("classify")
    ours = videomae_from_hf(hf).eval()
    assert isinstance(ours, VideoMAEClassifier) and ours.cfg.head_norm_eps == 1e-5
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(pixel_values=x.transpose(1, 2)).logits, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("norm_pix", [True, False])
def test_hf_pretraining_gives_the_same_predictions_and_loss(norm_pix):
    hf = _hf("pretrain", use_mean_pooling=False, norm_pix_loss=norm_pix)  # as the released checkpoints
    ours = videomae_from_hf(hf).eval()
    assert isinstance(ours, VideoMAEPretrain) and ours.cfg.encoder_norm and ours.cfg.norm_pix_loss == norm_pix
    x = torch.randn(2, 3, 8, 32, 32)
    mask = tube_mask(2, 4, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        theirs = hf(pixel_values=x.transpose(1, 2), bool_masked_pos=mask)
        out = ours(x, mask)
    torch.testing.assert_close(out.pred, theirs.logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.loss, theirs.loss, atol=1e-6, rtol=1e-5)


def test_hf_files_load_with_safetensors_or_weights_only_torch(tmp_path):
    hf = _hf("classify")
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        theirs = hf(pixel_values=x.transpose(1, 2)).logits
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")
    hf.save_pretrained(tmp_path / "saved")  # writes model.safetensors
    for path in (tmp_path / "pytorch_model.bin", tmp_path / "saved" / "model.safetensors"):
        model = load_hf_videomae(VideoMAEClassifier(config_from_hf(hf.config)), path).eval()
        with torch.no_grad():
            torch.testing.assert_close(model(x), theirs, atol=1e-5, rtol=1e-4)
    with pytest.raises(FileNotFoundError, match="missing.bin"):
        load_hf_videomae(VideoMAEClassifier(config_from_hf(hf.config)), tmp_path / "missing.bin")


def test_a_hf_pretraining_checkpoint_gives_a_classifier_its_encoder_only():
    hf = _hf("pretrain", use_mean_pooling=False)
    model = VideoMAEClassifier(config_from_hf(hf.config))  # the pre-training config serves
    head = model.head.weight.clone()
    load_hf_videomae(model, hf.state_dict())
    torch.testing.assert_close(model.encoder.proj.weight, hf.videomae.embeddings.patch_embeddings.projection.weight)
    assert torch.equal(model.head.weight, head)


def test_hf_loader_names_missing_unexpected_and_misshapen_weights():
    hf = _hf("pretrain", use_mean_pooling=False)
    state = hf.state_dict()
    model = VideoMAEPretrain(config_from_hf(hf.config))
    with pytest.raises(ValueError, match=r"missing \['decoder_head.weight', 'decoder_head.bias'\]"):
        load_hf_videomae(model, {k: v for k, v in state.items() if not k.startswith("decoder.head.")})
    plain = VideoMAEPretrain(config_from_hf(hf.config, encoder_norm=False))
    with pytest.raises(ValueError, match=r"unexpected \['encoder.norm.weight', 'encoder.norm.bias'\]"):
        load_hf_videomae(plain, state)
    wide = VideoMAEPretrain(config_from_hf(hf.config, decoder_embed_dim=32, decoder_num_heads=2))
    with pytest.raises(ValueError, match=r"mask_token: \(1, 1, 16\) in the weights, \(1, 1, 32\) in the model"):
        load_hf_videomae(wide, state)
    with pytest.raises(KeyError, match="unexpected key 'something.else'"):
        convert_hf_state_dict({"something.else": torch.zeros(1)})
    no_key = {k: v for k, v in state.items() if "layer.0.attention.attention.key." not in k}
    with pytest.raises(KeyError, match="not all of query, key, value"):
        convert_hf_state_dict(no_key)
    with pytest.raises(ValueError, match="qv_bias=False"):
        config_from_hf({"qv_bias": False})
