"""The VideoMAE chapter's helpers: the pre-training loop, reconstructions, the copy-from-a-neighbour baseline."""

import pytest
import torch

from vidlearn.layers.masking import copy_from_neighbours, patchify, tube_mask, unpatchify
from vidlearn.models.videomae import videomae_b_pretrain
from vidlearn.models.videomae_helpers import pretrain, reconstruct


def _tiny(**overrides):
    torch.manual_seed(0)
    return videomae_b_pretrain(tiny=True, img_size=16, patch_size=4, num_frames=4, mask_ratio=0.5, **overrides)


def test_pretrain_lowers_the_loss_and_repeats_exactly_with_a_seed():
    clips = torch.randn(8, 3, 4, 16, 16, generator=torch.Generator().manual_seed(1)) * 0.1
    clips = clips + torch.linspace(-1, 1, 16)  # a learnable ramp across the width
    a, b = _tiny(norm_pix_loss=False), _tiny(norm_pix_loss=False)
    la = pretrain(a, clips, epochs=6, batch_size=4, lr=3e-3, seed=0)
    lb = pretrain(b, clips, epochs=6, batch_size=4, lr=3e-3, seed=0)
    assert len(la) == 6 and la[-1] < 0.5 * la[0]
    assert la == lb and not a.training
    with pytest.raises(ValueError, match="epochs >= 1"):
        pretrain(a, clips, epochs=0)


def test_pretrain_accepts_a_dataset_of_clip_label_pairs():
    data = [(torch.randn(3, 4, 16, 16), 0) for _ in range(4)]

    class Pairs(torch.utils.data.Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return data[i]

    assert len(pretrain(_tiny(), Pairs(), epochs=1, batch_size=2)) == 1


@pytest.mark.parametrize("norm_pix", [True, False])
def test_reconstruct_keeps_visible_tubelets_and_paints_the_hidden_ones_from_the_prediction(norm_pix):
    model = _tiny(norm_pix_loss=norm_pix).eval()
    video = torch.randn(2, 3, 4, 16, 16, generator=torch.Generator().manual_seed(2))
    mask = tube_mask(2, 2, 16, 0.5, generator=torch.Generator().manual_seed(3))
    out = reconstruct(model, video, mask)
    cfg = model.cfg
    pixels = video * torch.tensor(cfg.pixel_std).view(1, 3, 1, 1, 1) + torch.tensor(cfg.pixel_mean).view(
        1, 3, 1, 1, 1)
    got, true = patchify(out, 2, 4), patchify(pixels, 2, 4)  # (B, N, D)
    torch.testing.assert_close(got[~mask], true[~mask])
    pred = model(video, mask=mask).pred  # (B, N_masked, D)
    if norm_pix:  # the prediction, scaled back with each true tubelet's own mean and std per channel
        t = true[mask].view(-1, 2 * 4 * 4, 3)
        pred = pred.reshape(-1, 2 * 4 * 4, 3) * (t.var(1, keepdim=True).sqrt() + 1e-6) + t.mean(1, keepdim=True)
    torch.testing.assert_close(got[mask], pred.reshape(-1, got.shape[-1]), rtol=1e-4, atol=1e-5)


def test_copy_from_neighbours_takes_the_nearest_visible_slot_and_falls_back_under_tube_masking():
    b, t, hw, d = 1, 4, 2, 3
    patches = torch.arange(b * t * hw * d, dtype=torch.float32).view(b, t * hw, d)
    mask = torch.zeros(b, t * hw, dtype=torch.bool)
    mask[0, [2, 4, 6]] = True  # position 0 hidden in slots 1, 2, 3; visible in slot 0
    out = copy_from_neighbours(patches, mask, t)
    for token in (2, 4, 6):
        torch.testing.assert_close(out[0, token], patches[0, 0])  # only slot 0 shows position 0
    torch.testing.assert_close(out[~mask], patches[~mask])
    mask2 = mask.clone()
    mask2[0, [0, 2, 4, 6]] = True  # position 0 hidden in every slot (a tube): the mean visible token
    out2 = copy_from_neighbours(patches, mask2, t)
    torch.testing.assert_close(out2[0, 0], patches[0, ~mask2[0]].mean(0))
    mask3 = torch.zeros_like(mask)
    mask3[0, [2]] = True  # slot 1: slots 0 and 2 both visible, the earlier one wins the tie
    torch.testing.assert_close(copy_from_neighbours(patches, mask3, t)[0, 2], patches[0, 0])
    with pytest.raises(ValueError, match="time slots"):
        copy_from_neighbours(patches, mask, 3)


def test_patchify_round_trip_is_what_reconstruct_relies_on():
    video = torch.randn(1, 3, 4, 8, 8)
    torch.testing.assert_close(unpatchify(patchify(video, 2, 4), (2, 2, 2), 2, 4), video)
