"""Band policies: match, sar-rgb, wavelength, zero-fill, auto, and refusals."""

from __future__ import annotations

import pytest
import torch

from planetbench.encoders import get_encoder
from planetbench.encoders.bands import SAR_WAVELENGTH_UM, align_bands, apply
from planetbench.errors import BandAlignmentError, InvalidInputError
from planetbench.tasks.bands import RGB, SENTINEL2, Band, bands

SCALEMAE = get_encoder("scalemae-large").spec  # RGB optical encoder
SSL4EO = get_encoder("ssl4eo-moco-vits16").spec  # 13 S2 bands
DOFA = get_encoder("dofa-base").spec  # wavelength-conditioned
UNET = get_encoder("unet").spec  # any bands


def _batch(n_channels: int) -> torch.Tensor:
    # channel c is filled with the value c + 1, so the output says where it came from
    values = torch.arange(1, n_channels + 1, dtype=torch.float32)
    return values.view(1, -1, 1, 1).expand(2, -1, 4, 4).clone()


def test_match_by_name_reorders_channels() -> None:
    task = bands("B02", "B03", "B04", "B08")
    alignment = align_bands(task, SCALEMAE, policy="match")
    assert alignment.policy == "match"
    assert alignment.index_map == (2, 1, 0)  # red, green, blue ← B04, B03, B02 by wavelength
    out = apply(_batch(4), alignment)
    assert out.shape == (2, 3, 4, 4)
    assert out[0, :, 0, 0].tolist() == [3.0, 2.0, 1.0]


def test_match_by_wavelength_within_tolerance_is_noted() -> None:
    task = (Band("nir", "optical", wavelength_um=0.85), *SENTINEL2[:8], *SENTINEL2[9:])
    alignment = align_bands(task, SSL4EO, policy="match")
    assert alignment.index_map[8] == 0  # B8A (0.865 µm) ← 'nir' (0.85 µm)
    assert any("B8A" in w and "nir" in w for w in alignment.warnings)


def test_dofa_gets_the_task_wavelengths() -> None:
    task = (*bands("B02", "B03", "B04", "VV", "VH"), Band("elevation", "elevation"))
    alignment = align_bands(task, DOFA)  # auto → wavelength
    assert alignment.policy == "wavelength"
    assert alignment.index_map == (0, 1, 2, 3, 4)
    assert alignment.wavelengths is not None
    expected = [0.49, 0.56, 0.665, SAR_WAVELENGTH_UM, SAR_WAVELENGTH_UM]
    assert torch.allclose(alignment.wavelengths, torch.tensor(expected))
    assert any("elevation" in w for w in alignment.warnings)
    assert apply(_batch(6), alignment).shape == (2, 5, 4, 4)
    record = alignment.to_record()
    assert record["policy"] == "wavelength" and record["wavelengths_um"] == pytest.approx(expected)


def test_dofa_refuses_other_policies() -> None:
    with pytest.raises(BandAlignmentError, match="Policies that could apply: wavelength"):
        align_bands(bands("B04"), DOFA, policy="match")


def test_dual_pol_sar_replicated_as_rgb() -> None:
    task = bands("HV", "HH")  # cross-pol first on purpose: co-pol must lead
    alignment = align_bands(task, SCALEMAE)  # auto → sar-rgb
    assert alignment.policy == "sar-rgb"
    assert alignment.index_map == (1, 0, (1, 0))
    out = apply(_batch(2), alignment)
    assert out[0, :, 0, 0].tolist() == [2.0, 1.0, 1.5]  # [HH, HV, mean]
    assert any("SAR replicated as RGB" in w for w in alignment.warnings)


def test_single_pol_sar_replicated_three_times() -> None:
    alignment = align_bands(bands("HH"), SCALEMAE, policy="sar-rgb")
    assert alignment.index_map == (0, 0, 0)
    assert apply(_batch(1), alignment)[0, :, 0, 0].tolist() == [1.0, 1.0, 1.0]


def test_sar_rgb_refused_for_a_13_band_encoder() -> None:
    with pytest.raises(BandAlignmentError, match="exactly 3 input bands"):
        align_bands(bands("VV", "VH"), SSL4EO, policy="sar-rgb")


def test_no_overlap_is_refused_with_both_band_sets() -> None:
    task = (Band("elevation", "elevation"), Band("slope", "other"))
    with pytest.raises(BandAlignmentError) as info:
        align_bands(task, SCALEMAE)
    message = str(info.value)
    assert "elevation(elevation)" in message and "red(0.665µm)" in message
    assert "No policy applies" in message
    with pytest.raises(BandAlignmentError, match="only zeros"):
        align_bands(task, SCALEMAE, policy="zero-fill")


def test_partial_overlap_needs_explicit_zero_fill() -> None:
    task = bands("B02", "B03", "B04")
    with pytest.raises(BandAlignmentError, match="Policies that could apply: zero-fill"):
        align_bands(task, SSL4EO)
    with pytest.warns(UserWarning, match=r"'ssl4eo-moco-vits16': zero-filled 10 of 13"):
        alignment = align_bands(task, SSL4EO, policy="zero-fill")
    assert alignment.policy == "zero-fill"
    assert alignment.to_record()["warnings"] == list(alignment.warnings)
    assert alignment.index_map.count(None) == 10
    assert any(w.startswith("zero-filled 10 of 13") for w in alignment.warnings)
    out = apply(_batch(3), alignment)
    assert out.shape == (2, 13, 4, 4)
    assert out[0, 0].abs().sum() == 0  # B01 absent → zeros
    assert out[0, 1, 0, 0] == 1.0  # B02 ← task channel 0


def test_any_band_encoder_is_identity() -> None:
    alignment = align_bands(bands("HH", "HV"), UNET)
    assert alignment.index_map == (0, 1)
    x = _batch(2)
    assert torch.equal(apply(x, alignment), x)


def test_invalid_inputs() -> None:
    with pytest.raises(InvalidInputError, match="band policy 'closest' is not known"):
        align_bands(RGB, SCALEMAE, policy="closest")
    with pytest.raises(InvalidInputError, match="task_bands is empty"):
        align_bands((), SCALEMAE)
    alignment = align_bands(RGB, SCALEMAE)
    with pytest.raises(InvalidInputError, match=r"shape \(B, 3, H, W\)"):
        apply(torch.zeros(2, 4, 8, 8), alignment)


def test_sar_task_runs_through_an_optical_encoder() -> None:
    task = (*bands("HH", "HV"), Band("incidence_angle", "other"))
    alignment = align_bands(task, SCALEMAE)  # auto → sar-rgb, the angle is dropped
    assert alignment.policy == "sar-rgb"
    assert any("incidence_angle" in w for w in alignment.warnings)
    encoder = get_encoder("scalemae-large").factory(tiny=True).eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    rgb = apply(x, alignment)
    assert torch.equal(rgb[:, 0], x[:, 0]) and torch.equal(rgb[:, 1], x[:, 1])
    assert torch.allclose(rgb[:, 2], (x[:, 0] + x[:, 1]) / 2)
    with torch.no_grad():
        assert encoder.embed(rgb).shape == (2, 32)


def test_optical_encoder_with_missing_bands_lists_both_sets() -> None:
    task = bands("B02", "HH")
    with pytest.raises(BandAlignmentError) as info:
        align_bands(task, SCALEMAE)
    message = str(info.value)
    assert "[B02(0.49µm), HH(SAR HH)]" in message
    assert "[red(0.665µm), green(0.56µm), blue(0.49µm)]" in message
    assert "missing from the task: ['red', 'green']" in message
    assert "Policies that could apply: zero-fill" in message


def test_no_policy_without_asking_for_zero_fill() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # match and sar-rgb never warn about zeros
        align_bands(bands("B02", "B03", "B04"), SCALEMAE)
        align_bands(bands("VV"), SCALEMAE)
