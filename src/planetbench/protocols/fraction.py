"""Label fractions: a reproducible, class-balanced share of a training split.

``fraction=0.1`` must mean the *same* images in every run. When the task publishes its own subset
(Mars-Bench's ``partitions/<p>x_partition.csv`` or ``partition_train_<p>x_partition`` split; the
training split then has a ``published_subset`` method), that subset is used, as published.
Otherwise the subset is drawn once by stratified sampling and saved as a hashed id list. Strata
are per-image class signatures (:func:`sample_strata`): for segmentation each image is put in the
stratum of its dominant class (the class with the largest share of its non-ignored pixels; images
with no labelled pixel form their own stratum); for classification the stratum is the class; for
multi-label classification and detection it is the image's rarest label/object class over the
split (images with none form their own stratum), so rare classes keep their share. Each stratum contributes its share of the
subset, rounded by the largest-remainder method (Hamilton apportionment) so the total is exactly
``max(1, round(fraction · N))``; within a stratum, images are drawn uniformly with a seeded
``np.random.Generator``.

The subset file is JSON::

    {"task": "...", "fraction": 0.1, "seed": 0, "n_total": 100, "ids": [...sorted...],
     "sha256": "<sha256 of the sorted ids joined by newlines>", "strata": {"0": 7, ...},
     "source": "planetbench"}

``source`` is ``planetbench`` for a drawn list and ``published: <file or split>`` for a subset
read from the task's published files (those are never saved: the published file is the record).

Two samplers draw the list, chosen by name (:data:`FRACTION_SAMPLERS`) and recorded in the subset
(``"sampler"``):

``default``
    the stratified draw above: dominant-class strata, exactly ``max(1, round(f · N))`` images.
``cryobench``
    PANGAEA's ``stratified`` segmentation sampler as Cryo-Bench runs it
    (``pangaea/utils/subset_sampler.py``, ``balance_seg_indices``): each image's class
    proportions (ignore index excluded) are binned into 3 bins per class, the stratum is the joint
    bin pattern, and every stratum gives ``int(max(1, n · f))`` images drawn by NumPy's legacy
    generator seeded with ``seed`` (:func:`pangaea_stratified_sample`). Small strata keep at
    least one image, so the subset can be much larger than ``f · N``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.registry import Registry
from planetbench.tasks.spec import SampleDataset, TaskKind

CACHE_ENV = "PLANETBENCH_CACHE"


def ids_sha256(ids: Sequence[str]) -> str:
    """sha256 (hex) of the sorted ids joined by newlines."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


@dataclass(frozen=True)
class FractionSubset:
    """A saved label fraction.

    Attributes:
        task: task id.
        fraction: share of the training split, in (0, 1].
        seed: seed of the draw.
        n_total: images in the full training split.
        ids: chosen sample ids, sorted.
        sha256: :func:`ids_sha256` of ``ids``.
        strata: stratum label → number of chosen images.
        source: ``planetbench`` (drawn here) or ``published: <file or split>``.
        sampler: the :data:`FRACTION_SAMPLERS` entry that drew it (``default`` for published
            subsets and whole splits, which no sampler draws).
    """

    task: str
    fraction: float
    seed: int
    n_total: int
    ids: tuple[str, ...]
    sha256: str
    strata: dict[str, int] = field(default_factory=dict, compare=False)
    source: str = "planetbench"
    sampler: str = "default"

    def save(self, path: str | Path) -> Path:
        """Write the subset as JSON to ``path`` (parents created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["ids"] = list(self.ids)
        path.write_text(json.dumps(data, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> FractionSubset:
        """Read a subset file and verify its sha256.

        Raises:
            InvalidInputError: unreadable file, missing fields or a checksum mismatch.
        """
        path = Path(path)
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            subset = cls(
                task=str(data["task"]),
                fraction=float(data["fraction"]),
                seed=int(data["seed"]),
                n_total=int(data["n_total"]),
                ids=tuple(data["ids"]),
                sha256=str(data["sha256"]),
                strata=dict(data.get("strata", {})),
                source=str(data.get("source", "planetbench")),
                sampler=str(data.get("sampler", "default")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"label-fraction file {path} is unreadable ({exc.__class__.__name__}: {exc}); "
                "delete it to draw the subset again"
            ) from exc
        if ids_sha256(subset.ids) != subset.sha256:
            raise InvalidInputError(
                f"label-fraction file {path}: the ids do not match its sha256 "
                f"{subset.sha256[:12]}…; "
                "the file was edited or corrupted — delete it to draw the subset again"
            )
        return subset


def image_strata(
    masks: Sequence[np.ndarray], n_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """Stratum of each image: its dominant class id, or -1 when it has no labelled pixel.

    Args:
        masks: per-image label maps (H, W), int.
        n_classes: number of classes K.
        ignore_index: label excluded from the proportions.

    Returns:
        int64 array of shape (n_images,).
    """
    out = np.empty(len(masks), dtype=np.int64)
    for i, m in enumerate(masks):
        m = np.asarray(m).ravel()
        if ignore_index is not None:
            m = m[m != ignore_index]
        m = m[(m >= 0) & (m < n_classes)]
        out[i] = np.bincount(m, minlength=n_classes).argmax() if m.size else -1
    return out


def sample_targets(dataset: SampleDataset) -> tuple[list[str], list[np.ndarray]]:
    """Every sample's id and target, without decoding images where the dataset allows it.

    Uses ``dataset.sample_id(i)`` and ``dataset.target(i)`` when the dataset has them (the Mars
    tasks do), else ``dataset[i]`` and its ``mask``, ``label`` or ``labels`` entry.
    """
    ids: list[str] = []
    targets: list[np.ndarray] = []
    fast = hasattr(dataset, "target") and hasattr(dataset, "sample_id")
    for i in range(len(dataset)):
        if fast:
            ids.append(str(dataset.sample_id(i)))  # type: ignore[attr-defined]
            targets.append(np.asarray(dataset.target(i)))  # type: ignore[attr-defined]
            continue
        s = dataset[i]
        ids.append(str(s["id"]))
        key = next((k for k in ("mask", "label", "labels") if k in s), None)
        if key is None:
            raise InvalidInputError(
                f"sample {i} has none of mask, label, labels; cannot stratify a label budget"
            )
        targets.append(np.asarray(s[key]))
    if len(set(ids)) != len(ids):
        raise InvalidInputError("training sample ids are not unique")
    return ids, targets


def presence_matrix(targets: Sequence[np.ndarray], kind: TaskKind, n_classes: int,
                    ignore_index: int | None = None) -> np.ndarray:
    """bool (n, K): which classes each sample holds (label, multi-hot, mask pixels or boxes)."""
    out = np.zeros((len(targets), max(1, n_classes)), dtype=bool)
    for i, t in enumerate(targets):
        t = np.asarray(t)
        if kind == "multilabel":
            out[i, : t.size] = t.ravel() > 0
            continue
        v = t.ravel()
        if ignore_index is not None:
            v = v[v != ignore_index]
        v = v[(v >= 0) & (v < n_classes)].astype(np.int64)
        out[i, np.unique(v)] = True
    return out


def sample_strata(targets: Sequence[np.ndarray], kind: TaskKind, n_classes: int,
                  ignore_index: int | None = None) -> np.ndarray:
    """Stratum of each sample for a label fraction, by task kind.

    * ``classification``/``multiclass``: the class;
    * ``segmentation``: the dominant class (:func:`image_strata`);
    * ``multilabel``/``detection``: the rarest class present (by its number of samples in the
      split), -1 when none is;
    * ``regression``: one stratum (0).

    Returns:
        int64 array of shape (n,).
    """
    if kind in ("classification", "multiclass"):
        return np.asarray([int(np.asarray(t).item()) for t in targets], dtype=np.int64)
    if kind == "segmentation":
        return image_strata(targets, n_classes, ignore_index)
    if kind == "regression":
        return np.zeros(len(targets), dtype=np.int64)
    present = presence_matrix(targets, kind, n_classes, ignore_index)
    freq = present.sum(axis=0)
    out = np.full(len(targets), -1, dtype=np.int64)
    for i, row in enumerate(present):
        cls = np.flatnonzero(row)
        if cls.size:
            out[i] = cls[np.lexsort((cls, freq[cls]))[0]]
    return out


def stratified_sample(strata: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of a stratified random sample of ``max(1, round(fraction · N))`` items.

    Args:
        strata: stratum label of each item, shape (N,).
        fraction: share to keep, in (0, 1].
        seed: seed of the ``np.random.Generator``.

    Returns:
        Sorted int64 indices.

    Raises:
        InvalidInputError: ``fraction`` outside (0, 1] or no items.
    """
    strata = np.asarray(strata)
    n = strata.size
    _check_fraction(fraction, n)
    if fraction == 1.0:
        return np.arange(n, dtype=np.int64)
    target = max(1, round(fraction * n))
    labels, counts = np.unique(strata, return_counts=True)
    quota = counts * target / n
    take = np.floor(quota).astype(np.int64)
    remainder = quota - take
    # Largest remainder first; ties broken by the larger stratum, then by label (deterministic).
    order = np.lexsort((labels, -counts, -remainder))
    for j in order[: target - int(take.sum())]:
        take[j] += 1
    rng = np.random.default_rng(seed)
    chosen = []
    for label, k in zip(labels, take, strict=False):
        members = np.flatnonzero(strata == label)
        chosen.append(rng.choice(members, size=int(k), replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


# ----------------------------------------------------------------- PANGAEA's stratified sampler

#: Bins per class proportion of PANGAEA's stratified sampler (``stratification_bins`` in
#: Cryo-Bench's and PANGAEA's ``configs/train.yaml``).
PANGAEA_BINS = 3


def class_proportions(
    masks: Sequence[np.ndarray], n_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """Share of each class among each mask's pixels, as PANGAEA computes it.

    Pixels equal to ``ignore_index`` are dropped first; the share of class k is its pixel count
    over the remaining pixels (so values that are neither a class nor the ignore index lower
    every share). A mask with no remaining pixel gets all zeros.

    Args:
        masks: per-image label maps (H, W), int.
        n_classes: number of classes K.
        ignore_index: label excluded from the counts.

    Returns:
        float64 array of shape (n_images, K).

    Example:
        >>> class_proportions([np.array([[0, 0, 1, 255]])], 2, 255).tolist()
        [[0.6666666666666666, 0.3333333333333333]]
    """
    out = np.zeros((len(masks), n_classes), dtype=np.float64)
    for i, mask in enumerate(masks):
        m = np.asarray(mask).ravel()
        if ignore_index is not None:
            m = m[m != ignore_index]
        if m.size == 0:
            continue
        counts = np.array([np.count_nonzero(m == k) for k in range(n_classes)], dtype=np.float64)
        out[i] = counts / m.size
    return out


def proportion_bins(proportions: np.ndarray, n_bins: int = PANGAEA_BINS) -> np.ndarray:
    """PANGAEA's bin of each class proportion: ``ceil(p / (1 / n_bins)) - 1``.

    With 3 bins: a proportion of 0 gets bin -1 (class absent), (0, 1/3] bin 0, (1/3, 2/3] bin 1
    and (2/3, 1] bin 2. The bin width is ``np.linspace(0, 1, n_bins + 1)[1]`` in float64, as in
    PANGAEA's ``bin_class_distributions``.

    Args:
        proportions: shares in [0, 1], any shape.
        n_bins: bins over [0, 1].

    Returns:
        int64 array of the same shape.

    Example:
        >>> proportion_bins(np.array([0.0, 0.2, 1 / 3, 0.5, 0.9, 1.0])).tolist()
        [-1, 0, 0, 1, 2, 2]
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise InvalidInputError(f"n_bins must be a positive integer; got {n_bins!r}")
    width = np.linspace(0.0, 1.0, n_bins + 1)[1]
    return np.ceil(np.asarray(proportions, dtype=np.float64) / width).astype(np.int64) - 1


def bin_pattern(row: Sequence[int]) -> str:
    """The stratum name of a row of bins: PANGAEA joins the bins' decimal strings.

    Example:
        >>> bin_pattern([2, -1, 0])
        '2-10'
    """
    return "".join(str(int(b)) for b in row)


def pangaea_stratified_sample(
    bins: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, list[str]]:
    """Draw PANGAEA's stratified subset from per-image bin rows.

    Strata are the distinct rows of ``bins``, taken in the order of their first image. From a
    stratum of ``n`` images, ``int(max(1, n · fraction))`` are drawn without replacement by
    ``np.random.RandomState(seed).choice`` (one generator for all strata, in that order): the
    calls PANGAEA's ``balance_seg_indices`` makes on NumPy's global generator after
    ``np.random.seed(seed)``.

    Args:
        bins: int array (n_images, K) from :func:`proportion_bins`.
        fraction: share to keep, in (0, 1].
        seed: seed of the legacy NumPy generator (PANGAEA's ``cfg.seed``).

    Returns:
        ``(chosen, strata)``: image indices in the order drawn, and the stratum name
        (:func:`bin_pattern`) of every image.

    Raises:
        InvalidInputError: ``fraction`` outside (0, 1], no images, or ``bins`` not 2-D.
    """
    bins = np.asarray(bins)
    if bins.ndim != 2:
        raise InvalidInputError(f"bins must have shape (n_images, n_classes); got {bins.shape}")
    _check_fraction(fraction, bins.shape[0])
    names = [bin_pattern(row) for row in bins.tolist()]
    members: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        members.setdefault(name, []).append(i)
    rng = np.random.RandomState(seed)
    chosen: list[int] = []
    for indices in members.values():
        k = int(max(1, len(indices) * fraction))
        chosen.extend(int(i) for i in rng.choice(np.asarray(indices, dtype=np.int64), k,
                                                 replace=False))
    return np.asarray(chosen, dtype=np.int64), names


def _check_fraction(fraction: float, n: int) -> None:
    if not 0.0 < fraction <= 1.0:
        raise InvalidInputError(
            f"fraction={fraction!r} is the share of the training split and must lie in (0, 1]"
        )
    if n == 0:
        raise InvalidInputError("cannot draw a label fraction from an empty training split")


# ---------------------------------------------------------------------------- named samplers

SamplerDraw = Callable[
    [Sequence[np.ndarray], TaskKind, int, int | None, float, int], tuple[np.ndarray, list[str]]
]
"""``draw(targets, kind, n_classes, ignore_index, fraction, seed) -> (chosen, strata)``: image
indices of the subset and the stratum name of every image."""


@dataclass(frozen=True)
class FractionSampler:
    """A named way to draw a label fraction.

    Attributes:
        name: registry id (recorded in :attr:`FractionSubset.sampler`).
        description: what it does, in one sentence (shown in listings).
        draw: the drawing function (see :data:`SamplerDraw`).
    """

    name: str
    description: str
    draw: SamplerDraw


def _draw_default(
    targets: Sequence[np.ndarray], kind: TaskKind, n_classes: int, ignore_index: int | None,
    fraction: float, seed: int,
) -> tuple[np.ndarray, list[str]]:
    strata = sample_strata(targets, kind, n_classes, ignore_index)
    return stratified_sample(strata, fraction, seed), [str(s) for s in strata.tolist()]


def _draw_cryobench(
    targets: Sequence[np.ndarray], kind: TaskKind, n_classes: int, ignore_index: int | None,
    fraction: float, seed: int,
) -> tuple[np.ndarray, list[str]]:
    if kind != "segmentation":
        raise InvalidInputError(
            f"fraction sampler 'cryobench' reproduces PANGAEA's segmentation sampler; a {kind} "
            "task needs sampler 'default'"
        )
    bins = proportion_bins(class_proportions(targets, n_classes, ignore_index))
    return pangaea_stratified_sample(bins, fraction, seed)


FRACTION_SAMPLERS: Registry[FractionSampler] = Registry("fraction sampler")
"""The label-fraction samplers, by name (``default``, ``cryobench``)."""

FRACTION_SAMPLERS.register(
    "default",
    FractionSampler(
        "default",
        "strata by dominant class (rarest label for multi-label/detection), exactly "
        "max(1, round(f·N)) images apportioned by largest remainder",
        _draw_default,
    ),
)
FRACTION_SAMPLERS.register(
    "cryobench",
    FractionSampler(
        "cryobench",
        "PANGAEA/Cryo-Bench stratified segmentation sampler: 3 bins per class proportion, strata "
        "= joint bin pattern, int(max(1, n·f)) images per stratum (legacy NumPy generator)",
        _draw_cryobench,
    ),
)


def draw_fraction(
    dataset: SampleDataset,
    *,
    task: str,
    fraction: float,
    seed: int,
    n_classes: int,
    ignore_index: int | None = None,
    kind: TaskKind = "segmentation",
    sampler: str = "default",
) -> FractionSubset:
    """Draw a stratified label fraction of a training split (reads every target once).

    Args:
        dataset: the training split (items with a target and ``id``), in its reader's order
            (the ``cryobench`` sampler depends on it, as PANGAEA's on its file order).
        task: task id recorded in the subset.
        fraction: share to keep, in (0, 1].
        seed: seed of the draw.
        n_classes: number of classes K.
        ignore_index: label excluded from the class proportions.
        kind: the task kind, which sets the strata (:func:`sample_strata`).
        sampler: a :data:`FRACTION_SAMPLERS` name (did-you-mean on a miss).
    """
    chosen_sampler = FRACTION_SAMPLERS.get(sampler)
    ids, targets = sample_targets(dataset)
    chosen, strata = chosen_sampler.draw(targets, kind, n_classes, ignore_index, fraction, seed)
    chosen_ids = tuple(sorted(ids[i] for i in chosen.tolist()))
    labels, counts = np.unique(np.asarray([strata[i] for i in chosen.tolist()]),
                               return_counts=True)
    return FractionSubset(
        task=task,
        fraction=float(fraction),
        seed=int(seed),
        n_total=len(ids),
        ids=chosen_ids,
        sha256=ids_sha256(chosen_ids),
        strata={str(k): int(v) for k, v in zip(labels, counts, strict=True)},
        sampler=chosen_sampler.name,
    )


def published_indices(dataset: SampleDataset, published: SampleDataset) -> list[int]:
    """Indices into ``dataset`` of the samples of a published subset of it.

    Samples are matched by id; when ids differ (Hugging Face rows without stored file names),
    by the sha256 of the stored image bytes (``image_digest``).

    Raises:
        InvalidInputError: a published sample that is not in ``dataset``.
    """
    full_ids = dataset_ids(dataset)
    position = {v: i for i, v in enumerate(full_ids)}
    sub_ids = dataset_ids(published)
    if all(i in position for i in sub_ids):
        return sorted(position[i] for i in sub_ids)
    digest = getattr(dataset, "image_digest", None)
    sub_digest = getattr(published, "image_digest", None)
    if digest is not None and sub_digest is not None:
        try:
            by_digest = {digest(i): i for i in range(len(dataset))}
            found = [by_digest.get(sub_digest(j)) for j in range(len(published))]
        except NotImplementedError:
            found = [None]
        if all(f is not None for f in found):
            return sorted(int(f) for f in found)  # type: ignore[arg-type]
    missing = [i for i in sub_ids if i not in position]
    raise InvalidInputError(
        f"the published subset names {len(missing)} sample(s) absent from the training split "
        f"(e.g. {missing[:3]}); the budget file does not belong to these files"
    )


def dataset_ids(dataset: SampleDataset) -> list[str]:
    """Every sample id of ``dataset`` (its ``ids`` attribute when present)."""
    ids = getattr(dataset, "ids", None)
    if ids is not None:
        return [str(i) for i in ids]
    return [str(dataset[i]["id"]) for i in range(len(dataset))]


def published_fraction(dataset: SampleDataset, task: str, fraction: float,
                       seed: int) -> tuple[list[int], FractionSubset] | None:
    """The task's published subset for ``fraction`` as indices + record, or None."""
    opener = getattr(dataset, "published_subset", None)
    if opener is None:
        return None
    published = opener(fraction=fraction)
    if published is None:
        return None
    indices = published_indices(dataset, published)
    ids = tuple(sorted(dataset_ids(published)))
    return indices, FractionSubset(
        task=task, fraction=float(fraction), seed=int(seed), n_total=len(dataset), ids=ids,
        sha256=ids_sha256(ids), source=f"published: {getattr(published, 'source', '?')}",
    )


def default_fraction_dir() -> Path:
    """``$PLANETBENCH_CACHE/fractions`` if set, else the user cache directory's ``fractions``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env) / "fractions"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("planetbench")) / "fractions"


def fraction_path(
    directory: str | Path, task: str, fraction: float, seed: int, sampler: str = "default"
) -> Path:
    """Where the subset of (task, fraction, seed, sampler) is saved.

    The ``default`` sampler's files keep their original name; other samplers add their name.
    """
    suffix = "" if sampler == "default" else f"-{sampler}"
    return Path(directory) / task / f"fraction-{fraction:g}-seed{seed}{suffix}.json"


def select_fraction(
    dataset: SampleDataset,
    *,
    task: str,
    fraction: float,
    seed: int,
    n_classes: int,
    ignore_index: int | None = None,
    directory: str | Path | None = None,
    kind: TaskKind = "segmentation",
    sampler: str = "default",
) -> tuple[list[int], FractionSubset]:
    """Indices into ``dataset`` of the label fraction: the published one when the task publishes
    it, else the saved drawn list, drawn and saved the first time.

    Args:
        dataset: the training split.
        task: task id.
        fraction: share in (0, 1]; 1.0 returns every index (nothing is saved).
        seed: seed of the draw (keep it fixed across run seeds so all runs share the images).
        n_classes: number of classes K.
        ignore_index: label excluded from the class proportions.
        directory: folder of subset files (default :func:`default_fraction_dir`).
        kind: the task kind, which sets the strata (:func:`sample_strata`).
        sampler: a :data:`FRACTION_SAMPLERS` name, recorded in the subset (at fraction 1 and for
            published subsets nothing is drawn; the name is still recorded).

    Returns:
        ``(indices, subset)``: sorted dataset indices and the subset record.

    Raises:
        UnknownNameError: ``sampler`` is not registered (did-you-mean).
        InvalidInputError: a saved subset names ids that are not in ``dataset``, was drawn from a
            split of a different size or by another sampler.
    """
    sampler = FRACTION_SAMPLERS.get(sampler).name
    if fraction == 1.0:
        ids = tuple(sorted(dataset_ids(dataset)))
        return list(range(len(dataset))), FractionSubset(
            task=task,
            fraction=1.0,
            seed=int(seed),
            n_total=len(ids),
            ids=ids,
            sha256=ids_sha256(ids),
            sampler=sampler,
        )
    published = published_fraction(dataset, task, fraction, seed)
    if published is not None:
        indices, record = published
        return indices, dataclasses.replace(record, sampler=sampler)
    path = fraction_path(directory or default_fraction_dir(), task, fraction, seed, sampler)
    if path.exists():
        subset = FractionSubset.load(path)
        if subset.sampler != sampler:
            raise InvalidInputError(
                f"label-fraction file {path} was drawn by sampler {subset.sampler!r}, not "
                f"{sampler!r}; delete the file to draw the subset again"
            )
    else:
        subset = draw_fraction(
            dataset,
            task=task,
            fraction=fraction,
            seed=seed,
            n_classes=n_classes,
            ignore_index=ignore_index,
            kind=kind,
            sampler=sampler,
        )
        subset.save(path)
    position = {v: i for i, v in enumerate(dataset_ids(dataset))}
    if subset.n_total != len(position):
        raise InvalidInputError(
            f"label-fraction file {path} was drawn from {subset.n_total} training images but the "
            f"split now has {len(position)}; delete the file to draw the subset again"
        )
    missing = [i for i in subset.ids if i not in position]
    if missing:
        raise InvalidInputError(
            f"label-fraction file {path} names ids absent from the training split (e.g. "
            f"{missing[:3]}); delete the file to draw the subset again"
        )
    return sorted(position[i] for i in subset.ids), subset
