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
from planetbench.errors import DatasetNotFoundError, InvalidInputError
from planetbench.registry import Registry
from planetbench.tasks.bands import RGB, Band
from planetbench.tasks.spec import Task, TaskSpec

T = TypeVar("T")

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
        synthetic=True,
    )
    return Task(spec=spec, reader=read_npz_segmentation)


# ------------------------------------------------------------------------------ contract checks


def check_encoder(encoder: Encoder, *, size: int | None = None, batch_size: int = 2) -> None:
    """Check that an encoder honours its spec on a random batch; raise on the first violation.

    Checks: ``features`` returns one map per declared stride with the declared channels and
    spatial size ``size / stride``; ``embed`` returns (B, embed_dim); outputs are finite; eval-mode
    outputs are deterministic.

    Args:
        encoder: the encoder (its ``spec`` is read).
        size: input side in pixels (default ``spec.input_size``).
        batch_size: images in the random batch.

    Raises:
        InvalidInputError: naming the first broken promise.
    """
    spec = encoder.spec
    size = size or spec.input_size
    first = next(iter(encoder.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    in_chans = _in_chans(encoder)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, in_chans, size, size, generator=gen).to(device)
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            maps = encoder.features(x)
            again = encoder.features(x)
            emb = encoder.embed(x)
    finally:
        encoder.train(was_training)
    who = f"encoder {spec.name!r}"
    if len(maps) != len(spec.feature_strides) or len(maps) != len(spec.feature_channels):
        raise InvalidInputError(
            f"{who}: features returned {len(maps)} maps but the spec declares strides "
            f"{spec.feature_strides} and channels {spec.feature_channels}"
        )
    levels = zip(maps, spec.feature_strides, spec.feature_channels, strict=True)
    for i, (m, s, c) in enumerate(levels):
        want = (batch_size, c, size // s, size // s)
        if tuple(m.shape) != want:
            raise InvalidInputError(f"{who}: map {i} has shape {tuple(m.shape)}, spec says {want}")
        if not torch.isfinite(m).all():
            raise InvalidInputError(f"{who}: map {i} has non-finite values")
        if not torch.equal(m, again[i]):
            raise InvalidInputError(f"{who}: map {i} differs between two eval-mode calls")
    if tuple(emb.shape) != (batch_size, spec.embed_dim):
        raise InvalidInputError(
            f"{who}: embed returned shape {tuple(emb.shape)}, spec says ({batch_size}, "
            f"{spec.embed_dim})"
        )


def _in_chans(encoder: Encoder) -> int:
    """Input channels: len(spec.bands), else the first Conv2d's in_channels."""
    if encoder.spec.bands:
        return len(encoder.spec.bands)
    for module in encoder.modules():
        if isinstance(module, nn.Conv2d):
            return int(module.in_channels)
    raise InvalidInputError(
        f"encoder {encoder.spec.name!r}: cannot tell its input channels; declare spec.bands"
    )


def check_task(task: Task, root: str | Path, *, max_samples: int = 3) -> None:
    """Check that a segmentation task's reader yields what its spec promises; raise on a violation.

    Checks every split: non-empty; samples have ``image`` (C, H, W) float32 with C = number of
    bands, ``mask`` (H, W) int64 with values in [0, K) or the ignore index, and a str ``id``;
    ids are unique within the first ``max_samples`` samples.

    Raises:
        InvalidInputError: naming the split, sample and broken promise.
    """
    spec = task.spec
    for split in spec.splits:
        ds = task.load(root, split)
        if len(ds) == 0:
            raise InvalidInputError(f"task {spec.name!r}: split {split!r} is empty")
        seen: set[str] = set()
        for i in range(min(max_samples, len(ds))):
            s = ds[i]
            where = f"task {spec.name!r} split {split!r} sample {i}"
            missing = {"image", "mask", "id"} - set(s)
            if missing:
                raise InvalidInputError(f"{where}: missing keys {sorted(missing)}")
            img, mask = np.asarray(s["image"]), np.asarray(s["mask"])
            if img.ndim != 3 or img.shape[0] != len(spec.bands) or img.dtype != np.float32:
                raise InvalidInputError(
                    f"{where}: image has shape {img.shape} dtype {img.dtype}; expected "
                    f"({len(spec.bands)}, H, W) float32"
                )
            if mask.shape != img.shape[1:] or mask.dtype != np.int64:
                raise InvalidInputError(
                    f"{where}: mask has shape {mask.shape} dtype {mask.dtype}; expected "
                    f"{img.shape[1:]} int64"
                )
            valid = (mask >= 0) & (mask < spec.n_classes)
            if spec.ignore_index is not None:
                valid |= mask == spec.ignore_index
            if not valid.all():
                raise InvalidInputError(
                    f"{where}: mask values {sorted(set(np.unique(mask[~valid]).tolist()))} are "
                    f"outside [0, {spec.n_classes}) and not the ignore index {spec.ignore_index}"
                )
            if not isinstance(s["id"], str) or s["id"] in seen:
                raise InvalidInputError(f"{where}: id {s['id']!r} is not a unique str")
            seen.add(s["id"])


__all__ = [
    "NpzSegmentationDataset",
    "TinyConvEncoder",
    "TinyViTEncoder",
    "check_encoder",
    "check_task",
    "read_npz_segmentation",
    "registered",
    "tiny_encoders",
    "tiny_segmentation_task",
    "write_tiny_segmentation",
]
