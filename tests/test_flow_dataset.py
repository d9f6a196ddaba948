"""FlowPairs: RGB frames + stacked flow of a clip dataset, in the documented order."""

import numpy as np
import pytest
import torch

from vidlearn.data.synthetic import SyntheticActions
from vidlearn.flow import compute_flow
from vidlearn.flow.dataset import FlowPairs, snippet_starts

pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def clips():
    return SyntheticActions("motion", num_samples=6, frames=8, size=32, classes=4, seed=0)


def test_snippet_starts_contiguous_and_spread():
    assert snippet_starts(7, 1, 4, spread=False) == [1]
    assert snippet_starts(7, 3, 2, spread=False) == [0, 2, 4]
    assert snippet_starts(23, 3, 2, spread=True) == [2, 10, 18]
    with pytest.raises(ValueError, match="at least 9 frames"):
        snippet_starts(7, 2, 4, spread=False)


def test_items_hold_the_frame_and_the_flow_fields_that_start_at_each_snippet(clips):
    ds = FlowPairs(clips, flow_frames=2, snippets=3, spread=False)
    (rgb, flow), label = ds[1]
    clip, true_label = clips[1]  # normalised: SyntheticActions' default transform
    raw, _ = clips.clip(1)  # in [0, 1]
    assert label == true_label
    assert rgb.shape == (3, 3, 32, 32) and flow.shape == (2, 6, 32, 32)
    assert ds.starts == [0, 2, 4]
    full = compute_flow(raw)  # (2, 7, 32, 32): flow is computed from the clips as made
    np.testing.assert_allclose(flow.numpy(), full[:, 0:6], atol=0.02, rtol=1e-2)  # float16 storage
    torch.testing.assert_close(rgb, clip[:, [0, 2, 4]], atol=2e-3, rtol=0)  # the data set's normalisation
    assert clips.transform is not None  # the data set keeps its own transform


def test_modalities_share_the_data(clips):
    ds = FlowPairs(clips, flow_frames=4, rgb_transform=lambda x: x - 0.5, flow_scale=2.0)
    x, _ = ds.with_modality("rgb")[0]
    f, _ = ds.with_modality("flow")[0]
    (x2, f2), _ = ds[0]
    assert x.shape == (3, 1, 32, 32) and f.shape == (2, 4, 32, 32)
    assert torch.equal(x, x2) and torch.equal(f, f2) and float(x.min()) < 0
    assert len(ds) == 6 and ds.num_classes == 4
    with pytest.raises(ValueError, match="modality"):
        ds.with_modality("depth")


def test_feeds_the_two_stream_model(clips):
    from vidlearn import create_model

    ds = FlowPairs(clips, flow_frames=4)
    model = create_model("two_stream", tiny=True, num_classes=4).eval()
    (rgb, flow), _ = ds[0]
    assert model((rgb[None], flow[None])).shape == (1, 4)


def test_clips_of_different_sizes_are_reported_with_the_item_index_before_their_flow(monkeypatch):
    import vidlearn.flow.dataset as dataset_module

    a = SyntheticActions("motion", num_samples=3, frames=8, size=32, classes=2, seed=0)
    b = SyntheticActions("motion", num_samples=3, frames=8, size=24, classes=2, seed=0)
    mixed = torch.utils.data.ConcatDataset([a, b])
    computed = []
    real = dataset_module.compute_flow
    monkeypatch.setattr(dataset_module, "compute_flow", lambda clip, *a, **k: computed.append(1) or real(clip, *a, **k))
    with pytest.raises(ValueError, match=r"item 3: clip of shape \(C, T, H, W\) = \(3, 8, 24, 24\), but item 0 is "
                                         r"\(3, 8, 32, 32\)"):
        FlowPairs(mixed, flow_frames=2)
    assert len(computed) == 3  # stopped at the first odd item, not after computing every flow
