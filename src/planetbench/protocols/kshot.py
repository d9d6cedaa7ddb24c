"""k-shot training sets: k labelled images per class, reproducible, saved as hashed id lists.

When the task publishes its own k-shot set (Mars-Bench's ``few_shot/<k>_shot.csv`` or
``few_shot_train_<k>_shot`` split, classification only), that set is used as published. Otherwise
a set is drawn once with a seeded ``np.random.Generator`` and saved (JSON, same form as the label
fractions of :mod:`planetbench.protocols.fraction`, with ``shots`` instead of ``fraction``):

* single-label classification (:func:`kshot_sample`): exactly ``k`` images of each class (all of a
  class's images when it has fewer, with a warning and the shortfall recorded);
* multi-label classification, segmentation and detection (:func:`kshot_cover`): classes are
  visited from the rarest to the most common (by number of images holding them); for each, images
  holding it are added in a seeded random order until ``k`` chosen images hold it. Every class is
  then present in at least ``k`` chosen images (more where classes co-occur); for segmentation a
  class "holds" when any pixel has it (background included), for detection when a box has it, so
  images without objects are never chosen for their own sake.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.protocols.fraction import (
    dataset_ids,
    default_fraction_dir,
    ids_sha256,
    presence_matrix,
    published_indices,
    sample_targets,
)
from planetbench.tasks.spec import SampleDataset, TaskKind


@dataclass(frozen=True)
class KShotSubset:
    """A saved k-shot training set.

    Attributes:
        task: task id.
        shots: images per class asked for (k).
        seed: seed of the draw.
        n_total: images in the full training split.
        ids: chosen sample ids, sorted.
        sha256: :func:`~planetbench.protocols.fraction.ids_sha256` of ``ids``.
        per_class: class index → chosen images holding that class.
        short: class index → images available, for classes with fewer than ``shots``.
        source: ``planetbench`` (drawn here) or ``published: <file or split>``.
    """

    task: str
    shots: int
    seed: int
    n_total: int
    ids: tuple[str, ...]
    sha256: str
    per_class: dict[str, int] = field(default_factory=dict, compare=False)
    short: dict[str, int] = field(default_factory=dict, compare=False)
    source: str = "planetbench"

    def save(self, path: str | Path) -> Path:
        """Write the set as JSON to ``path`` (parents created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["ids"] = list(self.ids)
        path.write_text(json.dumps(data, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> KShotSubset:
        """Read a k-shot file and verify its sha256.

        Raises:
            InvalidInputError: unreadable file, missing fields or a checksum mismatch.
        """
        path = Path(path)
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            subset = cls(
                task=str(data["task"]), shots=int(data["shots"]), seed=int(data["seed"]),
                n_total=int(data["n_total"]), ids=tuple(data["ids"]),
                sha256=str(data["sha256"]), per_class=dict(data.get("per_class", {})),
                short=dict(data.get("short", {})), source=str(data.get("source", "planetbench")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"k-shot file {path} is unreadable ({exc.__class__.__name__}: {exc}); delete it "
                "to draw the set again"
            ) from exc
        if ids_sha256(subset.ids) != subset.sha256:
            raise InvalidInputError(
                f"k-shot file {path}: the ids do not match its sha256 {subset.sha256[:12]}…; the "
                "file was edited or corrupted — delete it to draw the set again"
            )
        return subset


def _check_shots(shots: int) -> None:
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise InvalidInputError(f"shots={shots!r} must be a positive integer (images per class)")


def kshot_sample(labels: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Indices of exactly ``shots`` items per class (all of a class that has fewer).

    Args:
        labels: class index of each item, shape (N,).
        shots: items per class, k >= 1.
        seed: seed of the ``np.random.Generator``.

    Returns:
        Sorted int64 indices.
    """
    _check_shots(shots)
    labels = np.asarray(labels)
    if labels.size == 0:
        raise InvalidInputError("cannot draw a k-shot set from an empty training split")
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        chosen.append(rng.choice(members, size=min(shots, members.size), replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def kshot_cover(present: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Indices such that every class is held by at least ``shots`` chosen items (greedy).

    Args:
        present: bool (N, K), which classes each item holds.
        shots: items per class, k >= 1.
        seed: seed of the ``np.random.Generator``.

    Returns:
        Sorted int64 indices (classes held by fewer than k items contribute all of theirs).
    """
    _check_shots(shots)
    present = np.asarray(present, dtype=bool)
    if present.shape[0] == 0:
        raise InvalidInputError("cannot draw a k-shot set from an empty training split")
    rng = np.random.default_rng(seed)
    order = rng.permutation(present.shape[0])
    chosen = np.zeros(present.shape[0], dtype=bool)
    freq = present.sum(axis=0)
    for cls in np.lexsort((np.arange(present.shape[1]), freq)):
        if freq[cls] == 0:
            continue
        need = shots - int(present[chosen, cls].sum())
        for i in order:
            if need <= 0:
                break
            if present[i, cls] and not chosen[i]:
                chosen[i] = True
                need -= 1
    return np.flatnonzero(chosen).astype(np.int64)


def draw_kshot(
    dataset: SampleDataset, *, task: str, kind: TaskKind, shots: int, seed: int,
    n_classes: int, ignore_index: int | None = None,
) -> KShotSubset:
    """Draw a k-shot set of a training split (reads every target once; see the module docstring).

    Raises:
        InvalidInputError: regression tasks (no classes), bad ``shots``, empty split.
    """
    if kind == "regression":
        raise InvalidInputError(f"task {task!r} is a regression task: k-shot needs classes")
    ids, targets = sample_targets(dataset)
    present = presence_matrix(targets, kind, n_classes, ignore_index)
    if kind in ("classification", "multiclass"):
        labels = np.asarray([int(np.asarray(t).item()) for t in targets])
        chosen = kshot_sample(labels, shots, seed)
    else:
        chosen = kshot_cover(present, shots, seed)
    available = present.sum(axis=0)
    short = {str(c): int(available[c]) for c in range(present.shape[1])
             if 0 < available[c] < shots}
    absent = [c for c in range(n_classes) if available[c] == 0]
    if short or absent:
        warnings.warn(
            f"task {task!r}: {shots}-shot set: class(es) {sorted(short)} have fewer images than "
            f"{shots} (all taken) and class(es) {absent} none in the training split",
            UserWarning, stacklevel=2,
        )
    chosen_ids = tuple(sorted(ids[i] for i in chosen))
    per_class = present[chosen].sum(axis=0)
    return KShotSubset(
        task=task, shots=int(shots), seed=int(seed), n_total=len(ids), ids=chosen_ids,
        sha256=ids_sha256(chosen_ids),
        per_class={str(c): int(v) for c, v in enumerate(per_class) if v},
        short=short,
    )


def kshot_path(directory: str | Path, task: str, shots: int, seed: int) -> Path:
    """Where the k-shot set of (task, shots, seed) is saved."""
    return Path(directory) / task / f"shots-{shots}-seed{seed}.json"


def select_kshot(
    dataset: SampleDataset, *, task: str, kind: TaskKind, shots: int, seed: int,
    n_classes: int, ignore_index: int | None = None, directory: str | Path | None = None,
) -> tuple[list[int], KShotSubset]:
    """Indices into ``dataset`` of the k-shot set: the published one when the task publishes it,
    else the saved drawn set, drawn and saved the first time.

    Args:
        dataset: the full training split.
        task: task id.
        kind: the task kind (sets the sampler; see the module docstring).
        shots: images per class.
        seed: seed of the draw (keep it fixed across run seeds so all runs share the images).
        n_classes: number of classes K.
        ignore_index: label excluded from segmentation masks.
        directory: folder of saved sets (default: the label-fraction cache folder).

    Raises:
        InvalidInputError: a saved set names ids absent from ``dataset`` or was drawn from a split
            of a different size.
    """
    _check_shots(shots)
    opener = getattr(dataset, "published_subset", None)
    published = opener(shots=shots) if opener is not None else None
    if published is not None:
        indices = published_indices(dataset, published)
        pub_ids = tuple(sorted(dataset_ids(published)))
        return indices, KShotSubset(
            task=task, shots=int(shots), seed=int(seed), n_total=len(dataset), ids=pub_ids,
            sha256=ids_sha256(pub_ids), source=f"published: {getattr(published, 'source', '?')}",
        )
    path = kshot_path(directory or default_fraction_dir(), task, shots, seed)
    if path.exists():
        subset = KShotSubset.load(path)
    else:
        subset = draw_kshot(dataset, task=task, kind=kind, shots=shots, seed=seed,
                            n_classes=n_classes, ignore_index=ignore_index)
        subset.save(path)
    position = {v: i for i, v in enumerate(dataset_ids(dataset))}
    if subset.n_total != len(position):
        raise InvalidInputError(
            f"k-shot file {path} was drawn from {subset.n_total} training images but the split "
            f"now has {len(position)}; delete the file to draw the set again"
        )
    missing = [i for i in subset.ids if i not in position]
    if missing:
        raise InvalidInputError(
            f"k-shot file {path} names ids absent from the training split (e.g. {missing[:3]}); "
            "delete the file to draw the set again"
        )
    return sorted(position[i] for i in subset.ids), subset


__all__ = [
    "KShotSubset",
    "draw_kshot",
    "kshot_cover",
    "kshot_path",
    "kshot_sample",
    "select_kshot",
]
