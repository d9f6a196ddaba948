"""``fit`` in several processes: two CPU processes with Gloo train one tiny model with DDP.

Checks that both ranks end with identical weights (and BatchNorm statistics), that every epoch covered each
training clip exactly once across the two ranks, and that both ranks return the same History.
"""

import json

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import Dataset

N, EPOCHS, WORLD = 32, 2, 2


class RecordingData(Dataset):
    """Tiny synthetic clips whose label is their brightness; remembers which indices were read."""

    def __init__(self, n: int):
        g = torch.Generator().manual_seed(0)
        self.y = torch.randint(0, 2, (n,), generator=g)
        self.x = torch.rand(n, 3, 4, 16, 16, generator=g) * 0.5 + self.y.view(-1, 1, 1, 1, 1) * 0.5
        self.seen = []

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        self.seen.append(int(i))
        return self.x[i], self.y[i]


def _worker(rank: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    import vidlearn
    from vidlearn.train import fit

    torch.manual_seed(rank)  # different initial weights on purpose: DDP must broadcast rank 0's
    model = vidlearn.create_model("r3d_18", num_classes=2, tiny=True)
    data = RecordingData(N)
    hist = fit(model, data, RecordingData(8), epochs=EPOCHS, batch_size=4, lr=1e-3, device="cpu",
               progress=False, verbose=False)
    torch.save({"state": model.state_dict(), "seen": data.seen, "hist": hist.to_json()}, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


def test_fit_under_ddp_with_two_gloo_processes(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=WORLD, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD))
    # identical weights and buffers
    assert r0["state"].keys() == r1["state"].keys()
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    # each epoch: the two ranks' shares are disjoint and together cover every clip once
    per_rank = N // WORLD
    for e in range(EPOCHS):
        a = r0["seen"][e * per_rank:(e + 1) * per_rank]
        b = r1["seen"][e * per_rank:(e + 1) * per_rank]
        assert sorted(a + b) == list(range(N)), f"epoch {e + 1}"
    assert r0["seen"][:per_rank] != r0["seen"][per_rank:2 * per_rank]  # reshuffled between epochs
    # the same History on both ranks, counting the whole epoch
    h0, h1 = json.loads(r0["hist"]), json.loads(r1["hist"])
    assert h0["train_loss"] == h1["train_loss"] and h0["val_acc"] == h1["val_acc"]
    assert len(h0["train_loss"]) == EPOCHS and h0["steps"] == [N // WORLD // 4 * (e + 1) for e in range(EPOCHS)]
