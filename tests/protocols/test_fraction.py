"""Label fractions: reproducible, stratified (class-balanced), hashed and saved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planetbench.errors import InvalidInputError
from planetbench.protocols.fraction import (
    FractionSubset,
    fraction_path,
    ids_sha256,
    image_strata,
    select_fraction,
    stratified_sample,
)

IGNORE = 255


def test_image_strata_dominant_class_ignoring_the_ignore_index() -> None:
    masks = [
        np.array([[0, 0], [1, IGNORE]]),
        np.array([[IGNORE, IGNORE], [IGNORE, 2]]),  # ignored pixels would dominate otherwise
        np.full((2, 2), IGNORE),
    ]
    assert image_strata(masks, 3, IGNORE).tolist() == [0, 2, -1]


def test_stratified_sample_is_reproducible_and_class_balanced() -> None:
    strata = np.repeat([0, 1, 2], [60, 30, 10])
    a = stratified_sample(strata, 0.2, seed=3)
    b = stratified_sample(strata, 0.2, seed=3)
    c = stratified_sample(strata, 0.2, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.size == 20
    # each stratum contributes its share: 12, 6, 2 (exact here: no rounding needed)
    assert np.bincount(strata[a]).tolist() == [12, 6, 2]
    # uneven shares are apportioned within ±1 of the proportional quota
    odd = np.repeat([0, 1, 2, 3], [7, 5, 3, 2])
    pick = stratified_sample(odd, 0.3, seed=0)
    assert pick.size == 5
    quota = np.array([7, 5, 3, 2]) * 5 / 17
    assert np.all(np.abs(np.bincount(odd[pick], minlength=4) - quota) < 1)


def test_stratified_sample_edges() -> None:
    assert stratified_sample(np.zeros(5), 1.0, 0).tolist() == [0, 1, 2, 3, 4]
    assert stratified_sample(np.zeros(5), 0.01, 0).size == 1  # never empty
    with pytest.raises(InvalidInputError, match=r"must lie in \(0, 1\]"):
        stratified_sample(np.zeros(5), 1.5, 0)
    with pytest.raises(InvalidInputError, match="empty training split"):
        stratified_sample(np.zeros(0), 0.5, 0)


class _Split:
    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(0)
        self.masks = [np.full((4, 4), int(c)) for c in rng.choice(3, size=n, p=[0.6, 0.3, 0.1])]

    def __len__(self) -> int:
        return len(self.masks)

    def __getitem__(self, i: int) -> dict[str, object]:
        return {"image": np.zeros((1, 4, 4), np.float32), "mask": self.masks[i], "id": f"img{i:03d}"}


def test_select_fraction_saves_a_hashed_list_and_reuses_it(tmp_path: Path) -> None:
    split = _Split(40)
    idx, subset = select_fraction(split, task="toy", fraction=0.25, seed=0, n_classes=3,
                                  directory=tmp_path)
    path = fraction_path(tmp_path, "toy", 0.25, 0)
    data = json.loads(path.read_text())
    assert data["sha256"] == ids_sha256(data["ids"]) == subset.sha256
    assert data["fraction"] == 0.25 and data["seed"] == 0 and data["n_total"] == 40
    assert len(idx) == 10 and [split[i]["id"] for i in idx] == list(subset.ids)
    again, subset2 = select_fraction(split, task="toy", fraction=0.25, seed=0, n_classes=3,
                                     directory=tmp_path)
    assert again == idx and subset2 == subset
    assert FractionSubset.load(path) == subset
    full, whole = select_fraction(split, task="toy", fraction=1.0, seed=0, n_classes=3,
                                  directory=tmp_path)
    assert full == list(range(40)) and whole.n_total == 40


def test_select_fraction_refuses_tampered_or_stale_files(tmp_path: Path) -> None:
    split = _Split(20)
    select_fraction(split, task="toy", fraction=0.5, seed=1, n_classes=3, directory=tmp_path)
    path = fraction_path(tmp_path, "toy", 0.5, 1)
    data = json.loads(path.read_text())
    data["ids"][0] = "img019" if data["ids"][0] != "img019" else "img000"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError, match="do not match its sha256"):
        select_fraction(split, task="toy", fraction=0.5, seed=1, n_classes=3, directory=tmp_path)
    path.unlink()
    select_fraction(split, task="toy", fraction=0.5, seed=1, n_classes=3, directory=tmp_path)
    with pytest.raises(InvalidInputError, match="drawn from 20 training images"):
        select_fraction(_Split(30), task="toy", fraction=0.5, seed=1, n_classes=3,
                        directory=tmp_path)
    path.write_text("{not json")
    with pytest.raises(InvalidInputError, match="unreadable"):
        FractionSubset.load(path)
