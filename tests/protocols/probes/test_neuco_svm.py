"""NeuCo-Bench's SVM probe: the Bayesian search's fold scores, the Gram shortcut, NeuCo's rules."""

from __future__ import annotations

import numpy as np
import pytest

from planetbench.protocols.probes import run_probe
from planetbench.protocols.probes.neuco_svm import (
    SvmSearch,
    _first_max,
    fit_neuco_svm,
    svm_search_from_params,
)

pytest.importorskip("skopt")


def _data(kind: str, n: int = 60, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    signal = X[:, 0] - 0.5 * X[:, 1] + 0.5 * rng.normal(size=n)
    return (X, signal) if kind == "regression" else (X, (signal > 0).astype(int))


def _splits(n: int, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import ShuffleSplit

    sp = list(ShuffleSplit(n_splits=k, test_size=0.1, random_state=42).split(np.zeros(n)))
    return np.stack([a for a, _ in sp]), np.stack([b for _, b in sp])


SEARCH = SvmSearch(C_start_end=(0.01, 1.0), kernel_degree_list=(2, 3),
                   kernel_coef0_start_end=(-1.0, 2.0), epsilon_list=(0.05, 0.1), n_iter=3,
                   optimizer_kwargs={"base_estimator": "RF", "n_initial_points": 3})


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_gram_and_raw_kernels_give_the_same_search(kind: str) -> None:
    X, y = _data(kind)
    tr, te = _splits(len(y))
    s1, o1 = fit_neuco_svm(X, y, tr, te, kind=kind, search=SEARCH, use_gram=True)
    s2, o2 = fit_neuco_svm(X, y, tr, te, kind=kind, search=SEARCH, use_gram=False)
    assert o1["params"] == o2["params"] and len(o1["params"]) == 3
    np.testing.assert_allclose(o1["test_metric"], o2["test_metric"], atol=1e-6)
    np.testing.assert_allclose(s1, s2, atol=1e-5)


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_each_setting_is_scikit_learns_svm_on_neucos_folds(kind: str) -> None:
    from sklearn.metrics import accuracy_score, f1_score, mean_squared_error, r2_score
    from sklearn.svm import SVC, SVR

    X, y = _data(kind)
    tr, te = _splits(len(y))
    _, opts = fit_neuco_svm(X, y, tr, te, kind=kind, search=SEARCH)
    target = np.where(y == 0, -1, y) if kind == "classification" else y
    for i, params in enumerate(opts["params"]):
        model = (SVR() if kind == "regression" else SVC()).set_params(**params)
        pred = model.fit(X[tr[1]], target[tr[1]]).predict(X[te[1]])
        if kind == "regression":
            metric, scoring = r2_score(target[te[1]], pred), -mean_squared_error(target[te[1]], pred)
        else:
            metric, scoring = f1_score(target[te[1]], pred), accuracy_score(target[te[1]], pred)
        assert opts["test_metric"][1, i] == pytest.approx(metric, abs=1e-6)
        assert opts["test_scoring"][1, i] == pytest.approx(scoring, abs=1e-6)
    # NeuCo's fold score: per split the best setting's metric; its hyper-parameters: the setting
    # with the best mean objective, as scikit-learn's get_params gives them.
    np.testing.assert_array_equal(opts["fold_scores"], opts["test_metric"].max(axis=1))
    best = opts["params"][int(np.argmax(opts["test_scoring"].mean(axis=0)))]
    assert {k: opts["best_params"][k] for k in best} == best
    assert opts["best_params"]["kernel"] == "poly" and "cache_size" in opts["best_params"]


def test_first_max_is_pythons_max() -> None:
    nan = float("nan")
    assert _first_max([0.2, nan, 0.5]) == (0.5, 2)
    best, where = _first_max([nan, 0.9])
    assert np.isnan(best) and where == 0
    assert _first_max([0.3, 0.3]) == (0.3, 0)


def test_run_probe_neuco_svm_with_neucos_params_and_refit() -> None:
    X, y = _data("classification", n=60, d=5)
    params = {"C_start_end": [0.1, 10], "kernel_degree_list": 2,
              "opt_params": {"n_iter": 2, "optimizer_kwargs": {"n_initial_points": 2}}}
    search = svm_search_from_params(params)
    assert search.kernel_degree_list == (2,) and search.random_state == 42
    res = run_probe(X, y, kind="classification", probe="neuco-svm", n_splits=2, test_size=0.1,
                    seed=42, options={"search": params, "refit": True})
    assert res.fold_scores.shape == (2,) and res.metric == "f1"
    model = res.options["model"]
    assert type(model).__name__ == "SVC" and set(model.classes_) == {-1.0, 1.0}
