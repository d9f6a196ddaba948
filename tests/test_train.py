"""fit / evaluate / History / checkpoints on a tiny learnable problem (class = brightness of the clip)."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

from vidlearn.train import History, evaluate, fit, load_checkpoint, save_checkpoint


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 3, 4, 8, 8, generator=g) - 0.5 + (y.view(-1, 1, 1, 1, 1) - 0.5) * 2
    return TensorDataset(x, y)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3, 4)))


class PairNet(nn.Module):
    """Takes a tuple (rgb, flow) as one argument, like Two-Stream."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        rgb, flow = x
        return self.fc(torch.cat([rgb.mean(dim=(2, 3, 4)), flow.mean(dim=(2, 3, 4))], 1))


def test_fit_learns_and_history_has_one_entry_per_epoch():
    torch.manual_seed(0)
    h = fit(TinyNet(), _data(), _data(32, seed=1), epochs=4, batch_size=16, lr=0.1, device="cpu",
            progress=False, verbose=False)
    assert isinstance(h, History)
    for field in ("train_loss", "train_acc", "val_loss", "val_acc", "time_s", "clips_per_s"):
        assert len(getattr(h, field)) == 4, field
    assert h.train_loss[-1] < h.train_loss[0]
    assert h.final_val_acc >= 0.9
    assert h.device == "cpu" and h.precision == "fp32"
    assert h.steps == [4, 8, 12, 16]


def test_fit_on_cpu_is_repeatable_with_the_same_seed():
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # same initial weights
        h = fit(TinyNet(), _data(), epochs=2, batch_size=8, lr=0.05, device="cpu", seed=7, progress=False,
                verbose=False)
        runs.append(h.train_loss)
    assert runs[0] == runs[1]


def test_fit_accepts_tuple_inputs_passed_as_one_argument():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (32,), generator=g)
    rgb = torch.rand(32, 3, 2, 4, 4, generator=g)
    flow = torch.rand(32, 2, 2, 4, 4, generator=g) + y.view(-1, 1, 1, 1, 1)

    class PairData(torch.utils.data.Dataset):
        def __len__(self):
            return 32

        def __getitem__(self, i):
            return (rgb[i], flow[i]), y[i]

    h = fit(PairNet(), PairData(), PairData(), epochs=3, batch_size=8, lr=0.1, device="cpu", progress=False,
            verbose=False)
    assert h.final_val_acc > 0.8


def test_evaluate_reports_loss_accuracy_and_count():
    res = evaluate(TinyNet(), _data(20), batch_size=8, device="cpu")
    assert set(res) == {"loss", "acc", "n"} and res["n"] == 20 and 0 <= res["acc"] <= 1


def test_fit_rejects_bad_arguments_clearly():
    with pytest.raises(ValueError, match="epochs"):
        fit(TinyNet(), _data(), epochs=0)
    with pytest.raises(ValueError, match="optimizer"):
        fit(TinyNet(), _data(), epochs=1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="empty"):
        fit(TinyNet(), TensorDataset(torch.zeros(0, 3), torch.zeros(0)), epochs=1)
    with pytest.raises(TypeError, match="Dataset"):
        fit(TinyNet(), [1, 2, 3][0], epochs=1)


def test_checkpoint_round_trip_restores_weights_and_history(tmp_path):
    torch.manual_seed(0)
    model = TinyNet()
    h = fit(model, _data(), epochs=1, batch_size=16, device="cpu", progress=False, verbose=False)
    path = tmp_path / "ck" / "model.pt"
    save_checkpoint(path, model, history=h, note="hello")
    fresh = TinyNet()
    info = load_checkpoint(path, fresh)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))
    assert info["history"].train_loss == h.train_loss and info["extra"] == {"note": "hello"}


def test_loading_a_missing_or_foreign_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt", TinyNet())
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt"):
        load_checkpoint(tmp_path / "other.pt", TinyNet())



def test_save_checkpoint_failure_keeps_previous_file(tmp_path, monkeypatch):
    model = TinyNet()
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, epoch=1)
    before = path.read_bytes()
    real_save = torch.save

    def save_then_fail(obj, f, *args, **kwargs):  # writes part of the file, then the save is interrupted
        real_save(obj, f, *args, **kwargs)
        with open(f, "r+b") as out:
            out.truncate(100)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", save_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_checkpoint(path, TinyNet())["extra"] == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary left behind


def test_save_checkpoint_rejects_what_load_checkpoint_would_refuse_naming_the_key(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, TinyNet(), lr=0.1)
    with pytest.raises(TypeError, match=r"\['extra'\]\['best'\]\['acc'\] \(a numpy.float64\)"):
        save_checkpoint(path, TinyNet(), lr=0.1, best={"acc": np.float64(0.5)})
    assert load_checkpoint(path, TinyNet())["extra"] == {"lr": 0.1}  # the previous file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_loading_a_damaged_checkpoint_names_the_file_and_what_was_expected(tmp_path, damage):
    path = tmp_path / "model.pt"
    save_checkpoint(path, TinyNet())
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "garbage": b"\x00junk" * 64}[damage])
    with pytest.raises(ValueError, match=f"{path}.*expected a vidlearn checkpoint"):
        load_checkpoint(path, TinyNet())


def test_history_plot_has_train_and_val_curves():
    h = History(train_loss=[1, .5], train_acc=[.5, .7], val_loss=[1, .6], val_acc=[.4, .6], time_s=[1, 1],
                clips_per_s=[5, 5], name="run")
    fig = h.plot()
    names = {t.name for t in fig.data}
    assert {"run train", "run val"} <= names
    assert History.from_json(h.to_json()) == h


class TinyConv3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3, 4)))


def _fit_conv(**options):
    torch.manual_seed(0)
    model = TinyConv3d()
    layouts = []  # the conv weight's layout at each training step
    model.conv.register_forward_pre_hook(
        lambda m, args: layouts.append(m.weight.is_contiguous(memory_format=torch.channels_last_3d)))
    h = fit(model, _data(32), epochs=2, batch_size=8, lr=0.05, device="cpu", progress=False, verbose=False,
            **options)
    h.layouts = layouts
    return model, h


def test_fit_channels_last_3d_changes_the_layout_not_the_numbers():
    plain, h_plain = _fit_conv(channels_last=False)
    last, h_last = _fit_conv(channels_last=True)
    assert h_last.layouts and all(h_last.layouts)  # trained channels-last-3d
    assert not any(h_plain.layouts)
    assert last.conv.weight.is_contiguous() and plain.conv.weight.is_contiguous()  # handed back as it came
    torch.testing.assert_close(torch.tensor(h_last.train_loss), torch.tensor(h_plain.train_loss), rtol=1e-4,
                               atol=1e-5)
    _, h_auto = _fit_conv()  # "auto" is off on the CPU
    assert h_auto.train_loss == h_plain.train_loss
    with pytest.raises(ValueError, match="channels_last"):
        fit(TinyNet(), _data(), epochs=1, channels_last="yes")


def test_fit_compile_flag_traces_the_model():
    # the "eager" backend checks the torch.compile wiring in a few seconds; compile=True (inductor) builds
    # C++ kernels on the CPU, which takes minutes here, so it is left to the GPU runs
    torch._dynamo.reset()
    _, h_compiled = _fit_conv(compile="eager")
    _, h_plain = _fit_conv()
    torch.testing.assert_close(torch.tensor(h_compiled.train_loss), torch.tensor(h_plain.train_loss), rtol=1e-4,
                               atol=1e-5)


def _labelled(labels):
    y = torch.tensor(labels)
    return TensorDataset(torch.rand(len(labels), 3, 4, 8, 8), y)


def test_fit_names_an_out_of_range_label_its_class_count_and_dataset_index():
    labels = [0, 1] * 10
    labels[13] = 7
    with pytest.raises(ValueError, match=r"label 7 \(dataset index 13\) is out of range for a model with 2 classes"):
        fit(TinyNet(), _labelled(labels), epochs=1, batch_size=4, verbose=False, progress=False)
    labels[13] = -1
    with pytest.raises(ValueError, match=r"label -1 \(dataset index 13\) is out of range"):
        fit(TinyNet(), _labelled(labels), epochs=1, batch_size=4, verbose=False, progress=False)


def test_fit_and_evaluate_reject_non_integer_labels():
    data = TensorDataset(torch.rand(8, 3, 4, 8, 8), torch.tensor([0.0, 1.0] * 4))
    with pytest.raises(TypeError, match="labels must be integer class indices.*got dtype torch.float32"):
        fit(TinyNet(), data, epochs=1, batch_size=4, verbose=False, progress=False)
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        evaluate(TinyNet(), data)


def test_evaluate_and_a_users_dataloader_name_the_bad_label():
    labels = [0, 1] * 4
    labels[5] = 2
    with pytest.raises(ValueError, match=r"evaluate: label 2 \(dataset index 5\)"):
        evaluate(TinyNet(), _labelled(labels), batch_size=4)
    loader = torch.utils.data.DataLoader(_labelled(labels), batch_size=4)  # indices unknown: the position
    with pytest.raises(ValueError, match=r"label 2 \(position 1 of the batch at step 1\)"):
        fit(TinyNet(), loader, epochs=1, verbose=False, progress=False)


class BNNet(nn.Module):
    """BatchNorm on a 1 x 1 x 1 map: cannot train on a batch of one clip."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm3d(3)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.bn(x.mean(dim=(2, 3, 4), keepdim=True)).flatten(1))


def test_fit_skips_a_last_training_batch_of_one_clip_for_a_batchnorm_model():
    hist = fit(BNNet(), _data(n=9), epochs=2, batch_size=4, verbose=False, progress=False)  # 4 + 4 + 1
    assert hist.steps == [2, 4]
    hist = fit(TinyNet(), _data(n=9), epochs=1, batch_size=4, verbose=False, progress=False)  # no BN: kept
    assert hist.steps == [3]
