"""Audit of published tables, including the real Cryo-Bench table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.errors import InvalidInputError
from planetbench.stats import audit_table

CRYO_TASKS = ["glid", "gld", "sicd", "caffe", "gsdd"]


def _toy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "t1": [3.0, 2.0, 2.0],
            "t2": [1.0, 3.0, 2.0],
            # a: ranks (1, 3) → 2.0; b: (2, 1) → 1.5; c: (2, 2) → 2.0 (ties share the best rank)
            "avg": [2.0, 2.5, 2.5],
            "rank": [2.0, 1.5, 2.5],
        }
    )


def test_toy_table() -> None:
    report = audit_table(_toy(), tasks=["t1", "t2"], average="avg", rank="rank")
    assert list(report.columns) == ["row", "label", "check", "published", "expected", "difference"]
    assert report[["label", "check"]].values.tolist() == [["c", "average"], ["c", "rank"]]
    assert report["expected"].tolist() == pytest.approx([2.0, 2.0])
    assert report["difference"].tolist() == pytest.approx([0.5, 0.5])


def test_lower_is_better_and_tolerance() -> None:
    df = _toy().assign(rank=[2.0, 2.0, 1.5])  # lower-is-better: a (3, 1), b (1, 3), c (1, 2)
    report = audit_table(df, tasks=["t1", "t2"], average=None, rank="rank", higher_is_better=False)
    assert report.empty
    assert audit_table(_toy(), tasks=["t1", "t2"], average="avg", rank=None, tol=0.6).empty


def test_label_falls_back_to_index() -> None:
    df = _toy().drop(columns="model").set_index(pd.Index(["x", "y", "z"]))
    report = audit_table(df, tasks=["t1", "t2"], average="avg", rank=None)
    assert report["row"].tolist() == ["z"] and report["label"].tolist() == ["z"]


def test_audit_errors() -> None:
    df = _toy()
    with pytest.raises(InvalidInputError, match="tasks is empty"):
        audit_table(df, tasks=[], average="avg", rank=None)
    with pytest.raises(InvalidInputError, match="nothing to audit"):
        audit_table(df, tasks=["t1"], average=None, rank=None)
    with pytest.raises(InvalidInputError, match="lacks column"):
        audit_table(df, tasks=["t9"], average="avg", rank=None)
    with pytest.raises(InvalidInputError, match="tol"):
        audit_table(df, tasks=["t1"], average="avg", rank=None, tol=-1)
    bad = df.assign(t1=[1.0, np.nan, 2.0])
    with pytest.raises(InvalidInputError, match="'t1' has 1 missing"):
        audit_table(bad, tasks=["t1", "t2"], average="avg", rank=None)
    with pytest.raises(InvalidInputError, match="no rows"):
        audit_table(df.iloc[:0], tasks=["t1"], average="avg", rank=None)


def test_real_cryobench_table(shared_data: Path) -> None:
    path = shared_data / "cryobench-published-results" / "cryobench_frozen_upernet_100pct_miou.csv"
    df = pd.read_csv(path)
    assert len(df) == 16
    report = audit_table(df, tasks=CRYO_TASKS, average="avg_miou", rank="avg_rank")
    # Only RAMEN's published average is wrong: its five values sum to
    # 82.17 + 73.67 + 16.52 + 25.10 + 70.56 = 268.02, mean 53.604, not the published 57.17.
    assert report[["label", "check"]].values.tolist() == [["RAMEN", "average"]]
    ramen = report.iloc[0]
    assert ramen.published == 57.17
    assert ramen.expected == pytest.approx(53.604)
    assert ramen.difference == pytest.approx(3.566)
    # ViT checked by hand: 71.58 + 80.18 + 16.17 + 39.90 + 74.41 = 282.24 → 56.448 (published
    # 56.45, a rounding difference of 0.002 < tol); its task ranks 14, 2, 14, 8, 2 average 8.0,
    # as published. ViT is therefore correctly NOT flagged.
    vit = df.set_index("model").loc["ViT", CRYO_TASKS].to_numpy(dtype=float)
    assert vit.mean() == pytest.approx(56.448)
    assert "ViT" not in report["label"].tolist()
    # the average rank is reproduced for every row (strict tolerance), e.g. U-Net 2.8, Prithvi 13.6
    assert audit_table(df, tasks=CRYO_TASKS, average=None, rank="avg_rank", tol=1e-9).empty
    # a tolerance tighter than the 2-decimal rounding flags rounding noise, RAMEN stays the worst
    strict = audit_table(df, tasks=CRYO_TASKS, average="avg_miou", rank=None, tol=1e-9)
    assert strict.set_index("label")["difference"].abs().idxmax() == "RAMEN"
