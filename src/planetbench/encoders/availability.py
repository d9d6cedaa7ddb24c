"""Which registered encoders can run here: dependencies installed, weights cached, reasons."""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from typing import Any

from planetbench.encoders import list_encoders, list_whole_models
from planetbench.encoders.base import ENCODERS, EncoderSpec
from planetbench.encoders.weights import cache_path, find_cached, weights_status

#: Modules every built-in encoder needs (the ``dense`` extra).
BASE_REQUIREMENTS: tuple[str, ...] = ("torch", "torchvision", "timm", "torchgeo")


@dataclass(frozen=True)
class EncoderAvailability:
    """Availability of one registered encoder.

    Attributes:
        name: registry id.
        available: True when it can be built here (implementation and dependencies present).
        missing: modules that are needed but not installed.
        weights: ``"cached"``, ``"not cached"`` (downloaded on first use), ``"manual"``
            (download by hand, pass ``--weights PATH``) or ``"none"`` (from-scratch or no
            published weights).
        weights_path: the cached file, or where a download would be stored ('' if none).
        reason: why it is unavailable ('' when available).
        n_bands: number of input bands (0 = any bands).
        wavelength_conditioned: takes the input wavelengths (DOFA, Panopticon).
        licence: licence of the weights.
        weights_source: where the weights come from (``"none"`` for from-scratch baselines).
        weights_url: download URL of the published weights ('' if none).
        weights_page: where to get weights that cannot be downloaded automatically ('' if none).
        citation: paper to cite.
        whole_model: the task kind of a whole-model baseline ('' for an encoder).
    """

    name: str
    available: bool
    missing: tuple[str, ...]
    weights: str
    weights_path: str
    reason: str
    n_bands: int
    wavelength_conditioned: bool
    licence: str
    weights_source: str = "none"
    weights_url: str = ""
    weights_page: str = ""
    citation: str = ""
    whole_model: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        out = asdict(self)
        out["missing"] = list(self.missing)
        return out


def _missing(spec: EncoderSpec) -> tuple[str, ...]:
    needed = (*BASE_REQUIREMENTS, *spec.requires)
    return tuple(m for m in needed if importlib.util.find_spec(m) is None)


def encoder_availability(name: str) -> EncoderAvailability:
    """Availability of the registered encoder ``name`` (did-you-mean on a miss)."""
    list_encoders()  # import the built-in encoder modules
    spec = ENCODERS.get(name).spec
    missing = _missing(spec)
    reason = spec.unavailable_reason
    if missing and not reason:
        reason = f"missing modules: {', '.join(missing)}"
    status = weights_status(spec) if spec.available else "none"
    path = ""
    hf_cached = None
    weights = spec.weights
    if weights is not None and weights.source == "terratorch" and status == "not cached":
        from planetbench.encoders.terratorch import find_hf_cached

        hf_cached = find_hf_cached(spec)  # where terratorch's own downloads land
        if hf_cached is not None:
            status = "cached"
    if status in ("cached", "not cached"):
        cached = hf_cached or find_cached(spec)
        path = str(cached if cached is not None else cache_path(spec))
    return EncoderAvailability(
        name=spec.name,
        available=spec.available and not missing,
        missing=missing,
        weights=status,
        weights_path=path,
        reason=reason,
        n_bands=len(spec.bands),
        wavelength_conditioned=spec.wavelength_conditioned,
        licence=spec.licence,
        weights_source=weights.source if weights is not None else "none",
        weights_url=spec.weights_url,
        weights_page=weights.page if weights is not None else "",
        citation=spec.citation,
        whole_model=spec.whole_model,
    )


def list_availability(*, whole_models: bool = False) -> list[EncoderAvailability]:
    """Availability of every registered encoder, sorted by id (``whole_models``: of the
    whole-model baselines instead)."""
    names = list_whole_models() if whole_models else list_encoders()
    return [encoder_availability(name) for name in names]


__all__ = ["BASE_REQUIREMENTS", "EncoderAvailability", "encoder_availability", "list_availability"]
