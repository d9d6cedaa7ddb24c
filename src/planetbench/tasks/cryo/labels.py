"""How Cryo-Bench's dataset configs name the channels of the five cryo tasks.

PANGAEA (and so Cryo-Bench) matches a dataset's channels to an encoder's inputs by the band
*names* its YAML configs give them, per modality key (``optical``, ``sar``): an encoder band whose
name is not in the dataset's list for the same modality is fed zeros (``BandFilter`` then
``BandPadding`` in ``pangaea/engine/data_preprocessor.py``). Cryo-Bench names the ancillary
layers of GLD and GSDD as if they were Sentinel-2 bands and the SAR channels of SICD and CaFFe as
optical RGB when it runs an optical encoder on them. This module records those names, read from
the configs of ``github.com/Sk-2103/Cryo-Bench`` at commit
``41b6115ee70e09faccc78e1f1236352200e354a5`` (``pangaea-bench/configs/dataset/``), and which
config Cryo-Bench's README runs with which encoders. The band policy ``cryobench``
(:func:`planetbench.encoders.bands.align_bands`) reads them; our own task specs keep the
channels' physical identities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import Band
from planetbench.tasks.cryo.caffe import CAFFE_SPEC
from planetbench.tasks.cryo.gld import GLD_SPEC
from planetbench.tasks.cryo.glid import GLID_SPEC
from planetbench.tasks.cryo.gsdd import GSDD_SPEC
from planetbench.tasks.cryo.sicd import SICD_SPEC
from planetbench.tasks.spec import TaskSpec

CRYOBENCH_COMMIT = "41b6115ee70e09faccc78e1f1236352200e354a5"
"""The commit of ``Sk-2103/Cryo-Bench`` the names were read from."""

ModalityKey = Literal["optical", "sar"]
EncoderGroup = Literal["any", "sar", "optical"]


@dataclass(frozen=True)
class CryoBenchBand:
    """One band of a Cryo-Bench dataset config and the task channel that holds it.

    Attributes:
        modality: the config's modality key (``optical`` or ``sar``).
        name: the band name in the config (``B2``, ``B8A``, ``VV`` …).
        channel: index of the task channel (our spec's band order) the loader reads it from.
    """

    modality: ModalityKey
    name: str
    channel: int


@dataclass(frozen=True)
class CryoBenchConfig:
    """A Cryo-Bench dataset config: the names it gives a task's channels.

    Attributes:
        task: our task id.
        files: the config file(s) under ``pangaea-bench/configs/dataset/``.
        bands: the config's bands in its order (``optical`` list first, then ``sar``), each with
            the task channel it reads.
        encoders: which encoders Cryo-Bench runs with it: ``any``; ``sar`` (the encoders its
            README calls SAR-aware: DOFA, TerraMind, CROMA-SAR, SSL4EO-MAE-SAR, RAMEN) or
            ``optical`` (all others) for the SAR tasks, which have one config of each.
        note: how the loader fills the channels, where that is not one file channel per band.
    """

    task: str
    files: tuple[str, ...]
    bands: tuple[CryoBenchBand, ...]
    encoders: EncoderGroup = "any"
    note: str = ""

    def channel_of(self, modality: str, name: str) -> int | None:
        """The task channel holding band ``name`` of ``modality`` in this config, or None."""
        for band in self.bands:
            if band.modality == modality and band.name == name:
                return band.channel
        return None


def _bands(modality: ModalityKey, *pairs: tuple[str, int]) -> tuple[CryoBenchBand, ...]:
    return tuple(CryoBenchBand(modality, name, channel) for name, channel in pairs)


CRYOBENCH_CONFIGS: dict[str, tuple[CryoBenchConfig, ...]] = {
    "glid": (
        CryoBenchConfig(
            "glid", ("glid.yaml",), _bands("optical", ("B4", 0), ("B3", 1), ("B2", 2))
        ),
    ),
    "gld": (
        CryoBenchConfig(
            "gld",
            ("glnet_dataset.yaml",),
            _bands("optical", ("B2", 0), ("B3", 1), ("B4", 2), ("B8", 3), ("B11", 4),
                   ("B8A", 5), ("B5", 7), ("B6", 8), ("B7", 9))
            + _bands("sar", ("VV", 6)),
            note="pangaea/datasets/glnet_dataset.py takes file channel 7 (index 6) out as the "
            "single 'sar' channel and keeps the other nine, in file order, as 'optical'",
        ),
    ),
    "gsdd": (
        CryoBenchConfig(
            "gsdd",
            ("gssd.yaml",),
            _bands("optical", ("B2", 0), ("B3", 1), ("B4", 2), ("B8", 3), ("B11", 4),
                   ("B12", 5), ("B8A", 6), ("B5", 7), ("B6", 8), ("B7", 9)),
        ),
    ),
    "sicd": (
        CryoBenchConfig(
            "sicd",
            ("ai4arctic.yaml", "ai4arctic_terramind.yaml"),
            _bands("sar", ("VV", 0), ("VH", 1)),
            encoders="sar",
            note="the HH and HV channels are named VV and VH",
        ),
        CryoBenchConfig(
            "sicd",
            ("ai4arctic_rgb.yaml",),
            _bands("optical", ("B4", 0), ("B3", 1), ("B2", 2)),
            encoders="optical",
            note="the first three channels of the prepared rasters are named as RGB",
        ),
    ),
    "caffe": (
        CryoBenchConfig(
            "caffe", ("zone_mapping_sar.yaml",), _bands("sar", ("VV", 0)), encoders="sar",
            note="the grey SAR amplitude is named VV",
        ),
        CryoBenchConfig(
            "caffe",
            ("zone_mapping_optical.yaml",),
            _bands("optical", ("B4", 0), ("B3", 0), ("B2", 0)),
            encoders="optical",
            note="pangaea/datasets/zone_mapping_optical.py repeats the grey channel three times "
            "and names the copies B4, B3, B2",
        ),
    ),
}
"""Cryo-Bench's dataset configs of each cryo task (for the SAR tasks: one per encoder group)."""

_SPECS: dict[str, TaskSpec] = {
    s.name: s for s in (GLID_SPEC, GLD_SPEC, GSDD_SPEC, SICD_SPEC, CAFFE_SPEC)
}


def _check_table() -> None:
    for task, configs in CRYOBENCH_CONFIGS.items():
        n = len(_SPECS[task].bands)
        for config in configs:
            bad = [b for b in config.bands if not 0 <= b.channel < n]
            if bad:  # pragma: no cover - a table typo
                raise InvalidInputError(f"Cryo-Bench config of {task!r}: channels out of range")


_check_table()


def cryobench_config(
    task_bands: Sequence[Band], *, sar_encoder: bool, task: str | None = None
) -> CryoBenchConfig | None:
    """The Cryo-Bench config Cryo-Bench uses for a cryo task and an encoder group.

    Args:
        task_bands: the task's bands; a cryo task is recognised by its band names when ``task``
            is not given.
        sar_encoder: the encoder is SAR-aware (takes SAR bands or is wavelength-conditioned),
            which picks the ``sar`` config of the SAR tasks.
        task: the task id, if known.

    Returns:
        The config, or None when the bands are not those of a cryo task.
    """
    names = tuple(b.name for b in task_bands)
    if task is None or task not in CRYOBENCH_CONFIGS:
        task = next((t for t, s in _SPECS.items() if s.band_names == names), None)
    if task is None or _SPECS[task].band_names != names:
        return None
    configs = CRYOBENCH_CONFIGS[task]
    group = "sar" if sar_encoder else "optical"
    return next(c for c in configs if c.encoders in ("any", group))


__all__ = [
    "CRYOBENCH_COMMIT",
    "CRYOBENCH_CONFIGS",
    "CryoBenchBand",
    "CryoBenchConfig",
    "cryobench_config",
]
