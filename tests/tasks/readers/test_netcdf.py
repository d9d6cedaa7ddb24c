"""netCDF reading (classic and netCDF-4/HDF5) and single-channel label images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.fakes import sicd as fake_sicd

from planetbench.errors import InvalidInputError, LabelFileError, MissingDependencyError
from planetbench.tasks.readers.images import read_label_image, write_png
from planetbench.tasks.readers.netcdf import netcdf_variable_names, read_netcdf_variables


def test_netcdf_rejects_non_netcdf_and_needs_h5py_for_hdf5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"<html>not found</html>")
    with pytest.raises(InvalidInputError, match="is not a netCDF file"):
        read_netcdf_variables(junk, ["SOD"])
    hdf = tmp_path / "scene.nc"
    hdf.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingDependencyError, match=r"h5py .*planetbench\[cryo\]"):
        read_netcdf_variables(hdf, ["SOD"])


def test_netcdf_missing_variable_lists_present(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    scene = next((tmp_path / "train").glob("*.nc"))
    with pytest.raises(InvalidInputError, match=r"lacks variable\(s\) HH; it holds: FLOE, SIC"):
        read_netcdf_variables(scene, ["HH"])


def test_label_image_must_be_single_channel(tmp_path: Path) -> None:
    path = write_png(tmp_path / "rgb.png", np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(LabelFileError, match="expected one channel"):
        read_label_image(path)


def test_netcdf_window_reads_match_whole_reads(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    scene = next((tmp_path / "train").glob("*.nc"))
    names = ["nersc_sar_primary", "SOD"]
    whole = read_netcdf_variables(scene, names, mask_fill=False)
    part = read_netcdf_variables(scene, names, mask_fill=False, window=(2, 5, 9, 30))
    for name in names:
        np.testing.assert_array_equal(part[name], whole[name][2:9, 5:30])
    with pytest.raises(InvalidInputError, match=r"window \(0, 0, 99, 4\) .* does not fit"):
        read_netcdf_variables(scene, names, window=(0, 0, 99, 4))


def test_netcdf4_hdf5_scene_is_read_with_window_and_fill(tmp_path: Path) -> None:
    """AI4Arctic scenes are netCDF-4 (HDF5): variables, _FillValue masking and windows."""
    h5py = pytest.importorskip("h5py", reason="h5py is in the cryo extra")
    rng = np.random.default_rng(0)
    hh = rng.normal(size=(6, 8)).astype(np.float32)
    sod = rng.integers(0, 6, size=(6, 8)).astype(np.uint8)
    sod[0, 0] = 255
    path = tmp_path / "20180101T000000_dmi_prep.nc"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("nersc_sar_primary", data=hh)
        ds = h5.create_dataset("SOD", data=sod)
        ds.attrs["_FillValue"] = np.uint8(255)
        h5.create_group("ignored_group")
    assert netcdf_variable_names(path) == ["SOD", "nersc_sar_primary"]
    out = read_netcdf_variables(path, ["nersc_sar_primary", "SOD"])
    np.testing.assert_array_equal(out["nersc_sar_primary"], hh)
    assert out["SOD"].dtype == np.uint8 and out["SOD"][0, 0] == 255  # integer fill kept as is
    window = read_netcdf_variables(path, ["nersc_sar_primary"], window=(1, 2, 4, 6))
    np.testing.assert_array_equal(window["nersc_sar_primary"], hh[1:4, 2:6])
    with pytest.raises(InvalidInputError, match=r"lacks variable\(s\) HV; it holds: SOD"):
        read_netcdf_variables(path, ["HV"])
