"""Label budgets of a task in one call: a training fraction or a k-shot set, as a dataset view.

:func:`select_budget` opens the full training split, takes the task's published subset when
there is one (Mars-Bench's partition and few-shot files) and otherwise planetbench's own saved
stratified list (:mod:`planetbench.protocols.fraction`, :mod:`planetbench.protocols.kshot`), and
returns a :class:`SubsetView` of the training split together with the record of what was chosen
(its ``source`` says ``published: …`` or ``planetbench``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.protocols.fraction import FractionSubset, dataset_ids, select_fraction
from planetbench.protocols.kshot import KShotSubset, select_kshot
from planetbench.tasks.spec import SampleDataset, Task


class SubsetView:
    """The samples ``indices`` of ``dataset``, as a dataset (``ids`` and ``target`` kept).

    Args:
        dataset: the full split.
        indices: positions in ``dataset``, in the order to yield them.
    """

    def __init__(self, dataset: SampleDataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = tuple(int(i) for i in indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index`` of the view."""
        return self.dataset[self.indices[index]]

    @property
    def ids(self) -> tuple[str, ...]:
        """Sample ids of the view."""
        full = dataset_ids(self.dataset)
        return tuple(full[i] for i in self.indices)

    def sample_id(self, index: int) -> str:
        """The id of sample ``index`` of the view."""
        return self.ids[index]

    def target(self, index: int) -> np.ndarray:
        """The target of sample ``index`` (via the dataset's ``target`` or its sample dict)."""
        target = getattr(self.dataset, "target", None)
        if target is not None:
            return np.asarray(target(self.indices[index]))
        s = self.dataset[self.indices[index]]
        return np.asarray(next(s[k] for k in ("mask", "label", "labels") if k in s))


def select_budget(
    task: Task,
    root: str | Path,
    *,
    fraction: float | None = None,
    shots: int | None = None,
    seed: int = 0,
    directory: str | Path | None = None,
    **reader_options: Any,
) -> tuple[SubsetView, FractionSubset | KShotSubset]:
    """The training subset of a label budget: published when the task publishes it, else drawn.

    Args:
        task: the task.
        root: its data root.
        fraction: share of the training split in (0, 1], or None.
        shots: images per class, or None (give exactly one of fraction and shots).
        seed: seed of a drawn list (keep it fixed across run seeds).
        directory: where drawn lists are saved (default: the label-fraction cache folder).
        **reader_options: passed to ``task.load`` (e.g. ``box_format``).

    Returns:
        ``(view, record)``: the subset of the training split and its record.
    """
    if (fraction is None) == (shots is None):
        raise InvalidInputError("select_budget needs exactly one of fraction= and shots=")
    spec = task.spec
    train = task.load(root, "train", **reader_options)
    if fraction is not None:
        indices, record = select_fraction(
            train, task=spec.name, fraction=fraction, seed=seed, n_classes=spec.n_classes,
            ignore_index=spec.ignore_index, directory=directory, kind=spec.kind,
        )
        return SubsetView(train, indices), record
    kindices, krecord = select_kshot(
        train, task=spec.name, kind=spec.kind, shots=int(shots or 0), seed=seed, n_classes=spec.n_classes,
        ignore_index=spec.ignore_index, directory=directory,
    )
    return SubsetView(train, kindices), krecord


__all__ = ["SubsetView", "select_budget"]
