"""TSN: segmental consensus, flow snippets, partial BN, cross-modality initialisation, backbones."""

import pytest
import torch
import torch.nn as nn
import torchvision

from vidlearn import create_model
from vidlearn.layers.cnn2d import build_backbone, cross_modality_weight, load_backbone_weights
from vidlearn.models.tsn import SegmentalConsensus


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("consensus", ["avg", "max", "weighted"])
def test_consensus_over_k_identical_snippets_equals_one_snippet(consensus):
    torch.manual_seed(0)
    model = create_model("tsn", tiny=True, consensus=consensus).eval()
    frame = torch.randn(2, 3, 1, 32, 32)
    with torch.no_grad():
        one = model.forward_snippets(frame)[:, 0]
        torch.testing.assert_close(model(frame.expand(-1, -1, 3, -1, -1)), one)


def test_weighted_consensus_learns_segment_weights_that_sum_to_one():
    cons = SegmentalConsensus("weighted", segments=3)
    with torch.no_grad():
        cons.logits.copy_(torch.tensor([0.0, 1.0, 2.0]))
    scores = torch.randn(2, 3, 5)
    w = torch.tensor([0.0, 1.0, 2.0]).softmax(0)
    torch.testing.assert_close(cons(scores), (scores * w[None, :, None]).sum(1))
    with pytest.raises(ValueError, match="built for 3 segments, got 4"):
        cons(torch.randn(2, 4, 5))


def test_flow_snippets_stack_each_segments_fields_as_x1_y1_x2_y2():
    model = create_model("tsn", tiny=True, modality="flow", flow_frames=2, segments=3)
    flow = torch.zeros(1, 2, 6, 2, 2)
    for t in range(6):
        flow[:, 0, t], flow[:, 1, t] = 10 * t, 10 * t + 1
    snippets = model.snippets(flow)
    assert snippets.shape == (3, 4, 2, 2)
    assert snippets[:, :, 0, 0].tolist() == [[0, 1, 10, 11], [20, 21, 30, 31], [40, 41, 50, 51]]
    with pytest.raises(ValueError, match=r"K\*L flow fields with L=2, got T=5"):
        model(torch.randn(1, 2, 5, 32, 32))


def test_partial_bn_freezes_every_bn_but_the_first_through_a_training_step():
    torch.manual_seed(0)
    model = create_model("tsn", tiny=True).train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 3 and model.frozen_bns() == bns[1:]
    assert bns[0].training and not any(bn.training for bn in bns[1:])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1, momentum=0.9,
                          weight_decay=1e-3)
    torch.nn.functional.cross_entropy(model(model.example_input(4)), torch.arange(4)).backward()
    opt.step()
    after = model.state_dict()
    changed = {k for k in before if before[k].dtype.is_floating_point and not torch.equal(before[k], after[k])}
    frozen = {f"backbone.blocks.{i}.1.{s}" for i in (1, 2)
              for s in ("weight", "bias", "running_mean", "running_var")}
    assert not changed & frozen
    first = {f"backbone.blocks.0.1.{s}" for s in ("weight", "bias", "running_mean", "running_var")}
    assert first <= changed
    assert {"backbone.blocks.1.0.weight", "fc.weight"} <= changed


@pytest.mark.parametrize("backbone", ["tiny", "resnet18"])
def test_partial_bn_is_frozen_right_after_create_model(backbone):
    model = create_model("tsn", tiny=backbone == "tiny", backbone=backbone, num_classes=3)
    bns = [m for m in model.backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert model.training and bns[0].training  # the first BN adapts to the new domain
    assert all(not bn.training for bn in bns[1:])  # statistics frozen before any .train() call
    assert all(not bn.weight.requires_grad and not bn.bias.requires_grad for bn in bns[1:])
    before = [bn.running_mean.clone() for bn in bns[1:]]
    x = torch.randn(2, 3, model.cfg.segments, 32, 32)
    with torch.no_grad():
        model(x)  # a training-mode forward, as the first step of a loop that never calls .train()
    assert all(torch.equal(b, bn.running_mean) for b, bn in zip(before, bns[1:]))


def test_without_partial_bn_every_bn_updates_its_statistics():
    model = create_model("tsn", tiny=True, partial_bn=False).train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    before = [bn.running_mean.clone() for bn in bns]
    model(model.example_input(2))
    assert all(not torch.equal(b, bn.running_mean) for b, bn in zip(before, bns))


def test_cross_modality_init_averages_rgb_filters_over_the_2l_flow_channels(tmp_path):
    rgb = create_model("tsn", tiny=True)
    state = rgb.backbone.state_dict()
    path = tmp_path / "rgb_backbone.pt"
    torch.save(state, path)
    flow = create_model("tsn", tiny=True, modality="flow", flow_frames=3, weights=str(path))
    w_rgb, w_flow = state["blocks.0.0.weight"], flow.backbone.blocks[0][0].weight
    assert w_flow.shape == (w_rgb.shape[0], 6, 3, 3)
    for c in range(6):
        torch.testing.assert_close(w_flow[:, c], w_rgb.mean(dim=1))
    for k, v in flow.backbone.state_dict().items():
        if k != "blocks.0.0.weight":
            assert torch.equal(v, state[k]), k
    torch.testing.assert_close(cross_modality_weight(w_rgb, 6), w_flow.detach())


def test_torchvision_resnet_state_dict_loads_with_cross_modality_for_flow():
    state = torchvision.models.resnet18(weights=None).state_dict()
    rgb = build_backbone("resnet18", 3, weights=state)
    assert torch.equal(rgb.net.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    flow = build_backbone("resnet18", 10, weights=state)
    torch.testing.assert_close(flow.net.conv1.weight[:, 7], state["conv1.weight"].mean(1))
    assert flow.eval()(torch.randn(1, 10, 32, 32)).shape == (1, 512)
    with pytest.raises(ValueError, match="lack"):
        load_backbone_weights(build_backbone("resnet18"), {"conv1.weight": state["conv1.weight"]})
    with pytest.raises(FileNotFoundError, match="nowhere/weights.pt"):
        build_backbone("tiny", weights="nowhere/weights.pt")


@pytest.mark.parametrize("modality", ["rgb", "flow"])
def test_tiny_tsn_trains_on_both_modalities(modality):
    model = create_model("tsn", num_classes=6, tiny=True, modality=modality)
    y = model(model.example_input(3))
    assert y.shape == (3, 6)
    y.sum().backward()
    assert model.fc.weight.grad.abs().sum() > 0
    assert 50_000 <= n_params(model) <= 500_000


def test_two_stream_tsn_fuses_rgb_and_flow_one_to_one_and_a_half():
    model = create_model("tsn_two_stream", tiny=True).eval()
    rgb, flow = model.example_input()
    with torch.no_grad():
        p = (model.rgb(rgb).softmax(-1) * 1 + model.flow(flow).softmax(-1) * 1.5) / 2.5
        torch.testing.assert_close(model((rgb, flow)).exp(), p)


def test_paper_size_tsn_parameters_and_small_forward():
    rgb = create_model("tsn").eval()
    assert n_params(rgb) == 5_703_429  # GoogLeNet-BN features 5,599,904 + fc 1024 x 101
    flow = create_model("tsn", modality="flow")
    assert n_params(flow) == 5_725_381  # conv1 takes 2L = 10 channels
    assert flow.cfg.segments == 3 and flow.dropout.p == 0.7 and rgb.dropout.p == 0.8
    with torch.no_grad():
        assert rgb(rgb.example_input(1, small=True)).shape == (1, 101)


def test_bad_inputs_get_clear_errors():
    model = create_model("tsn", tiny=True)
    with pytest.raises(ValueError, match=r"C=3 channels"):
        model(torch.randn(1, 2, 3, 32, 32))
    with pytest.raises(ValueError, match="unknown modality"):
        create_model("tsn", tiny=True, modality="depth")
    with pytest.raises(ValueError, match="unknown 2D backbone"):
        create_model("tsn", tiny=True, backbone="vgg")
