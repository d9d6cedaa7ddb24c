"""Band policies: map a task's bands onto an encoder's inputs, by name, and record what was done.

Policies (each is recorded in the Result through :meth:`BandAlignment.to_record`):

``match``
    Every encoder band is taken from the task band with the same name (``B4`` = ``B04``) or,
    failing that, the optical band nearest in centre wavelength within ``wavelength_tol_um``
    (0.03 µm by default). SAR bands match by polarisation.
``sar-rgb``
    SAR-only task, optical 3-band encoder: the SAR channels are replicated as an RGB image.
    Single polarisation → ``[p, p, p]``; dual polarisation → ``[co-pol, cross-pol, mean]``
    (e.g. ``[HH, HV, (HH+HV)/2]``), a common RGB composite; the choice is recorded.
    Cryo-Bench does otherwise (policy ``cryobench``): for optical encoders it names the first
    three channels of its prepared sea-ice rasters ``B4, B3, B2`` (``ai4arctic_rgb.yaml``) and
    repeats CaFFe's grey channel as ``B4, B3, B2`` (``zone_mapping_optical.yaml`` with
    ``pangaea/datasets/zone_mapping_optical.py``).
``wavelength``
    Wavelength-conditioned encoders (DOFA) take the task's own bands with their centre
    wavelengths (µm). SAR bands get 3.75, the value PANGAEA and Cryo-Bench give DOFA for SAR
    (``configs/encoder/dofa.yaml``); non-spectral layers (elevation, slope …) are dropped with
    a warning.
``zero-fill``
    Like ``match`` but encoder bands absent from the task are fed zeros; only when asked, with
    a ``UserWarning`` naming the filled bands that is also kept in ``BandAlignment.warnings``
    (recorded with the run). Refused when no band overlaps at all.
``cryobench``
    As Cryo-Bench (PANGAEA's ``BandFilter`` + ``BandPadding``) does it: channels carry the band
    names of Cryo-Bench's dataset configs (:mod:`planetbench.tasks.cryo.labels`: GLD's and
    GSDD's ancillary layers as B8A/B5/B6/B7, GLD's coherence as VV, SICD's HH/HV as VV/VH, and
    SICD's and CaFFe's SAR as RGB for optical encoders); an encoder band is taken from the
    channel of the same name and modality, and fed zeros when there is none (a ``UserWarning``,
    also kept in ``BandAlignment.warnings``). Encoders built for the task's bands (the
    from-scratch baselines) and DOFA take every named channel, optical first, DOFA with the
    wavelengths of PANGAEA's ``configs/encoder/dofa.yaml``. Tasks outside the cryo suite keep
    their own band names. Refused when no encoder band is found.
``auto``
    ``wavelength`` for wavelength-conditioned encoders, else ``match`` when every band matches,
    else ``sar-rgb`` when it applies; otherwise a :class:`BandAlignmentError` names the
    policies that could be asked for explicitly.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn, get_args

import torch
from torch import Tensor

from planetbench.encoders.base import EncoderSpec
from planetbench.errors import BandAlignmentError, InvalidInputError
from planetbench.tasks.bands import Band, get_band

if TYPE_CHECKING:
    from planetbench.tasks.cryo.labels import CryoBenchConfig

Policy = Literal["match", "sar-rgb", "wavelength", "zero-fill", "cryobench", "auto"]
POLICIES: tuple[str, ...] = get_args(Policy)

#: A source for one encoder channel: a task channel index, the mean of several, or zeros.
ChannelSource = int | tuple[int, ...] | None

#: Wavelength (µm) that PANGAEA / Cryo-Bench give DOFA for any SAR polarisation.
SAR_WAVELENGTH_UM = 3.75

_CO_POL = ("HH", "VV")


@dataclass(frozen=True)
class BandAlignment:
    """How a task's channels become an encoder's input channels.

    Attributes:
        policy: the policy used (never ``"auto"``).
        task_bands: names of the task's bands, in the task's channel order.
        encoder_bands: names of the encoder's input channels after alignment.
        index_map: for each encoder input channel, the task channel index it takes, a tuple of
            indices whose mean it takes, or None for zeros.
        wavelengths_um: centre wavelengths (µm) of the encoder input channels, for
            wavelength-conditioned encoders; None otherwise.
        warnings: human-readable notes to record in the Result (zero-filled or dropped bands,
            wavelength matches across names).
        input_bands: the bands of the encoder input channels, in order, for encoders that are
            built for the bands they are given (from-scratch baselines, wavelength-conditioned
            encoders): pass them as the factory's ``in_bands``. Empty for fixed-band encoders.
    """

    policy: str
    task_bands: tuple[str, ...]
    encoder_bands: tuple[str, ...]
    index_map: tuple[ChannelSource, ...]
    wavelengths_um: tuple[float, ...] | None = None
    warnings: tuple[str, ...] = field(default=())
    input_bands: tuple[Band, ...] = field(default=())

    @property
    def wavelengths(self) -> Tensor | None:
        """Wavelengths (µm) as a float tensor of shape (C_enc,), or None."""
        if self.wavelengths_um is None:
            return None
        return torch.tensor(self.wavelengths_um, dtype=torch.float32)

    @property
    def n_in(self) -> int:
        """Number of task channels expected by :func:`apply`."""
        return len(self.task_bands)

    @property
    def n_out(self) -> int:
        """Number of encoder input channels produced by :func:`apply`."""
        return len(self.index_map)

    def to_record(self) -> dict[str, Any]:
        """A JSON-able description to store with a run."""
        return {
            "policy": self.policy,
            "task_bands": list(self.task_bands),
            "encoder_bands": list(self.encoder_bands),
            "index_map": [list(s) if isinstance(s, tuple) else s for s in self.index_map],
            "wavelengths_um": None if self.wavelengths_um is None else list(self.wavelengths_um),
            "warnings": list(self.warnings),
        }


def _canonical(name: str) -> str:
    """Normalise a band name: upper case, ``B04`` → ``B4``, ``B8a`` → ``B8A``."""
    upper = name.strip().upper()
    m = re.fullmatch(r"B0*(\d+)(A?)", upper)
    return f"B{m.group(1)}{m.group(2)}" if m else upper


def _find(target: Band, task: Sequence[Band], tol: float, notes: list[str]) -> int | None:
    """Index of the task band that provides ``target``, or None."""
    canon = _canonical(target.name)
    for i, band in enumerate(task):
        if _canonical(band.name) == canon and band.modality == target.modality:
            return i
    if target.modality == "sar":
        for i, band in enumerate(task):
            if band.modality == "sar" and band.polarisation == target.polarisation:
                return i
        return None
    if target.modality == "optical" and target.wavelength_um is not None:
        best, best_gap = None, tol
        for i, band in enumerate(task):
            if band.modality == "optical" and band.wavelength_um is not None:
                gap = abs(band.wavelength_um - target.wavelength_um)
                if gap <= best_gap:
                    best, best_gap = i, gap
        if best is not None and best_gap > 0.005:
            notes.append(
                f"encoder band {target.name} ({target.wavelength_um} µm) fed with task band "
                f"{task[best].name} ({task[best].wavelength_um} µm)"
            )
        return best
    return None


def _describe(bands: Sequence[Band]) -> str:
    parts = []
    for b in bands:
        if b.wavelength_um is not None:
            parts.append(f"{b.name}({b.wavelength_um}µm)")
        elif b.polarisation is not None:
            parts.append(f"{b.name}(SAR {b.polarisation})")
        else:
            parts.append(f"{b.name}({b.modality})")
    return ", ".join(parts) or "(none)"


def _refuse(task: Sequence[Band], spec: EncoderSpec, why: str, could: Sequence[str]) -> NoReturn:
    hint = (
        f" Policies that could apply: {', '.join(could)}."
        if could
        else " No policy applies: choose an encoder whose bands overlap the task's."
    )
    raise BandAlignmentError(
        f"cannot align the task's bands [{_describe(task)}] with encoder {spec.name!r} bands "
        f"[{_describe(spec.bands)}]: {why}.{hint}"
    )


def _sar_rgb(task: Sequence[Band], spec: EncoderSpec) -> BandAlignment | str:
    """The SAR→RGB alignment, or the reason it does not apply."""
    if spec.wavelength_conditioned or not spec.bands:
        return "the encoder takes any bands"
    if len(spec.bands) != 3 or any(b.modality != "optical" for b in spec.bands):
        return "sar-rgb needs an optical encoder with exactly 3 input bands"
    sar = [i for i, b in enumerate(task) if b.modality == "sar"]
    if not sar or len(sar) > 2:
        return "sar-rgb needs a task with one or two SAR bands"
    if any(b.modality == "optical" for b in task):
        return "the task has optical bands; use match"
    if len(sar) == 2:
        sar.sort(key=lambda i: 0 if (task[i].polarisation or "") in _CO_POL else 1)
        index_map: tuple[ChannelSource, ...] = (sar[0], sar[1], (sar[0], sar[1]))
        names = (
            task[sar[0]].name,
            task[sar[1]].name,
            f"mean({task[sar[0]].name},{task[sar[1]].name})",
        )
    else:
        index_map = (sar[0], sar[0], sar[0])
        names = (task[sar[0]].name,) * 3
    notes = [f"SAR replicated as RGB for optical encoder {spec.name!r}: {list(names)}"]
    dropped = [b.name for i, b in enumerate(task) if i not in sar]
    if dropped:
        notes.append(f"task bands not used by the encoder: {dropped}")
    return BandAlignment(
        policy="sar-rgb",
        task_bands=tuple(b.name for b in task),
        encoder_bands=names,
        index_map=index_map,
        warnings=tuple(notes),
    )


def _wavelength(task: Sequence[Band], spec: EncoderSpec) -> BandAlignment:
    keep: list[int] = []
    wavelengths: list[float] = []
    notes: list[str] = []
    for i, band in enumerate(task):
        if band.modality == "optical" and band.wavelength_um is not None:
            keep.append(i)
            wavelengths.append(float(band.wavelength_um))
        elif band.modality == "sar":
            keep.append(i)
            wavelengths.append(SAR_WAVELENGTH_UM)
    sar_names = [task[i].name for i in keep if task[i].modality == "sar"]
    if sar_names:
        notes.append(
            f"SAR bands {sar_names} given wavelength {SAR_WAVELENGTH_UM} µm "
            "(PANGAEA/Cryo-Bench convention for DOFA)"
        )
    dropped = [b.name for i, b in enumerate(task) if i not in keep]
    if dropped:
        notes.append(f"non-spectral task bands dropped (no wavelength): {dropped}")
    if not keep:
        _refuse(task, spec, "no task band has a wavelength or a SAR polarisation", [])
    return BandAlignment(
        policy="wavelength",
        task_bands=tuple(b.name for b in task),
        encoder_bands=tuple(task[i].name for i in keep),
        index_map=tuple(keep),
        wavelengths_um=tuple(wavelengths),
        warnings=tuple(notes),
        input_bands=tuple(task[i] for i in keep),
    )


def align_bands(
    task_bands: Sequence[Band],
    encoder_spec: EncoderSpec,
    *,
    policy: Policy | str = "auto",
    wavelength_tol_um: float = 0.03,
) -> BandAlignment:
    """Decide how the task's channels feed the encoder.

    Args:
        task_bands: the task's bands in channel order.
        encoder_spec: the encoder's spec (``bands`` empty means it takes any bands).
        policy: ``match``, ``sar-rgb``, ``wavelength``, ``zero-fill``, ``cryobench`` or
            ``auto``.
        wavelength_tol_um: largest centre-wavelength gap (µm) for matching optical bands whose
            names differ.

    Returns:
        The :class:`BandAlignment` to pass to :func:`apply` and to record.

    Raises:
        InvalidInputError: unknown policy or empty task bands.
        BandAlignmentError: the policy cannot apply; the message lists both band sets and the
            policies that could.
    """
    if policy not in POLICIES:
        raise InvalidInputError(
            f"band policy {policy!r} is not known; use one of {', '.join(POLICIES)}"
        )
    task = tuple(task_bands)
    if not task:
        raise InvalidInputError("task_bands is empty; a task must declare its bands")
    names = tuple(b.name for b in task)
    if policy == "cryobench":
        return _cryobench(task, encoder_spec)

    if encoder_spec.wavelength_conditioned:
        if policy in ("auto", "wavelength"):
            return _wavelength(task, encoder_spec)
        _refuse(
            task,
            encoder_spec,
            f"policy {policy!r} does not apply to a wavelength-conditioned encoder",
            ["wavelength", "auto"],
        )
    if not encoder_spec.bands:  # from-scratch baselines: any bands, identity map
        if policy not in ("auto", "match"):
            _refuse(
                task,
                encoder_spec,
                f"policy {policy!r} does not apply to an encoder built for the task's own bands",
                ["match", "auto"],
            )
        return BandAlignment("match", names, names, tuple(range(len(task))), input_bands=task)
    if policy == "wavelength":
        _refuse(
            task,
            encoder_spec,
            "the encoder is not wavelength-conditioned",
            _applicable(task, encoder_spec, wavelength_tol_um),
        )

    notes: list[str] = []
    found = [_find(b, task, wavelength_tol_um, notes) for b in encoder_spec.bands]
    n_found = sum(i is not None for i in found)
    enc_names = tuple(b.name for b in encoder_spec.bands)

    if policy in ("auto", "match") and n_found == len(found):
        return BandAlignment("match", names, enc_names, tuple(found), warnings=tuple(notes))
    if policy in ("auto", "sar-rgb"):
        sar = _sar_rgb(task, encoder_spec)
        if isinstance(sar, BandAlignment):
            return sar
        if policy == "sar-rgb":
            _refuse(task, encoder_spec, sar, _applicable(task, encoder_spec, wavelength_tol_um))
    if policy == "zero-fill":
        if n_found == 0:
            _refuse(
                task,
                encoder_spec,
                "no band overlaps, so zero-filling would feed only zeros",
                _applicable(task, encoder_spec, wavelength_tol_um),
            )
        filled = [enc_names[j] for j, i in enumerate(found) if i is None]
        if filled:
            note = (
                f"zero-filled {len(filled)} of {len(found)} encoder bands missing from the "
                f"task: {filled}"
            )
            notes.append(note)
            warnings.warn(f"encoder {encoder_spec.name!r}: {note}", UserWarning, stacklevel=2)
        return BandAlignment("zero-fill", names, enc_names, tuple(found), warnings=tuple(notes))
    missing = [enc_names[j] for j, i in enumerate(found) if i is None]
    _refuse(
        task,
        encoder_spec,
        f"encoder bands missing from the task: {missing}",
        _applicable(task, encoder_spec, wavelength_tol_um),
    )


def _applicable(task: Sequence[Band], spec: EncoderSpec, tol: float) -> list[str]:
    out = []
    found = [_find(b, task, tol, []) for b in spec.bands]
    if found and all(i is not None for i in found):
        out.append("match")
    if isinstance(_sar_rgb(task, spec), BandAlignment):
        out.append("sar-rgb")
    if any(i is not None for i in found) and not all(i is not None for i in found):
        out.append("zero-fill")
    return out


# ----------------------------------------------------------------------- the cryobench policy

#: Centre wavelength (µm) that PANGAEA's and Cryo-Bench's DOFA config (``configs/encoder/
#: dofa.yaml``, ``wave_list``) gives each optical band name; every SAR band gets
#: :data:`SAR_WAVELENGTH_UM`.
PANGAEA_WAVELENGTHS_UM: dict[str, float] = {
    "B1": 0.44, "B2": 0.49, "B3": 0.56, "B4": 0.665, "B5": 0.705, "B6": 0.74, "B7": 0.783,
    "B8": 0.832, "B8A": 0.864, "B9": 0.945, "B10": 1.373, "B11": 1.61, "B12": 2.20,
}  # fmt: skip

#: Our RGB band names as PANGAEA's configs name them.
_RGB_NAMES = {"RED": "B4", "GREEN": "B3", "BLUE": "B2"}


def pangaea_name(band: Band) -> tuple[str, str] | None:
    """The (modality key, band name) PANGAEA's configs would give ``band``, or None.

    Optical bands go by their Sentinel-2 name (``B04`` → ``B4``; ``red``/``green``/``blue`` →
    ``B4``/``B3``/``B2``), SAR bands by their polarisation; other layers have no PANGAEA name.

    Example:
        >>> pangaea_name(get_band("B08")), pangaea_name(get_band("red")), pangaea_name(get_band("HV"))
        (('optical', 'B8'), ('optical', 'B4'), ('sar', 'HV'))
        >>> pangaea_name(get_band("slope")) is None
        True
    """
    if band.modality == "sar" and band.polarisation:
        return "sar", band.polarisation.upper()
    if band.modality == "optical":
        name = _canonical(band.name)
        return "optical", _RGB_NAMES.get(name, name)
    return None


def _label_band(modality: str, name: str) -> Band:
    """Our Band for a PANGAEA band name (``B8A`` → B8A, ``B2`` → B02, ``VV`` → VV)."""
    if modality == "sar":
        return get_band(name)
    m = re.fullmatch(r"B(\d+)(A?)", name)
    return get_band(f"B{int(m.group(1)):02d}{m.group(2)}" if m and not m.group(2) else name)


def _cryobench_config(task: Sequence[Band], sar_encoder: bool) -> CryoBenchConfig:
    from planetbench.tasks.cryo.labels import CryoBenchBand, CryoBenchConfig, cryobench_config

    config = cryobench_config(task, sar_encoder=sar_encoder)
    if config is not None:
        return config
    own = []
    for i, band in enumerate(task):
        key = pangaea_name(band)
        if key is not None:
            own.append(CryoBenchBand(key[0], key[1], i))  # type: ignore[arg-type]
    optical = [b for b in own if b.modality == "optical"]
    return CryoBenchConfig("", (), tuple(optical + [b for b in own if b.modality == "sar"]))


def _cryobench(task: Sequence[Band], spec: EncoderSpec) -> BandAlignment:
    """The ``cryobench`` alignment (see the module docstring)."""
    takes_task_bands = spec.wavelength_conditioned or not spec.bands
    if spec.wavelength_conditioned and (spec.architecture is None
                                        or spec.architecture.name != "DOFA"):
        _refuse(task, spec, "policy 'cryobench' gives wavelength-conditioned encoders the "
                "wavelengths PANGAEA gives DOFA, and Cryo-Bench runs no other", ["wavelength"])
    sar_encoder = spec.wavelength_conditioned or any(b.modality == "sar" for b in spec.bands)
    config = _cryobench_config(task, sar_encoder)
    source = (f"Cryo-Bench's {' / '.join(config.files)} (commit "
              f"{_cryobench_commit()[:7]})" if config.files else "the task's own band names")
    names = tuple(b.name for b in task)
    notes = [f"band names from {source}" + (f": {config.note}" if config.note else "")]
    for label in config.bands:
        if pangaea_name(task[label.channel]) != (label.modality, label.name):
            notes.append(f"task channel {label.channel} {task[label.channel].name!r} is named "
                         f"{label.modality} {label.name}")
    if takes_task_bands:
        # an encoder declaring its modalities reads only those keys (PANGAEA's ViT: 'optical')
        keys = spec.architecture.modalities if spec.architecture is not None else ()
        named = [b for b in config.bands if not keys or b.modality in keys]
        index_map: tuple[ChannelSource, ...] = tuple(b.channel for b in named)
        enc_names = tuple(b.name for b in named)
        inputs = tuple(_label_band(b.modality, b.name) for b in named)
        if not index_map:
            _refuse(task, spec, "no task channel has a PANGAEA band name", ["match"])
        wavelengths = None
        if spec.wavelength_conditioned:
            wavelengths = tuple(
                SAR_WAVELENGTH_UM if b.modality == "sar" else PANGAEA_WAVELENGTHS_UM[b.name]
                for b in named
            )
        return BandAlignment("cryobench", names, enc_names, index_map, wavelengths,
                             tuple(notes), inputs)
    found: list[int | None] = []
    for band in spec.bands:
        key = pangaea_name(band)
        found.append(None if key is None else config.channel_of(*key))
    enc_names = tuple(b.name for b in spec.bands)
    if all(i is None for i in found):
        _refuse(task, spec, "no encoder band has a channel of the same name under Cryo-Bench's "
                f"band names ({', '.join(f'{b.modality} {b.name}' for b in config.bands)}), so "
                "PANGAEA would refuse it too", [])
    filled = [enc_names[j] for j, i in enumerate(found) if i is None]
    if filled:
        note = (f"zero-filled {len(filled)} of {len(found)} encoder bands missing from the task "
                f"(as PANGAEA's BandPadding): {filled}")
        notes.append(note)
        warnings.warn(f"encoder {spec.name!r}: {note}", UserWarning, stacklevel=3)
    return BandAlignment("cryobench", names, enc_names, tuple(found), warnings=tuple(notes))


def _cryobench_commit() -> str:
    from planetbench.tasks.cryo.labels import CRYOBENCH_COMMIT

    return CRYOBENCH_COMMIT


def apply(x: Tensor, alignment: BandAlignment) -> Tensor:
    """Rearrange a task batch into encoder input channels.

    Args:
        x: task images, shape (B, C_task, H, W) with C_task = ``alignment.n_in``.
        alignment: from :func:`align_bands`.

    Returns:
        Tensor of shape (B, C_enc, H, W): selected, averaged or zero channels.

    Raises:
        InvalidInputError: if ``x`` is not 4-D or its channel count differs from the task's.
    """
    if x.ndim != 4 or x.shape[1] != alignment.n_in:
        raise InvalidInputError(
            f"apply expects a batch of shape (B, {alignment.n_in}, H, W) for task bands "
            f"{list(alignment.task_bands)}; got shape {tuple(x.shape)}"
        )
    channels = []
    zeros = None
    for source in alignment.index_map:
        if source is None:
            if zeros is None:
                zeros = torch.zeros_like(x[:, 0])
            channels.append(zeros)
        elif isinstance(source, tuple):
            channels.append(x[:, list(source)].mean(dim=1))
        else:
            channels.append(x[:, source])
    return torch.stack(channels, dim=1)


__all__ = [
    "PANGAEA_WAVELENGTHS_UM",
    "POLICIES",
    "SAR_WAVELENGTH_UM",
    "BandAlignment",
    "ChannelSource",
    "Policy",
    "align_bands",
    "apply",
    "pangaea_name",
]
