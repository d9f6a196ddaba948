"""Loading torchvision weights through vidlearn gives torchvision's own features (vidlearn/layers/cnn2d.py,
the TSM backbone and the C2D inflation path), on weights made locally (nothing downloads)."""

import pytest
import torch
import torch.nn as nn
import torchvision

import vidlearn
from vidlearn.layers.cnn2d import build_backbone


def _calibrated(net: nn.Module, in_channels: int = 3) -> nn.Module:
    """Batch-norm statistics of one batch, so that features are of order 1 (fresh running statistics on a
    freshly initialised GoogLeNet give features near 1e-11, and any two of those would be "close")."""
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average: one batch sets the statistics
    with torch.no_grad():
        net.train()(torch.randn(8, in_channels, 64, 64))
    return net.eval()


def _torchvision_features(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    net.fc = nn.Identity()  # everything up to the classifier: (N, D)
    with torch.no_grad():
        return net.eval()(x)


def test_googlenet_with_torchvision_weights_gives_torchvisions_features(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.googlenet(weights=None, init_weights=True, transform_input=True, aux_logits=False)
    tv = _calibrated(tv)
    torch.save(tv.state_dict(), tmp_path / "googlenet.pt")
    ours = build_backbone("googlenet", weights=tmp_path / "googlenet.pt").eval()
    x = torch.randn(2, 3, 64, 64)  # an ImageNet-normalised input
    with torch.no_grad():
        got = ours(x)
    assert got.abs().mean() > 0.01  # features of order 1: a comparison that can fail
    torch.testing.assert_close(got, _torchvision_features(tv, x), rtol=1e-4, atol=1e-4)


def test_googlenet_for_flow_stacks_has_no_rgb_input_transform():
    assert build_backbone("googlenet").net.transform_input
    assert not build_backbone("googlenet", in_channels=10).net.transform_input


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_resnet_with_torchvision_weights_gives_torchvisions_features(tmp_path, arch):
    torch.manual_seed(0)
    tv = _calibrated(getattr(torchvision.models, arch)(weights=None))
    torch.save(tv.state_dict(), tmp_path / f"{arch}.pt")
    ours = build_backbone(arch, weights=tmp_path / f"{arch}.pt").eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        got = ours(x)
    assert got.abs().mean() > 0.01  # features of order 1: a comparison that can fail
    torch.testing.assert_close(got, _torchvision_features(tv, x), rtol=1e-4, atol=1e-4)


def test_tsm_backbone_with_torchvision_weights_gives_torchvisions_features(tmp_path):
    torch.manual_seed(0)
    tv = _calibrated(torchvision.models.resnet18(weights=None))
    torch.save(tv.state_dict(), tmp_path / "resnet18.pt")
    tsm = vidlearn.create_model("tsm_r50", backbone="resnet18", shift=False, frames=2,
                                backbone_weights=tmp_path / "resnet18.pt").eval()
    clip = torch.randn(1, 3, 2, 64, 64)
    with torch.no_grad():
        got = tsm.forward_features(clip)[0]  # (T, D)
    assert got.abs().mean() > 0.01
    torch.testing.assert_close(got, _torchvision_features(tv, clip[0].transpose(0, 1)), rtol=1e-4, atol=1e-5)


def test_c2d_inflated_from_torchvision_resnet50_gives_its_features_on_a_static_clip():
    torch.manual_seed(0)
    tv = _calibrated(torchvision.models.resnet50(weights=None))
    c2d = vidlearn.create_model("c2d_r50")
    c2d.load_2d_weights(tv.state_dict())
    frame = torch.randn(1, 3, 64, 64)
    clip = frame[:, :, None].expand(-1, -1, 8, -1, -1)  # (1, 3, 8, 64, 64): the frame, repeated
    with torch.no_grad():
        got = c2d.eval().forward_features(clip)
    assert got.abs().mean() > 0.01
    torch.testing.assert_close(got, _torchvision_features(tv, frame), rtol=1e-3, atol=1e-4)
