"""CapabilityEncoder: planted structure, gradients, filtering, placement, determinism, I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

from planetbench.capability.encoding import (
    CapabilityEncoder,
    distance_and_grad,
    filter_cells,
    points,
)
from planetbench.errors import InvalidInputError, UnknownNameError


def planted(n_models: int = 14, n_tasks: int = 10, dim: int = 2, seed: int = 0) -> pd.DataFrame:
    """Scores 1 - |u_m - v_t| / c with every task placed on one model (its best, score 1).

    With the ``best`` normalisation the gap is then exactly a Euclidean distance in ``dim``-D.
    """
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n_models, dim))
    v = u[rng.choice(n_models, n_tasks, replace=False)]
    dist = np.linalg.norm(u[:, None] - v[None], axis=2)
    score = 1.0 - dist / (1.5 * dist.max())
    rows = [(f"m{i}", f"t{j}", score[i, j]) for i in range(n_models) for j in range(n_tasks)]
    return pd.DataFrame(rows, columns=["model", "task", "score"]).assign(higher_is_better=True)


def split(df: pd.DataFrame, frac: float = 0.2, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    test = df[df["score"] < 1.0].sample(frac=frac, random_state=seed)
    return df.drop(test.index), test


@pytest.mark.parametrize("distance", ["l2", "cosine", "poincare"])
def test_gradients_match_finite_differences(distance: str) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(1, 3)), rng.normal(size=(1, 3))

    def fa(x: np.ndarray) -> float:
        return float(distance_and_grad(x[None], b, distance)[0][0])

    def ga(x: np.ndarray) -> np.ndarray:
        return distance_and_grad(x[None], b, distance)[1][0]

    def fb(x: np.ndarray) -> float:
        return float(distance_and_grad(a, x[None], distance)[0][0])

    def gb(x: np.ndarray) -> np.ndarray:
        return distance_and_grad(a, x[None], distance)[2][0]

    assert check_grad(fa, ga, a[0]) < 1e-5
    assert check_grad(fb, gb, b[0]) < 1e-5


def test_poincare_points_inside_ball_and_distance_formula() -> None:
    z = np.array([[100.0, -50.0], [0.3, 0.1]])
    x = points(z, "poincare")
    assert np.all(np.linalg.norm(x, axis=1) < 1.0)
    d = distance_and_grad(z[:1], z[1:], "poincare", eps=0.0)[0][0]
    sq = np.sum((x[0] - x[1]) ** 2)
    ref = np.arccosh(1 + 2 * sq / ((1 - x[0] @ x[0]) * (1 - x[1] @ x[1])))
    assert d == pytest.approx(ref, rel=1e-6)


def test_planted_structure_is_recovered() -> None:
    df = planted()
    train, test = split(df)
    baseline = np.abs(
        train.groupby("task")["score"].mean().reindex(test["task"]).to_numpy()
        - test["score"].to_numpy()
    )
    # Without bagging every member finds the planted optimum: near-exact recovery.
    exact = CapabilityEncoder(dim=2, normalisation="best", n_ensemble=2, min_results=3,
                              bootstrap=False).fit(train)
    pred = exact.predict(test[["model", "task"]])
    err = np.abs(pred["score_mean"].to_numpy() - test["score"].to_numpy())
    assert err.mean() < 0.005
    assert exact.losses_.max() < 1e-4
    assert err.mean() < 0.02 * baseline.mean()
    # With bagging (default) the members see resampled cells and disagree (the uncertainty),
    # while the predictions come from the point fit to all cells: still near exact.
    bagged = CapabilityEncoder(dim=2, normalisation="best", n_ensemble=3, min_results=3).fit(train)
    pred = bagged.predict(test[["model", "task"]])
    err = np.abs(pred["score_mean"].to_numpy() - test["score"].to_numpy())
    assert err.mean() < 0.005
    assert bagged.point_loss_ < 1e-4
    assert not pred["measured"].any()
    assert pred["gap_std"].gt(0).all()
    members = bagged.predict_members(test[["model", "task"]])
    assert members.shape == (3, len(test))
    np.testing.assert_allclose(pred["gap_std"], members.std(axis=0, ddof=1))


@pytest.mark.parametrize("distance", ["l2", "poincare"])
def test_range_normalisation_beats_task_mean(distance: str) -> None:
    train, test = split(planted())
    enc = CapabilityEncoder(dim=3, distance=distance, n_ensemble=3, min_results=3).fit(train)
    pred = enc.predict(test[["model", "task"]])
    err = np.abs(pred["score_mean"].to_numpy() - test["score"].to_numpy()).mean()
    base = np.abs(
        train.groupby("task")["score"].mean().reindex(test["task"]).to_numpy()
        - test["score"].to_numpy()
    ).mean()
    assert err < 0.5 * base


def test_gap_definition_and_direction() -> None:
    df = pd.DataFrame(
        {
            "model": ["a", "b", "c"] * 2,
            "task": ["acc"] * 3 + ["rmse"] * 3,
            "metric": ["accuracy"] * 3 + ["RMSE"] * 3,
            "score": [0.9, 0.7, 0.5, 1.0, 2.0, 3.0],
        }
    )
    enc = CapabilityEncoder(dim=2, min_results=2, n_ensemble=2).fit(df)
    obs = enc.observed_.set_index(["model", "task"])["gap"]
    assert obs[("a", "acc")] == pytest.approx(0.0) and obs[("c", "acc")] == pytest.approx(1.0)
    assert obs[("b", "acc")] == pytest.approx(0.5)
    assert obs[("a", "rmse")] == pytest.approx(0.0) and obs[("c", "rmse")] == pytest.approx(1.0)
    assert enc.best_ == {"acc": 0.9, "rmse": 1.0}
    assert enc.higher_is_better_ == {"acc": True, "rmse": False}


def test_unknown_metric_direction_is_an_error() -> None:
    """Direction comes from planetbench.stats; an unknown metric name is refused, not guessed."""
    df = pd.DataFrame({"model": ["a", "b"], "task": ["t", "t"], "metric": ["banana"] * 2,
                       "score": [1.0, 2.0]})
    with pytest.raises(InvalidInputError, match=r"fit results: unknown direction.*'banana'"):
        CapabilityEncoder(min_results=1).fit(df)


def test_seeds_are_averaged() -> None:
    df = pd.DataFrame({"model": ["a", "a", "b", "b"], "task": ["t"] * 4,
                       "score": [1.0, 3.0, 0.0, 0.0], "higher_is_better": True})
    df = pd.concat([df, df.assign(task="u")])
    enc = CapabilityEncoder(dim=1, min_results=2, n_ensemble=1).fit(df)
    assert enc.best_["t"] == 2.0
    assert enc.observed_["n_runs"].tolist() == [2, 2, 2, 2]


def test_filtering_is_iterative() -> None:
    df = planted(n_models=8, n_tasks=6)
    # Round 1: model m7 has 2 tasks (t0, t5) -> dropped. Round 2: task t5, measured by m0, m1
    # and m7, is left with 2 models -> dropped.
    df = df[~((df["model"] == "m7") & ~df["task"].isin(["t0", "t5"]))]
    df = df[~((df["task"] == "t5") & ~df["model"].isin(["m0", "m1", "m7"]))]
    kept, dropped = filter_cells(df.assign(n_runs=1), 3)
    assert [(d["kind"], d["name"]) for d in dropped] == [("model", "m7"), ("task", "t5")]
    assert "m7" not in set(kept["model"]) and "t5" not in set(kept["task"])
    with pytest.warns(UserWarning, match="dropped"):
        enc = CapabilityEncoder(dim=2, min_results=3, n_ensemble=1).fit(df)
    assert "m7" not in enc.models_


def test_too_few_results_error() -> None:
    df = planted(n_models=4, n_tasks=4)
    with pytest.raises(InvalidInputError, match=r"too few results.*lower min_results"):
        with pytest.warns(UserWarning):
            CapabilityEncoder(min_results=5).fit(df)


def test_determinism_with_seed() -> None:
    df = planted(n_models=8, n_tasks=6)
    a = CapabilityEncoder(dim=2, n_ensemble=2, min_results=3, seed=3).fit(df)
    b = CapabilityEncoder(dim=2, n_ensemble=2, min_results=3, seed=3).fit(df)
    c = CapabilityEncoder(dim=2, n_ensemble=2, min_results=3, seed=4).fit(df)
    np.testing.assert_array_equal(a.model_params_, b.model_params_)
    assert not np.allclose(a.model_params_, c.model_params_)


def test_place_model_keeps_others_fixed() -> None:
    df = planted()
    held = "m3"
    train = df[df["model"] != held]
    enc = CapabilityEncoder(dim=2, normalisation="best", n_ensemble=2, min_results=3).fit(train)
    before_u, before_v = enc.model_params_.copy(), enc.task_params_.copy()
    before_pu, before_pv = enc.point_model_params_.copy(), enc.point_task_params_.copy()
    own = df[df["model"] == held]
    shown = own[own["task"].isin(["t0", "t1", "t2", "t3"])]
    enc.place_model(held, shown[["task", "score"]])
    np.testing.assert_array_equal(enc.model_params_[:, :-1], before_u)
    np.testing.assert_array_equal(enc.task_params_, before_v)
    np.testing.assert_array_equal(enc.point_model_params_[:-1], before_pu)
    np.testing.assert_array_equal(enc.point_task_params_, before_pv)
    assert enc.models_[-1] == held and enc.point_model_params_.shape == (len(enc.models_), 2)
    rest = own[~own["task"].isin(shown["task"])]
    pred = enc.predict(rest[["model", "task"]])
    assert np.abs(pred["score_mean"].to_numpy() - rest["score"].to_numpy()).mean() < 0.05
    measured = enc.predict([(held, "t0")])
    assert measured["measured"].item() and measured["score_measured"].item() == pytest.approx(
        shown.loc[shown["task"] == "t0", "score"].item()
    )


def test_place_task_and_errors() -> None:
    df = planted()
    enc = CapabilityEncoder(dim=2, n_ensemble=2, min_results=3).fit(df[df["task"] != "t9"])
    before = enc.task_params_.copy()
    own = df[df["task"] == "t9"]
    enc.place_task("t9", own.iloc[:5][["model", "score"]])
    np.testing.assert_array_equal(enc.task_params_[:, :-1], before)
    assert enc.tasks_[-1] == "t9" and enc.point_task_params_.shape == (len(enc.tasks_), 2)
    assert enc.predict([("m0", "t9")])["score_mean"].notna().all()
    with pytest.raises(InvalidInputError, match="already in the encoding"):
        enc.place_task("t9", own[["model", "score"]])
    with pytest.raises(InvalidInputError, match="at least two models that differ"):
        enc.place_task("new", own.iloc[:1][["model", "score"]])
    with pytest.raises(UnknownNameError, match=r"model\(s\) \['zz'\] are not in the encoding"):
        enc.place_task("new", pd.DataFrame({"model": ["zz", "m0"], "score": [1.0, 0.5]}))
    with pytest.raises(InvalidInputError, match="already in the encoding"):
        enc.place_model("m0", pd.DataFrame({"task": ["t0"], "score": [1.0]}))
    with pytest.raises(UnknownNameError, match=r"task\(s\) \['nope'\]"):
        enc.place_model("new", pd.DataFrame({"task": ["nope"], "score": [1.0]}))
    with pytest.raises(InvalidInputError, match="are empty"):
        enc.place_model("new", pd.DataFrame({"task": [], "score": []}))


def test_input_and_parameter_errors() -> None:
    df = planted(n_models=6, n_tasks=5)
    with pytest.raises(InvalidInputError, match="distance='manhattan' is invalid"):
        CapabilityEncoder(distance="manhattan").fit(df)
    with pytest.raises(InvalidInputError, match="dim=0 is invalid"):
        CapabilityEncoder(dim=0).fit(df)
    with pytest.raises(InvalidInputError, match=r"lacks column\(s\) \['score'\]"):
        CapabilityEncoder().fit(df.drop(columns="score"))
    with pytest.raises(InvalidInputError, match=r"'higher_is_better' \(bool\) or a 'metric'"):
        CapabilityEncoder().fit(df.drop(columns="higher_is_better"))
    with pytest.raises(InvalidInputError, match="not a finite number"):
        CapabilityEncoder().fit(df.assign(score=np.nan))
    with pytest.raises(InvalidInputError, match="not fitted yet"):
        CapabilityEncoder().predict()
    mixed = df.assign(higher_is_better=[True, False] * (len(df) // 2))
    with pytest.raises(InvalidInputError, match="mix higher-is-better"):
        CapabilityEncoder(min_results=3).fit(mixed)
    enc = CapabilityEncoder(dim=2, min_results=3, n_ensemble=1).fit(df)
    with pytest.raises(UnknownNameError, match=r"model\(s\) \['x'\].*place_model"):
        enc.predict([("x", "t0")])
    with pytest.raises(UnknownNameError, match=r"task\(s\) \['y'\]"):
        enc.predict([("m0", "y")])
    with pytest.raises(InvalidInputError, match="pairs lack"):
        enc.predict(pd.DataFrame({"model": ["m0"]}))


def test_save_load_round_trip(tmp_path: Path) -> None:
    df = planted(n_models=8, n_tasks=6)
    enc = CapabilityEncoder(dim=2, distance="poincare", n_ensemble=2, min_results=3).fit(df)
    path = enc.save(tmp_path / "enc.json")
    back = CapabilityEncoder.load(path)
    pd.testing.assert_frame_equal(enc.predict(), back.predict())
    assert back.get_params() == enc.get_params()
    with pytest.raises(InvalidInputError, match="does not exist"):
        CapabilityEncoder.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"format_version": 99}')
    with pytest.raises(InvalidInputError, match="not a saved capability encoding"):
        CapabilityEncoder.load(tmp_path / "bad.json")


def test_capability_never_imports_torch() -> None:
    """capability/ is pure: no module of the package imports torch, at any level."""
    import ast

    import planetbench.capability as cap

    folder = Path(cap.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] in {"torch", "torchgeo", "timm"} for n in names), (
                f"{module.name} imports {names}"
            )


def test_range_gap_is_the_stats_normalisation_flipped() -> None:
    """One min-max path: the range gap is 1 - Normaliser's score with min/max anchors over the
    cell means (every model a reference model)."""
    from planetbench.stats import Normaliser

    df = planted(n_models=6, n_tasks=5)
    df["metric"] = np.where(df["task"] == "t0", "rmse", "miou")
    df = df.drop(columns="higher_is_better")
    enc = CapabilityEncoder(dim=2, min_results=3, n_ensemble=2).fit(df)
    cells = df.groupby(["model", "task", "metric"], as_index=False)["score"].mean().assign(seed=0)
    norm = Normaliser.fit(cells, reference_models=cells["model"].unique(), version="cells")
    normalised = norm.transform(cells).set_index(["model", "task"])["normalised"]
    gap = enc.observed_.set_index(["model", "task"])["gap"]
    np.testing.assert_allclose(gap.to_numpy(), 1.0 - normalised.reindex(gap.index).to_numpy(),
                               atol=1e-12)


def test_direction_strings_are_refused_not_coerced() -> None:
    """``bool("False")`` is True: a text column would silently flip a task; it is refused."""
    df = planted().assign(higher_is_better="False")
    with pytest.raises(InvalidInputError, match=r"fit results: column 'higher_is_better' must "
                       r"hold only True/False"):
        CapabilityEncoder().fit(df)
