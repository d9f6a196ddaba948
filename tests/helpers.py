"""Small helpers shared by several test files (importable because pytest puts tests/ on sys.path)."""

import torch


def fit_small_batch(model: torch.nn.Module, x, y: torch.Tensor, steps: int = 15, lr: float = 1e-2) -> list:
    """Train ``model`` on one fixed batch with Adam; return the loss of every step (to check it falls)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def keyframes(path) -> list:
    """Indices (in presentation order) of the keyframes of a video file, read from its packets with PyAV."""
    import av

    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    order = sorted(range(len(packets)), key=lambda i: packets[i].pts)  # presentation order
    return [rank for rank, i in enumerate(order) if packets[i].is_keyframe]
