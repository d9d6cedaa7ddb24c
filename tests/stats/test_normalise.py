"""Frozen, versioned normaliser."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from planetbench.errors import InvalidInputError
from planetbench.stats import (
    Normaliser,
    denormalise_scores,
    metric_directions,
    metric_higher_is_better,
    normalise_scores,
)


def _tidy() -> pd.DataFrame:
    rows = []
    # task "seg" (miou, higher better): ref-a 0.2/0.4, ref-b 0.6/0.8;
    # task "reg" (rmse, lower better)
    for model, seg, reg in [
        ("ref-a", (0.2, 0.4), (10.0, 8.0)),
        ("ref-b", (0.6, 0.8), (4.0, 2.0)),
        ("new", (0.5, 1.0), (6.0, 1.0)),
    ]:
        for seed in (0, 1):
            rows.append(
                {"model": model, "task": "seg", "metric": "miou", "score": seg[seed], "seed": seed}
            )
            rows.append(
                {"model": model, "task": "reg", "metric": "rmse", "score": reg[seed], "seed": seed}
            )
    return pd.DataFrame(rows)


def test_minmax_anchors_and_direction() -> None:
    df = _tidy()
    norm = Normaliser.fit(df, reference_models=["ref-a", "ref-b"], version="v1")
    anchors = {(a.task, a.metric): a for a in norm.anchors}
    assert (anchors[("seg", "miou")].low, anchors[("seg", "miou")].high) == (0.2, 0.8)
    assert anchors[("reg", "rmse")].higher_is_better is False
    out = norm.transform(df)
    new = out[out.model == "new"].set_index(["task", "seed"])["normalised"]
    assert new[("seg", 0)] == pytest.approx((0.5 - 0.2) / 0.6)
    assert new[("seg", 1)] == pytest.approx(8 / 6)  # above the best reference: not clipped
    # rmse flipped: best reference (2.0) → 1, worst (10.0) → 0
    assert new[("reg", 0)] == pytest.approx((10 - 6) / 8)
    assert new[("reg", 1)] == pytest.approx(9 / 8)
    ref = out[out.model == "ref-b"].set_index(["task", "seed"])["normalised"]
    assert ref[("reg", 1)] == pytest.approx(1.0)
    assert "normalised" not in df.columns  # input untouched


def test_adding_a_model_never_changes_other_scores() -> None:
    df = _tidy()
    norm = Normaliser.fit(df, reference_models=["ref-a", "ref-b"], version="v1")
    before = norm.transform(df)
    extra = pd.DataFrame(
        [
            {"model": "huge", "task": "seg", "metric": "miou", "score": 5.0, "seed": 0},
            {"model": "huge", "task": "reg", "metric": "rmse", "score": -50.0, "seed": 0},
        ]
    )
    after = norm.transform(pd.concat([df, extra], ignore_index=True))
    pd.testing.assert_series_equal(
        before["normalised"], after["normalised"].iloc[: len(df)], check_names=True
    )


def test_percentile_anchors() -> None:
    df = _tidy()
    norm = Normaliser.fit(
        df, reference_models=["ref-a", "ref-b"], version="v2", low_pct=25, high_pct=75
    )
    seg = next(a for a in norm.anchors if a.task == "seg")
    assert (seg.low, seg.high) == pytest.approx(
        tuple(np.percentile([0.2, 0.4, 0.6, 0.8], [25, 75]))
    )


def test_json_round_trip_and_digest() -> None:
    df = _tidy()
    norm = Normaliser.fit(df, reference_models=["ref-a", "ref-b"], version="v1")
    text = norm.to_json()
    back = Normaliser.from_json(text)
    assert back == norm
    assert back.digest == norm.digest and len(norm.digest) == 16
    pd.testing.assert_frame_equal(back.transform(df), norm.transform(df))
    assert json.loads(text)["version"] == "v1"
    other = Normaliser.fit(df, reference_models=["ref-a", "new"], version="v1")
    assert other.digest != norm.digest


def test_explicit_direction_column_overrides_lookup() -> None:
    df = _tidy().assign(metric="custom", higher_is_better=lambda d: d.task == "seg")
    norm = Normaliser.fit(df, reference_models=["ref-a", "ref-b"], version="v1")
    assert {a.task: a.higher_is_better for a in norm.anchors} == {"seg": True, "reg": False}
    with pytest.raises(InvalidInputError, match="contradicts"):
        norm.transform(df.assign(higher_is_better=True))


@pytest.mark.parametrize(
    ("metric", "higher"),
    [
        ("r2", True),
        ("mIoU", True),
        ("f1_macro", True),
        ("accuracy_top1", True),
        ("rmse", False),
        ("mse", False),
        ("mae", False),
        ("loss_val", False),
    ],
)
def test_metric_direction_lookup(metric: str, higher: bool) -> None:
    assert metric_higher_is_better(metric) is higher


def test_unknown_metric_direction() -> None:
    with pytest.raises(InvalidInputError, match="higher_is_better"):
        metric_higher_is_better("banana")
    with pytest.raises(InvalidInputError, match="unknown direction"):
        Normaliser.fit(_tidy().assign(metric="banana"), reference_models=["ref-a"], version="v1")


def test_fit_errors() -> None:
    df = _tidy()
    with pytest.raises(InvalidInputError, match="version"):
        Normaliser.fit(df, reference_models=["ref-a"], version=" ")
    with pytest.raises(InvalidInputError, match="no runs in df"):
        Normaliser.fit(df, reference_models=["ghost"], version="v1")
    with pytest.raises(InvalidInputError, match="empty"):
        Normaliser.fit(df, reference_models=[], version="v1")
    with pytest.raises(InvalidInputError, match="low_pct < high_pct"):
        Normaliser.fit(df, reference_models=["ref-a"], version="v1", low_pct=50, high_pct=50)
    with pytest.raises(InvalidInputError, match="lacks column"):
        Normaliser.fit(df.drop(columns="seed"), reference_models=["ref-a"], version="v1")
    nan = df.copy()
    nan.loc[0, "score"] = np.nan
    with pytest.raises(InvalidInputError, match="non-finite score"):
        Normaliser.fit(nan, reference_models=["ref-a"], version="v1")
    flat = df.copy()
    flat.loc[flat.model == "ref-a", "score"] = 1.0
    with pytest.raises(InvalidInputError, match="anchors are equal"):
        Normaliser.fit(flat, reference_models=["ref-a"], version="v1")
    no_ref = pd.concat([df, df.iloc[:1].assign(task="other", model="new")], ignore_index=True)
    with pytest.raises(InvalidInputError, match="no runs from the reference"):
        Normaliser.fit(no_ref, reference_models=["ref-a"], version="v1")
    bad_dir = df.assign(higher_is_better="yes")
    with pytest.raises(InvalidInputError, match="True/False"):
        Normaliser.fit(bad_dir, reference_models=["ref-a"], version="v1")


def test_transform_and_json_errors() -> None:
    df = _tidy()
    norm = Normaliser.fit(df, reference_models=["ref-a", "ref-b"], version="v1")
    with pytest.raises(InvalidInputError, match="no anchors for"):
        norm.transform(df.assign(task="unseen"))
    with pytest.raises(InvalidInputError, match="could not be parsed"):
        Normaliser.from_json("{not json")
    with pytest.raises(InvalidInputError, match="schema"):
        Normaliser.from_json(json.dumps({"schema": "other"}))
    data = json.loads(norm.to_json())
    del data["anchors"][0]["low"]
    with pytest.raises(InvalidInputError, match="bad field"):
        Normaliser.from_json(json.dumps(data))
    data = json.loads(norm.to_json())
    data["anchors"][0]["low"] = data["anchors"][0]["high"]
    with pytest.raises(InvalidInputError, match="low < high"):
        Normaliser.from_json(json.dumps(data))


def test_one_min_max_formula_with_its_inverse() -> None:
    score = np.array([0.2, 0.5, 0.8, 2.0, 5.0])
    low = np.array([0.2, 0.2, 0.2, 1.0, 1.0])
    high = np.array([0.8, 0.8, 0.8, 5.0, 5.0])
    hib = np.array([True, True, True, False, False])
    value = normalise_scores(score, low, high, hib)
    np.testing.assert_allclose(value, [0.0, 0.5, 1.0, 0.75, 0.0])
    np.testing.assert_allclose(denormalise_scores(value, low, high, hib), score)
    # Normaliser.transform is this formula with its frozen anchors.
    df = _tidy()
    norm = Normaliser.fit(df, reference_models=["ref-a", "ref-b"], version="v1")
    anchors = {(a.task, a.metric): a for a in norm.anchors}
    a = [anchors[(t, m)] for t, m in zip(df["task"], df["metric"], strict=True)]
    expected = normalise_scores(
        df["score"], [x.low for x in a], [x.high for x in a], [x.higher_is_better for x in a]
    )
    np.testing.assert_array_equal(norm.transform(df)["normalised"].to_numpy(), expected)


def test_metric_directions_never_coerce() -> None:
    """Strings such as "False" would be True under bool(); they are refused instead."""
    df = pd.DataFrame({"metric": ["miou", "rmse"], "higher_is_better": ["True", "False"]})
    with pytest.raises(InvalidInputError, match=r"results: column 'higher_is_better' must hold "
                       r"only True/False"):
        metric_directions(df, where="results")
    assert metric_directions(df.drop(columns="higher_is_better")).tolist() == [True, False]
    with pytest.raises(InvalidInputError, match=r"needs a 'higher_is_better' \(bool\) or a"):
        metric_directions(pd.DataFrame({"score": [1.0]}))
