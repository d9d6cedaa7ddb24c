"""Spectral and SAR bands: names, centre wavelengths and modalities.

Wavelengths are centre wavelengths in micrometres as published by ESA for Sentinel-2 (S2A MSI
spectral response, ESA SUHET 2021) and by USGS for Landsat 8/9. SAR bands carry a polarisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from planetbench.errors import InvalidInputError
from planetbench.registry import did_you_mean

Modality = Literal["optical", "sar", "elevation", "other"]


@dataclass(frozen=True)
class Band:
    """One input channel.

    Attributes:
        name: identifier as used in the dataset, e.g. ``"B04"`` or ``"HH"``.
        modality: ``optical``, ``sar``, ``elevation`` or ``other`` (slope, velocity, angles …).
        wavelength_um: centre wavelength in µm for optical bands, else ``None``.
        polarisation: SAR polarisation (``"VV"``, ``"VH"``, ``"HH"``, ``"HV"``), else ``None``.
    """

    name: str
    modality: Modality
    wavelength_um: float | None = None
    polarisation: str | None = None

    def __post_init__(self) -> None:
        if self.modality == "optical" and self.wavelength_um is None:
            raise InvalidInputError(f"optical band {self.name!r} needs wavelength_um")
        if self.modality == "sar" and self.polarisation is None:
            raise InvalidInputError(f"SAR band {self.name!r} needs a polarisation")


def _s2(name: str, wl: float) -> Band:
    return Band(name, "optical", wavelength_um=wl)


SENTINEL2: tuple[Band, ...] = (
    _s2("B01", 0.443),
    _s2("B02", 0.490),
    _s2("B03", 0.560),
    _s2("B04", 0.665),
    _s2("B05", 0.705),
    _s2("B06", 0.740),
    _s2("B07", 0.783),
    _s2("B08", 0.842),
    _s2("B8A", 0.865),
    _s2("B09", 0.945),
    _s2("B10", 1.375),
    _s2("B11", 1.610),
    _s2("B12", 2.190),
)
"""Sentinel-2 MSI bands with their centre wavelengths (µm)."""

RGB: tuple[Band, ...] = (
    Band("red", "optical", wavelength_um=0.665),
    Band("green", "optical", wavelength_um=0.560),
    Band("blue", "optical", wavelength_um=0.490),
)
"""Generic RGB as used by natural-image encoders (wavelengths of the matching S2 bands)."""

SENTINEL1: tuple[Band, ...] = (
    Band("VV", "sar", polarisation="VV"),
    Band("VH", "sar", polarisation="VH"),
    Band("HH", "sar", polarisation="HH"),
    Band("HV", "sar", polarisation="HV"),
)
"""Sentinel-1 C-band SAR polarisations."""

AUXILIARY: tuple[Band, ...] = (
    Band("elevation", "elevation"),
    Band("slope", "other"),
    Band("velocity", "other"),
    Band("coherence", "other"),
    Band("incidence_angle", "other"),
)
"""Non-spectral layers that ship with cryosphere datasets."""

_CATALOG: dict[str, Band] = {b.name: b for b in (*SENTINEL2, *RGB, *SENTINEL1, *AUXILIARY)}


def get_band(name: str) -> Band:
    """Return the catalogue band called ``name`` or raise with near misses.

    Example:
        >>> get_band("B04").wavelength_um
        0.665
    """
    try:
        return _CATALOG[name]
    except KeyError:
        hint = did_you_mean(name, _CATALOG)
        raise InvalidInputError(
            f"unknown band name {name!r}{'; ' + hint if hint else '.'} Known bands: "
            f"{', '.join(_CATALOG)}. "
            "Declare a custom band with planetbench.tasks.bands.Band(name, modality, ...)."
        ) from None


def bands(*names: str) -> tuple[Band, ...]:
    """Look several catalogue bands up at once."""
    return tuple(get_band(n) for n in names)
