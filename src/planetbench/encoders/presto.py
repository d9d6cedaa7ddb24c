"""Presto, a pretrained pixel-time-series transformer, and the raw-inputs baseline beside it.

Presto (Tseng et al. 2023, "Lightweight, Pre-trained Transformers for Remote Sensing
Timeseries", arXiv:2304.14065; code ``nasaharvest/presto``, MIT) encodes one pixel's time series
of Sentinel-1, Sentinel-2, ERA5, SRTM, NDVI and Dynamic World values, its location and the months
of its steps into one 128-d vector. It was pretrained as a masked autoencoder; ``presto`` builds
its encoder (our own implementation of the published architecture) and loads the published
checkpoint strictly: every encoder tensor must match, and the pretraining decoder's tensors
(``decoder.*``, 52 of the file's 102) are the only ones set aside, by declaration.

How Presto reads its inputs (Tseng et al. 2023, sec. 3, and ``presto/presto.py`` of the
repository at commit 13173d0):

* **Normalisation** (:func:`presto_normalise`): each raw band is shifted and divided by fixed
  constants — Sentinel-1 dB: (v + 25) / 25; Sentinel-2 reflectance × 10⁴: v / 10⁴; ERA5 2 m
  temperature in K: (v − 272.15) / 35 (sic: Presto's constant); total precipitation in m:
  v / 0.03; elevation in m: v / 2000; slope in degrees: v / 50. B9 is dropped (17 bands remain)
  and NDVI is recomputed from the normalised B8 and B4, (B8 − B4) / (B8 + B4), 0 where that sum
  is not positive.
* **Tokens**: the 17 bands form 9 groups (:data:`BAND_GROUPS`): one token per group and step, each
  a linear projection of the group's bands plus a fixed (month sine/cosine, learnt channel,
  sinusoidal position) code; SRTM, being static, gives one token from the first step only;
  Dynamic World gives one embedded token per step; the location gives one token from its
  Cartesian coordinates on the unit sphere.
* **Masking of absent inputs**: a group token is absent when any of its bands is absent at that
  step (a band the task does not provide, or a NaN value), and a Dynamic World step with class 9;
  absent tokens take no part in attention nor in the output mean — as Presto's own code drops
  them. The output is the layer-normalised mean of the present tokens after 2 transformer blocks.

The image interface (:meth:`Presto.features`) follows Presto's EuroSAT evaluation: each pixel of a
(B, 17, H, W) image is a time series of one step (month 0, no Dynamic World, location 0° N 0° E)
in Presto's normalised units, embedded separately; bands absent from the task (the factory's
``in_bands``) are masked. ``embed`` averages the pixel embeddings.

``presto-raw`` is the baseline for the same inputs: the normalised 17 bands of every step,
flattened (absent values set to 0) — what a probe sees without Presto.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.encoders.base import (
    ENCODERS,
    Architecture,
    Encoder,
    EncoderSpec,
    PretrainedWeights,
    RegisteredEncoder,
    TinyVariant,
)
from planetbench.encoders.scratch import check_input, instance_spec
from planetbench.encoders.weights import load_weights, prepare_weights
from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import Band
from planetbench.tasks.presto import (
    DYNAMIC_WORLD_ABSENT,
    PRESTO_CITATION,
    PRESTO_INPUT_BANDS,
    UPSTREAM_BAND_NAMES,
)

#: Commit of ``nasaharvest/presto`` whose ``data/default_model.pt`` is the published checkpoint.
PRESTO_COMMIT = "13173d028f035abcbcc3b13829314323a5c15d02"
PRESTO_WEIGHTS_URL = (
    f"https://raw.githubusercontent.com/nasaharvest/presto/{PRESTO_COMMIT}/data/default_model.pt"
)
PRESTO_WEIGHTS_SHA256 = "559c9d76f525bdf2dd3774da8b1e7f1510769b73baacac12e9e4d8d5c67fbe65"
PRESTO_WEIGHTS_FILE = "default_model.pt"

#: Shift and divisor of each raw band (:data:`PRESTO_INPUT_BANDS` order): normalised = (v + shift)
#: / divisor, Presto's constants (``presto/dataops/pipelines/s1_s2_era5_srtm.py``).
RAW_SHIFT: tuple[float, ...] = (25.0, 25.0, *([0.0] * 11), -272.15, 0.0, 0.0, 0.0, 0.0)
RAW_DIVISOR: tuple[float, ...] = (25.0, 25.0, *([1e4] * 11), 35.0, 0.03, 2000.0, 50.0, 1.0)

#: The raw band Presto drops before encoding.
DROPPED_BAND = "B09"
#: Presto's 17 model bands (after dropping B9), the order of its normalised inputs.
PRESTO_BANDS: tuple[Band, ...] = tuple(b for b in PRESTO_INPUT_BANDS if b.name != DROPPED_BAND)
_MODEL_INDEX = {b.name: i for i, b in enumerate(PRESTO_BANDS)}

#: Presto's band groups (one token per group and step), in the order that indexes the channel
#: embedding; Dynamic World takes the next index.
BAND_GROUPS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("S1", (_MODEL_INDEX["VV"], _MODEL_INDEX["VH"])),
    ("S2_RGB", (_MODEL_INDEX["B02"], _MODEL_INDEX["B03"], _MODEL_INDEX["B04"])),
    ("S2_Red_Edge", (_MODEL_INDEX["B05"], _MODEL_INDEX["B06"], _MODEL_INDEX["B07"])),
    ("S2_NIR_10m", (_MODEL_INDEX["B08"],)),
    ("S2_NIR_20m", (_MODEL_INDEX["B8A"],)),
    ("S2_SWIR", (_MODEL_INDEX["B11"], _MODEL_INDEX["B12"])),
    ("ERA5", (_MODEL_INDEX["temperature_2m"], _MODEL_INDEX["total_precipitation"])),
    ("SRTM", (_MODEL_INDEX["elevation"], _MODEL_INDEX["slope"])),
    ("NDVI", (_MODEL_INDEX["NDVI"],)),
)
STATIC_GROUP = "SRTM"
MAX_SEQUENCE_LENGTH = 24
"""Longest time series Presto's position table covers (steps)."""

PRESTO_SPEC = EncoderSpec(
    name="presto",
    bands=PRESTO_BANDS,
    input_size=64,
    feature_strides=(1,),
    feature_channels=(128,),
    embed_dim=128,
    weights=PretrainedWeights(
        source="url",
        url=PRESTO_WEIGHTS_URL,
        sha256=PRESTO_WEIGHTS_SHA256,
        normalisation="Presto's own fixed scaling per band: Sentinel-1 (dB + 25) / 25, "
        "Sentinel-2 / 10000, ERA5 temperature (K - 272.15) / 35, precipitation (m) / 0.03, "
        "elevation (m) / 2000, slope (deg) / 50; NDVI recomputed; B9 dropped "
        "(planetbench.encoders.presto.presto_normalise; the time-series path applies it)",
        pretraining="masked autoencoding of pixel time series",
        ignored_prefixes=("decoder.",),
    ),
    architecture=Architecture(
        "planetbench", "presto", upstream_bands=tuple(n for n in UPSTREAM_BAND_NAMES if n != "B9")
    ),
    tiny=TinyVariant(feature_channels=(32,), embed_dim=32),
    licence="MIT",
    citation=PRESTO_CITATION,
)

RAW_SPEC = EncoderSpec(
    name="presto-raw",
    bands=PRESTO_BANDS,
    input_size=64,
    feature_strides=(1,),
    feature_channels=(len(PRESTO_BANDS),),
    embed_dim=len(PRESTO_BANDS),
    architecture=Architecture("planetbench", "presto-raw"),
    baseline=True,
    licence="MIT",
    citation=f"{PRESTO_CITATION} (the normalisation of the inputs)",
)


# ------------------------------------------------------------------------------------- inputs


def presto_normalise(x: np.ndarray) -> np.ndarray:
    """Presto's normalisation of raw band values (see the module docstring).

    Args:
        x: (..., 18) raw values, bands :data:`~planetbench.tasks.presto.PRESTO_INPUT_BANDS`.

    Returns:
        (..., 17) float32 normalised values, bands :data:`PRESTO_BANDS` (B9 dropped, NDVI
        recomputed; NaN stays NaN).

    Example:
        >>> raw = np.array([-25.0, -50.0] + [1000.0] * 11 + [307.15, 0.003, 500.0, 5.0, 0.9])
        >>> [round(float(v), 3) for v in presto_normalise(raw)[[0, 1, 2, 12, 13, 14, 15, 16]]]
        [0.0, -1.0, 0.1, 1.0, 0.1, 0.25, 0.1, 0.0]
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1:] != (len(PRESTO_INPUT_BANDS),):
        raise InvalidInputError(
            f"raw Presto inputs need {len(PRESTO_INPUT_BANDS)} bands in the last axis "
            f"({', '.join(UPSTREAM_BAND_NAMES)}); got shape {x.shape}"
        )
    scaled = (x + np.asarray(RAW_SHIFT)) / np.asarray(RAW_DIVISOR)
    keep = [i for i, b in enumerate(PRESTO_INPUT_BANDS) if b.name != DROPPED_BAND]
    out = scaled[..., keep]
    nir, red = out[..., _MODEL_INDEX["B08"]], out[..., _MODEL_INDEX["B04"]]
    total = nir + red
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = np.where(total > 0, (nir - red) / total, 0.0)
    ndvi[np.isnan(total)] = np.nan
    out[..., _MODEL_INDEX["NDVI"]] = ndvi
    return out.astype(np.float32)


@dataclass(frozen=True)
class PrestoBatch:
    """Presto's inputs for B pixels over T steps (tensors on one device).

    Attributes:
        x: (B, T, 17) float32 normalised values, bands :data:`PRESTO_BANDS` (absent values 0).
        absent: (B, T, 17) bool, True where a value is absent (masked).
        dynamic_world: (B, T) int64 Dynamic World class per step, 9 = absent.
        latlons: (B, 2) float32 latitude, longitude in degrees.
        months: (B, T) int64 month of each step, 0 = January.
    """

    x: Tensor
    absent: Tensor
    dynamic_world: Tensor
    latlons: Tensor
    months: Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device | str) -> PrestoBatch:
        """The same batch on ``device``."""
        return PrestoBatch(*(t.to(device) for t in (self.x, self.absent, self.dynamic_world,
                                                      self.latlons, self.months)))  # fmt: skip

    def rows(self, start: int, stop: int) -> PrestoBatch:
        """Samples ``start`` to ``stop`` (exclusive)."""
        return PrestoBatch(*(t[start:stop] for t in (self.x, self.absent, self.dynamic_world,
                                                       self.latlons, self.months)))  # fmt: skip


def presto_batch(
    x: np.ndarray,
    dynamic_world: np.ndarray,
    latlons: np.ndarray,
    months: np.ndarray,
    *,
    present: Sequence[str] | None = None,
) -> PrestoBatch:
    """Normalise raw pixel time series and mark absent values, as Presto reads them.

    Args:
        x: (N, T, 18) raw values, bands :data:`~planetbench.tasks.presto.PRESTO_INPUT_BANDS`;
            NaN marks an absent value.
        dynamic_world: (N, T) Dynamic World class per step (9 = absent).
        latlons: (N, 2) latitude, longitude in degrees.
        months: (N, T) month per step, 0 = January.
        present: names of the model bands the data provides (default: all); the others are
            masked everywhere.

    Returns:
        A :class:`PrestoBatch` on the CPU.

    Raises:
        InvalidInputError: shapes disagree, T exceeds Presto's 24 steps, months or classes are
            out of range, or ``present`` names an unknown band.
    """
    normed = presto_normalise(x)
    n, t = normed.shape[:2] if normed.ndim == 3 else (0, 0)
    if normed.ndim != 3:
        raise InvalidInputError(f"x must be (N, T, 18) pixel time series; got shape {x.shape}")
    if t > MAX_SEQUENCE_LENGTH:
        raise InvalidInputError(
            f"Presto encodes at most {MAX_SEQUENCE_LENGTH} steps; got T = {t}. Cut the series"
        )
    dw, mo, ll = np.asarray(dynamic_world), np.asarray(months), np.asarray(latlons)
    if dw.shape != (n, t) or mo.shape != (n, t) or ll.shape != (n, 2):
        raise InvalidInputError(
            f"dynamic_world {dw.shape} and months {mo.shape} must be (N, T) = {(n, t)} and "
            f"latlons {ll.shape} must be (N, 2)"
        )
    if ((mo < 0) | (mo > 11)).any() or ((dw < 0) | (dw > DYNAMIC_WORLD_ABSENT)).any():
        raise InvalidInputError(
            f"months must lie in 0-11 and Dynamic World classes in 0-{DYNAMIC_WORLD_ABSENT}"
        )
    absent = np.isnan(normed)
    if present is not None:
        unknown = sorted(set(present) - set(_MODEL_INDEX))
        if unknown:
            raise InvalidInputError(
                f"present names unknown bands {unknown}; Presto's bands are "
                f"{', '.join(_MODEL_INDEX)}"
            )
        absent[..., [i for name, i in _MODEL_INDEX.items() if name not in present]] = True
    normed = np.where(absent, 0.0, normed).astype(np.float32)
    return PrestoBatch(
        x=torch.from_numpy(normed),
        absent=torch.from_numpy(absent),
        dynamic_world=torch.from_numpy(dw.astype(np.int64)),
        latlons=torch.from_numpy(ll.astype(np.float32)),
        months=torch.from_numpy(mo.astype(np.int64)),
    )


# -------------------------------------------------------------------------------- the network


def sinusoid_table(n_positions: int, dim: int, base: float = 1000.0) -> Tensor:
    """Transformer position code (Vaswani et al. 2017) with base 1000, as Presto uses: (n, dim).

    Entry (p, j) is sin (even j) or cos (odd j) of p / base^(2 ⌊j/2⌋ / dim).
    """
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]
    j = torch.arange(dim, dtype=torch.float64)[None, :]
    angles = pos / base ** (2 * torch.div(j, 2, rounding_mode="floor") / dim)
    table = torch.where(j % 2 == 0, torch.sin(angles), torch.cos(angles))
    return table.float()


def month_table(dim: int) -> Tensor:
    """Presto's month code: (12, dim), sines of the month angle 2πm/12 then cosines."""
    if dim % 2:
        raise InvalidInputError(f"the month code needs an even width; got {dim}")
    angle = torch.arange(12, dtype=torch.float64)[:, None] * (2 * math.pi / 12)
    half = dim // 2
    return torch.cat([torch.sin(angle).expand(12, half), torch.cos(angle).expand(12, half)],
                     dim=1).float()  # fmt: skip


class _Attention(nn.Module):
    """Multi-head self-attention whose keys can be masked out (B, N) → absent."""

    def __init__(self, dim: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, keep: Tensor) -> Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.n_heads, d // self.n_heads).permute(
            2, 0, 3, 1, 4
        )
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class _Block(nn.Module):
    """Pre-norm transformer block (attention, then MLP, each residual)."""

    def __init__(self, dim: int, n_heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _Attention(dim, n_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = _Mlp(dim, dim * mlp_ratio)

    def forward(self, x: Tensor, keep: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x), keep)
        return x + self.mlp(self.norm2(x))


@dataclass(frozen=True)
class PrestoArchitecture:
    """Sizes of a Presto encoder (defaults: the published model)."""

    dim: int = 128
    depth: int = 2
    n_heads: int = 8
    mlp_ratio: int = 4
    channel_ratio: float = 0.25
    month_ratio: float = 0.25

    @property
    def channel_dim(self) -> int:
        """Width of the learnt channel (band group) code."""
        return int(self.dim * self.channel_ratio)

    @property
    def month_dim(self) -> int:
        """Width of the month code."""
        return int(self.dim * self.month_ratio)

    @property
    def position_dim(self) -> int:
        """Width of the position code."""
        return int(self.dim * (1 - self.channel_ratio - self.month_ratio))


TINY_ARCHITECTURE = PrestoArchitecture(dim=32, depth=1, n_heads=4, mlp_ratio=2)


class PrestoBackbone(nn.Module):
    """Presto's encoder network; its state-dict keys are those of the published checkpoint's
    ``encoder.*`` tensors (without the prefix)."""

    def __init__(self, arch: PrestoArchitecture = PrestoArchitecture()) -> None:
        super().__init__()
        dim = arch.dim
        self.pos_embed = nn.Parameter(
            sinusoid_table(MAX_SEQUENCE_LENGTH, arch.position_dim)[None], requires_grad=False
        )
        self.eo_patch_embed = nn.ModuleDict(
            {name: nn.Linear(len(idx), dim) for name, idx in BAND_GROUPS}
        )
        self.dw_embed = nn.Embedding(DYNAMIC_WORLD_ABSENT + 1, dim)
        self.latlon_embed = nn.Linear(3, dim)
        self.blocks = nn.ModuleList(
            [_Block(dim, arch.n_heads, arch.mlp_ratio) for _ in range(arch.depth)]
        )
        self.norm = nn.LayerNorm(dim)
        self.month_embed = nn.Embedding(12, arch.month_dim)
        with torch.no_grad():
            self.month_embed.weight.copy_(month_table(arch.month_dim))
        self.month_embed.weight.requires_grad_(False)
        self.channel_embed = nn.Embedding(len(BAND_GROUPS) + 1, arch.channel_dim)
        for module in self.modules():  # Presto's initialisation (for random, tiny builds)
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    @staticmethod
    def cartesian(latlons: Tensor) -> Tensor:
        """(B, 2) latitude, longitude in degrees → (B, 3) point on the unit sphere."""
        lat, lon = torch.deg2rad(latlons[:, 0]), torch.deg2rad(latlons[:, 1])
        return torch.stack(
            [torch.cos(lat) * torch.cos(lon), torch.cos(lat) * torch.sin(lon), torch.sin(lat)],
            dim=-1,
        )

    def forward(self, batch: PrestoBatch) -> Tensor:
        """(B, D) embedding of each pixel time series of ``batch``."""
        x, absent = batch.x, batch.absent
        b, t, _ = x.shape
        if t > self.pos_embed.shape[1]:
            raise InvalidInputError(
                f"Presto encodes at most {self.pos_embed.shape[1]} steps; got T = {t}"
            )
        month = self.month_embed(batch.months)
        position = self.pos_embed[:, :t].expand(b, t, -1)
        tokens, gone = [], []
        for index, (name, bands) in enumerate(BAND_GROUPS):
            channel = self.channel_embed.weight[index]
            cols = list(bands)
            if name == STATIC_GROUP:  # one token, from the first step, without time codes
                code = torch.cat([torch.zeros_like(month[:, :1]),
                                  channel.expand(b, 1, -1),
                                  torch.zeros_like(position[:, :1])], dim=-1)  # fmt: skip
                tokens.append(self.eo_patch_embed[name](x[:, :1, cols]) + code)
                gone.append(absent[:, :1, cols].any(dim=-1))
            else:
                code = torch.cat([month, channel.expand(b, t, -1), position], dim=-1)
                tokens.append(self.eo_patch_embed[name](x[:, :, cols]) + code)
                gone.append(absent[:, :, cols].any(dim=-1))
        dw = batch.dynamic_world
        channel = self.channel_embed.weight[len(BAND_GROUPS)]
        code = torch.cat([month, channel.expand(b, t, -1), position], dim=-1)
        tokens.append(self.dw_embed(dw) + code)
        gone.append(dw == DYNAMIC_WORLD_ABSENT)
        location = self.latlon_embed(self.cartesian(batch.latlons))[:, None]
        seq = torch.cat([location, *tokens], dim=1)
        keep = ~torch.cat([torch.zeros_like(gone[0][:, :1]), *gone], dim=1)
        for block in self.blocks:
            seq = block(seq, keep)
        kept = keep[..., None]
        mean = torch.where(kept, seq, 0.0).sum(dim=1) / kept.sum(dim=1)
        return self.norm(mean)


class TimeSeriesEncoder(Encoder):
    """An encoder of pixel time series (:class:`PrestoBatch`) that also reads images pixel-wise."""

    def embed_series(self, batch: PrestoBatch) -> Tensor:
        """(B, D) one vector per pixel time series."""
        raise NotImplementedError


def _present(in_bands: Sequence[Band] | None) -> tuple[str, ...]:
    """Names of the model bands among ``in_bands`` (by name, optical wavelength within 5 nm or
    SAR polarisation); every band when None."""
    if in_bands is None:
        return tuple(_MODEL_INDEX)
    found = []
    for band in PRESTO_BANDS:
        for given in in_bands:
            same = given.name == band.name or (
                band.wavelength_um is not None
                and given.wavelength_um is not None
                and abs(given.wavelength_um - band.wavelength_um) <= 0.005
            ) or (band.polarisation is not None and given.polarisation == band.polarisation)
            if same:
                found.append(band.name)
                break
    return tuple(found)


class Presto(TimeSeriesEncoder):
    """Presto's encoder (see the module docstring).

    Args:
        spec: the spec of this instance.
        arch: network sizes.
        present: model bands the task provides; the others are masked on the image path.
        pixel_chunk: pixels encoded at once on the image path (memory bound).
    """

    band_absent: Tensor

    def __init__(
        self,
        spec: EncoderSpec,
        arch: PrestoArchitecture = PrestoArchitecture(),
        *,
        present: Sequence[str] = tuple(_MODEL_INDEX),
        pixel_chunk: int = 16384,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.encoder = PrestoBackbone(arch)
        absent = torch.tensor([name not in present for name in _MODEL_INDEX])
        self.register_buffer("band_absent", absent, persistent=False)
        self.pixel_chunk = pixel_chunk

    def embed_series(self, batch: PrestoBatch) -> Tensor:
        """(B, D) Presto embedding of each pixel time series."""
        return self.encoder(batch)

    def features(self, x: Tensor) -> list[Tensor]:
        """One map (B, D, H, W): each pixel of x (B, 17, H, W) embedded as a one-step series."""
        check_input(x, len(PRESTO_BANDS), self.spec.name)
        b, c, h, w = x.shape
        pixels = x.permute(0, 2, 3, 1).reshape(b * h * w, 1, c)
        absent = self.band_absent.expand(b * h * w, 1, c)
        out = []
        for start in range(0, b * h * w, self.pixel_chunk):
            rows = pixels[start : start + self.pixel_chunk]
            n = rows.shape[0]
            batch = PrestoBatch(
                x=torch.where(absent[:n], 0.0, rows),
                absent=absent[:n],
                dynamic_world=torch.full((n, 1), DYNAMIC_WORLD_ABSENT, device=x.device),
                latlons=torch.zeros(n, 2, device=x.device, dtype=x.dtype),
                months=torch.zeros(n, 1, dtype=torch.long, device=x.device),
            )
            out.append(self.encoder(batch))
        emb = torch.cat(out).reshape(b, h, w, -1).permute(0, 3, 1, 2)
        return [emb]


class PrestoRaw(TimeSeriesEncoder):
    """The raw-inputs baseline: Presto's normalised bands of every step, flattened.

    Args:
        spec: the spec of this instance.
        present: model bands the task provides (the others are 0 on the image path).
    """

    band_absent: Tensor

    def __init__(self, spec: EncoderSpec, *, present: Sequence[str] = tuple(_MODEL_INDEX)) -> None:
        super().__init__()
        self.spec = spec
        absent = torch.tensor([name not in present for name in _MODEL_INDEX])
        self.register_buffer("band_absent", absent, persistent=False)

    def embed_series(self, batch: PrestoBatch) -> Tensor:
        """(B, T · 17): the normalised values, absent ones 0, step after step."""
        return torch.where(batch.absent, 0.0, batch.x).flatten(1)

    def features(self, x: Tensor) -> list[Tensor]:
        """The image x (B, 17, H, W) itself, absent bands set to 0 (stride 1)."""
        check_input(x, len(PRESTO_BANDS), self.spec.name)
        if self.spec.embed_dim != len(PRESTO_BANDS):
            raise InvalidInputError(
                f"this {self.spec.name!r} was built for series of "
                f"{self.spec.embed_dim // len(PRESTO_BANDS)} steps; images are one step per "
                "pixel: build it with n_timesteps=1"
            )
        return [torch.where(self.band_absent[None, :, None, None], 0.0, x)]


# ---------------------------------------------------------------------------------- factories


def _check_options(name: str, options: dict[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InvalidInputError(
            f"encoder {name!r} got unknown options {unknown}; it takes "
            f"{', '.join(allowed) or 'none'}"
        )


def build_presto(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> Presto:
    """Factory of ``presto``: the published checkpoint, loaded strictly (tiny: random weights).

    Options: ``pixel_chunk`` (pixels encoded at once on the image path, default 16384).
    """
    _check_options(PRESTO_SPEC.name, options, ("pixel_chunk",))
    found = prepare_weights(PRESTO_SPEC, weights, tiny=tiny)
    inst = instance_spec(PRESTO_SPEC, tiny=tiny)
    arch = TINY_ARCHITECTURE if tiny else PrestoArchitecture()
    encoder = Presto(inst, arch, present=_present(in_bands),
                     pixel_chunk=int(options.get("pixel_chunk", 16384)))  # fmt: skip
    if found is not None:
        encoder.load_report = load_weights(encoder, inst, source=found)
    return encoder


def build_presto_raw(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> PrestoRaw:
    """Factory of ``presto-raw`` (no weights; ``seed`` is accepted and unused: nothing is random).

    Options: ``n_timesteps`` (T of the series it will embed; the spec's ``embed_dim`` is
    T · 17, default 1 as for images).
    """
    _check_options(RAW_SPEC.name, options, ("seed", "n_timesteps"))
    if weights is not None and str(weights) != "none":
        raise InvalidInputError(
            f"encoder {RAW_SPEC.name!r} has no weights; drop --weights {weights}"
        )
    steps = options.get("n_timesteps", 1)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InvalidInputError(f"n_timesteps must be a positive integer; got {steps!r}")
    inst = instance_spec(RAW_SPEC, tiny=tiny, embed_dim=steps * len(PRESTO_BANDS))
    return PrestoRaw(inst, present=_present(in_bands))


ENCODERS.register(PRESTO_SPEC.name, RegisteredEncoder(PRESTO_SPEC, build_presto), override=True)
ENCODERS.register(RAW_SPEC.name, RegisteredEncoder(RAW_SPEC, build_presto_raw), override=True)

__all__ = [
    "BAND_GROUPS",
    "MAX_SEQUENCE_LENGTH",
    "PRESTO_BANDS",
    "PRESTO_SPEC",
    "PRESTO_WEIGHTS_FILE",
    "PRESTO_WEIGHTS_SHA256",
    "PRESTO_WEIGHTS_URL",
    "RAW_DIVISOR",
    "RAW_SHIFT",
    "RAW_SPEC",
    "TINY_ARCHITECTURE",
    "Presto",
    "PrestoArchitecture",
    "PrestoBackbone",
    "PrestoBatch",
    "PrestoRaw",
    "TimeSeriesEncoder",
    "build_presto",
    "build_presto_raw",
    "month_table",
    "presto_batch",
    "presto_normalise",
    "sinusoid_table",
]
