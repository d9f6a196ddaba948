"""MViT and MViTv2 (vidlearn/models/mvit.py): torchvision state dicts and outputs, paper sizes, stage shapes,
the tiny variant, relative positions and bad inputs."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.models.video as tvv
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.video.mvit import MSBlockConfig
from torchvision.models.video.mvit import MViT as TorchvisionMViT

import vidlearn
from vidlearn.models.mvit import MViT, MViTConfig, StageShape, block_specs, relative_table, stage_shapes

VERSIONS = ["mvit_v1_b", "mvit_v2_s"]

# Published sizes at 16 x 224 x 224, Kinetics-400 head. GFLOPs are multiply-adds of one view.
# MViT-B 16x4: 36.6M params, 70.5 GFLOPs x 1x5 views (Fan et al. 2021, arXiv 2104.11227, Table 3, K400).
# MViTv2-S 16x4: 34.5M params, 64 GFLOPs x 1x5 views (Li et al. 2022, arXiv 2112.01526, K400 results; the same
# numbers in the official facebookresearch/SlowFast projects/mvitv2/README.md).
# torchvision's weight tables: mvit_v1_b num_params 36_610_672, 70.599 GFLOPs; mvit_v2_s 34_537_744, 64.224.
PAPER = {"mvit_v1_b": (36.6e6, 70.5e9), "mvit_v2_s": (34.5e6, 64.0e9)}
TORCHVISION = {"mvit_v1_b": (36_610_672, 70.599e9), "mvit_v2_s": (34_537_744, 64.224e9)}


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _on_meta(factory, **kwargs) -> torch.nn.Module:
    """A paper-size model on the meta device: shapes and counts without allocating or computing."""
    with torch.device("meta"):
        return factory(**kwargs).eval()


def _perturb(model: torch.nn.Module, seed: int = 0) -> None:
    """Move every weight off its initial value (LayerNorms off 1 and 0), so a swapped weight would show."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)


def torchvision_twin(cfg: MViTConfig) -> TorchvisionMViT:
    """torchvision's ``MViT`` class built from our block table (any size, e.g. the tiny one)."""
    setting = [MSBlockConfig(s.num_heads, s.dim_in, s.dim_out, list(s.kernel_q), list(s.kernel_kv),
                             list(s.stride_q), list(s.stride_kv)) for s in block_specs(cfg)]
    return TorchvisionMViT((cfg.img_size, cfg.img_size), cfg.num_frames, setting, cfg.residual_pooling, False,
                           cfg.relative_pos, cfg.widen_in_attention, dropout=cfg.dropout,
                           num_classes=cfg.num_classes)


@pytest.mark.parametrize("name", VERSIONS)
def test_parameter_count_equals_torchvision_and_is_within_1_percent_of_the_paper(name):
    ours = n_params(_on_meta(vidlearn.create_model, name=name))
    assert ours == n_params(_on_meta(getattr(tvv, name))) == TORCHVISION[name][0]
    assert abs(ours - PAPER[name][0]) / PAPER[name][0] < 0.01


@pytest.mark.parametrize("name", VERSIONS)
def test_flops_at_16x224x224_match_torchvision_and_the_paper(name):
    model = _on_meta(vidlearn.create_model, name=name)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(model.example_input(1).to("meta"))
    macs = counter.get_total_flops() / 2  # torch counts a multiply-add as 2 FLOPs; the papers count it as 1
    assert abs(macs - TORCHVISION[name][1]) / TORCHVISION[name][1] < 1e-4
    assert abs(macs - PAPER[name][1]) / PAPER[name][1] < 0.01


@pytest.mark.parametrize("name", VERSIONS)
def test_state_dict_names_and_shapes_equal_torchvision(name):
    ours, ref = _on_meta(vidlearn.create_model, name=name).state_dict(), _on_meta(getattr(tvv, name)).state_dict()
    assert set(ours) == set(ref)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in ref.items()}


@pytest.mark.parametrize("name", VERSIONS)
def test_torchvision_weights_from_a_file_give_identical_outputs(name, tmp_path):
    torch.manual_seed(0)
    ref = getattr(tvv, name)(weights=None).eval()
    _perturb(ref)
    path = tmp_path / f"{name}.pth"
    torch.save(ref.state_dict(), path)
    ours = vidlearn.create_model(name, weights=str(path)).eval()
    x = torch.randn(1, 3, 16, 224, 224)  # the only size torchvision's model takes (its grid is fixed)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("use_sdpa", [True, False], ids=["sdpa", "softmax"])
@pytest.mark.parametrize("name", VERSIONS)
def test_tiny_model_equals_torchvision_mvit_built_from_the_same_block_table(name, use_sdpa):
    torch.manual_seed(0)
    ours = vidlearn.create_model(name, tiny=True, use_sdpa=use_sdpa).eval()
    ref = torchvision_twin(ours.cfg).eval()
    _perturb(ref)
    ours.load_state_dict(ref.state_dict())
    x = ours.example_input(2)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", VERSIONS)
def test_stage_shapes_at_paper_size_follow_the_paper_table(name):
    model = _on_meta(vidlearn.create_model, name=name)
    shapes = stage_shapes(model, model.example_input(1).to("meta"))
    # the papers' MViT-B architecture table (MViTv2-S keeps it): scale2..scale5 at 8 x 56^2, 28^2, 14^2, 7^2,
    # widths 96 to 768
    assert shapes == [StageShape(8 * 56 * 56, 8, 56, 56, 96), StageShape(8 * 28 * 28, 8, 28, 28, 192),
                      StageShape(8 * 14 * 14, 8, 14, 14, 384), StageShape(8 * 7 * 7, 8, 7, 7, 768)]
    assert [len(s) for s in model.stages()] == [1, 2, 11, 2]


def test_key_value_pooling_keeps_about_the_last_stage_grid():
    model = _on_meta(vidlearn.create_model, name="mvit_v1_b")
    kv = [s.stride_kv for s in model.specs]
    assert kv[0] == (1, 8, 8) and kv[1] == (1, 4, 4) and kv[3] == (1, 2, 2) and kv[14] == (1, 1, 1)
    v1 = {i for i, b in enumerate(model.blocks) if b.attn.pool_q is not None}
    assert v1 == {1, 3, 14}  # v1 pools queries where a stage starts only
    v2 = _on_meta(vidlearn.create_model, name="mvit_v2_s")
    assert all(b.attn.pool_q is not None for b in v2.blocks)  # v2: a stride-1 pooling conv in every block


@pytest.mark.parametrize("name", VERSIONS)
def test_tiny_model_has_every_stage_and_trains(name):
    torch.manual_seed(0)
    model = vidlearn.create_model(name, tiny=True)
    assert model.example_input(2).shape == (2, 3, 8, 32, 32)
    assert 100_000 < n_params(model) < 500_000
    assert stage_shapes(model) == [StageShape(256, 4, 8, 8, 16), StageShape(64, 4, 4, 4, 32),
                                   StageShape(16, 4, 2, 2, 64), StageShape(4, 4, 1, 1, 128)]
    if name == "mvit_v2_s":
        assert model.blocks[0].attn.rel_pos_t is not None and model.cfg.residual_pooling
    logits = model(model.example_input(2))
    assert logits.shape == (2, 10)
    logits.logsumexp(-1).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_relative_table_depends_on_the_distance_only_and_scales_pooled_keys():
    table = torch.arange(7.0)[:, None]  # (2*4-1, 1): row r holds r
    r = relative_table(table, 4, 4)[..., 0]  # (4, 4)
    assert torch.equal(r, torch.arange(4.0)[:, None] - torch.arange(4.0)[None, :] + 3)  # i - j, shifted by 3
    r = relative_table(table, 4, 2)[..., 0]  # keys pooled 2x: key j sits at 2j of the query grid
    assert torch.equal(r, torch.arange(4.0)[:, None] - 2 * torch.arange(2.0)[None, :] + 2)


@pytest.mark.parametrize("name", VERSIONS)
def test_v2_relative_bias_and_v1_embedding_change_the_output(name):
    torch.manual_seed(0)
    model = vidlearn.create_model(name, tiny=True).eval()
    x = model.example_input(1)
    with torch.no_grad():
        before = model(x)
        table = model.blocks[0].attn.rel_pos_h if name == "mvit_v2_s" else model.pos_encoding.spatial_pos
        # a random change: a constant one would not show (v1: LayerNorm removes it; v2: the same bias for
        # every key of a query, which softmax ignores)
        table.add_(torch.randn(table.shape, generator=torch.Generator().manual_seed(1)))
        assert not torch.allclose(model(x), before, atol=1e-4)


@pytest.mark.parametrize("name", VERSIONS)
@pytest.mark.parametrize("shape", [(1, 3, 4, 32, 32), (1, 3, 8, 48, 48), (1, 3, 8, 32, 40)],
                         ids=["frames", "size", "width"])
def test_a_clip_of_another_size_than_the_embeddings_is_refused(name, shape):
    model = vidlearn.create_model(name, tiny=True)
    what = "relative position tables" if name == "mvit_v2_s" else "position embeddings"
    with pytest.raises(ValueError, match=f"{what} for T x H x W = 8 x 32 x 32 clips, got "
                                         f"{shape[2]} x {shape[3]} x {shape[4]}"):
        model(torch.randn(shape))


@pytest.mark.parametrize("name", VERSIONS)
def test_wrong_channels_rank_and_small_frames_get_clear_errors(name):
    model = vidlearn.create_model(name, tiny=True)
    with pytest.raises(ValueError, match="C=3 channels .* got C=1"):
        model(torch.randn(1, 1, 8, 32, 32))
    with pytest.raises(ValueError, match="5 dimensions"):
        model(torch.randn(3, 8, 32, 32))
    with pytest.raises(ValueError, match="at least H x W = 32 x 32, got 16 x 16"):
        model(torch.randn(1, 3, 8, 16, 16))
    with pytest.raises(TypeError, match="floating-point"):
        model(torch.zeros(1, 3, 8, 32, 32, dtype=torch.uint8))


def test_weights_that_do_not_fit_are_refused_by_name():
    v1 = vidlearn.create_model("mvit_v1_b", tiny=True).state_dict()
    with pytest.raises(ValueError, match="missing keys .*rel_pos"):
        vidlearn.create_model("mvit_v2_s", tiny=True, weights=v1)
    with pytest.raises(ValueError, match=r"shape mismatches: head.1.weight: \(10, 128\) in the weights, \(5, 128\)"):
        vidlearn.create_model("mvit_v1_b", tiny=True, num_classes=5, weights=v1)


def test_config_rejects_bad_stage_starts_and_num_classes():
    with pytest.raises(ValueError, match="stage_starts"):
        MViTConfig(stage_starts=(3, 1))
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        vidlearn.create_model("mvit_v2_s", num_classes=0, tiny=True)
    assert isinstance(vidlearn.create_model("mvit_v1_b", tiny=True, num_classes=3), MViT)
    assert math.prod(MViTConfig.tiny().q_stride) == 4


def test_stage_shapes_run_in_eval_mode_and_give_the_training_mode_back():
    """Shapes need no drop-path mask: torch 2.11 (Colab's) cannot draw one on "meta" ("Cannot copy out of meta
    tensor"), which made the chapter fail in the Colab reproduction."""
    from vidlearn.models.mvit import stage_shapes

    with torch.device("meta"):  # as the chapter builds the paper-size models
        model = vidlearn.create_model("mvit_v2_s", tiny=True, drop_path_rate=0.5).train()
    calls = []
    import vidlearn.layers.transformer as ts

    real = ts.drop_path_mask
    try:
        ts.drop_path_mask = lambda x, p, training: calls.append(training) or real(x, p, training)
        stage_shapes(model, model.example_input(1).to("meta"))
    finally:
        ts.drop_path_mask = real
    assert model.training and not any(calls)
