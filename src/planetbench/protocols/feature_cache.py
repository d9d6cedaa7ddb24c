"""Frozen-feature cache: run a frozen encoder once per image and keep its maps in fp16.

In the frozen protocol the encoder's output for an image never changes, so recomputing it every
epoch is wasted work. :class:`FeatureCache` stores every feature level as one array of shape
(N, C_i, H_i, W_i) in float16, either in memory (a torch tensor) or memory-mapped on disk
(:class:`numpy.memmap`, one ``.f16`` file per level). The decoder then trains on cached maps.

The cache is only valid when the encoder input of an image is the same every epoch. Augmentation
that changes encoder inputs (flips, crops, colour jitter) therefore disables the cache; the
protocol does that explicitly with :func:`cache_decision`, records it and warns.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from planetbench.errors import InvalidInputError

CacheStorage = Literal["memory", "disk", "none"]
CACHE_STORAGES: tuple[str, ...] = ("memory", "disk", "none")


@dataclass(frozen=True)
class CacheDecision:
    """Whether the feature cache is used, and why not when it is not.

    Attributes:
        storage: the storage actually used (``none`` when disabled).
        requested: the storage asked for.
        reason: why the cache is off ("" when on or not requested).
    """

    storage: CacheStorage
    requested: CacheStorage
    reason: str = ""

    @property
    def enabled(self) -> bool:
        """True when features are cached."""
        return self.storage != "none"


def cache_decision(requested: str, *, augment: bool) -> CacheDecision:
    """Decide whether the frozen-feature cache can be used; warn when augmentation disables it.

    Args:
        requested: ``memory``, ``disk`` or ``none``.
        augment: True when training augmentation changes the encoder inputs.

    Raises:
        InvalidInputError: ``requested`` is not a known storage.
    """
    if requested not in CACHE_STORAGES:
        raise InvalidInputError(
            f"feature cache {requested!r} is not one of {', '.join(CACHE_STORAGES)}"
        )
    if requested != "none" and augment:
        reason = (
            "feature cache disabled: augmentation changes the encoder inputs every epoch, so "
            "features are recomputed (set augment=False to cache them)"
        )
        warnings.warn(reason, UserWarning, stacklevel=2)
        return CacheDecision("none", requested, reason)  # type: ignore[arg-type]
    return CacheDecision(requested, requested)  # type: ignore[arg-type]


@dataclass
class FeatureCache:
    """Feature maps of N images, one float16 array (N, C_i, H_i, W_i) per level.

    Build with :meth:`build`; read batches with :meth:`get`. Call :meth:`close` (or use it as a
    context manager) to delete disk files.

    Attributes:
        levels: per-level arrays (torch tensors in memory, ``np.memmap`` on disk).
        storage: ``memory`` or ``disk``.
        directory: folder of the memory-mapped files (disk storage only).
        seconds: time spent building the cache.
    """

    levels: list[Tensor | np.memmap] = field(default_factory=list)
    storage: CacheStorage = "memory"
    directory: Path | None = None
    seconds: float = 0.0
    _owns_directory: bool = False

    @classmethod
    def build(
        cls,
        encode: Callable[[Tensor], list[Tensor]],
        batches: Iterable[Tensor],
        n_images: int,
        *,
        storage: CacheStorage = "memory",
        directory: str | Path | None = None,
    ) -> FeatureCache:
        """Run ``encode`` once over every batch and store the maps.

        Args:
            encode: maps an input batch (B, C, H, W) to a list of maps (B, C_i, H_i, W_i); it is
                called under ``torch.no_grad``.
            batches: input batches in dataset order, covering ``n_images`` images in total.
            n_images: total number of images N.
            storage: ``memory`` or ``disk``.
            directory: parent folder for disk files (default: a new temporary folder).

        Raises:
            InvalidInputError: unknown storage, or the batches do not cover ``n_images`` images.
        """
        import time

        if storage not in ("memory", "disk"):
            raise InvalidInputError(f"cache storage must be 'memory' or 'disk', got {storage!r}")
        start = time.perf_counter()
        cache = cls(storage=storage)
        if storage == "disk":
            parent = Path(directory) if directory is not None else None
            if parent is not None:
                parent.mkdir(parents=True, exist_ok=True)
            cache.directory = Path(tempfile.mkdtemp(prefix="pb-features-", dir=parent))
            cache._owns_directory = True
        offset = 0
        with torch.no_grad():
            for x in batches:
                maps = encode(x)
                if not cache.levels:
                    cache.levels = [cache._allocate(i, m, n_images) for i, m in enumerate(maps)]
                b = maps[0].shape[0]
                if offset + b > n_images:
                    raise InvalidInputError(f"batches hold more than n_images={n_images} images")
                for store, m in zip(cache.levels, maps, strict=False):
                    half = m.detach().to("cpu", torch.float16)
                    if isinstance(store, np.memmap):
                        store[offset : offset + b] = half.numpy()
                    else:
                        store[offset : offset + b] = half
                offset += b
        if offset != n_images:
            raise InvalidInputError(f"batches held {offset} images but n_images is {n_images}")
        for store in cache.levels:
            if isinstance(store, np.memmap):
                store.flush()
        cache.seconds = time.perf_counter() - start
        return cache

    def _allocate(self, index: int, example: Tensor, n: int) -> Tensor | np.memmap:
        shape = (n, *example.shape[1:])
        if self.storage == "disk":
            if self.directory is None:
                raise RuntimeError("disk cache has no directory; build it with FeatureCache.build")
            path = self.directory / f"level{index}.f16"
            return np.memmap(path, dtype=np.float16, mode="w+", shape=shape)
        return torch.empty(shape, dtype=torch.float16)

    def __len__(self) -> int:
        return int(self.levels[0].shape[0]) if self.levels else 0

    @property
    def nbytes(self) -> int:
        """Bytes held by all levels."""
        return int(sum(int(np.prod(s.shape)) * 2 for s in self.levels))

    def get(
        self,
        indices: Sequence[int] | Tensor,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> list[Tensor]:
        """Maps of the images at ``indices``, as (B, C_i, H_i, W_i) tensors on ``device``."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        out = []
        for store in self.levels:
            if isinstance(store, np.memmap):
                t = torch.from_numpy(np.ascontiguousarray(store[np.sort(idx.numpy())]))
                order = torch.argsort(torch.argsort(idx))  # undo the sort for memmap fancy-indexing
                t = t[order]
            else:
                t = store[idx]
            out.append(t.to(device=device, dtype=dtype, non_blocking=True))
        return out

    def close(self) -> None:
        """Drop the arrays and delete the disk files this cache created."""
        self.levels = []
        if self._owns_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> FeatureCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
