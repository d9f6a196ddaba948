"""Layers the models share (vidlearn.layers.transformer)."""

import pytest
import torch


def test_the_video_transformers_share_one_mlp_and_one_drop_path():
    """TimeSformer, ViViT, MViT and VideoMAE build their blocks from vidlearn.layers.transformer (one definition)."""
    import vidlearn.layers.transformer as shared
    import vidlearn.models.mvit as mvit
    import vidlearn.models.timesformer as timesformer
    import vidlearn.models.videomae as videomae
    import vidlearn.models.vivit as vivit

    assert timesformer.Mlp is vivit.Mlp is videomae.Mlp is shared.Mlp
    assert timesformer.drop_path is vivit.drop_path is mvit.drop_path is videomae.drop_path is shared.drop_path
    x = torch.randn(2, 5, 8)
    exact, tanh = shared.Mlp(8, 16, 0.0), shared.Mlp(8, 16, 0.0, gelu="tanh")
    tanh.load_state_dict(exact.state_dict())  # the same weights, fc1 and fc2, whichever GELU
    assert not torch.equal(exact(x), tanh(x)) and torch.allclose(exact(x), tanh(x), atol=1e-2)
    with pytest.raises(ValueError, match="gelu must be one of"):
        shared.Mlp(8, 16, 0.0, gelu="erf")
    assert shared.drop_path(x, 0.5, training=False) is x  # eval mode: nothing dropped
    torch.manual_seed(0)
    out = shared.drop_path(torch.ones(1000, 1, 1), 0.5, training=True)
    assert set(out.unique().tolist()) <= {0.0, 2.0} and abs(out.mean().item() - 1) < 0.1  # kept ones scaled
