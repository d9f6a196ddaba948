"""Tests for vidlearn.profile: parameter and FLOP counts against formulas, latency, memory, the table."""

from __future__ import annotations

from typing import List

import pytest
import torch
import torch.nn as nn

import vidlearn
from vidlearn.profile import (
    ProfileTable,
    count_flops,
    count_parameters,
    measure_latency,
    peak_memory,
    profile_model,
    profile_models,
)


class TwoPaths(nn.Module):
    """Takes a list ``[a, b]`` as one argument, as SlowFast takes ``[slow, fast]``."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv3d(3, 4, 1), nn.Conv3d(3, 2, 1)

    def forward(self, x: List[torch.Tensor]) -> torch.Tensor:
        return torch.cat([self.a(x[0]).mean((2, 3, 4)), self.b(x[1]).mean((2, 3, 4))], dim=1)


def _out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


@pytest.mark.parametrize(
    "b, cin, cout, k, stride, padding, t, hw",
    [(1, 3, 8, 3, 1, 0, 6, 10), (2, 4, 6, 3, 2, 1, 8, 8), (1, 2, 5, 1, 1, 0, 3, 5)],
)
def test_conv3d_flops_equal_the_analytic_formula_exactly(b, cin, cout, k, stride, padding, t, hw):
    conv = nn.Conv3d(cin, cout, k, stride=stride, padding=padding)
    t_out, hw_out = _out_size(t, k, stride, padding), _out_size(hw, k, stride, padding)
    expected = b * 2 * cin * cout * k**3 * t_out * hw_out * hw_out  # a multiply-add counts 2
    assert count_flops(conv, torch.randn(b, cin, t, hw, hw)) == expected


def test_flops_count_a_list_input_as_one_argument():
    x = [torch.randn(1, 3, 2, 4, 4), torch.randn(1, 3, 8, 4, 4)]
    assert count_flops(TwoPaths(), x) == 2 * 3 * 4 * (2 * 4 * 4) + 2 * 3 * 2 * (8 * 4 * 4)


def test_flop_count_runs_in_eval_mode_and_restores_training_mode():
    model = nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4), nn.Dropout(0.5)).train()
    seen = []
    model[2].register_forward_hook(lambda m, i, o: seen.append(m.training))
    x = torch.randn(1, 3, 2, 4, 4)
    assert count_flops(model, x) == 2 * 3 * 4 * (2 * 4 * 4)  # norms and dropout are not counted
    assert seen == [False] and model.training and all(m.training for m in model.modules())


def test_backward_flops_add_the_weight_gradient():
    conv, x = nn.Conv3d(3, 8, 3), torch.randn(1, 3, 5, 6, 6)
    forward = count_flops(conv, x)
    # the input needs no gradient, so backward computes only dL/dW: as many FLOPs as the forward
    assert count_flops(conv, x, backward=True) == 2 * forward
    assert conv.weight.grad is not None


def test_count_parameters_of_known_layers():
    assert count_parameters(nn.Conv3d(3, 8, 3)) == 3 * 8 * 27 + 8
    assert count_parameters(nn.Conv3d(3, 8, 3, bias=False)) == 3 * 8 * 27
    model = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))
    model[0].requires_grad_(False)
    assert count_parameters(model) == 55 + 12
    assert count_parameters(model, trainable_only=True) == 12


def test_shared_parameters_are_counted_once():
    layer = nn.Linear(4, 4)
    assert count_parameters(nn.Sequential(layer, layer)) == 20


def test_latency_is_a_positive_median_and_validates_repeats():
    conv, x = nn.Conv3d(3, 4, 3), torch.randn(1, 3, 4, 8, 8)
    seconds = measure_latency(conv, x, warmup=0, repeats=3)
    assert isinstance(seconds, float) and seconds > 0
    assert measure_latency(conv, x, warmup=0, repeats=1, backward=True) > 0
    with pytest.raises(ValueError, match="repeats >= 1, got warmup=1, repeats=0"):
        measure_latency(conv, x, repeats=0)


def test_cpu_peak_memory_covers_the_output_activation():
    conv, x = nn.Conv3d(3, 16, 3, padding=1), torch.randn(2, 3, 4, 16, 16)
    output_bytes = 2 * 16 * 4 * 16 * 16 * 4  # float32
    peak = peak_memory(conv, x, "cpu")
    assert output_bytes <= peak < 100 * output_bytes
    assert peak_memory(conv, x, "cpu", backward=True) >= output_bytes


def test_profile_model_reports_every_measure():
    conv, x = nn.Conv3d(3, 4, 1), torch.randn(1, 3, 2, 4, 4)
    result = profile_model(conv, x, repeats=1)
    assert result["params"] == 16 and result["flops"] == 2 * 3 * 4 * 32
    assert result["latency_s"] > 0 and result["peak_memory_bytes"] > 0
    assert result["device"] == "cpu" and result["backward"] is False


def test_table_lists_every_model_in_text_and_html():
    models = {"conv <3d>": nn.Conv3d(3, 4, 1), "two paths": TwoPaths()}

    def inputs_for(model: nn.Module):
        x = torch.randn(1, 3, 2, 4, 4)
        return [x, x] if isinstance(model, TwoPaths) else x

    table = profile_models(models, inputs_for, repeats=1, warmup=0)
    assert isinstance(table, ProfileTable) and len(table) == 2
    assert [row["name"] for row in table.rows] == list(models)
    assert set(table.rows[0]) == {"name", "params", "gflops", "latency_ms", "peak_mb"}
    assert table.rows[0]["gflops"] == pytest.approx(2 * 3 * 4 * 32 / 1e9)
    text = str(table)
    lines = text.splitlines()
    assert all(name in text for name in models) and "GFLOPs" in lines[0]
    assert len({len(line) for line in lines[:-1]}) == 1  # header, rule and rows are aligned
    page = table._repr_html_()
    assert page.count("<tr>") == 3 and "conv &lt;3d&gt;" in page and "two paths" in page


def test_profile_models_takes_registry_models_with_their_example_inputs():
    model = vidlearn.create_model("single_frame", num_classes=5, tiny=True)
    table = profile_models({"single_frame": model}, lambda m: m.example_input(1, small=True), repeats=1)
    assert table.rows[0]["params"] == count_parameters(model) and table.rows[0]["gflops"] > 0


def test_bad_inputs_raise_clear_errors():
    conv = nn.Conv3d(3, 4, 1)
    with pytest.raises(TypeError, match="expected an nn.Module, got function"):
        count_flops(lambda x: x, torch.randn(1))
    with pytest.raises(TypeError, match=r"list/tuple of tensors.*got str"):
        count_flops(conv, "clip.mp4")
    with pytest.raises(TypeError, match=r"got list of \[Tensor, int\]"):
        measure_latency(conv, [torch.randn(1), 3])
    with pytest.raises(ValueError, match=r"non-empty dict of \{name: model\}"):
        profile_models({}, torch.randn(1, 3, 2, 4, 4))
    with pytest.raises(TypeError, match="function model -> inputs, got str"):
        profile_models({"conv": conv}, "clip.mp4")
    with pytest.raises(ValueError, match="needs a model output that requires grad"):
        count_flops(nn.Identity(), torch.randn(2, 3), backward=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when CUDA is missing")
def test_cuda_device_without_cuda_says_so():
    with pytest.raises(ValueError, match=r"'cuda' requested, but torch.cuda.is_available\(\) is False"):
        peak_memory(nn.Conv3d(3, 4, 1), torch.randn(1, 3, 2, 4, 4), "cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_peak_memory_covers_the_output_activation():
    conv, x = nn.Conv3d(3, 16, 3, padding=1), torch.randn(2, 3, 4, 16, 16)
    output_bytes = 2 * 16 * 4 * 16 * 16 * 4
    assert peak_memory(conv, x, "cuda") >= output_bytes
    assert measure_latency(conv, x, device="cuda") > 0
