"""k-shot sets: exact counts per class, reproducible, saved; the published set wins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from planetbench.errors import InvalidInputError
from planetbench.protocols.budgets import select_budget
from planetbench.protocols.kshot import (
    KShotSubset,
    draw_kshot,
    kshot_cover,
    kshot_path,
    kshot_sample,
    select_kshot,
)
from planetbench.tasks import get_task
from planetbench.testing_mars import fake_budget, write_mars_fake


@pytest.mark.parametrize("shots", [1, 2, 5, 10, 15, 20])
def test_kshot_sample_takes_exactly_k_per_class(shots: int) -> None:
    labels = np.repeat([0, 1, 2, 3], [40, 25, 60, 21])
    pick = kshot_sample(labels, shots, seed=3)
    assert np.bincount(labels[pick], minlength=4).tolist() == [shots] * 4
    assert len(set(pick.tolist())) == pick.size and np.all(np.diff(pick) > 0)


def test_kshot_sample_same_seed_same_list() -> None:
    labels = np.repeat([0, 1, 2], [30, 30, 30])
    a, b, c = (kshot_sample(labels, 5, s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_kshot_sample_short_class_and_bad_input() -> None:
    labels = np.array([0, 0, 0, 1])
    assert np.bincount(labels[kshot_sample(labels, 2, 0)]).tolist() == [2, 1]
    with pytest.raises(InvalidInputError, match="positive integer"):
        kshot_sample(labels, 0, 0)
    with pytest.raises(InvalidInputError, match="empty training split"):
        kshot_sample(np.zeros(0), 1, 0)


def test_kshot_cover_holds_every_class_at_least_k_times() -> None:
    rng = np.random.default_rng(0)
    present = rng.random((200, 6)) < np.array([0.5, 0.3, 0.1, 0.05, 0.6, 0.02])
    for shots in (1, 2, 5):
        pick = kshot_cover(present, shots, seed=1)
        held = present[pick].sum(axis=0)
        available = present.sum(axis=0)
        assert np.all(held >= np.minimum(shots, available))
        np.testing.assert_array_equal(pick, kshot_cover(present, shots, seed=1))
    # a rare class is taken first, so its k images are chosen for it
    assert present[kshot_cover(present, 2, seed=4), 5].sum() >= 2


class _Cls:
    def __init__(self, labels: list[int]) -> None:
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, object]:
        return {"image": np.zeros((3, 2, 2), np.float32), "label": np.int64(self.labels[i]),
                "id": f"im{i:03d}"}


def test_select_kshot_saves_and_reuses_and_refuses_tampering(tmp_path: Path) -> None:
    ds = _Cls([i % 3 for i in range(30)])
    idx, subset = select_kshot(ds, task="toy", kind="multiclass", shots=4, seed=0, n_classes=3,
                               directory=tmp_path)
    assert len(idx) == 12 and subset.source == "planetbench"
    assert np.bincount([ds.labels[i] for i in idx]).tolist() == [4, 4, 4]
    path = kshot_path(tmp_path, "toy", 4, 0)
    assert KShotSubset.load(path) == subset
    again, _ = select_kshot(ds, task="toy", kind="multiclass", shots=4, seed=0, n_classes=3,
                            directory=tmp_path)
    assert again == idx
    data = json.loads(path.read_text())
    data["ids"][0] = "im029" if data["ids"][0] != "im029" else "im028"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError, match="do not match its sha256"):
        select_kshot(ds, task="toy", kind="multiclass", shots=4, seed=0, n_classes=3,
                     directory=tmp_path)
    path.unlink()
    select_kshot(ds, task="toy", kind="multiclass", shots=4, seed=0, n_classes=3,
                 directory=tmp_path)
    with pytest.raises(InvalidInputError, match="drawn from 30 training images"):
        select_kshot(_Cls([0, 1] * 5), task="toy", kind="multiclass", shots=4, seed=0,
                     n_classes=3, directory=tmp_path)


def test_draw_kshot_warns_about_short_classes() -> None:
    with pytest.warns(UserWarning, match=r"class\(es\) \['1'\] have fewer images than 3"):
        subset = draw_kshot(_Cls([0, 0, 0, 0, 1]), task="toy", kind="classification", shots=3,
                            seed=0, n_classes=2)
    assert subset.short == {"1": 1} and len(subset.ids) == 4
    with pytest.raises(InvalidInputError, match="regression task"):
        draw_kshot(_Cls([0]), task="toy", kind="regression", shots=1, seed=0, n_classes=0)


def test_published_kshot_set_wins(tmp_path: Path) -> None:
    write_mars_fake(tmp_path, "mb-domars16k", n_per_split=30)
    task = get_task("mb-domars16k")
    view, record = select_budget(task, tmp_path, shots=1, seed=5, directory=tmp_path / "cache")
    want = sorted(s.stem for s in fake_budget("mb-domars16k", shots=1, n_per_split=30))
    assert sorted(view.ids) == want and record.source.startswith("published: ")
    assert not (tmp_path / "cache").exists()  # nothing drawn, nothing saved
    # without published files the same call draws planetbench's own set: exactly 1 per class
    write_mars_fake(tmp_path / "bare", "mb-domars16k", n_per_split=30, budgets=False)
    view, record = select_budget(task, tmp_path / "bare", shots=1, seed=5,
                                 directory=tmp_path / "cache")
    assert record.source == "planetbench" and len(view) == 15
    assert sorted(int(view[i]["label"]) for i in range(len(view))) == list(range(15))
    assert kshot_path(tmp_path / "cache", "mb-domars16k", 1, 5).is_file()


def test_kshot_for_segmentation_and_detection_cover_classes(tmp_path: Path) -> None:
    write_mars_fake(tmp_path, "mb-crater_multi_seg", n_per_split=16, size=16)
    view, record = select_budget(get_task("mb-crater_multi_seg"), tmp_path, shots=2,
                                 directory=tmp_path / "c")
    held = np.zeros(5, int)
    for i in range(len(view)):
        held[np.unique(view[i]["mask"])] += 1
    assert (held >= 2).all() and record.source == "planetbench"
    write_mars_fake(tmp_path, "mb-boulder_det", n_per_split=12, size=16)
    view, _ = select_budget(get_task("mb-boulder_det"), tmp_path, shots=5,
                            directory=tmp_path / "c")
    assert len(view) == 5 and all(len(view[i]["boxes"]) > 0 for i in range(5))
    with pytest.raises(InvalidInputError, match="exactly one of fraction= and shots="):
        select_budget(get_task("mb-boulder_det"), tmp_path)
