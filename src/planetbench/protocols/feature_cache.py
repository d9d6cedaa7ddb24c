"""Frozen-feature cache: run a frozen encoder once per image and keep its maps in fp16.

In the frozen protocol the encoder's output for an image never changes, so recomputing it every
epoch is wasted work. :class:`FeatureCache` stores every feature level as one array of shape
(N, C_i, H_i, W_i) in float16, where a *cache mode* from :data:`CACHE_MODES` puts it: ``memory``
(a torch tensor), ``disk`` (:class:`numpy.memmap`, one ``.f16`` file per level) or ``none``
(no cache: features are recomputed every epoch). A plugin can register another mode (entry-point
group ``planetbench.cache_modes``) whose allocator returns a tensor or a memmap. The decoder then
trains on cached maps.

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

import numpy as np
import torch
from torch import Tensor

from planetbench.errors import InvalidInputError
from planetbench.registry import Registry

#: ``allocate(shape, directory, level)``: a float16 array of ``shape`` for feature level
#: ``level`` (``directory`` is the cache's own folder for modes that need one, else None).
Allocator = Callable[[tuple[int, ...], "Path | None", int], "Tensor | np.memmap"]


@dataclass(frozen=True)
class CacheMode:
    """Where a feature cache keeps its maps.

    Attributes:
        description: one line for listings and messages.
        allocate: makes the array of one level (see :data:`Allocator`); None for a mode that
            caches nothing (``none``).
        needs_directory: the mode writes files (it gets a temporary folder of its own).
    """

    description: str
    allocate: Allocator | None
    needs_directory: bool = False

    @property
    def caches(self) -> bool:
        """True when the mode stores features."""
        return self.allocate is not None


def _allocate_memory(shape: tuple[int, ...], directory: Path | None, level: int) -> Tensor:
    return torch.empty(shape, dtype=torch.float16)


def _allocate_disk(shape: tuple[int, ...], directory: Path | None, level: int) -> np.memmap:
    if directory is None:
        raise RuntimeError("disk cache has no directory; build it with FeatureCache.build")
    return np.memmap(directory / f"level{level}.f16", dtype=np.float16, mode="w+", shape=shape)


#: Cache modes by name: ``memory``, ``disk``, ``none`` and any plugin's.
CACHE_MODES: Registry[CacheMode] = Registry(
    "feature cache mode", entry_point_group="planetbench.cache_modes"
)
CACHE_MODES.register("memory", CacheMode("fp16 tensors in memory", _allocate_memory))
CACHE_MODES.register(
    "disk", CacheMode("fp16 memory-mapped files in a temporary folder", _allocate_disk,
                      needs_directory=True)
)
CACHE_MODES.register("none", CacheMode("no cache: features recomputed every epoch", None))


@dataclass(frozen=True)
class CacheDecision:
    """Whether the feature cache is used, and why not when it is not.

    Attributes:
        storage: the storage actually used (``none`` when disabled).
        requested: the storage asked for.
        reason: why the cache is off ("" when on or not requested).
    """

    storage: str
    requested: str
    reason: str = ""

    @property
    def enabled(self) -> bool:
        """True when features are cached."""
        return self.storage != "none"


def cache_decision(requested: str, *, augment: bool) -> CacheDecision:
    """Decide whether the frozen-feature cache can be used; warn when augmentation disables it.

    Args:
        requested: a cache mode of :data:`CACHE_MODES` (``memory``, ``disk``, ``none`` …).
        augment: True when training augmentation changes the encoder inputs.

    Raises:
        UnknownNameError: ``requested`` is not a registered cache mode (with near misses).
    """
    if not CACHE_MODES.get(requested).caches:
        return CacheDecision(requested, requested)
    if augment:
        reason = (
            "feature cache disabled: augmentation changes the encoder inputs every epoch, so "
            "features are recomputed (set augment=False to cache them)"
        )
        warnings.warn(reason, UserWarning, stacklevel=2)
        return CacheDecision("none", requested, reason)
    return CacheDecision(requested, requested)


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
    storage: str = "memory"
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
        storage: str = "memory",
        directory: str | Path | None = None,
    ) -> FeatureCache:
        """Run ``encode`` once over every batch and store the maps.

        Args:
            encode: maps an input batch (B, C, H, W) to a list of maps (B, C_i, H_i, W_i); it is
                called under ``torch.no_grad``.
            batches: input batches in dataset order, covering ``n_images`` images in total.
            n_images: total number of images N.
            storage: a cache mode that stores features (``memory``, ``disk`` or a plugin's).
            directory: parent folder of the mode's own folder, for modes that write files
                (default: the system's temporary folder).

        Raises:
            UnknownNameError: ``storage`` is not a registered cache mode.
            InvalidInputError: the mode caches nothing (``none``), or the batches do not cover
                ``n_images`` images.
        """
        import time

        mode = CACHE_MODES.get(storage)
        if not mode.caches:
            raise InvalidInputError(
                f"cache mode {storage!r} stores nothing; build a FeatureCache with a mode that "
                f"does ({', '.join(n for n, m in CACHE_MODES.items() if m.caches)})"
            )
        start = time.perf_counter()
        cache = cls(storage=storage)
        if mode.needs_directory:
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
        allocate = CACHE_MODES.get(self.storage).allocate
        if allocate is None:
            raise RuntimeError(f"cache mode {self.storage!r} allocates nothing")
        return allocate((n, *example.shape[1:]), self.directory, index)

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
