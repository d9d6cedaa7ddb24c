"""Ridge and logistic probes against scikit-learn, run_probe's contract and its error paths."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.protocols.probes import PROBES, ProbeResult, run_probe
from planetbench.protocols.probes import logistic as probe_logistic
from planetbench.protocols.probes import ridge as probe_ridge
from planetbench.protocols.probes.logistic import fit_logistic
from planetbench.protocols.probes.ridge import fit_ridge
from planetbench.protocols.probes.splits import make_splits

ROOT = Path(__file__).resolve().parents[3]


def _data(kind: str, n: int = 60, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, d) + 2.0
    signal = X[:, 0] - X[:, 1] + rng.normal(scale=0.7, size=n)
    if kind == "regression":
        return X, signal
    if kind == "classification":
        return X, (signal > np.median(signal)).astype(int)
    if kind == "multiclass":
        return X, np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))
    other = X[:, 2] + rng.normal(scale=0.7, size=n)
    return X, np.stack([signal > np.median(signal), other > np.median(other)], 1).astype(int)


def _stack(res: ProbeResult) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([tr for tr, _ in res.splits]), np.stack([te for _, te in res.splits])


def test_ridge_matches_sklearn_on_each_split() -> None:
    X, y = _data("regression")
    res = run_probe(X, y, kind="regression", n_splits=3, seed=1)
    assert res.probe == "ridge" and res.metric == "r2"
    for k, (tr, te) in enumerate(res.splits):
        scaler = StandardScaler().fit(X[tr])
        model = Ridge(alpha=res.options["alpha"][k]).fit(scaler.transform(X[tr]), y[tr])
        np.testing.assert_allclose(
            res.test_predictions[k], model.predict(scaler.transform(X[te])), atol=1e-6
        )
    assert set(res.options["alpha"]) <= set(res.options["alpha_grid"])
    assert res.fold_scores.min() > 0.5  # a clear linear signal is found


@pytest.mark.parametrize("case", ["wide", "constant_columns"])
def test_ridge_matches_sklearn_in_hard_cases(case: str) -> None:
    rng = np.random.default_rng(2)
    if case == "wide":  # more dimensions than training rows: rank-deficient Gram
        X = rng.normal(size=(30, 50)) @ rng.normal(size=(50, 50))
        y = X[:, 0] + rng.normal(size=30)
    else:
        X, y = _data("regression", n=40)
    splits = make_splits(y, kind="regression", n_splits=3, test_size=0.2, seed=0)
    train = np.stack([tr for tr, _ in splits])
    test = np.stack([te for _, te in splits])
    if case == "constant_columns":
        X[:, 2] = 3.0  # constant everywhere
        X[:, 3] = 3.0
        X[test[0][:2], 3] = 5.0  # constant on split 0's training rows only
    preds, options = fit_ridge(X, y, train, test, seed=0, alphas=np.array([1e-3, 1.0, 1e3]))
    for k in range(3):
        scaler = StandardScaler().fit(X[train[k]])
        model = Ridge(alpha=options["alpha"][k]).fit(scaler.transform(X[train[k]]), y[train[k]])
        np.testing.assert_allclose(
            preds[k], model.predict(scaler.transform(X[test[k]])), atol=1e-6
        )


def test_ridge_scores_do_not_depend_on_units() -> None:
    X, y = _data("regression")
    ref = run_probe(X, y, kind="regression", n_splits=3, seed=1)
    for scale in (1e-42, 1e30):  # float32 inner solves must neither underflow nor overflow
        res = run_probe(X * scale, y * scale, kind="regression", n_splits=3, seed=1)
        np.testing.assert_allclose(res.fold_scores, ref.fold_scores, atol=1e-9)
        np.testing.assert_array_equal(res.options["alpha"], ref.options["alpha"])


def test_ridge_warns_when_the_solver_stops_early(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data("regression")
    train = np.arange(48)[None]
    test = np.arange(48, 60)[None]
    with pytest.warns(RuntimeWarning, match="α selection stopped after 160 CG iterations"):
        fit_ridge(X, y, train, test, seed=0, selection_tol=-1.0)
    monkeypatch.setattr(probe_ridge, "MAX_ROUNDS", 1)
    with pytest.warns(RuntimeWarning, match="the refit stopped after 1 refinement rounds"):
        fit_ridge(X, y, train, test, seed=0)


def test_ridge_never_looks_at_the_test_fold() -> None:
    X, y = _data("regression")
    res = run_probe(X, y, kind="regression", n_splits=3, seed=1)
    train, test = _stack(res)
    y_poisoned = y.copy()
    y_poisoned[test[0]] = 1e6
    preds, options = fit_ridge(X, y_poisoned, train[:1], test[:1], seed=1)
    assert options["alpha"][0] == res.options["alpha"][0]
    np.testing.assert_allclose(preds[0], res.test_predictions[0], atol=1e-9)


@pytest.mark.parametrize("kind", ["classification", "multiclass", "multilabel"])
def test_logistic_never_looks_at_the_test_fold(kind: str) -> None:
    X, y = _data(kind, n=72)
    res = run_probe(X, y, kind=kind, n_splits=2, test_size=0.25, seed=0)
    train, test = _stack(res)
    y_poisoned = y.copy()
    y_poisoned[test[0]] = y[test[0]][::-1]  # other labels on the test fold only
    scores, options = fit_logistic(X, y_poisoned, train[:1], test[:1], kind=kind, seed=0)
    assert options["C"][0] == res.options["C"][0]
    # equal up to the solver tolerance (the joint L-BFGS path differs with the problem set)
    np.testing.assert_allclose(scores[0], res.test_predictions[0], atol=1e-3)


@pytest.mark.parametrize("probe", ["ridge", "logistic"])
def test_standardisation_uses_training_rows_only(probe: str) -> None:
    kind = "regression" if probe == "ridge" else "classification"
    X, y = _data(kind)
    res = run_probe(X, y, kind=kind, n_splits=2, seed=3)
    train, test = _stack(res)
    X_far = X.copy()
    X_far[test[0]] += 50.0  # global mean and std move far; the training split's do not
    if probe == "ridge":
        preds, options = fit_ridge(X_far, y, train[:1], test[:1], seed=3)
        chosen = options["alpha"][0]
        scaler = StandardScaler().fit(X[train[0]])
        model = Ridge(alpha=chosen).fit(scaler.transform(X[train[0]]), y[train[0]])
        want = model.predict(scaler.transform(X_far[test[0]]))
        atol = 1e-6
    else:
        preds, options = fit_logistic(X_far, y, train[:1], test[:1], kind=kind, seed=3)
        chosen = options["C"][0]
        scaler = StandardScaler().fit(X[train[0]])
        model = LogisticRegression(C=chosen, tol=1e-10, max_iter=10_000)
        model.fit(scaler.transform(X[train[0]]), y[train[0]])
        want = model.predict_proba(scaler.transform(X_far[test[0]]))[:, 1]
        atol = 1e-4
    assert chosen == (res.options["alpha"] if probe == "ridge" else res.options["C"])[0]
    np.testing.assert_allclose(preds[0], want, atol=atol)


@pytest.mark.parametrize("kind", ["classification", "multiclass", "multilabel"])
def test_logistic_matches_sklearn(kind: str) -> None:
    X, y = _data(kind, n=72)
    res = run_probe(X, y, kind=kind, n_splits=2, test_size=0.25, seed=0)
    assert res.probe == "logistic"
    for k, (tr, te) in enumerate(res.splits):
        scaler = StandardScaler().fit(X[tr])
        ztr, zte = scaler.transform(X[tr]), scaler.transform(X[te])
        c = res.options["C"][k]

        def sk_proba(
            target: np.ndarray, zte: np.ndarray = zte, ztr: np.ndarray = ztr, c: float = c
        ) -> np.ndarray:
            model = LogisticRegression(C=c, tol=1e-10, max_iter=10_000)
            return model.fit(ztr, target).predict_proba(zte)

        if kind == "classification":
            want = sk_proba(y[tr])[:, 1]
        elif kind == "multiclass":
            want = sk_proba(y[tr])
        else:
            want = np.stack([sk_proba(y[tr, j])[:, 1] for j in range(y.shape[1])], 1)
        np.testing.assert_allclose(res.test_predictions[k], want, atol=1e-3)
        if kind == "multiclass":
            np.testing.assert_array_equal(res.test_predictions[k].argmax(1), want.argmax(1))
        else:
            np.testing.assert_array_equal(res.test_predictions[k] > 0.5, want > 0.5)


def test_logistic_matches_sklearn_with_constant_columns() -> None:
    X, y = _data("classification", n=40)
    splits = make_splits(y, kind="classification", n_splits=3, test_size=0.2, seed=0)
    train = np.stack([tr for tr, _ in splits])
    test = np.stack([te for _, te in splits])
    X[:, 2] = 3.0  # constant everywhere
    X[:, 3] = 3.0
    X[test[0][:2], 3] = 5.0  # constant on split 0's training rows only
    scores, _ = fit_logistic(X, y, train, test, kind="classification", seed=0, Cs=[0.5])
    for k in range(3):
        scaler = StandardScaler().fit(X[train[k]])
        sk = LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000)
        sk.fit(scaler.transform(X[train[k]]), y[train[k]])
        np.testing.assert_allclose(
            scores[k], sk.predict_proba(scaler.transform(X[test[k]]))[:, 1], atol=1e-4
        )


def test_logistic_warns_when_lbfgs_stops_early(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data("classification")
    monkeypatch.setattr(probe_logistic, "MAX_ITER", 1)
    with pytest.warns(RuntimeWarning, match="L-BFGS stopped after 1 iterations"):
        fit_logistic(X, y, np.arange(48)[None], np.arange(48, 60)[None], kind="classification",
                     seed=0)


def test_logistic_same_coefficients_given_c() -> None:
    X, y = _data("classification", n=60)
    res = run_probe(X, y, kind="classification", n_splits=2, seed=0)
    train, test = _stack(res)
    scores, opts = fit_logistic(X, y, train, test, kind="classification", seed=0, Cs=[0.5])
    assert opts["C"].tolist() == [0.5, 0.5]
    for k in range(2):
        scaler = StandardScaler().fit(X[train[k]])
        sk = LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000)
        sk.fit(scaler.transform(X[train[k]]), y[train[k]])
        np.testing.assert_allclose(
            scores[k], sk.predict_proba(scaler.transform(X[test[k]]))[:, 1], atol=1e-4
        )


def test_result_metrics_per_kind() -> None:
    X, y = _data("classification")
    res = run_probe(X, y, kind="classification", n_splits=3)
    assert res.metric == "f1" and res.fold_scores.shape == (3,)
    assert {"f1", "precision", "recall", "accuracy", "roc_auc", "confusion_matrix"} <= set(
        res.metrics
    )
    assert res.metrics["confusion_matrix"].shape == (3, 2, 2)
    assert res.metrics["confusion_matrix"].sum(axis=(1, 2)).tolist() == [12, 12, 12]
    assert np.all(res.metrics["roc_auc"] > 0.7)
    X, y = _data("multiclass", n=60)
    res = run_probe(X, y, kind="multiclass", n_splits=2)
    assert res.metric == "f1_macro"
    assert res.metrics["confusion_matrix"].shape == (2, 3, 3)
    assert res.test_predictions[0].shape == (12, 3)
    np.testing.assert_allclose(res.test_predictions[0].sum(1), 1.0)
    X, y = _data("multilabel", n=60)
    res = run_probe(X, y, kind="multilabel", n_splits=2)
    assert res.metric == "f1_macro" and "f1_micro" in res.metrics
    assert res.metrics["confusion_matrix"].shape == (2, 2, 2, 2)
    X, y = _data("regression")
    res = run_probe(X, y, kind="regression", n_splits=2, seed=5)
    assert set(res.metrics) == {"r2", "mse", "mae"} and res.seed == 5


def test_registry_lists_probes_and_suggests() -> None:
    assert PROBES.list() == ["logistic", "neuco", "neuco-svm", "ridge"]
    X, y = _data("regression")
    with pytest.raises(UnknownNameError, match="unknown probe 'rigde'; did you mean 'ridge'"):
        run_probe(X, y, kind="regression", probe="rigde")


def test_input_errors() -> None:
    X, y = _data("regression")
    with pytest.raises(InvalidInputError, match="probe 'ridge' does not handle kind='multiclass'"):
        run_probe(X, y.astype(int) % 2, kind="multiclass", probe="ridge")
    with pytest.raises(InvalidInputError, match="probe 'logistic' does not handle"):
        run_probe(X, y, kind="regression", probe="logistic")
    with pytest.raises(InvalidInputError, match="kind='segmentation' is not supported"):
        run_probe(X, y, kind="segmentation")
    with pytest.raises(InvalidInputError, match=r"X must be a non-empty 2-D array"):
        run_probe(X[:, 0], y, kind="regression")
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InvalidInputError, match=r"X holds NaN/inf in 1 rows \(first: \[3\]\)"):
        run_probe(bad, y, kind="regression")
    with pytest.raises(InvalidInputError, match="y has 59 rows but X has 60"):
        run_probe(X, y[:-1], kind="regression")
    y_nan = y.copy()
    y_nan[0] = np.inf
    with pytest.raises(InvalidInputError, match="y holds 1 NaN/inf"):
        run_probe(X, y_nan, kind="regression")
    with pytest.raises(InvalidInputError, match="y is constant"):
        run_probe(X, np.ones(60), kind="regression")
    with pytest.raises(InvalidInputError, match="needs 0/1 labels"):
        run_probe(X, np.arange(60) % 3, kind="classification")
    with pytest.raises(InvalidInputError, match="integer class labels"):
        run_probe(X, np.full(60, 0.5), kind="multiclass")
    with pytest.raises(InvalidInputError, match=r"every class present; missing \[1\]"):
        run_probe(X, (np.arange(60) % 2) * 2, kind="multiclass")
    with pytest.raises(InvalidInputError, match="single class"):
        run_probe(X, np.zeros(60), kind="classification")
    with pytest.raises(InvalidInputError, match=r"needs y of shape \(n, C\)"):
        run_probe(X, np.arange(60) % 2, kind="multilabel")
    with pytest.raises(InvalidInputError, match=r"multilabel columns \[1\] are constant"):
        run_probe(X, np.stack([np.arange(60) % 2, np.zeros(60)], 1), kind="multilabel")
    y_rare = np.zeros(60, dtype=int)
    y_rare[0] = 1
    with pytest.raises(InvalidInputError, match=r"at least 2 members of every class"):
        run_probe(X, y_rare, kind="classification")
    with pytest.raises(InvalidInputError, match="too few for test_size"):
        run_probe(X[:3], y[:3], kind="regression", test_size=0.2)
    with pytest.raises(InvalidInputError, match="epochs must be an integer"):
        run_probe(X, y, kind="regression", probe="neuco", epochs=0)


def test_import_without_torch() -> None:
    code = (
        "import sys; import planetbench.protocols.probes.base, planetbench.metrics.tabular; "
        "sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_benchmark_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_probes", ROOT / "benchmarks" / "bench_probes.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--quick"])
    out = capsys.readouterr().out
    assert "ridge" in out and "neuco" in out and "max |score difference|" in out
