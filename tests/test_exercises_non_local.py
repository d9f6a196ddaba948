"""The non-local checker accepts the embedded-Gaussian block, names the usual slips, and never crashes."""

import torch
from einops import rearrange

from vidlearn import exercises as ex
from vidlearn.layers.non_local import NonLocal


def verdict(fn, capsys):
    ok = ex.check_non_local_block(fn)
    return ok, " ".join(capsys.readouterr().out.split())  # the message is wrapped to the page width


def non_local(x, theta, phi, g, w_z, scale=True, softmax_dim=-1, residual=True):
    """A reader's block; the keywords make the usual mistakes."""
    _, _, t, h, w = x.shape
    q = rearrange(theta(x), "b c t h w -> b (t h w) c")  # (B, N, C')
    k = rearrange(phi(x), "b c t h w -> b c (t h w)")  # (B, C', N)
    v = rearrange(g(x), "b c t h w -> b (t h w) c")  # (B, N, C')
    logits = q @ k / (q.shape[-1] ** 0.5 if scale else 1.0)  # (B, N, N)
    y = torch.softmax(logits, dim=softmax_dim) @ v  # (B, N, C')
    z = w_z(rearrange(y, "b (t h w) c -> b c t h w", t=t, h=h, w=w))  # (B, C, T, H, W)
    return x + z if residual else z


def test_a_correct_block_passes(capsys):
    ok, out = verdict(non_local, capsys)
    assert ok is True, out
    assert "correct on all 4 test inputs" in out


def test_vidlearns_own_block_passes(capsys):
    def with_vidlearn(x, theta, phi, g, w_z):
        block = NonLocal(x.shape[1], theta.out_channels, subsample=False, norm=False)
        block.theta, block.phi, block.g, block.w_z = theta, phi, g, w_z
        return block(x)

    ok, out = verdict(with_vidlearn, capsys)
    assert ok is True, out


def test_the_papers_unscaled_softmax_is_named(capsys):
    ok, out = verdict(lambda *a: non_local(*a, scale=False), capsys)
    assert not ok
    assert "Eq. 3 without the scale" in out and "sqrt(C')" in out
    assert "x of shape (2, 8, 4, 3, 3)" in out and "Largest difference" in out


def test_softmax_over_the_queries_is_named(capsys):
    ok, out = verdict(lambda *a: non_local(*a, softmax_dim=1), capsys)
    assert not ok and "normalises over the queries" in out and "query position" in out


def test_a_missing_residual_is_named(capsys):
    ok, out = verdict(lambda *a: non_local(*a, residual=False), capsys)
    assert not ok and "without the residual" in out and "z = W_z y + x" in out


def test_returning_y_gets_a_shape_hint(capsys):
    def only_y(x, theta, phi, g, w_z):
        return non_local(x, theta, phi, g, lambda y: y, residual=False)

    ok, out = verdict(only_y, capsys)
    assert not ok and "expected (2, 8, 4, 3, 3), got (2, 4, 4, 3, 3)" in out and "apply w_z" in out


def test_reshaping_y_without_permuting_is_named(capsys):
    def no_permute(x, theta, phi, g, w_z):
        b, _, t, h, w = x.shape
        q, k = theta(x).flatten(2).transpose(1, 2), phi(x).flatten(2)
        y = torch.softmax(q @ k / q.shape[-1] ** 0.5, -1) @ g(x).flatten(2).transpose(1, 2)  # (B, N, C')
        return x + w_z(y.reshape(b, -1, t, h, w))

    ok, out = verdict(no_permute, capsys)
    assert not ok and "without moving the channel axis" in out


def test_not_implemented_gets_a_friendly_message(capsys):
    def todo(x, theta, phi, g, w_z):
        raise NotImplementedError

    ok, out = verdict(todo, capsys)
    assert ok is False and "not implemented yet" in out and "Hint:" in out


def test_a_crashing_function_is_reported_not_raised(capsys):
    def crash(*args):
        raise ValueError("boom")

    ok, out = verdict(crash, capsys)
    assert ok is False and "ValueError: boom" in out and "x of shape (2, 8, 4, 3, 3)" in out


def test_modifying_x_in_place_is_reported(capsys):
    def inplace(x, theta, phi, g, w_z):
        z = non_local(x, theta, phi, g, w_z)
        x.zero_()
        return z

    ok, out = verdict(inplace, capsys)
    assert not ok and "modified x in place" in out


def test_the_checker_leaves_the_callers_random_state_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex.check_non_local_block(non_local)
    assert torch.equal(torch.rand(3), expected)
