"""The demo's REAL part: where it finds its data, and its refusal before any work.

The part itself runs in ``tests/cli/test_demo_cli.py`` (``planetbench demo --quick`` runs it
whenever ``../shared/data`` is present).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fakes import presto_fuel_moisture

from planetbench.demo.real import bundle_in, find_real_data, run_real_demo
from planetbench.demo.walkthrough import run_demo
from planetbench.errors import DatasetNotFoundError
from planetbench.tasks.presto import BUNDLE_FOLDER


def _fake_bundle(root: Path) -> Path:
    bundle = root / BUNDLE_FOLDER
    presto_fuel_moisture.write(bundle)
    (bundle / "default_model.pt").write_bytes(b"x")
    return bundle


def test_bundle_is_found_in_the_folder_or_its_parent(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path)
    assert bundle_in(tmp_path) == bundle and bundle_in(bundle) == bundle
    (bundle / "default_model.pt").unlink()  # data without the weights is not a bundle
    assert bundle_in(tmp_path) is None


def test_find_real_data_looks_beside_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _fake_bundle(tmp_path / "shared" / "data")
    (tmp_path / "clone").mkdir()
    monkeypatch.chdir(tmp_path / "clone")
    assert find_real_data() == bundle


def test_missing_real_data_stops_the_demo_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    with pytest.raises(DatasetNotFoundError, match=r"--real-root DIR\) or skip the real part"):
        run_demo(out=out, quick=True, real_root=tmp_path / "nowhere")
    assert not out.exists()
    with pytest.raises(DatasetNotFoundError, match="no Presto bundle"):
        run_real_demo(tmp_path, out=out)


def test_the_shared_bundle_is_found_from_this_checkout(shared_data: Path) -> None:
    bundle = find_real_data()
    assert bundle is not None and bundle == bundle_in(shared_data)
