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


def test_sample_strata_by_kind() -> None:
    from planetbench.protocols.fraction import sample_strata

    cls = [np.int64(2), np.int64(0)]
    assert sample_strata(cls, "multiclass", 3).tolist() == [2, 0]
    # multi-label / detection: the rarest class present over the split, -1 for none
    ml = [np.array([1, 1, 0]), np.array([1, 0, 0]), np.array([0, 0, 0]), np.array([1, 1, 1])]
    assert sample_strata(ml, "multilabel", 3).tolist() == [1, 0, -1, 2]
    det = [np.array([0, 0]), np.array([], dtype=np.int64), np.array([1, 0])]
    assert sample_strata(det, "detection", 2).tolist() == [0, -1, 1]
    assert sample_strata([np.array([[1, 1], [0, 1]])], "segmentation", 2).tolist() == [1]


def test_detection_fraction_keeps_the_share_of_images_without_boxes(tmp_path: Path) -> None:
    from planetbench.protocols.budgets import select_budget
    from planetbench.tasks import get_task
    from planetbench.testing_mars import write_mars_fake

    write_mars_fake(tmp_path, "mb-conequest_det", n_per_split=30, size=16, budgets=False)
    view, record = select_budget(get_task("mb-conequest_det"), tmp_path, fraction=0.3,
                                 seed=2, directory=tmp_path / "c")
    assert len(view) == 9 and record.source == "planetbench"
    empty = sum(len(view[i]["boxes"]) == 0 for i in range(len(view)))
    assert empty == 3  # a third of the fake images have no box, and so a third of the subset
    assert record.strata == {"-1": 3, "0": 6}
    again, record2 = select_budget(get_task("mb-conequest_det"), tmp_path, fraction=0.3, seed=2,
                                   directory=tmp_path / "c")
    assert again.ids == view.ids and record2 == record


def test_published_partition_wins_over_a_drawn_list(tmp_path: Path) -> None:
    from planetbench.protocols.budgets import select_budget
    from planetbench.tasks import get_task
    from planetbench.testing_mars import fake_budget, write_mars_fake

    for layout in ("zenodo", "hf-parquet", "hf-save-to-disk"):
        root = tmp_path / layout
        write_mars_fake(root, "mb-boulder_seg", layout=layout, n_per_split=20, size=8)
        task = get_task("mb-boulder_seg")
        view, record = select_budget(task, root, fraction=0.25, directory=tmp_path / "c")
        want = sorted(s.stem for s in fake_budget("mb-boulder_seg", fraction=0.25,
                                                  n_per_split=20, size=8))
        assert sorted(view.ids) == want and record.source.startswith("published")
        # the runner's path (select_fraction on the loaded train split) also takes it
        train = task.load(root, "train")
        idx, sub = select_fraction(train, task="mb-boulder_seg", fraction=0.25, seed=0,
                                   n_classes=2, directory=tmp_path / "c")
        assert sorted(train.ids[i] for i in idx) == want and sub.source == record.source
    assert not (tmp_path / "c").exists()


def test_published_rows_match_by_image_bytes_when_ids_differ(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from planetbench.protocols.fraction import published_indices
    from planetbench.tasks import get_task
    from planetbench.testing_mars import write_mars_fake

    folder = write_mars_fake(tmp_path, "mb-frost_cls", layout="hf-parquet", n_per_split=10)
    for path in (folder / "data").glob("*.parquet"):  # no stored file names: row ids only
        table = pq.read_table(path)
        images = [{"bytes": c["bytes"], "path": None} for c in table.column("image").to_pylist()]
        import pyarrow as pa

        table = table.set_column(0, "image", pa.array(images))
        pq.write_table(table, path)
    train = get_task("mb-frost_cls").load(tmp_path, "train")
    part = get_task("mb-frost_cls").load(tmp_path, "train", fraction=0.2)
    assert train.ids[0] == "train-000000" and part.ids[0].startswith("partition_train_")
    idx = published_indices(train, part)
    assert [int(train[i]["label"]) for i in idx] == [int(part[j]["label"]) for j in
                                                     range(len(part))]


# ------------------------------------------------------- the cryobench sampler (PANGAEA's code)


def _pangaea_case() -> list[np.ndarray]:
    """20 masks of 6 pixels over 3 classes whose PANGAEA strata are worked out by hand.

    Proportions (ignored pixels dropped) and their bins (ceil(p / (1/3)) - 1):

    * images 0-9: all class 0 → (1, 0, 0) → bins (2, -1, -1), stratum ``2-1-1`` (10 images)
    * images 10-14: 4 × class 0, 2 × class 1 → (2/3, 1/3, 0) → (1, 0, -1), ``10-1`` (5)
    * images 15-17: 3 × class 1, 3 × class 2 → (0, 1/2, 1/2) → (-1, 1, 1), ``-111`` (3)
    * image 18: only ignored pixels → (0, 0, 0) → (-1, -1, -1), ``-1-1-1`` (1)
    * image 19: one pixel of each class, 3 ignored → (1/3, 1/3, 1/3) → (0, 0, 0), ``000`` (1)
    """
    masks = [np.zeros((2, 3), np.int64) for _ in range(10)]
    masks += [np.array([[0, 0, 0], [0, 1, 1]]) for _ in range(5)]
    masks += [np.array([[1, 1, 1], [2, 2, 2]]) for _ in range(3)]
    masks += [np.full((2, 3), IGNORE)]
    masks += [np.array([[0, 1, 2], [IGNORE, IGNORE, IGNORE]])]
    return masks


class _Masks:
    def __init__(self, masks: list[np.ndarray]) -> None:
        self.masks = masks

    def __len__(self) -> int:
        return len(self.masks)

    def __getitem__(self, i: int) -> dict[str, object]:
        return {"image": np.zeros((1, 2, 3), np.float32), "mask": self.masks[i],
                "id": f"img{i:03d}"}


def test_cryobench_sampler_reproduces_pangaea_counts_worked_out_by_hand() -> None:
    from planetbench.protocols.fraction import (
        class_proportions,
        draw_fraction,
        pangaea_stratified_sample,
        proportion_bins,
    )

    masks = _pangaea_case()
    bins = proportion_bins(class_proportions(masks, 3, IGNORE))
    assert bins[0].tolist() == [2, -1, -1] and bins[10].tolist() == [1, 0, -1]
    assert bins[15].tolist() == [-1, 1, 1] and bins[18].tolist() == [-1, -1, -1]
    assert bins[19].tolist() == [0, 0, 0]
    chosen, names = pangaea_stratified_sample(bins, 0.1, seed=234)
    # int(max(1, n * 0.1)) per stratum: 10 → 1, 5 → 1, 3 → 1, 1 → 1, 1 → 1
    assert chosen.size == 5  # a quarter of the images, where round(0.1 * 20) = 2
    assert sorted(names[i] for i in chosen) == sorted(["2-1-1", "10-1", "-111", "-1-1-1", "000"])
    sub = draw_fraction(_Masks(masks), task="toy", fraction=0.25, seed=234, n_classes=3,
                        ignore_index=IGNORE, sampler="cryobench")
    # 10 → int(2.5) = 2, 5 → int(1.25) = 1, 3 → int(max(1, 0.75)) = 1, 1 → 1, 1 → 1
    assert sub.strata == {"2-1-1": 2, "10-1": 1, "-111": 1, "-1-1-1": 1, "000": 1}
    assert len(sub.ids) == 6 and sub.sampler == "cryobench" and sub.n_total == 20
    default = draw_fraction(_Masks(masks), task="toy", fraction=0.25, seed=234, n_classes=3,
                            ignore_index=IGNORE)
    assert len(default.ids) == 5 and default.sampler == "default"  # round(0.25 * 20)


def test_cryobench_sampler_draws_what_pangaea_global_numpy_generator_draws() -> None:
    from planetbench.protocols.fraction import (
        class_proportions,
        pangaea_stratified_sample,
        proportion_bins,
    )

    masks = _pangaea_case()
    bins = proportion_bins(class_proportions(masks, 3, IGNORE))
    chosen, _ = pangaea_stratified_sample(bins, 0.5, seed=7)
    # PANGAEA seeds NumPy's global generator with cfg.seed, then calls np.random.choice once per
    # stratum in the order strata first appear; strata are contiguous here: 0-9, 10-14, …
    state = np.random.get_state()
    try:
        np.random.seed(7)
        expected: list[int] = []
        for members in (range(0, 10), range(10, 15), range(15, 18), [18], [19]):
            k = int(max(1, len(members) * 0.5))
            expected += np.random.choice(list(members), k, replace=False).tolist()
    finally:
        np.random.set_state(state)
    assert chosen.tolist() == expected
    assert len(expected) == 5 + 2 + 1 + 1 + 1


def test_bins_follow_pangaea_edges() -> None:
    from planetbench.protocols.fraction import bin_pattern, proportion_bins

    edges = np.array([0.0, 1e-9, 1 / 3, 0.34, 2 / 3, 0.67, 1.0])
    assert proportion_bins(edges).tolist() == [-1, 0, 0, 1, 1, 2, 2]
    assert proportion_bins(np.array([0.5]), n_bins=2).tolist() == [0]
    assert bin_pattern([-1, 2, 0]) == "-120"
    with pytest.raises(InvalidInputError, match="n_bins must be a positive integer"):
        proportion_bins(edges, n_bins=0)


def test_select_fraction_by_sampler_name_is_saved_apart_and_recorded(tmp_path: Path) -> None:
    from planetbench.errors import UnknownNameError

    split = _Masks(_pangaea_case())
    idx, sub = select_fraction(split, task="toy", fraction=0.1, seed=234, n_classes=3,
                               ignore_index=IGNORE, directory=tmp_path, sampler="cryobench")
    path = fraction_path(tmp_path, "toy", 0.1, 234, "cryobench")
    assert path.name == "fraction-0.1-seed234-cryobench.json"
    assert json.loads(path.read_text())["sampler"] == "cryobench"
    assert len(idx) == 5 and FractionSubset.load(path) == sub
    again, sub2 = select_fraction(split, task="toy", fraction=0.1, seed=234, n_classes=3,
                                  ignore_index=IGNORE, directory=tmp_path, sampler="cryobench")
    assert again == idx and sub2 == sub
    plain, rec = select_fraction(split, task="toy", fraction=0.1, seed=234, n_classes=3,
                                 ignore_index=IGNORE, directory=tmp_path)
    assert len(plain) == 2 and rec.sampler == "default"
    assert fraction_path(tmp_path, "toy", 0.1, 234).name == "fraction-0.1-seed234.json"
    whole = select_fraction(split, task="toy", fraction=1.0, seed=0, n_classes=3,
                            sampler="cryobench")[1]
    assert whole.sampler == "cryobench" and len(whole.ids) == 20
    # a file drawn by one sampler is never reused for another
    data = json.loads(path.read_text())
    data["sampler"] = "default"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError, match="drawn by sampler 'default', not 'cryobench'"):
        select_fraction(split, task="toy", fraction=0.1, seed=234, n_classes=3,
                        ignore_index=IGNORE, directory=tmp_path, sampler="cryobench")
    with pytest.raises(UnknownNameError, match="did you mean 'cryobench'"):
        select_fraction(split, task="toy", fraction=0.1, seed=0, n_classes=3,
                        directory=tmp_path, sampler="cryobenc")


def test_cryobench_sampler_refuses_other_task_kinds() -> None:
    from planetbench.protocols.fraction import FRACTION_SAMPLERS

    draw = FRACTION_SAMPLERS.get("cryobench").draw
    with pytest.raises(InvalidInputError, match="reproduces PANGAEA's segmentation sampler"):
        draw([np.int64(0), np.int64(1)], "classification", 2, None, 0.5, 0)
