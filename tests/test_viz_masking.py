"""The masking explorer (VideoMAE chapter): static-friendly, one trace per panel and ratio, honest masks."""

import pytest
import torch

from vidlearn.models.videomae import videomae_b_pretrain
from vidlearn.viz.masking import HIDDEN_GREY, draw_masks, masked_view, masking_explorer


def _clip(t=4, s=16):
    return torch.rand(3, t, s, s, generator=torch.Generator().manual_seed(0))


def test_masked_view_greys_exactly_the_hidden_tubelets():
    clip = _clip()
    mask = torch.zeros(2 * 4 * 4, dtype=torch.bool)
    mask[0] = True  # the first tubelet: frames 0-1, the top-left 4 x 4 patch
    view = masked_view(clip, mask, 2, 4)
    assert torch.all(view[:, :2, :4, :4] == HIDDEN_GREY)
    untouched = torch.ones_like(clip, dtype=torch.bool)
    untouched[:, :2, :4, :4] = False
    assert torch.equal(view[untouched], clip[untouched])


def test_draw_masks_gives_each_mask_type_the_paper_count():
    masks = draw_masks(("tube", "random", "frame"), 0.75, (4, 4, 4), seed=0)
    assert masks["tube"].view(4, 16).sum(1).tolist() == [12] * 4
    assert int(masks["random"].sum()) == 48
    assert sorted(masks["frame"].view(4, 16).sum(1).tolist()) == [0, 16, 16, 16]
    with pytest.raises(ValueError, match="unknown mask type"):
        draw_masks(("tubes",), 0.5, (4, 4, 4))


def test_explorer_without_a_model_has_a_slider_that_shows_one_ratio_at_a_time():
    fig = masking_explorer(_clip(), ratios=(0.5, 0.75))
    assert len(fig.data) == 1 + 2 * 3  # the clip, then 3 mask rows per ratio
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 2 and [s.label for s in steps] == ["0.5", "0.75"]
    for k, step in enumerate(steps):
        visible = step.args[0]["visible"]
        assert visible[0] is True and sum(visible) == 1 + 3
        assert all(visible[1 + 3 * k + r] for r in range(3))
    assert [bool(t.visible) for t in fig.data] == steps[0].args[0]["visible"]
    assert all(t.source.startswith("data:image/png;base64,") for t in fig.data)  # no kernel, no files


def test_explorer_with_a_model_adds_its_reconstruction_and_keeps_the_visible_tubelets():
    torch.manual_seed(0)
    model = videomae_b_pretrain(tiny=True, img_size=16, patch_size=4, num_frames=4, mask_ratio=0.5).eval()
    fig = masking_explorer(_clip(), model, ratios=(0.5,), mask_types=("tube", "random"))
    assert len(fig.data) == 1 + 2 * 2
    assert "reconstruction" in fig.layout.annotations[-1].text


def test_explorer_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match=r"\(3, T, H, W\)"):
        masking_explorer(torch.rand(1, 3, 4, 16, 16))
    with pytest.raises(ValueError, match="tubelets"):
        masking_explorer(torch.rand(3, 3, 16, 16))  # 3 frames do not split into tubelets of 2
    with pytest.raises(ValueError, match="at least one"):
        masking_explorer(_clip(), ratios=())
