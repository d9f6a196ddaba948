"""Weight files are loaded with weights_only=True everywhere: a malicious pickle runs no code through any
``weights=`` loader or checkpoint loader, even with torch's safe default switched off; damaged files and
state dicts that do not fit get errors that name the file, the keys and the shapes."""

import os

import pytest
import torch
import torch.nn as nn

import vidlearn
from vidlearn.layers.cnn2d import build_backbone, load_backbone_weights
from vidlearn.models.hf_timesformer import load_hf_timesformer
from vidlearn.train import load_checkpoint
from vidlearn.weights import WeightsFileError, load_weights, read_state_dict


class _CreatesAFile:
    """Unpickling this runs ``os.makedirs(marker)``: what a malicious weights file could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.makedirs, (self.marker,)


@pytest.fixture
def malicious(tmp_path, monkeypatch):
    """A torch.save'd "state dict" whose unpickling would create ``marker``; torch's safe default is off."""
    marker = tmp_path / "code-ran"
    path = tmp_path / "weights.pt"
    torch.save({"conv1.weight": torch.zeros(1), "payload": _CreatesAFile(marker)}, path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    return path, marker


def _refused_safely(path, marker, err):
    assert not marker.exists(), "the weights file's code ran"
    assert isinstance(err, WeightsFileError) and str(path) in str(err) and "could run code" in str(err), err


@pytest.mark.parametrize("name", vidlearn.list_models())
def test_malicious_weights_file_runs_no_code_in_any_model_loader(name, malicious):
    path, marker = malicious
    with pytest.raises((WeightsFileError, TypeError)) as info:
        vidlearn.create_model(name, tiny=True, weights=str(path))
    if isinstance(info.value, TypeError):  # this factory takes no weights= at all: refused by name
        assert "weights" in str(info.value) and not marker.exists()
    else:
        _refused_safely(path, marker, info.value)


def test_every_weights_loader_is_covered_by_the_malicious_file_test():
    takes_weights = []
    for name in vidlearn.list_models():
        try:
            vidlearn.create_model(name, tiny=True, weights={})
        except TypeError as err:
            assert "weights" in str(err)
            continue
        except ValueError:  # an empty state dict does not fit: this factory loads weights
            pass
        takes_weights.append(name)
    for family in ("r3d_18", "i3d", "nl_c2d_r50", "slowfast_r50", "tsm_r50", "tsn", "conv_pooling"):
        assert family in takes_weights


def test_malicious_file_runs_no_code_in_the_other_loaders(malicious, tmp_path):
    path, marker = malicious
    calls = [
        lambda: vidlearn.create_model("tsm_r50", tiny=True, backbone_weights=path),
        lambda: vidlearn.create_model("r3d_18", tiny=True).load_weights(path),
        lambda: load_backbone_weights(build_backbone("resnet18"), path),
        lambda: load_hf_timesformer(vidlearn.create_model("timesformer", tiny=True), path),
        lambda: load_checkpoint(path, nn.Linear(2, 2)),
        lambda: read_state_dict(path),
    ]
    for call in calls:
        with pytest.raises(WeightsFileError) as info:
            call()
        _refused_safely(path, marker, info.value)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut short", b"garbage, not a torch file " * 20],
                         ids=["empty", "cut-zip", "garbage"])
def test_damaged_weights_file_error_names_the_file(tmp_path, content):
    path = tmp_path / "broken.pt"
    path.write_bytes(content)
    with pytest.raises(WeightsFileError, match=f"{path}.*expected a state dict"):
        vidlearn.create_model("r3d_18", tiny=True, weights=path)


def test_truncated_weights_file_error_names_the_file(tmp_path):
    model = vidlearn.create_model("i3d", tiny=True)
    path = tmp_path / "i3d.pt"
    torch.save(model.state_dict(), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsFileError, match=f"{path}.*truncated"):
        vidlearn.create_model("i3d", tiny=True, weights=path)


def test_weights_that_do_not_fit_name_keys_and_both_shapes():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2)).state_dict()
    with pytest.raises(ValueError, match=r"0.weight: \(5, 3\) in the weights, \(4, 3\) in the model"):
        load_weights(net, state)
    state = dict(net.state_dict())
    state["extra.weight"] = state.pop("1.bias")
    with pytest.raises(ValueError, match=r"missing keys \['1.bias'\].*unexpected keys \['extra.weight'\]"):
        load_weights(net, state)
    load_weights(net, state, strict=False)  # names may differ when not strict; shapes still must match
