"""Challenge definitions: validation before anything is stored, phase task subsets, labels."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from planetbench.challenge.definition import (
    check_definition,
    load_definition,
    phase_tasks,
    task_labels,
)
from planetbench.embedding.labels import load_label_tasks
from planetbench.errors import ConfigError, LabelFileError, UnknownNameError
from tests.challenge.helpers import NOW, phase, write_challenge


def _edit(path: Path, **changes: object) -> Path:
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_valid_definition_loads_with_paths_next_to_the_file(tmp_path: Path) -> None:
    d = load_definition(write_challenge(tmp_path))
    assert d.name == "mini"
    assert Path(d.labels) == (tmp_path / "hidden" / "labels").resolve()
    assert d.phase("dev").k == 3
    assert d.split_test_size == 0.2
    tasks, public = check_definition(d)
    assert [t.name for t in tasks] == ["biomass", "crops"]
    assert len(public) == 60


def test_neuco_defaults_to_its_test_share(tmp_path: Path) -> None:
    d = load_definition(write_challenge(tmp_path, probe="neuco"))
    assert d.split_test_size == 0.1


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"colour": "red"}, r"colour: Extra inputs are not permitted"),
        ({"name": "Bad Name"}, r"challenge name must be 1-64 characters"),
        ({"embedding_dim": 0}, r"embedding_dim: Input should be greater than or equal to 1"),
        ({"probe": "lasso"}, r"probe: Input should be 'auto', 'ridge', 'logistic' or 'neuco'"),
        ({"phases": []}, r"phases: List should have at least 1 item"),
        ({"phases": [phase(), phase()]}, r"phase names must be unique; repeated: \['dev'\]"),
        ({"phases": [phase(start="2026-01-01T00:00:00")]}, r"give a timezone"),
        ({"phases": [phase(end=NOW - timedelta(days=3))]}, r"end \(.*\) must be after start"),
        ({"phases": [phase(quota={})]}, r"give per_day and/or total"),
        ({"phases": [phase(reveal="all")]}, r"reveal: Input should be 'mean_q', 'per_task'"),
        ({"phases": [phase(sample_fraction=0)]}, r"sample_fraction: Input should be greater"),
        ({"phases": [phase(seed="daily")]}, r"seed: Input should be 'fixed' or 'random'"),
    ],
)
def test_bad_definitions_are_refused_with_the_key_named(
    tmp_path: Path, change: dict[str, object], match: str
) -> None:
    path = _edit(write_challenge(tmp_path), **change)
    with pytest.raises(ConfigError, match=match):
        load_definition(path)


def test_missing_or_non_mapping_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist; write the YAML file first"):
        load_definition(tmp_path / "nope.yaml")
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"must be a mapping with keys name, labels"):
        load_definition(bad)


def test_unknown_task_names_get_a_did_you_mean(tmp_path: Path) -> None:
    d = load_definition(write_challenge(tmp_path, phases=[phase(tasks=["biomas"])]))
    with pytest.raises(UnknownNameError, match=r"'biomas' \(did you mean 'biomass'\?\)"):
        check_definition(d)


def test_labelled_ids_must_be_public(tmp_path: Path) -> None:
    path = write_challenge(tmp_path)
    ids = (tmp_path / "public" / "ids.txt").read_text().split()
    (tmp_path / "public" / "ids.txt").write_text("\n".join(ids[5:]))
    with pytest.raises(ConfigError, match=r"labelled id\(s\) are not in the public ids file"):
        check_definition(load_definition(path))


def test_a_phase_too_small_for_its_k_is_refused(tmp_path: Path) -> None:
    d = load_definition(write_challenge(tmp_path, n_ids=12, phases=[phase(k=5000)]))
    with pytest.raises(ConfigError, match=r"phase 'dev' \(k=5000.*distinct test sets"):
        check_definition(d)


def test_a_fixed_seed_phase_with_a_flat_regression_test_fold_is_refused(tmp_path: Path) -> None:
    path = write_challenge(tmp_path, phases=[phase(k=5)])
    ids = (tmp_path / "public" / "ids.txt").read_text().split()
    # One label differs from all others: most test folds miss it and hold one value (R² undefined).
    (tmp_path / "hidden" / "labels" / "biomass__regr.csv").write_text(
        "id,label\n" + "\n".join(f"{i},{1.0 if k == 0 else 0.0}" for k, i in enumerate(ids)))
    with pytest.raises(ConfigError, match=r"phase 'dev'.*holds only the label value 0.0.*R² is "
                                          r"undefined"):
        check_definition(load_definition(path))
    random_seed = _edit(path, phases=[phase(k=5, seed="random")])
    check_definition(load_definition(random_seed))  # seeds drawn per submission: not checkable here


def test_neuco_refuses_multiclass_tasks_at_creation(tmp_path: Path) -> None:
    path = write_challenge(tmp_path, probe="neuco")
    ids = (tmp_path / "public" / "ids.txt").read_text().split()
    (tmp_path / "hidden" / "labels" / "land__cls.csv").write_text(
        "id,label\n" + "\n".join(f"{i},{'abc'[k % 3]}" for k, i in enumerate(ids)))
    with pytest.raises(ConfigError, match=r"land__cls.csv.*multiclass.*neuco"):
        check_definition(load_definition(path))


def test_missing_label_folder_and_ids_file_are_named(tmp_path: Path) -> None:
    path = write_challenge(tmp_path)
    d = load_definition(_edit(path, labels=str(tmp_path / "gone")))
    with pytest.raises(LabelFileError, match=r"label folder .*gone.* does not exist"):
        check_definition(d)
    d = load_definition(_edit(path, labels="hidden/labels", ids="missing.txt"))
    with pytest.raises(ConfigError, match=r"public ids file .*missing.txt.* does not exist"):
        check_definition(d)


def test_phase_subsets_are_fixed_per_phase_and_keep_every_class(tmp_path: Path) -> None:
    d = load_definition(write_challenge(tmp_path, n_ids=90, phases=[
        phase("dev", sample_fraction=0.5), phase("final", start=NOW + timedelta(days=2),
                                                 end=NOW + timedelta(days=3))]))
    tasks = load_label_tasks(d.labels)
    dev1 = phase_tasks(d, d.phase("dev"), tasks)
    dev2 = phase_tasks(d, d.phase("dev"), tasks)
    final = phase_tasks(d, d.phase("final"), tasks)
    for a, b in zip(dev1, dev2, strict=True):
        assert np.array_equal(a.task.ids, b.task.ids)
    by_name = {t.name: t for t in tasks}
    for pt in dev1:
        full = by_name[pt.task.name].n_samples
        assert abs(pt.task.n_samples - full / 2) <= 2
    crops = next(pt for pt in dev1 if pt.task.name == "crops")
    assert set(np.unique(crops.task.y)) == {0, 1}
    assert [pt.task.n_samples for pt in final] == [by_name[n].n_samples for n in sorted(by_name)]


def test_hidden_task_names_become_numbered_labels(tmp_path: Path) -> None:
    d = load_definition(write_challenge(tmp_path, phases=[
        phase("dev"), phase("open", show_task_names=True)]))
    hidden = task_labels(d, d.phase("dev"), ["biomass", "crops"])
    assert sorted(hidden.values()) == ["task-1", "task-2"]
    assert task_labels(d, d.phase("open"), ["biomass", "crops"]) == {
        "biomass": "biomass", "crops": "crops"}


def test_current_phase_follows_the_clock(tmp_path: Path) -> None:
    d = load_definition(write_challenge(tmp_path, phases=[
        phase("dev"), phase("final", start=NOW + timedelta(days=2), end=NOW + timedelta(days=3))]))
    assert d.current_phase(NOW).name == "dev"
    assert d.current_phase(NOW + timedelta(days=1, hours=12)).name == "dev"  # last started
    assert d.current_phase(NOW + timedelta(days=2, hours=1)).name == "final"
    assert d.current_phase(NOW - timedelta(days=5)).name == "dev"  # none started: the first
    with pytest.raises(UnknownNameError, match=r"no phase 'fnal'; did you mean 'final'\?"):
        d.phase("fnal")
