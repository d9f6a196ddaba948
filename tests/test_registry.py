import pytest
import torch.nn as nn

import vidlearn
from vidlearn.registry import UnknownModelError, register_model


def test_create_model_passes_num_classes_and_tiny():
    m = vidlearn.create_model("single_frame", num_classes=3, tiny=True)
    assert m.cfg.num_classes == 3
    assert m.cfg.fc_dim < vidlearn.create_model("single_frame").cfg.fc_dim


def test_unknown_model_error_lists_close_matches_and_is_a_key_error():
    with pytest.raises(KeyError) as err:
        vidlearn.create_model("single_frme")
    assert isinstance(err.value, UnknownModelError)
    assert "single_frame" in str(err.value) and "Did you mean" in str(err.value)


def test_list_models_filters_by_pattern():
    assert vidlearn.list_models("single_*") == ["single_frame"]
    assert vidlearn.list_models("no_such_model_*") == []


def test_registering_a_name_twice_is_an_error():
    def single_frame(tiny=False, **kw):
        return nn.Identity()

    with pytest.raises(ValueError, match="already registered"):
        register_model(single_frame)


def test_unknown_config_field_is_reported():
    with pytest.raises(TypeError):
        vidlearn.create_model("single_frame", tiny=True, no_such_field=1)
