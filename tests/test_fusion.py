"""Convolutional two-stream fusion: fusion functions, fusion layer, temporal fusion, the two-branch model."""

import pytest
import torch

from vidlearn import create_model
from vidlearn.models.deepvideo import fusion_point, temporal_receptive_fields
from vidlearn.models.fusion import SpatialFusion, fusion_losses


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("mode,shape", [("sum", (2, 8, 5, 5)), ("max", (2, 8, 5, 5)), ("concat", (2, 16, 5, 5)),
                                        ("conv", (2, 8, 5, 5)), ("bilinear", (2, 64))])
def test_fusion_functions_give_the_documented_output_channels(mode, shape):
    fuse = SpatialFusion(mode, 8)
    a, b = torch.randn(2, 8, 5, 5), torch.randn(2, 8, 5, 5)
    y = fuse(a, b)
    assert y.shape == shape and fuse.out_channels == shape[1]


def test_fusion_functions_compute_what_the_paper_defines():
    a, b = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(SpatialFusion("sum", 4)(a, b), a + b)
    torch.testing.assert_close(SpatialFusion("max", 4)(a, b), torch.maximum(a, b))
    torch.testing.assert_close(SpatialFusion("conv", 4)(a, b), a + b)  # initialised as sum fusion
    outer = sum(torch.outer(a[0, :, i, j], b[0, :, i, j]) for i in range(3) for j in range(3)).flatten()
    outer = outer.sign() * outer.abs().sqrt()
    torch.testing.assert_close(SpatialFusion("bilinear", 4)(a, b)[0], outer / outer.norm(), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="equal feature maps"):
        SpatialFusion("sum", 4)(a, b[:, :, :2])


@pytest.mark.parametrize("overrides", [
    {},
    {"fusion": "sum", "temporal_fusion": "3d_pool"},
    {"fusion": "max", "fuse_at": "conv3"},
    {"fusion": "concat", "temporal_fusion": "3d_pool", "temporal_branch": False},
    {"fusion": "bilinear", "temporal_fusion": "2d_pool"},
    {"fuse_at": "conv5+fc8"},
])
def test_tiny_fusion_variants_train_on_every_branch_loss(overrides):
    torch.manual_seed(0)
    model = create_model("fusion_two_stream", num_classes=5, tiny=True, **overrides)
    x = model.example_input(batch_size=2)
    assert model(x).shape == (2, 5)
    losses = fusion_losses(model, x, torch.tensor([1, 3]))
    expected = {"spatiotemporal", "total"} | ({"temporal"} if model.cfg.temporal_branch else set())
    expected |= {"spatial"} if model.cfg.fuse_at.endswith("+fc8") else set()
    assert set(losses) == expected
    torch.testing.assert_close(losses["total"], sum(v for k, v in losses.items() if k != "total"))
    losses["total"].backward()
    assert model.spatial[0][0].weight.grad.abs().sum() > 0 and model.temporal[0][0].weight.grad.abs().sum() > 0


def test_two_d_pooling_ignores_time_order_and_3d_conv_does_not():
    torch.manual_seed(0)
    flat = create_model("fusion_two_stream", tiny=True, temporal_fusion="2d_pool", temporal_branch=False).eval()
    conv3d = create_model("fusion_two_stream", tiny=True, temporal_branch=False).eval()
    # the 3D conv starts as sum fusion at its centre tap (order-blind until training moves the other taps):
    # give every tap a weight, as training does
    torch.nn.init.normal_(conv3d.head.conv3d[0].weight, std=0.05)
    rgb, flow = flat.example_input(batch_size=1)
    L = flat.cfg.flow_frames
    order = [2, 0, 3, 1]
    rgb_p = rgb[:, :, order]
    flow_p = torch.cat([flow[:, :, t * L:(t + 1) * L] for t in order], dim=2)
    with torch.no_grad():
        torch.testing.assert_close(flat((rgb_p, flow_p)), flat((rgb, flow)))
        assert not torch.allclose(conv3d((rgb_p, flow_p)), conv3d((rgb, flow)))


def test_fusion_point_and_temporal_receptive_field_are_read_from_the_modules():
    model = create_model("fusion_two_stream", tiny=True)  # T=4 positions 2 frames apart, L=2 fields
    assert fusion_point(model) == "head.conv3d.0"
    rf = {r.name: r.receptive_field for r in temporal_receptive_fields(model)}
    assert rf["temporal.0.0"] == 2  # a flow stack spans L frames
    assert rf["head.conv3d.0"] == 2 + 2 * 2  # 3 positions
    assert rf["head.pool"] == 2 + 2 * 2 + 3 * 2  # the 3D pool spans all T positions
    assert fusion_point(create_model("fusion_two_stream", tiny=True, temporal_fusion="2d_pool")) is None


def test_final_model_fuses_by_3d_conv_over_the_stacked_streams():
    model = create_model("fusion_two_stream", tiny=True)
    assert model.fuse.mode == "concat" and model.head.conv3d[0].in_channels == 2 * 64
    assert model.head.conv3d[0].kernel_size == (3, 3, 3)
    assert model.head.pool.kernel_size == (4, 2, 2)


def test_invalid_configurations_are_refused():
    with pytest.raises(ValueError, match="bilinear fusion leaves no spatial map"):
        create_model("fusion_two_stream", tiny=True, fusion="bilinear", fuse_at="conv4", temporal_fusion="2d_pool")
    with pytest.raises(ValueError, match="unknown fuse_at"):
        create_model("fusion_two_stream", tiny=True, fuse_at="fc6")
    with pytest.raises(ValueError, match="unknown fusion"):
        create_model("fusion_two_stream", tiny=True, fusion="product")
    with pytest.raises(ValueError, match="unknown temporal fusion"):
        create_model("fusion_two_stream", tiny=True, temporal_fusion="lstm")


def test_bad_inputs_get_clear_errors():
    model = create_model("fusion_two_stream", tiny=True)
    rgb, flow = model.example_input(batch_size=1)
    with pytest.raises(ValueError, match=r"T\*L = 4\*2 fields.*T=8 frames, got T=6"):
        model((rgb, flow[:, :, :6]))
    with pytest.raises(ValueError, match="same batch and frame size"):
        model((rgb, torch.randn(1, 2, 8, 40, 40)))  # both above the 32 x 32 minimum, not equal
    with pytest.raises(ValueError, match="one tuple"):
        model(rgb)
    with pytest.raises(TypeError, match="one tuple"):
        model([rgb])


def test_paper_size_model_is_vgg16_streams_with_its_parameter_count():
    model = create_model("fusion_two_stream").eval()
    # 2 VGG-16 conv towers (14.7M each) + 3x3x3 fusion conv 1024->512 (14.2M)
    # + two fc6-fc8 heads of 7x7x512->4096->4096->101 (120.0M each)
    assert n_params(model) == 283_514_762
    assert model.temporal[0][0].in_channels == 20 and model.head.conv3d[0].in_channels == 1024
    with torch.no_grad():
        assert model(model.example_input(batch_size=1, small=True)).shape == (1, 101)


def test_late_fusion_never_fuses_feature_maps_and_averages_the_two_streams_scores():
    torch.manual_seed(0)
    model = create_model("fusion_two_stream", tiny=True, num_classes=5, fuse_at="fc8",
                         temporal_fusion="2d_pool").eval()
    assert model.fuse is None and model.head is None and len(model.fused_stages) == 0
    x = model.example_input(batch_size=2)
    with torch.no_grad():
        branches = model.forward_branches(x)
        assert set(branches) == {"spatial", "temporal"}
        probs = (branches["spatial"].softmax(-1) + branches["temporal"].softmax(-1)) / 2
        torch.testing.assert_close(model(x), probs.log())
        # the appearance branch reads only the RGB frames, the motion branch only the flow
        rgb, flow = x
        other = model.forward_branches((rgb, torch.randn_like(flow)))
        torch.testing.assert_close(other["spatial"], branches["spatial"])
    losses = fusion_losses(model, x, torch.tensor([1, 3]))
    assert set(losses) == {"spatial", "temporal", "total"}
    with pytest.raises(ValueError, match="unknown fuse_at"):
        create_model("fusion_two_stream", tiny=True, fuse_at="fc8+fc8")


def test_final_model_starts_as_sum_fusion_at_the_centre_of_its_3d_conv():
    model = create_model("fusion_two_stream", tiny=True)
    w = model.head.conv3d[0].weight  # (D, 2D, 3, 3, 3)
    d = w.shape[0]
    eye = torch.eye(d)
    torch.testing.assert_close(w[:, :, 1, 1, 1], torch.cat([eye, eye], dim=1))
    assert w.abs().sum() == 2 * d and model.head.conv3d[0].bias.abs().sum() == 0


def test_branch_losses_trains_with_fit_on_the_sum_of_the_branch_losses():
    from vidlearn.models.fusion import BranchLosses

    torch.manual_seed(0)
    model = create_model("fusion_two_stream", tiny=True, num_classes=3)
    two = BranchLosses(model).eval()
    x, y = model.example_input(batch_size=2), torch.tensor([0, 2])
    out = two(x)
    torch.testing.assert_close(out, model(x))
    torch.testing.assert_close(two.loss(out, y), fusion_losses(model, x, y)["total"])


def test_branch_accuracies_score_each_branch_and_the_averaged_scores():
    from vidlearn.models.fusion import branch_accuracies

    torch.manual_seed(0)
    model = create_model("fusion_two_stream", tiny=True, num_classes=3, fuse_at="fc8")
    (rgb, flow), y = model.example_input(batch_size=6), torch.tensor([0, 1, 2, 0, 1, 2])
    data = [((rgb[i], flow[i]), int(y[i])) for i in range(6)]
    acc = branch_accuracies(model, data, batch_size=4)
    assert set(acc) == {"spatial", "temporal", "all"} and model.training
    with torch.no_grad():
        expected = (model.eval()((rgb, flow)).argmax(1) == y).float().mean().item()
    assert acc["all"] == pytest.approx(expected)
