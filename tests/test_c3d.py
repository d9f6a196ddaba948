"""Tests for C3D (vidlearn/models/c3d.py): architecture, fc6 features and the linear-classifier workflow."""

import pytest
import torch
import torch.nn as nn

import vidlearn
from vidlearn.models.c3d import C3D, C3DConfig, train_linear_classifier, video_features


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_paper_size_has_8_convs_5_pools_and_80m_parameters():
    model = vidlearn.create_model("c3d")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool3d)]
    assert len(convs) == 8 and all(c.kernel_size == (3, 3, 3) and c.stride == (1, 1, 1) for c in convs)
    assert len(pools) == 5 and pools[0].kernel_size == (1, 2, 2)
    assert all(p.kernel_size == (2, 2, 2) for p in pools[1:])
    assert model.fc6.in_features == 512 * 4 * 4 and model.fc6.out_features == 4096
    assert model.fc7.out_features == 4096 and model.fc8.out_features == 487
    assert n_params(model) == 79_991_015


def test_pool5_grid_is_1x4x4_at_16x112x112_and_the_adaptive_pool_is_identity_there():
    model = C3D(C3DConfig(widths=(4, 4, 4, 4, 4), fc_dim=8))
    x = torch.randn(1, 3, 16, 112, 112)
    with torch.no_grad():
        pool5 = model.features(x)
        assert pool5.shape == (1, 4, 1, 4, 4)
        assert torch.equal(model.forward_features(x, "pool5"), pool5)


def test_fc6_feature_shape():
    model = vidlearn.create_model("c3d").eval()
    with torch.no_grad():
        assert model.forward_features(model.example_input(small=True), "fc6").shape == (2, 4096)
    tiny = vidlearn.create_model("c3d", tiny=True).eval()
    with torch.no_grad():
        assert tiny.forward_features(tiny.example_input(), "fc6").shape == (2, 64)
        assert tiny.forward_features(tiny.example_input(), "fc7").shape == (2, 64)
    with pytest.raises(ValueError, match="'pool5', 'fc6' or 'fc7'"):
        tiny.forward_features(tiny.example_input(), "fc9")


def test_video_features_average_overlapping_clips_and_are_l2_normalised():
    torch.manual_seed(0)
    model = vidlearn.create_model("c3d", tiny=True).eval()
    video = torch.randn(3, 20, 32, 32)  # clips start at 0, 4, 8, 12 (clip_len 8, stride 4)
    feat = video_features(model, video)
    assert feat.shape == (64,)
    torch.testing.assert_close(feat.norm(), torch.tensor(1.0))
    with torch.no_grad():
        clips = torch.stack([video[:, s:s + 8] for s in (0, 4, 8, 12)])
        expected = model.forward_features(clips, "fc6").mean(0)
    torch.testing.assert_close(feat, expected / expected.norm())
    assert not model.training


def test_video_features_reject_short_or_batched_videos():
    model = vidlearn.create_model("c3d", tiny=True)
    with pytest.raises(ValueError, match="clip_len=8 frames, the video has T=5"):
        video_features(model, torch.randn(3, 5, 32, 32))
    with pytest.raises(ValueError, match=r"one video \(C, T, H, W\)"):
        video_features(model, torch.randn(1, 3, 8, 32, 32))


def test_linear_classifier_separates_separable_features():
    torch.manual_seed(0)
    centers = torch.randn(3, 16) * 3
    labels = torch.arange(3).repeat(20)
    feats = centers[labels] + 0.3 * torch.randn(60, 16)
    clf = train_linear_classifier(feats, labels, steps=100)
    assert isinstance(clf, nn.Linear) and clf.out_features == 3
    assert (clf(feats).argmax(1) == labels).float().mean() == 1.0
    with pytest.raises(ValueError, match="features \\(N, D\\) and labels \\(N,\\)"):
        train_linear_classifier(feats, labels[:10])


def test_too_few_frames_or_tiny_frames_get_clear_errors():
    model = vidlearn.create_model("c3d", tiny=True)
    with pytest.raises(ValueError, match="at least T=8 frames"):
        model(torch.randn(1, 3, 4, 32, 32))
    with pytest.raises(ValueError, match="at least H x W = 16 x 16"):
        model(torch.randn(1, 3, 8, 8, 8))
    with pytest.raises(ValueError, match="C=3 channels"):
        model(torch.randn(1, 8, 3, 32, 32))
    assert vidlearn.create_model("c3d").min_frames == 16


def test_tiny_c3d_trains_one_step():
    torch.manual_seed(0)
    model = vidlearn.create_model("c3d", tiny=True)
    loss = nn.functional.cross_entropy(model(model.example_input()), torch.tensor([0, 1]))
    loss.backward()
    assert torch.isfinite(loss)
    assert model.features[0].weight.grad.abs().sum() > 0


def test_pools_are_unpadded_and_round_up_like_the_caffe_model():
    # C3D-v1.0's pool3d layer: no padding, output size ceil((n - 2) / 2) + 1, windows start at 0, 2, 4, 6
    model = C3D(C3DConfig(widths=(4, 4, 4, 4, 4), fc_dim=8))
    pools = [m for m in model.features if isinstance(m, nn.MaxPool3d)]
    assert all(p.padding == 0 and p.ceil_mode for p in pools)
    x = torch.randn(1, 4, 2, 7, 7)  # conv5b's output at 16x112x112
    expected = torch.empty(1, 4, 1, 4, 4)
    for i in range(4):
        for j in range(4):
            expected[..., i, j] = x[..., 2 * i:2 * i + 2, 2 * j:2 * j + 2].amax(dim=(-3, -2, -1)).unsqueeze(-1)
    torch.testing.assert_close(pools[4](x), expected)


def test_tiny_pool5_grid_is_1x1x1_at_8x32x32():
    tiny = vidlearn.create_model("c3d", tiny=True)
    assert tiny.grid == (1, 1, 1) and tiny.fc6.in_features == 32
