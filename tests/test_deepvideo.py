"""DeepVideo: single frame, late / early / slow fusion, multires, and the temporal receptive-field report."""

import pytest
import torch

from vidlearn import create_model
from vidlearn.models.deepvideo import DeepVideoConfig, FusionNet, fusion_point, temporal_receptive_fields

VARIANTS = ["single_frame", "late_fusion", "early_fusion", "slow_fusion", "multires"]
PAPER_PARAMS = {  # Sports-1M heads (487 classes); the paper gives no parameter counts
    "single_frame": 26_722_151,
    "late_fusion": 30_916_455,
    "early_fusion": 27_035_783,
    "slow_fusion": 28_325_831,
    "multires": 34_663_655,
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", VARIANTS)
def test_tiny_variant_trains_forward_and_backward_with_documented_shape(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7, tiny=True)
    x = model.example_input(batch_size=3)
    y = model(x)
    assert y.shape == (3, 7)
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert 50_000 <= n_params(model) <= 500_000


@pytest.mark.parametrize("name", VARIANTS)
def test_paper_size_variant_has_expected_parameters_and_runs_small_input(name):
    model = create_model(name).eval()
    assert n_params(model) == PAPER_PARAMS[name]
    with torch.no_grad():
        assert model(model.example_input(batch_size=1, small=True)).shape == (1, 487)


def test_single_frame_averages_per_frame_scores():
    model = create_model("single_frame", tiny=True).eval()
    x = model.example_input()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.forward_frames(x).mean(dim=1))


def test_late_fusion_sees_only_the_two_frames_late_gap_apart():
    model = create_model("late_fusion", tiny=True).eval()
    gap = model.cfg.late_gap
    x = model.example_input(batch_size=1)
    with torch.no_grad():
        y = model(x)
        middle = x.clone()
        middle[:, :, 1:gap] = 0
        torch.testing.assert_close(model(middle), y)
        last = x.clone()
        last[:, :, gap] = 0
        assert not torch.allclose(model(last), y)


@pytest.mark.parametrize("name", ["early_fusion", "slow_fusion"])
def test_early_and_slow_fusion_outputs_depend_on_every_frame(name):
    torch.manual_seed(0)
    model = create_model(name, tiny=True).eval()
    x = model.example_input(batch_size=1).requires_grad_(True)
    model(x).sum().backward()
    per_frame = x.grad.abs().sum(dim=(0, 1, 3, 4))
    assert (per_frame > 0).all(), per_frame


def test_fusion_variants_reject_wrong_frame_count_and_channels():
    with pytest.raises(ValueError, match=r"T=8 frames, got T=7"):
        create_model("early_fusion", tiny=True)(torch.randn(1, 3, 7, 32, 32))
    with pytest.raises(ValueError, match=r"at least T=8 frames"):
        create_model("late_fusion", tiny=True)(torch.randn(1, 3, 4, 32, 32))
    with pytest.raises(ValueError, match=r"C=3 channels.*got C=2"):
        create_model("slow_fusion", tiny=True)(torch.randn(1, 2, 8, 32, 32))
    with pytest.raises(ValueError, match="5 dimensions"):
        create_model("multires", tiny=True)(torch.randn(3, 8, 32, 32))


def test_slow_fusion_schedule_that_does_not_fit_the_frames_is_refused():
    with pytest.raises(ValueError, match="do not fit frames=4"):
        create_model("slow_fusion", tiny=True, frames=4, slow_temporal=((4, 2), (2, 2), (2, 2), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match="unknown fusion variant"):
        FusionNet(DeepVideoConfig.tiny(), "middle")


def test_temporal_receptive_fields_follow_the_paper_at_paper_size():
    def rf(name):
        return [(r.name, r.receptive_field) for r in temporal_receptive_fields(create_model(name, fc_dim=8))]

    assert all(v == 1 for _, v in rf("single_frame"))
    assert all(v == 1 for _, v in rf("multires"))
    early = rf("early_fusion")
    assert early[0] == ("tower.features.0", 10) and early[-1][1] == 10
    slow = dict(rf("slow_fusion"))  # conv1 sees 4 frames, conv2 6, conv3 all 10
    assert [slow["tower.features.0"], slow["tower.features.4"], slow["tower.features.8"]] == [4, 6, 10]
    late = dict(rf("late_fusion"))  # per-frame towers; the first FC sees frames 0 and 15: 16 frames
    assert late["tower.features.12"] == 1 and late["head.0"] == 16


def test_fusion_point_names_the_layer_where_time_is_merged():
    points = {name: fusion_point(create_model(name, tiny=True)) for name in VARIANTS}
    assert points == {"single_frame": None, "multires": None, "late_fusion": "head.0",
                      "early_fusion": "tower.features.0", "slow_fusion": "tower.features.0"}
    kinds = [r.kind for r in temporal_receptive_fields(create_model("late_fusion", tiny=True))]
    assert kinds.count("fc (merges time)") == 1


def test_multires_fovea_is_the_centre_crop_and_context_the_downsampled_frame():
    model = create_model("multires", tiny=True)
    x = torch.arange(64.0).repeat(64, 1)[None, None, None].expand(1, 3, 1, 64, 64).contiguous()
    fovea, context = model.streams(x)
    assert fovea.shape == context.shape == (1, 3, 32, 32)
    torch.testing.assert_close(fovea, x[0, :, :, 16:48, 16:48].transpose(0, 1))
    torch.testing.assert_close(context[0, 0, 0, :4], torch.tensor([0.5, 2.5, 4.5, 6.5]))
