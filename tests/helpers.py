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
