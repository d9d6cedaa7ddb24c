"""NeuCo-Bench linear probe: batched == fold by fold, and one fold against a torch reference."""

from __future__ import annotations

import numpy as np
import pytest

from planetbench.errors import InvalidInputError
from planetbench.protocols.probes import neuco as pn
from planetbench.protocols.probes import run_probe
from planetbench.protocols.probes.splits import make_splits


def _data(kind: str, n: int = 200, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 3.0 + 1.0
    signal = X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=n)
    if kind == "regression":
        return X, 10.0 + 4.0 * signal
    return X, (signal > 0).astype(int)


def _splits(y: np.ndarray, kind: str, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    sp = make_splits(y, kind="regression", n_splits=k, test_size=0.1, seed=42)
    del kind
    return np.stack([tr for tr, _ in sp]), np.stack([te for _, te in sp])


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_batched_equals_fold_by_fold(kind: str) -> None:
    X, y = _data(kind)
    tr, te = _splits(y, kind)
    s1, o1 = pn.fit_neuco(X, y, tr, te, kind=kind, seed=42, epochs=4)
    s2, o2 = pn.fit_neuco(X, y, tr, te, kind=kind, seed=42, epochs=4, batched=False)
    np.testing.assert_allclose(o1["epoch_scores"], o2["epoch_scores"], atol=1e-4)
    np.testing.assert_array_equal(o1["best_epoch"], o2["best_epoch"])
    np.testing.assert_allclose(s1, s2, atol=1e-4)
    assert o1["epoch_scores"].shape == (3, 4)


def test_training_learns_and_best_epoch_is_the_max() -> None:
    X, y = _data("regression", n=400)
    tr, te = _splits(y, "regression")
    _, opts = pn.fit_neuco(X, y, tr, te, kind="regression", seed=42, epochs=30)
    scores = opts["epoch_scores"]
    assert np.all(scores[:, -1] > scores[:, 0])  # AdamW improves the fit
    np.testing.assert_array_equal(opts["best_epoch"], scores.argmax(1))


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_one_fold_matches_torch_adamw(kind: str) -> None:
    torch = pytest.importorskip("torch")
    from sklearn.metrics import f1_score, r2_score

    X, y = _data(kind)
    tr, te = _splits(y, kind, k=2)
    epochs = 3
    scores, opts = pn.fit_neuco(X, y, tr, te, kind=kind, seed=7, epochs=epochs)
    Xs = torch.from_numpy(pn.scalar_zscore(X))
    scaled, lo, span = pn.minmax_labels(y)
    ys_np = scaled.astype(np.float32)  # the probe trains on float32 labels
    ys = torch.from_numpy(ys_np)
    w0, b0 = pn.initial_weights(7, 2, X.shape[1])
    perms = pn.epoch_permutations(7, X.shape[0], epochs)
    k = 1
    lin = torch.nn.Linear(X.shape[1], 1)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w0[k][None]))
        lin.bias.copy_(torch.from_numpy(b0[k : k + 1]))
    opt = torch.optim.AdamW(lin.parameters(), lr=1e-3)  # weight_decay defaults to 0.01
    loss_fn = torch.nn.MSELoss() if kind == "regression" else torch.nn.BCEWithLogitsLoss()
    ref, logits = [], []
    for e in range(epochs):
        rows = perms[e][np.isin(perms[e], tr[k])]  # split k's rows in the epoch's order
        for start in range(0, len(rows), 64):
            idx = torch.from_numpy(rows[start : start + 64])
            loss = loss_fn(lin(Xs[idx]).view(-1), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            z = lin(Xs[torch.from_numpy(te[k])]).view(-1).numpy()
        logits.append(z.astype(np.float64))
        if kind == "regression":
            ref.append(r2_score(ys_np[te[k]], z))
        else:
            ref.append(f1_score(ys_np[te[k]].astype(int), (z > 0).astype(int)))
    np.testing.assert_allclose(opts["epoch_scores"][k], ref, atol=1e-4)
    # the returned predictions are the best epoch's, in label units / as probabilities
    z_best = logits[opts["best_epoch"][k]]
    want = z_best * span + lo if kind == "regression" else 1 / (1 + np.exp(-z_best))
    np.testing.assert_allclose(scores[k], want, rtol=1e-5, atol=1e-7)


def test_streams_are_seeded_and_uniform_orders() -> None:
    w_a, b_a = pn.initial_weights(3, 4, 10)
    w_b, _ = pn.initial_weights(3, 2, 10)
    np.testing.assert_array_equal(w_a[:2], w_b)  # split k's weights do not depend on K
    assert not np.allclose(w_a[0], w_a[1])
    assert np.all(np.abs(w_a) <= 1 / np.sqrt(10)) and np.all(np.abs(b_a) <= 1 / np.sqrt(10))
    perms = pn.epoch_permutations(3, 50, 3)
    assert perms.shape == (3, 50)
    assert all(sorted(p) == list(range(50)) for p in perms)
    assert not np.array_equal(perms[0], perms[1])
    np.testing.assert_array_equal(perms, pn.epoch_permutations(3, 50, 3))


def test_run_probe_neuco() -> None:
    X, y = _data("classification")
    res = run_probe(
        X, y, kind="classification", probe="neuco", n_splits=2, test_size=0.1, seed=42, epochs=2
    )
    assert res.probe == "neuco" and res.metric == "f1"
    np.testing.assert_allclose(res.fold_scores, res.options["epoch_scores"].max(axis=1), atol=1e-12)
    X, y = _data("regression")
    res = run_probe(X, y, kind="regression", probe="neuco", n_splits=2, epochs=2)
    # predictions come back in label units, R² is unchanged by the min–max scaling
    np.testing.assert_allclose(res.fold_scores, res.options["epoch_scores"].max(axis=1))
    assert abs(np.mean(res.test_predictions[0]) - np.mean(y)) < 10 * np.std(y)


def test_neuco_is_documented_as_optimistic() -> None:
    assert "optimistic" in (pn.__doc__ or "")
    assert "best epoch" in (pn.fit_neuco.__doc__ or "").lower() or "optimistic" in (
        pn.fit_neuco.__doc__ or ""
    )


def test_scalar_zscore_uses_one_mean_and_std() -> None:
    X = np.array([[0.0, 10.0], [2.0, 12.0]])
    Xs = pn.scalar_zscore(X)
    assert Xs.dtype == np.float32
    np.testing.assert_allclose(Xs, (X - 6.0) / X.std(), rtol=1e-6)


def test_errors() -> None:
    X, y = _data("classification")
    tr, te = _splits(y, "classification")
    with pytest.raises(InvalidInputError, match="neuco probe handles kind 'regression' and"):
        pn.fit_neuco(X, y, tr, te, kind="multiclass", seed=0, epochs=1)
    with pytest.raises(InvalidInputError, match="labels are constant"):
        pn.minmax_labels(np.ones(5))
    with pytest.raises(InvalidInputError, match="probe 'neuco' does not handle kind='multilabel'"):
        run_probe(X, np.stack([y, 1 - y], 1), kind="multilabel", probe="neuco")


def test_scalar_moments_by_chunks_equal_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(103, 7)) * 5 + 2).astype(np.float32)
    monkeypatch.setattr(pn, "_CHUNK_ROWS", 10)
    mu, sigma = pn.scalar_moments(X)
    X64 = X.astype(np.float64)
    assert mu == pytest.approx(X64.mean(), rel=1e-12) and sigma == pytest.approx(X64.std(),
                                                                                  rel=1e-12)
    rows = np.arange(103) % 3 == 0
    mu_r, sigma_r = pn.scalar_moments(X, rows)
    assert mu_r == pytest.approx(X64[rows].mean(), rel=1e-12)
    assert sigma_r == pytest.approx(X64[rows].std(), rel=1e-12)
    out = X.copy()
    pn.scalar_zscore(out, rows=rows, out=out)  # in place, moments of the chosen rows only
    np.testing.assert_allclose(out, (X64 - mu_r) / sigma_r, rtol=1e-6, atol=1e-6)
    assert pn.scalar_moments(np.full((4, 3), 2.5)) == (2.5, 1.0)  # constant: std 1 as NeuCo


def test_minmax_labels_is_idempotent_and_refuses_overflow() -> None:
    y = np.array([3.0, -1.5, 7.25, 0.1])
    scaled, lo, span = pn.minmax_labels(y)
    assert (lo, span) == (-1.5, 8.75) and scaled.min() == 0.0 and scaled.max() == 1.0
    np.testing.assert_array_equal(pn.minmax_labels(scaled)[0], scaled)  # exactly unchanged
    with pytest.raises(InvalidInputError, match="overflows float64"):
        pn.minmax_labels(np.array([-1e308, 1e308]))


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_standardize_false_takes_the_given_zscore(kind: str) -> None:
    X, y = _data(kind)
    tr, te = _splits(y, kind)
    inside, _ = pn.fit_neuco(X, y, tr, te, kind=kind, seed=3, epochs=2)
    given, opts = pn.fit_neuco(pn.scalar_zscore(X), y, tr, te, kind=kind, seed=3, epochs=2,
                               standardize=False)
    np.testing.assert_array_equal(inside, given)
    assert opts["standardize"] is False


@pytest.mark.parametrize(
    ("probe", "kind", "scale", "match"),
    [
        ("neuco", "regression", 1e160, "beyond float32's range"),
        ("neuco", "regression", 1e-200, "below 1e-30"),
        ("ridge", "regression", 1e160, "beyond 1e\\+150: standardising them overflows"),
        ("ridge", "regression", 1e-200, "below 1e-150 in magnitude: standardising them underflows"),
        ("logistic", "classification", 1e-200, "underflows"),
    ],
)
def test_embeddings_whose_standardisation_under_or_overflows_are_refused(
    probe: str, kind: str, scale: float, match: str
) -> None:
    """Otherwise they would be scored exactly like all-zero embeddings."""
    X, y = _data(kind)
    with pytest.raises(InvalidInputError, match=match):
        run_probe(X * scale, y, kind=kind, probe=probe, n_splits=2, epochs=1)
    zeros = run_probe(np.zeros_like(X), y, kind=kind, probe=probe, n_splits=2, epochs=1)
    assert zeros.fold_scores.shape == (2,)  # all-zero embeddings stay allowed (a baseline)


def test_binary_outputs_are_read_as_torchmetrics_reads_them() -> None:
    z = np.array([[0.2, 0.7, 0.9], [-0.2, 0.7, 3.0]])
    p = pn.binary_probabilities(z)
    # Row 0 lies in [0, 1]: probabilities, class 1 where > 0.5. Row 1 does not: logits.
    np.testing.assert_array_equal(p[0], z[0])
    np.testing.assert_allclose(p[1], 1 / (1 + np.exp(-z[1])))
    assert (p[0] > 0.5).tolist() == [False, True, True]
    assert (p[1] > 0.5).tolist() == [False, True, True]


def test_r2_follows_torchmetrics_rules_for_near_zero_sums() -> None:
    torchmetrics = pytest.importorskip("torchmetrics")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cases = [
        (rng.normal(size=20), rng.normal(size=20)),  # ordinary
        (np.full(20, 0.5), rng.normal(size=20)),  # constant target: 0
        (np.full(20, 0.5), np.full(20, 0.5 + 1e-4)),  # near-perfect: 1
        (rng.normal(size=20) * 1e-3, rng.normal(size=20) * 1e-2),  # tiny scale: tss ~ 0
    ]
    for y, z in cases:
        want = torchmetrics.functional.r2_score(torch.tensor(z), torch.tensor(y)).item()
        assert pn.neuco_r2(y[None], z[None])[0] == pytest.approx(want, abs=1e-9)


def test_a_constant_test_fold_scores_zero_as_in_neuco() -> None:
    X, y = _data("regression")
    tr, te = _splits(y, "regression")
    y_flat = y.copy()
    y_flat[te[0]] = 20.0
    _, opts = pn.fit_neuco(X, y_flat, tr, te, kind="regression", seed=1, epochs=3)
    assert (opts["epoch_scores"][0] == 0.0).all() and opts["fold_scores"][0] == 0.0
    assert opts["best_epoch"][0] == 0  # later epochs are not strictly higher


@pytest.mark.parametrize(("batch_size", "lr"), [(7, 0.01), (200, 0.0005)])
def test_batch_size_and_learning_rate_match_torch(batch_size: int, lr: float) -> None:
    torch = pytest.importorskip("torch")
    X, y = _data("regression", n=60, d=4)
    tr, te = _splits(y, "regression", k=1)
    _, opts = pn.fit_neuco(X, y, tr, te, kind="regression", seed=3, epochs=2,
                           batch_size=batch_size, lr=lr, normalize_labels=False)
    Xs = torch.from_numpy(pn.scalar_zscore(X))
    ys = torch.from_numpy(y.astype(np.float32))
    w0, b0 = pn.initial_weights(3, 1, 4)
    layer = torch.nn.Linear(4, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w0))
        layer.bias.copy_(torch.from_numpy(b0))
    opt = torch.optim.AdamW(layer.parameters(), lr=lr)
    perms = pn.epoch_permutations(3, 60, 2)
    train = set(tr[0].tolist())
    losses = []
    for perm in perms:
        order = [i for i in perm if i in train]
        batch_losses = []
        for s in range(0, len(order), batch_size):
            idx = torch.tensor(order[s : s + batch_size])
            loss = torch.nn.functional.mse_loss(layer(Xs[idx]).view(-1), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
        losses.append(np.mean(batch_losses))
    np.testing.assert_allclose(opts["train_loss"][0], losses, rtol=1e-4)
    assert opts["batch_size"] == batch_size and opts["lr"] == lr


def test_refit_trains_on_every_row_in_order() -> None:
    X, y = _data("classification", n=50, d=3)
    tr, te = _splits(y, "classification", k=2)
    _, opts = pn.fit_neuco(X, y, tr, te, kind="classification", seed=0, epochs=2, refit=True)
    w, b = pn.train_full(pn.scalar_zscore(X), y.astype(np.float32), kind="classification",
                         seed=0, epochs=2)
    np.testing.assert_array_equal(opts["probe_weight"], w)
    assert opts["probe_bias"] == b and w.shape == (3,)
