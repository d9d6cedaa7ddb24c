"""The ``presto`` suite: Presto's pixel-time-series tasks read in place (fake and real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.fakes import presto_algae_blooms, presto_fuel_moisture

from planetbench.errors import (
    DatasetNotFoundError,
    InvalidInputError,
    LabelFileError,
    UnknownNameError,
)
from planetbench.tasks import get_task, list_tasks
from planetbench.tasks.presto import (
    BUNDLE_FOLDER,
    PRESTO_INPUT_BANDS,
    read_series,
    task_folder,
    write_presto_labels,
)

FUEL, ALGAE = "presto-fuel-moisture", "presto-algae-blooms"


def test_suite_lists_both_tasks_with_the_upstream_split() -> None:
    assert {FUEL, ALGAE} <= set(list_tasks("presto"))
    fuel, algae = get_task(FUEL).spec, get_task(ALGAE).spec
    assert (fuel.kind, fuel.metric, fuel.splits) == ("regression", "r2", ("train", "test"))
    assert (algae.kind, algae.metric, algae.classes) == ("multiclass", "f1_macro",
                                                         ("1", "2", "3", "4", "5"))  # fmt: skip
    assert "is_test" in fuel.split_note and "site" in fuel.split_note
    assert "probe_timeseries" in fuel.evaluation_note
    assert [b.name for b in fuel.bands][:3] == ["VV", "VH", "B02"] and len(fuel.bands) == 18


def test_reader_yields_time_series_samples(tmp_path: Path) -> None:
    root = presto_fuel_moisture.write(tmp_path)
    train = get_task(FUEL).load(root, "train")
    test = get_task(FUEL).load(root, "test")
    assert (len(train), len(test)) == (3, 3)
    sample = test[0]
    assert sample["image"].shape == (18, 3, 1) and sample["image"].dtype == np.float32
    raw = np.load(root / "fuel_moisture" / "npy" / "s1_s2_era5_srtm.npy")
    assert np.allclose(sample["image"][:, :, 0], raw[1].T.astype(np.float32))  # row 1: is_test
    assert sample["id"] == "fm-0001" and sample["group"] == "site 1"
    assert sample["dynamic_world"].shape == (3,) and sample["latlon"].shape == (2,)
    assert np.isclose(sample["label"], np.load(root / "fuel_moisture" / "npy" / "target.npy")[1])
    with pytest.raises(IndexError, match="out of range"):
        test[3]


def test_class_labels_are_indices_and_uids_are_ids(tmp_path: Path) -> None:
    root = presto_algae_blooms.write(tmp_path)
    data = read_series(ALGAE, root)
    target = np.load(root / "algae_blooms" / "npy" / "target.npy")
    assert np.array_equal(data.targets, target - 1) and data.targets.dtype == np.int64
    assert list(data.ids[:2]) == ["u000", "u001"] and data.n_timesteps == 12


@pytest.mark.parametrize("where", ["parent", "task folder", "bundle parent"])
def test_accepted_roots(tmp_path: Path, where: str) -> None:
    bundle = tmp_path / BUNDLE_FOLDER
    presto_fuel_moisture.write(bundle)
    root = {"parent": bundle, "task folder": bundle / "fuel_moisture",
            "bundle parent": tmp_path}[where]  # fmt: skip
    assert task_folder(FUEL, root) == bundle / "fuel_moisture"
    assert len(get_task(FUEL).load(root, "train")) == 3


def test_missing_data_names_the_folder_to_pass(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError,
                       match=rf"not under --root .*\.\./shared/data/{BUNDLE_FOLDER}"):  # fmt: skip
        get_task(FUEL).load(tmp_path, "train")
    with pytest.raises(UnknownNameError, match="did you mean 'presto-fuel-moisture'"):
        task_folder("presto-fuel-moistur", tmp_path)


def _break(root: Path, folder: str, name: str, value: np.ndarray) -> None:
    np.save(root / folder / "npy" / f"{name}.npy", value)


def test_inconsistent_arrays_are_refused(tmp_path: Path) -> None:
    root = presto_fuel_moisture.write(tmp_path / "a")
    _break(root, "fuel_moisture", "month", np.zeros((6, 2), dtype=np.int64))
    with pytest.raises(LabelFileError, match=r"month\.npy has shape \(6, 2\); expected \(6, 3\)"):
        read_series(FUEL, root)
    _break(root, "fuel_moisture", "month", np.full((6, 3), 12))
    with pytest.raises(LabelFileError, match=r"month\.npy holds 18 values outside months 0-11"):
        read_series(FUEL, root)
    root = presto_algae_blooms.write(tmp_path / "b")
    _break(root, "algae_blooms", "target", np.arange(10) % 6 + 1)
    with pytest.raises(LabelFileError, match=r"holds \['6'\], not among the classes"):
        read_series(ALGAE, root)
    (root / "algae_blooms" / "npy" / "uid.npy").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"uid\.npy is missing"):
        read_series(ALGAE, root)


def test_reader_refusals(tmp_path: Path) -> None:
    root = presto_fuel_moisture.write(tmp_path)
    with pytest.raises(InvalidInputError, match="has no split 'val'"):
        get_task(FUEL).load(root, "val")
    with pytest.raises(InvalidInputError, match="reader takes no options; got seed"):
        get_task(FUEL).reader(root, "train", seed=1)


def test_labels_are_written_in_neuco_layout(tmp_path: Path) -> None:
    root = presto_algae_blooms.write(tmp_path / "data")
    path = write_presto_labels(ALGAE, root, tmp_path / "labels")
    assert path.name == f"{ALGAE}__cls.csv"
    frame = pd.read_csv(path, dtype=str)
    assert list(frame.columns) == ["id", "label"] and len(frame) == 10
    assert frame["label"].tolist()[:6] == ["1", "2", "3", "4", "5", "1"]
    root = presto_fuel_moisture.write(tmp_path / "fuel")
    path = write_presto_labels(FUEL, root, tmp_path / "labels", split="test")
    frame = pd.read_csv(path)
    assert path.name == f"{FUEL}__regr.csv" and frame["id"].tolist() == ["fm-0001", "fm-0003",
                                                                          "fm-0005"]  # fmt: skip
    target = np.load(root / "fuel_moisture" / "npy" / "target.npy")
    assert np.allclose(frame["label"], target[1::2])


def test_real_arrays_as_source_md_describes(shared_data: Path) -> None:
    fuel = read_series(FUEL, shared_data)
    assert fuel.x.shape == (2313, 3, len(PRESTO_INPUT_BANDS))
    assert (int((~fuel.is_test).sum()), int(fuel.is_test.sum())) == (1578, 735)
    assert not set(fuel.groups[fuel.is_test]) & set(fuel.groups[~fuel.is_test])  # by site
    assert 31.0 < fuel.targets.min() < fuel.targets.max() < 320.0
    algae = read_series(ALGAE, shared_data / BUNDLE_FOLDER)
    assert algae.x.shape == (1122, 12, 18) and int(algae.is_test.sum()) == 345
    assert np.bincount(algae.targets).tolist() == [246, 260, 494, 116, 6]
