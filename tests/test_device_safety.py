"""The device rule, proved without a GPU: every vidlearn helper that moves a model hands it back where it came.

On a GPU runtime ``fit`` trains on CUDA; the chapters' next cells call the trained model on CPU tensors. The rule
(``vidlearn.train.on_device``) makes those cells right by construction. The tests run the helpers on the pretend
GPU of tests/pretend_gpu.py, which raises CUDA's own "Expected all tensors to be on the same device" error where
a real GPU would, and check (1) that the pretend GPU catches the mistake the rule prevents, (2) that each helper
follows the rule, and (3) that every registered model runs on a GPU with no tensor left behind on the CPU.
"""

import numpy as np
import pytest
import torch
import torch.nn as nn
from pretend_gpu import GPU, on_gpu, pretend_gpu

import vidlearn
import vidlearn.train.loop
from vidlearn.train import evaluate, evaluate_views, fit, on_device
from vidlearn.train.errors import predict

SAME_DEVICE = "Expected all tensors to be on the same device"


@pytest.fixture
def gpu():
    torch.manual_seed(0)
    with pretend_gpu():
        yield


def _tiny_data(n=12, classes=3, frames=4, size=16):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, frames, size, size, generator=g)
    y = torch.arange(n) % classes
    return torch.utils.data.TensorDataset(x, y)


def _tiny_model(classes=3):
    return nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, classes))


# --- the pretend GPU makes CUDA's checks ---------------------------------------------------------------------------

def test_pretend_gpu_moves_mark_and_report_cuda(gpu):
    x = torch.ones(2, 3)
    y = x.to("cuda")
    assert on_gpu(y) and not on_gpu(x) and y is not x
    assert y.device == GPU and y.is_cuda and x.device.type == "cpu"
    assert on_gpu(y * 2) and on_gpu(y.sum()) and on_gpu(torch.zeros(2, device=y.device))
    assert not on_gpu(y.cpu()) and not on_gpu(y.to("cpu")) and on_gpu(x.cuda())
    y.add_(1)
    assert x.sum().item() == 6  # a move is a copy


def test_pretend_gpu_raises_cudas_errors_on_mixed_devices(gpu):
    x, y = torch.ones(2, 3), torch.ones(2, 3).cuda()
    with pytest.raises(RuntimeError, match=SAME_DEVICE):
        x + y
    with pytest.raises(RuntimeError, match=SAME_DEVICE):
        torch.cat([x, y])
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        y.numpy()
    with pytest.raises(TypeError, match="can't convert cuda:0"):
        np.asarray(y)
    assert on_gpu(y * torch.tensor(2.0))  # a CPU 0-dim tensor is allowed, as on CUDA
    x.copy_(y)  # copies across devices are allowed
    assert not on_gpu(x)


def test_pretend_gpu_leaves_meta_tensors_on_meta_as_torch_does(gpu):
    # the architecture diagrams run paper-size models on "meta"; a dtype change there stays on meta (it failed
    # in the Colab reproduction's TimeSformer chapter: the pretend GPU copied the meta tensor to the CPU)
    x = torch.ones(2, 3, device="meta")
    y = x.to(torch.float16)
    assert y.device.type == "meta" and y.dtype == torch.float16
    with torch.device("meta"):
        model = vidlearn.create_model("timesformer", tiny=True)
    model.eval()
    with torch.no_grad():
        assert model(model.example_input(batch_size=1).to("meta")).device.type == "meta"


def test_a_model_moved_to_the_pretend_gpu_rejects_cpu_inputs(gpu):
    model = _tiny_model().to("cuda")
    assert all(on_gpu(p) for p in model.parameters()) and all(on_gpu(b) for b in model.buffers())
    assert on_gpu(model(torch.randn(2, 3, 4, 16, 16).cuda()))
    with pytest.raises(RuntimeError, match=SAME_DEVICE):
        model(torch.randn(2, 3, 4, 16, 16))
    model.cpu()
    assert not any(on_gpu(p) for p in model.parameters())
    model(torch.randn(2, 3, 4, 16, 16))


def test_pretend_gpu_trains_a_model_without_false_alarms(gpu):
    model = _tiny_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x, y = torch.randn(4, 3, 4, 16, 16).cuda(), torch.tensor([0, 1, 2, 0]).cuda()
    for _ in range(2):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    assert all(on_gpu(p.grad) for p in model.parameters())
    assert all(on_gpu(s) for st in opt.state.values() for k, s in st.items() if k != "step")


# --- the rule: a helper hands the model back on the device it came on -------------------------------------------

def test_auto_is_the_pretend_gpu(gpu):
    assert vidlearn.train.loop.resolve_device("auto") == GPU


def test_the_old_behaviour_is_caught_a_model_left_on_the_gpu(gpu):
    """What fit did before the rule (model.to(device) and no way back) fails the next CPU cell."""
    model = _tiny_model()
    model.to(vidlearn.train.loop.resolve_device("auto"))  # trained there and left there
    with pytest.raises(RuntimeError, match=SAME_DEVICE):
        model(torch.randn(1, 3, 4, 16, 16))


def _cpu_cell_runs(model):
    assert not any(on_gpu(t) for t in [*model.parameters(), *model.buffers()]), "left on the GPU"
    model(torch.randn(2, 3, 4, 16, 16))  # the chapter's next cell: a CPU tensor


def test_fit_trains_on_the_gpu_and_hands_the_model_back_on_the_cpu(gpu):
    model, data = _tiny_model(), _tiny_data()
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(on_gpu(o)))
    hist = fit(model, data, data, epochs=1, batch_size=4, verbose=False)
    assert hist.device == "cuda:0" and seen and all(seen)  # every step ran on the (pretend) GPU
    _cpu_cell_runs(model)


def test_evaluate_predict_and_views_hand_the_model_back(gpu):
    model, data = _tiny_model(), _tiny_data()
    evaluate(model, data, batch_size=4)
    _cpu_cell_runs(model)
    preds, labels = predict(model, data, batch_size=4)
    assert not on_gpu(preds) and not on_gpu(labels)
    _cpu_cell_runs(model)
    res = evaluate_views(model, data, clips=1, crops=1, batch_size=4)
    assert not on_gpu(res["scores"])
    _cpu_cell_runs(model)


def test_a_model_the_user_put_on_the_gpu_stays_there(gpu):
    model, data = _tiny_model().cuda(), _tiny_data()
    fit(model, data, epochs=1, batch_size=4, verbose=False)
    evaluate(model, data, batch_size=4)
    assert all(on_gpu(p) for p in model.parameters())


def test_fit_hands_the_model_back_when_training_raises(gpu):
    model, data = _tiny_model(), _tiny_data()
    with pytest.raises(FloatingPointError):
        fit(model, data, epochs=1, batch_size=4, verbose=False,
            loss_fn=lambda logits, y: logits.sum() * float("nan"))
    _cpu_cell_runs(model)


def test_on_device_restores_also_on_error(gpu):
    model = _tiny_model()
    with pytest.raises(KeyError), on_device(model, "cuda"):
        assert all(on_gpu(p) for p in model.parameters())
        raise KeyError
    _cpu_cell_runs(model)


def test_profile_hands_the_model_back(gpu):
    from vidlearn.profile import measure_latency, peak_memory, profile_model

    model, x = _tiny_model().cuda(), torch.randn(1, 3, 4, 16, 16)
    for measure in (profile_model, measure_latency, peak_memory):
        measure(model, x, device="cpu")  # measured on the CPU, handed back on the GPU it came on
        assert all(on_gpu(p) for p in model.parameters()), measure.__name__


# --- every model is device-correct: nothing made on the CPU inside forward ---------------------------------------

@pytest.mark.parametrize("name", vidlearn.list_models())
def test_every_tiny_model_trains_on_the_gpu_without_a_cpu_tensor(gpu, name):
    model = vidlearn.create_model(name, num_classes=5, tiny=True).cuda()
    x = model.example_input(2)
    x = [t.cuda() for t in x] if isinstance(x, (list, tuple)) else x.cuda()
    out = model(x)  # raises where forward mixes in a CPU tensor (a torch.arange without device=, ...)
    assert on_gpu(out) and out.shape == (2, 5)
    out.sum().backward()
    model.eval()
    with torch.no_grad():
        assert on_gpu(model(x))


def test_fit_hands_the_weights_back_in_the_layout_they_came_in(gpu):
    """On CUDA with AMP fit trains 3D convolutions channels-last; the model comes back contiguous, so a copy
    restored from its state dict computes exactly the same (the Using vidlearn chapter asserts this)."""
    model, data = _tiny_model(), _tiny_data()
    fit(model, data, epochs=1, batch_size=4, verbose=False)
    conv = model[0]
    assert conv.weight.is_contiguous()
    copy = _tiny_model()
    copy.load_state_dict(model.state_dict())
    model.eval(), copy.eval()
    x = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        assert torch.equal(model(x), copy(x))
