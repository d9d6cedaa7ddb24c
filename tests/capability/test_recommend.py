"""recommend: the next runs are the unmeasured pairs with the most ensemble disagreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.capability import CapabilityEncoder, map_coordinates, plot_map, recommend
from planetbench.errors import InvalidInputError, UnknownNameError


@pytest.fixture(scope="module")
def encoder() -> CapabilityEncoder:
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(8, 2)), rng.normal(size=(6, 2))
    score = 1.0 - np.linalg.norm(u[:, None] - v[None], axis=2) / 6.0
    rows = [(f"m{i}", f"t{j}", score[i, j]) for i in range(8) for j in range(6)]
    df = pd.DataFrame(rows, columns=["model", "task", "score"]).assign(higher_is_better=True)
    df = df.drop(index=rng.choice(len(df), 12, replace=False))
    return CapabilityEncoder(dim=2, n_ensemble=4, min_results=3).fit(df)


def test_recommend_ranks_unmeasured_by_variance(encoder: CapabilityEncoder) -> None:
    rec = recommend(encoder, n=5)
    every = encoder.predict()
    open_pairs = every[~every["measured"]]
    assert len(rec) == 5
    measured = set(map(tuple, encoder.observed_[["model", "task"]].to_numpy()))
    assert not set(map(tuple, rec[["model", "task"]].to_numpy())) & measured
    assert rec["priority"].is_monotonic_decreasing
    assert rec["priority"].iloc[0] == pytest.approx(open_pairs["gap_std"].max() ** 2)
    assert rec["priority"].to_numpy() == pytest.approx(rec["gap_std"].to_numpy() ** 2)
    assert len(recommend(encoder, n=100)) == len(open_pairs)


def test_recommend_shared_weighting_and_candidates(encoder: CapabilityEncoder) -> None:
    every = encoder.predict()
    open_pairs = every[~every["measured"]]
    rec = recommend(encoder, n=50, weighting="shared")
    var = open_pairs.assign(v=open_pairs["gap_std"] ** 2)
    m, t = rec.iloc[0]["model"], rec.iloc[0]["task"]
    expected = var[(var["model"] == m) | (var["task"] == t)]["v"].sum()
    assert rec.iloc[0]["priority"] == pytest.approx(expected)
    pick = open_pairs.iloc[:2][["model", "task"]]
    only = recommend(encoder, candidates=pick, n=5)
    assert set(map(tuple, only[["model", "task"]].to_numpy())) == set(map(tuple, pick.to_numpy()))


def test_recommend_errors(encoder: CapabilityEncoder) -> None:
    with pytest.raises(InvalidInputError, match="n=0 must be an integer >= 1"):
        recommend(encoder, n=0)
    with pytest.raises(InvalidInputError, match="weighting 'magic' is unknown"):
        recommend(encoder, weighting="magic")
    measured = encoder.observed_.iloc[:2][["model", "task"]]
    with pytest.raises(InvalidInputError, match="every candidate is already measured"):
        recommend(encoder, candidates=measured)
    with pytest.raises(UnknownNameError, match="not in the encoding"):
        recommend(encoder, candidates=[("nope", "t0")])


def test_map_coordinates_and_png(encoder: CapabilityEncoder, tmp_path: Path) -> None:
    mxy, txy = map_coordinates(encoder, projection="first", member=0)
    np.testing.assert_allclose(mxy, encoder.model_params_[0][:, :2])
    assert txy.shape == (6, 2)
    fig = plot_map(encoder, path=tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 1000
    assert len(fig.axes[0].texts) == len(encoder.models_) + len(encoder.tasks_)
    with pytest.raises(InvalidInputError, match="projection 'tsne' is unknown"):
        map_coordinates(encoder, projection="tsne")
    with pytest.raises(InvalidInputError, match=r"member=9 must lie in \[0, 3\]"):
        map_coordinates(encoder, member=9)
    with pytest.raises(InvalidInputError, match="not fitted"):
        map_coordinates(CapabilityEncoder())
