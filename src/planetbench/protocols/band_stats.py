"""Per-band statistics of a task's images and the standardisation they define.

One path for every consumer: the dense protocols (``planetbench run``) and
:func:`planetbench.embedding.embed.embed_task` (``planetbench embed``) both standardise an image
band by band as ``(x − mean) / std`` (float32) with a :class:`BandStats` that comes either from the
task's published statistics (:attr:`TaskSpec.band_mean` / :attr:`TaskSpec.band_std`) or from
:func:`band_statistics` over training images, so the same data gives the same encoder inputs in
both.

Constant bands: a band whose standard deviation is at most :data:`CONSTANT_BAND_RTOL` times the
magnitude of its mean (a zero std included) is *constant*; its std is taken as 1, so it
standardises to ``x − mean`` (about 0) instead of amplifying rounding noise. The tolerance sits
well above what the one-pass moment formula can leave in the std of a truly constant band
(about ``sqrt(n · ε₆₄) · |mean|`` over n accumulated images) and at the relative resolution of the
float32 images themselves (ε₃₂ ≈ 1.2e-7), so no band with a real spread is affected. Scikit-learn's
``StandardScaler`` follows the same idea (a scale within floating-point error of zero becomes 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.tasks.spec import SampleDataset, TaskSpec

if TYPE_CHECKING:  # torch is imported where images are standardised, not on import
    import torch
    from torch import Tensor

#: A band is constant when its std is at most this share of |mean| (see the module docstring).
CONSTANT_BAND_RTOL = 1e-6


@dataclass(frozen=True, eq=False)
class BandStats:
    """Per-band mean and standard deviation used to standardise a task's images.

    Build with :meth:`from_moments` (applies the constant-band rule), :func:`band_statistics`
    or :func:`task_band_stats`.

    Attributes:
        mean: per-band mean, float64 of shape (C,).
        std: per-band standard deviation, float64 of shape (C,), every value > 0 (constant bands
            hold 1).
        source: where the values come from: ``"task"`` (published with the task) or ``"train"``
            (computed over training images).
        constant: indices of the bands found constant (their std was replaced by 1).
    """

    mean: np.ndarray
    std: np.ndarray
    source: str
    constant: tuple[int, ...] = ()

    @classmethod
    def from_moments(
        cls, mean: Sequence[float] | np.ndarray, std: Sequence[float] | np.ndarray, *, source: str
    ) -> BandStats:
        """Statistics from per-band means and stds, constant bands given std 1.

        Raises:
            InvalidInputError: shapes differ, a value is not finite, or a std is negative.
        """
        m = np.asarray(mean, dtype=np.float64)
        s = np.asarray(std, dtype=np.float64)
        if m.ndim != 1 or m.shape != s.shape or m.size == 0:
            raise InvalidInputError(
                f"band statistics need one mean and one std per band; got {m.size} mean(s) and "
                f"{s.size} std(s)"
            )
        if not (np.isfinite(m).all() and np.isfinite(s).all()) or (s < 0).any():
            raise InvalidInputError(
                f"band statistics ({source}) must be finite with std ≥ 0; got mean {m.tolist()}, "
                f"std {s.tolist()}"
            )
        constant = s <= CONSTANT_BAND_RTOL * np.abs(m)
        return cls(
            mean=m,
            std=np.where(constant, 1.0, s),
            source=source,
            constant=tuple(int(i) for i in np.flatnonzero(constant)),
        )

    @property
    def n_bands(self) -> int:
        """Number of bands C."""
        return int(self.mean.size)

    def check_bands(self, n_bands: int) -> None:
        """Raise unless the statistics have one value per band of images with ``n_bands`` bands.

        Raises:
            InvalidInputError: the counts differ.
        """
        if n_bands != self.n_bands:
            raise InvalidInputError(
                f"band statistics ({self.source}) have {self.n_bands} values but the images have "
                f"{n_bands} bands; fix band_mean/band_std or the task's bands"
            )

    def note(self) -> str:
        """One line saying where the statistics come from (recorded with a run)."""
        text = f"band statistics from the {self.source}"
        if self.constant:
            text += f"; constant band(s) {list(self.constant)} standardised with std 1"
        return text


class Standardiser:
    """Standardises images band by band with one :class:`BandStats`: ``(x − mean) / std``.

    Args:
        stats: the statistics.
        device: where the images will be (the statistics are moved there once).
    """

    def __init__(self, stats: BandStats, device: torch.device | str | None = None) -> None:
        import torch

        self.stats = stats
        self.mean = torch.as_tensor(stats.mean, dtype=torch.float32, device=device)[:, None, None]
        self.std = torch.as_tensor(stats.std, dtype=torch.float32, device=device)[:, None, None]

    def __call__(self, images: Tensor) -> Tensor:
        """Standardised float32 images: (C, H, W) or (B, C, H, W) in, same shape out."""
        return (images.to(self.mean.dtype) - self.mean) / self.std


def images_of(dataset: SampleDataset, indices: Iterable[int] | None = None) -> Iterator[np.ndarray]:
    """The ``image`` arrays (C, H, W) of ``dataset`` (all items, or those at ``indices``)."""
    for i in range(len(dataset)) if indices is None else indices:
        yield np.asarray(dataset[i]["image"])


def band_statistics(images: Iterable[np.ndarray], *, source: str = "train") -> BandStats:
    """Per-band mean and standard deviation over every pixel of ``images``.

    Args:
        images: arrays of shape (C, H, W), e.g. :func:`images_of` a training split; sizes may
            differ, band counts may not.
        source: where the images come from, recorded in the result.

    Returns:
        The :class:`BandStats` (float64; constant bands get std 1, see the module docstring).

    Raises:
        InvalidInputError: no images, or images with different band counts.
    """
    total = sq = None
    count = 0
    for image in images:
        flat = np.asarray(image, dtype=np.float64)
        flat = flat.reshape(flat.shape[0], -1)
        s, q = flat.sum(axis=1), (flat**2).sum(axis=1)
        if total is not None and s.shape != total.shape:
            raise InvalidInputError(
                f"images have different band counts ({total.size} and {s.size}); every image of "
                "a task must have the task's bands"
            )
        total = s if total is None else total + s
        sq = q if sq is None else sq + q
        count += flat.shape[1]
    if total is None or sq is None or count == 0:
        raise InvalidInputError("cannot compute band statistics of an empty training split")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 0.0))
    return BandStats.from_moments(mean, std, source=source)


def published_band_stats(spec: TaskSpec) -> BandStats | None:
    """The task's published statistics as :class:`BandStats`, or None when it has none."""
    if spec.band_mean is None or spec.band_std is None:
        return None
    return BandStats.from_moments(spec.band_mean, spec.band_std, source="task")


__all__ = [
    "CONSTANT_BAND_RTOL",
    "BandStats",
    "Standardiser",
    "band_statistics",
    "images_of",
    "published_band_stats",
]
