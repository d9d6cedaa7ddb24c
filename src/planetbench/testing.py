"""Tiny encoders, a tiny segmentation task, and contract checks for plugin authors.

Plugin authors (and our own tests) use these the way scikit-learn's ``check_estimator`` is used:

>>> enc = TinyConvEncoder(in_chans=3)
>>> check_encoder(enc, size=32)

Everything here is small enough to run on a CPU in well under a second and is seeded.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.encoders.base import Encoder, EncoderSpec, RegisteredEncoder
from planetbench.errors import (
    DatasetNotFoundError,
    InvalidInputError,
    MissingDependencyError,
    WeightsUnavailableError,
)
from planetbench.registry import Registry
from planetbench.tasks.bands import RGB, Band, bands
from planetbench.tasks.spec import Task, TaskSpec

T = TypeVar("T")

TEST_LICENCE = "MIT (planetbench test encoder; random weights)"
TEST_CITATION = "planetbench.testing (a toy encoder for tests; nothing to cite)"

# --------------------------------------------------------------------------------------- encoders


class TinyConvEncoder(Encoder):
    """A four-level convolutional pyramid (strides 4, 8, 16, 32), like a miniature ResNet/Swin.

    Args:
        in_chans: number of input bands.
        channels: channels of the four maps.
        name: registry id recorded in the spec.
    """

    def __init__(
        self,
        in_chans: int = 3,
        channels: tuple[int, int, int, int] = (8, 16, 24, 32),
        name: str = "tiny-conv",
    ) -> None:
        super().__init__()
        self.spec = EncoderSpec(
            name=name,
            input_size=32,
            feature_strides=(4, 8, 16, 32),
            feature_channels=tuple(channels),
            embed_dim=channels[-1],
            licence=TEST_LICENCE,
            citation=TEST_CITATION,
        )
        stages: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(in_chans, channels[0], 4, stride=4), nn.GELU())
        ]
        for c_in, c_out in itertools.pairwise(channels):
            stages.append(nn.Sequential(nn.Conv2d(c_in, c_out, 2, stride=2), nn.GELU()))
        self.stages = nn.ModuleList(stages)

    def features(self, x: Tensor) -> list[Tensor]:
        """Four maps (B, C_i, H/s_i, W/s_i) for s_i = 4, 8, 16, 32."""
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out


class _Block(nn.Module):
    """Pre-norm transformer block with scaled-dot-product attention."""

    def __init__(self, dim: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.n_heads, d // self.n_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v)
        x = x + self.proj(attn.transpose(1, 2).reshape(b, n, d))
        out: Tensor = x + self.mlp(self.norm2(x))
        return out


class TinyViTEncoder(Encoder):
    """A plain ViT (patch 16, one stride-16 output map) with real self-attention.

    Args:
        in_chans: number of input bands.
        dim: token width.
        depth: number of transformer blocks.
        n_heads: attention heads.
        patch_size: patch size (the output stride).
        name: registry id recorded in the spec.
    """

    def __init__(
        self,
        in_chans: int = 3,
        dim: int = 32,
        depth: int = 2,
        n_heads: int = 2,
        patch_size: int = 16,
        name: str = "tiny-vit",
    ) -> None:
        super().__init__()
        self.spec = EncoderSpec(
            name=name,
            input_size=32,
            feature_strides=(patch_size,),
            feature_channels=(dim,),
            embed_dim=dim,
            licence=TEST_LICENCE,
            citation=TEST_CITATION,
        )
        self.patch = nn.Conv2d(in_chans, dim, patch_size, stride=patch_size)
        self.blocks = nn.Sequential(*[_Block(dim, n_heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def features(self, x: Tensor) -> list[Tensor]:
        """One map (B, dim, H/16, W/16)."""
        x = self.patch(x)
        b, d, h, w = x.shape
        tokens = self.norm(self.blocks(x.flatten(2).transpose(1, 2)))
        return [tokens.transpose(1, 2).reshape(b, d, h, w)]


def _tiny_factory(cls: type[Encoder], name: str) -> Any:
    def factory(
        *, in_bands: tuple[Band, ...] = (), tiny: bool = True, weights: str | None = None,
        **options: Any,
    ) -> Encoder:
        if weights not in (None, "none"):
            raise InvalidInputError(
                f"encoder {name!r} is a random-init test encoder; weights={weights!r} is not "
                "supported (pass None)"
            )
        return cls(in_chans=max(1, len(in_bands)) if in_bands else 3, name=name, **options)

    return factory


def tiny_encoders(prefix: str = "tiny") -> dict[str, RegisteredEncoder]:
    """Registry entries for the tiny encoders (ids ``<prefix>-conv`` and ``<prefix>-vit``).

    Register them for a test with ``ENCODERS.register(name, entry, override=True)``. Their spec
    has empty ``bands``: they are built for the task's own bands.
    """
    out = {}
    for cls, suffix in ((TinyConvEncoder, "conv"), (TinyViTEncoder, "vit")):
        name = f"{prefix}-{suffix}"
        spec = cls(name=name).spec
        out[name] = RegisteredEncoder(spec=spec, factory=_tiny_factory(cls, name))
    return out


@contextlib.contextmanager
def registered(registry: Registry[T], entries: Mapping[str, T]) -> Iterator[None]:
    """Register ``entries`` (id → object) for the duration of a ``with`` block, then restore.

    Ids that were registered before get their previous object back; new ids are removed.

    Example:
        >>> from planetbench.encoders import ENCODERS
        >>> with registered(ENCODERS, tiny_encoders()):
        ...     "tiny-conv" in ENCODERS
        True
    """
    existing = set(registry.list())  # loads plugins first: they are restored too
    saved = {name: registry.get(name) for name in entries if name in existing}
    for name, obj in entries.items():
        registry.register(name, obj, override=True)
    try:
        yield
    finally:
        for name in entries:
            if name in saved:
                registry.register(name, saved[name], override=True)
            elif name in registry.list():
                registry.unregister(name)


# ------------------------------------------------------------------------------------------ tasks


def _bands(n_bands: int) -> tuple[Band, ...]:
    if n_bands == 3:
        return RGB
    return tuple(Band(f"b{i}", "other") for i in range(n_bands))


def write_tiny_segmentation(
    root: str | Path,
    *,
    n_per_split: Mapping[str, int] | None = None,
    size: int = 32,
    n_classes: int = 3,
    n_bands: int = 3,
    ignore_index: int | None = 255,
    seed: int = 0,
) -> Path:
    """Write a learnable toy segmentation dataset as ``root/<split>/<id>.npz`` files.

    Each mask is a Voronoi partition of the image into 2–4 cells with random classes (so per-image
    class proportions vary, which the stratified fractions need); each band is a class-dependent
    level plus Gaussian noise (σ = 0.3). A 2-pixel border of every third image is set to
    ``ignore_index``.

    Args:
        root: folder to write into (created).
        n_per_split: images per split (default train 8, val 4, test 4).
        size: image side in pixels.
        n_classes: number of classes.
        n_bands: number of bands.
        ignore_index: label of ignored pixels, or None for none.
        seed: seed of the generator.

    Returns:
        ``root`` as a Path.
    """
    root = Path(root)
    counts = dict(n_per_split or {"train": 8, "val": 4, "test": 4})
    rng = np.random.default_rng(seed)
    levels = rng.normal(0.0, 1.0, size=(n_classes, n_bands)).astype(np.float32)
    levels[:, 0] = np.linspace(-1.5, 1.5, n_classes)  # band 0 separates every class
    yy, xx = np.mgrid[0:size, 0:size]
    for split, n in counts.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            n_cells = int(rng.integers(2, 5))
            centres = rng.uniform(0, size, size=(n_cells, 2))
            cell_class = rng.integers(0, n_classes, size=n_cells)
            dy = yy[None] - centres[:, 0, None, None]
            dx = xx[None] - centres[:, 1, None, None]
            d = dy**2 + dx**2
            mask = cell_class[d.argmin(axis=0)].astype(np.int64)
            image = levels[mask].transpose(2, 0, 1) + rng.normal(0, 0.3, (n_bands, size, size))
            if ignore_index is not None and i % 3 == 0:
                mask[:2, :] = ignore_index
                mask[:, :2] = ignore_index
            path = root / split / f"{split}-{i:04d}.npz"
            np.savez(path, image=image.astype(np.float32), mask=mask)
    return root


@dataclass
class NpzSegmentationDataset:
    """One split written by :func:`write_tiny_segmentation`: items are sample dicts."""

    files: list[Path]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        with np.load(self.files[index]) as z:
            return {"image": z["image"], "mask": z["mask"], "id": self.files[index].stem}


def read_npz_segmentation(root: Path, split: str, **options: Any) -> NpzSegmentationDataset:
    """Reader of :func:`write_tiny_segmentation`'s layout (``root/<split>/*.npz``)."""
    if options:
        raise InvalidInputError(f"read_npz_segmentation takes no options, got {sorted(options)}")
    folder = Path(root) / split
    files = sorted(folder.glob("*.npz"))
    if not files:
        raise DatasetNotFoundError(
            f"no .npz files in {folder}; write the toy data with "
            f"planetbench.testing.write_tiny_segmentation({str(root)!r})"
        )
    return NpzSegmentationDataset(files)


def tiny_segmentation_task(
    name: str = "tiny-seg",
    *,
    n_classes: int = 3,
    n_bands: int = 3,
    ignore_index: int | None = 255,
    suite: str = "test",
) -> Task:
    """A Task reading :func:`write_tiny_segmentation` output (write it with the same arguments)."""
    spec = TaskSpec(
        name=name,
        suite=suite,
        kind="segmentation",
        metric="miou",
        classes=tuple(f"class{i}" for i in range(n_classes)),
        bands=_bands(n_bands),
        ignore_index=ignore_index,
        licence="CC0-1.0 (synthetic)",
        citation="planetbench.testing.write_tiny_segmentation (synthetic toy data)",
        synthetic=True,
    )
    return Task(spec=spec, reader=read_npz_segmentation)


# ------------------------------------------------------------------------------ contract checks

#: Bands given to encoders built for the task's own bands (baselines, DOFA, Panopticon) when
#: :func:`check_encoder` builds them: Sentinel-2 B02, B03, B04, B05.
CHECK_BANDS: tuple[Band, ...] = bands("B02", "B03", "B04", "B05")


class ContractError(InvalidInputError):
    """An encoder or task breaks a promise of its spec (raised by the ``check_*`` functions)."""


def check_encoder_spec(spec: EncoderSpec) -> None:
    """Check that the facts of an encoder spec agree with each other; raise on the first problem.

    Checks: a lower-case id and a citation; an unavailable encoder says why; an available one
    states its licence, strides and (when its bands are fixed) matching channels and embedding
    size; published weights give per-band mean/std for every band (or the normalisation in
    words), a download URL or a page, and a digest or the reason there is none.

    Raises:
        ContractError: naming the encoder and the broken promise.
    """
    who = f"encoder {spec.name!r}"
    problems: list[str] = []
    if spec.name != spec.name.strip().lower() or not spec.name:
        problems.append("its id must be lower-case without spaces")
    if not spec.citation:
        problems.append("it cites no paper (citation)")
    if not spec.available:
        if not spec.unavailable_reason:
            problems.append("it is unavailable without saying why (unavailable_reason)")
        _raise_problems(who, problems)
        return
    if not spec.licence:
        problems.append("it states no licence")
    if not spec.feature_strides:
        problems.append("it declares no feature_strides")
    if spec.bands or spec.wavelength_conditioned:  # any-band baselines size them per task
        if len(spec.feature_channels) != len(spec.feature_strides):
            problems.append(
                f"feature_channels {spec.feature_channels} and feature_strides "
                f"{spec.feature_strides} differ in length"
            )
        if spec.embed_dim <= 0:
            problems.append("embed_dim must be positive")
    weights = spec.weights
    if weights is not None:
        if weights.mean is not None and len(weights.mean) != len(spec.bands):
            problems.append(
                f"weights.mean has {len(weights.mean)} values for {len(spec.bands)} bands"
            )
        if weights.mean is None and not weights.normalisation:
            problems.append("weights state no normalisation (mean/std or normalisation)")
        if weights.sha256 is None and not weights.sha256_note:
            problems.append("weights have no sha256 and no sha256_note saying why")
        if weights.url and not weights.url.startswith("https://"):
            problems.append(f"weights url {weights.url!r} is not https")
        if weights.source == "file" and not weights.page:
            problems.append("weights published as a manual download name no page")
    _raise_problems(who, problems)


def _raise_problems(who: str, problems: list[str]) -> None:
    if problems:
        raise ContractError(f"{who}: " + "; ".join(problems))


def check_encoder(
    encoder: Encoder | RegisteredEncoder,
    *,
    size: int | None = None,
    batch_size: int = 2,
    in_bands: tuple[Band, ...] | None = None,
) -> None:
    """Check that an encoder honours its spec; raise on the first violation.

    Given a built :class:`~planetbench.encoders.base.Encoder`, checks on a seeded random batch:
    ``features`` returns one map per declared stride with the declared channels and spatial size
    ``size / stride``; ``embed`` returns (B, embed_dim); outputs are finite; eval-mode outputs
    are deterministic; the embedding depends on the input.

    Given a :class:`~planetbench.encoders.base.RegisteredEncoder` (a registry entry), also
    checks its spec (:func:`check_encoder_spec`); an unavailable encoder must refuse to build
    with :class:`~planetbench.errors.MissingDependencyError` saying why; an available one is
    built as its tiny variant (random weights, no download), checked as above at 32 px, and, if
    it has published weights, must refuse ``weights="none"`` (no silent random fallback).

    Args:
        encoder: a built encoder or a registry entry.
        size: input side in pixels (default ``spec.input_size``; 32 for registry entries).
        batch_size: images in the random batch.
        in_bands: the task bands to build an entry with when its bands are not fixed (default
            :data:`CHECK_BANDS`).

    Raises:
        ContractError: naming the first broken promise.

    Example:
        >>> check_encoder(TinyConvEncoder(in_chans=3), size=32)
        >>> check_encoder(tiny_encoders()["tiny-vit"])
    """
    if isinstance(encoder, RegisteredEncoder):
        built = _check_entry(encoder, in_bands or CHECK_BANDS)
        if built is not None:
            _check_instance(built, size=size or 32, batch_size=batch_size)
        return
    _check_instance(encoder, size=size, batch_size=batch_size)


def _check_entry(entry: RegisteredEncoder, in_bands: tuple[Band, ...]) -> Encoder | None:
    spec = entry.spec
    check_encoder_spec(spec)
    who = f"encoder {spec.name!r}"
    task_bands = in_bands if (not spec.bands or spec.wavelength_conditioned) else None
    if not spec.available:
        try:
            entry.factory(in_bands=task_bands, tiny=True)
        except MissingDependencyError as exc:
            if spec.unavailable_reason not in str(exc) and "pip install" not in str(exc):
                raise ContractError(
                    f"{who}: its refusal does not say why ({spec.unavailable_reason!r}): {exc}"
                ) from exc
            return None
        raise ContractError(f"{who} is declared unavailable but was built")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        built = entry.factory(in_bands=task_bands, tiny=True)
    if not isinstance(built, Encoder):
        raise ContractError(f"{who}: the factory returned a {type(built).__name__}, not an Encoder")
    if built.spec.name != spec.name:
        raise ContractError(f"{who}: the built encoder's spec is named {built.spec.name!r}")
    if built.load_report is not None:
        raise ContractError(f"{who}: the tiny variant loaded weights; it must start at random")
    if spec.weights is not None:
        try:
            entry.factory(in_bands=task_bands, weights="none")
        except WeightsUnavailableError:
            pass
        else:
            raise ContractError(
                f"{who} has published weights but built with weights='none' (random weights); "
                "refuse it with WeightsUnavailableError"
            )
    return built.eval()


def _check_instance(encoder: Encoder, *, size: int | None, batch_size: int) -> None:
    spec = encoder.spec
    size = size or spec.input_size
    first = next(iter(encoder.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    in_chans = _in_chans(encoder)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, in_chans, size, size, generator=gen).to(device)
    other = torch.randn(batch_size, in_chans, size, size, generator=gen).to(device)
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            maps = encoder.features(x)
            again = encoder.features(x)
            emb = encoder.embed(x)
            emb_again = encoder.embed(x)
            emb_other = encoder.embed(other)
    finally:
        encoder.train(was_training)
    who = f"encoder {spec.name!r}"
    if not isinstance(maps, list) or not maps:
        raise ContractError(f"{who}: features must return a non-empty list of maps")
    if len(maps) != len(spec.feature_strides) or len(maps) != len(spec.feature_channels):
        raise ContractError(
            f"{who}: features returned {len(maps)} maps but the spec declares strides "
            f"{spec.feature_strides} and channels {spec.feature_channels}"
        )
    levels = zip(maps, spec.feature_strides, spec.feature_channels, strict=True)
    for i, (m, s, c) in enumerate(levels):
        want = (batch_size, c, size // s, size // s)
        if tuple(m.shape) != want:
            raise ContractError(f"{who}: map {i} has shape {tuple(m.shape)}, spec says {want}")
        if not torch.isfinite(m).all():
            raise ContractError(f"{who}: map {i} has non-finite values")
        if not torch.equal(m, again[i]):
            raise ContractError(f"{who}: map {i} differs between two eval-mode calls")
    if tuple(emb.shape) != (batch_size, spec.embed_dim):
        raise ContractError(
            f"{who}: embed returned shape {tuple(emb.shape)}, spec says ({batch_size}, "
            f"{spec.embed_dim})"
        )
    if not torch.isfinite(emb).all():
        raise ContractError(f"{who}: embed has non-finite values")
    if not torch.equal(emb, emb_again):
        raise ContractError(f"{who}: embed differs between two eval-mode calls")
    if torch.equal(emb, emb_other):
        raise ContractError(f"{who}: embed gives the same vectors for different inputs")


def _in_chans(encoder: Encoder) -> int:
    """Input channels: len(spec.bands), else the first Conv2d's in_channels."""
    if encoder.spec.bands:
        return len(encoder.spec.bands)
    for module in encoder.modules():
        if isinstance(module, nn.Conv2d):
            return int(module.in_channels)
    raise ContractError(
        f"encoder {encoder.spec.name!r}: cannot tell its input channels; declare spec.bands"
    )


def check_task_spec(spec: TaskSpec) -> None:
    """Check that the facts of a task spec agree with each other; raise on the first problem.

    Checks: a lower-case id, a metric, a citation and a licence; at least two classes (one for
    detection and multilabel, none for regression); an ignore index that is not a class index; splits; unique layout names; every
    downloaded file has a published digest or the spec says why not (``checksum_note``).

    Raises:
        ContractError: naming the task and the broken promise.
    """
    who = f"task {spec.name!r}"
    problems: list[str] = []
    if spec.name != spec.name.strip().lower() or not spec.name:
        problems.append("its id must be lower-case without spaces")
    if not spec.metric:
        problems.append("it declares no metric")
    if not spec.citation:
        problems.append("it cites no source (citation)")
    if not spec.licence:
        problems.append("it states no licence")
    fewest = {"regression": 0, "detection": 1, "multilabel": 1}.get(spec.kind, 2)
    if spec.n_classes < fewest:
        problems.append(f"a {spec.kind} task needs at least {fewest} class(es)")
    if spec.ignore_index is not None and 0 <= spec.ignore_index < spec.n_classes:
        problems.append(f"ignore_index {spec.ignore_index} is a class index")
    if not spec.splits or len(set(spec.splits)) != len(spec.splits):
        problems.append(f"splits {spec.splits} must be non-empty and unique")
    names = [layout.name for layout in spec.layouts]
    if len(set(names)) != len(names):
        problems.append(f"layout names {names} are not unique")
    undigested = [f.filename for f in spec.files if not (f.sha256 or f.md5)]
    if undigested and not spec.checksum_note:
        problems.append(
            f"files {undigested} have no published digest and checksum_note does not say why"
        )
    _raise_problems(who, problems)


def check_task(task: Task, root: str | Path, *, max_samples: int = 3) -> None:
    """Check that a task's reader yields what its spec promises from ``root``; raise on a violation.

    Checks the spec (:func:`check_task_spec`), then every split: non-empty; the first
    ``max_samples`` samples have ``image`` (C, H, W) float32 with C = number of bands, finite;
    a str ``id``, unique; and the target of the task's kind: ``mask`` (H, W) int64 of class
    indices or the ignore index (segmentation); ``label`` a class index (classification,
    multiclass), class indices or a 0/1 vector of length K (multilabel), a finite number
    (regression); ``boxes`` (N, 4) finite ``x_min, y_min, x_max, y_max`` (detection).

    Args:
        task: the task.
        root: a folder holding its data (e.g. fake data written for the test).
        max_samples: samples checked per split.

    Raises:
        ContractError: naming the split, sample and broken promise.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     root = write_tiny_segmentation(tmp, n_per_split={"train": 2, "val": 1, "test": 1})
        ...     check_task(tiny_segmentation_task(), root)
    """
    spec = task.spec
    check_task_spec(spec)
    for split in spec.splits:
        ds = task.load(root, split)
        if len(ds) == 0:
            raise ContractError(f"task {spec.name!r}: split {split!r} is empty")
        seen: set[str] = set()
        for i in range(min(max_samples, len(ds))):
            sample = ds[i]
            where = f"task {spec.name!r} split {split!r} sample {i}"
            target = _TARGET_KEY[spec.kind]
            missing = {"image", "id", target} - set(sample)
            if missing:
                raise ContractError(f"{where}: missing keys {sorted(missing)}")
            img = np.asarray(sample["image"])
            n_bands = len(spec.bands)
            if img.ndim != 3 or img.dtype != np.float32 or (n_bands and img.shape[0] != n_bands):
                raise ContractError(
                    f"{where}: image has shape {img.shape} dtype {img.dtype}; expected "
                    f"({n_bands or 'C'}, H, W) float32"
                )
            if not np.isfinite(img).all():
                raise ContractError(f"{where}: image has non-finite values")
            _check_target(spec, sample[target], img.shape[1:], where)
            if not isinstance(sample["id"], str) or sample["id"] in seen:
                raise ContractError(f"{where}: id {sample['id']!r} is not a unique str")
            seen.add(sample["id"])


_TARGET_KEY: dict[str, str] = {
    "segmentation": "mask",
    "classification": "label",
    "multiclass": "label",
    "multilabel": "label",
    "regression": "label",
    "detection": "boxes",
}


def _check_target(spec: TaskSpec, value: Any, shape: tuple[int, ...], where: str) -> None:
    k = spec.n_classes
    arr = np.asarray(value)
    if spec.kind == "segmentation":
        if arr.shape != shape or arr.dtype != np.int64:
            raise ContractError(
                f"{where}: mask has shape {arr.shape} dtype {arr.dtype}; expected {shape} int64"
            )
        valid = (arr >= 0) & (arr < k)
        if spec.ignore_index is not None:
            valid |= arr == spec.ignore_index
        if not valid.all():
            raise ContractError(
                f"{where}: mask values {sorted(set(np.unique(arr[~valid]).tolist()))} are "
                f"outside [0, {k}) and not the ignore index {spec.ignore_index}"
            )
    elif spec.kind in ("classification", "multiclass"):
        if arr.ndim != 0 or not np.issubdtype(arr.dtype, np.integer) or not 0 <= int(arr) < k:
            raise ContractError(f"{where}: label {value!r} is not a class index in [0, {k})")
    elif spec.kind == "multilabel":
        ints = arr.ndim == 1 and (arr.size == 0 or np.issubdtype(arr.dtype, np.integer))
        multi_hot = ints and arr.shape == (k,) and set(np.unique(arr).tolist()) <= {0, 1}
        indices = ints and bool(((arr >= 0) & (arr < k)).all())
        if not (multi_hot or indices):
            raise ContractError(
                f"{where}: multilabel label {value!r} is neither class indices in [0, {k}) nor "
                f"a 0/1 vector of length {k}"
            )
    elif spec.kind == "regression":
        if not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr).all():
            raise ContractError(f"{where}: regression label {value!r} is not a finite number")
    else:  # detection
        if arr.ndim != 2 or arr.shape[1] != 4 or not np.isfinite(arr).all():
            raise ContractError(
                f"{where}: boxes have shape {arr.shape}; expected (N, 4) finite x_min, y_min, "
                "x_max, y_max"
            )
        if len(arr) and not ((arr[:, 0] <= arr[:, 2]) & (arr[:, 1] <= arr[:, 3])).all():
            raise ContractError(f"{where}: some boxes have x_min > x_max or y_min > y_max")


__all__ = [
    "CHECK_BANDS",
    "ContractError",
    "NpzSegmentationDataset",
    "TinyConvEncoder",
    "TinyViTEncoder",
    "check_encoder",
    "check_encoder_spec",
    "check_task",
    "check_task_spec",
    "read_npz_segmentation",
    "registered",
    "tiny_encoders",
    "tiny_segmentation_task",
    "write_tiny_segmentation",
]
