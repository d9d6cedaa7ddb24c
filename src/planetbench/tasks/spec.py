"""TaskSpec: the frozen, declarative description of a benchmark task."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import Band

TaskKind = Literal[
    "segmentation", "classification", "multiclass", "multilabel", "detection", "regression"
]
TASK_KINDS: tuple[str, ...] = (
    "segmentation",
    "classification",
    "multiclass",
    "multilabel",
    "detection",
    "regression",
)


@dataclass(frozen=True)
class RemoteFile:
    """One file a task is made of, as published.

    Attributes:
        url: where it is downloaded from.
        filename: name it gets under the task's root folder.
        sha256: published SHA-256 hex digest, or ``""`` if none is published.
        md5: published MD5 hex digest (some hosts publish only this), or ``""``.
        part_of: for split archives, the name of the whole archive the parts are joined into, in
            the order they are listed.
        extract: unpack the file (or the joined archive) into the root after download.
    """

    url: str
    filename: str
    sha256: str = ""
    md5: str = ""
    part_of: str | None = None
    extract: bool = True


@dataclass(frozen=True)
class Layout:
    """One accepted on-disk arrangement of a task's files under its root folder (``--root``).

    A reader accepts every layout its spec lists (e.g. a dataset as its authors ship it and as a
    benchmark's loader expects it) and names them all when the data is not found.

    Attributes:
        name: short id of the layout, e.g. ``"cryobench"`` or ``"torchgeo"``.
        pattern: the arrangement as paths under the root, shown in errors and by
            ``planetbench data info``: ``"root/<split>/images/<stem>.tif + ..."``.
        image_folder: for image/mask folder layouts, the image folder inside ``root/<split>``
            ('' for other layouts).
        mask_folder: the mask folder inside ``root/<split>`` ('' for other layouts).
    """

    name: str
    pattern: str
    image_folder: str = ""
    mask_folder: str = ""


@dataclass(frozen=True)
class PublishedStats:
    """Band statistics published for some of a task's bands, kept for reference.

    Attributes:
        source: where they are published.
        band_names: the bands they describe, in order.
        mean: per-band mean.
        std: per-band standard deviation.
    """

    source: str
    band_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class TaskSpec:
    """What a task is, independent of where its files live.

    Attributes:
        name: registry id (lower-case), e.g. ``"caffe"`` or ``"biomass_mean__regr"``.
        suite: ``cryo``, ``mars``, ``neuco`` or ``demo``.
        kind: one of :data:`TASK_KINDS` (``classification`` means binary).
        metric: main metric name, e.g. ``"miou"``, ``"r2"``, ``"f1_macro"``.
        higher_is_better: direction of ``metric``.
        classes: class names (empty for regression).
        bands: input bands in the order the reader yields them.
        ignore_index: label value excluded from losses and metrics, if any.
        splits: split names the reader provides.
        band_mean: per-band mean of the training split (same order as ``bands``), if published.
        band_std: per-band standard deviation, if published.
        licence: data licence (SPDX id where there is one).
        citation: how to cite the dataset.
        url: where the data is downloaded from.
        sha256: checksum of the download archive.
        synthetic: True for generated demo data, shown wherever results appear.
        files: the files the task is downloaded as (empty: one file from ``url``).
        layouts: the on-disk layouts its reader accepts, preferred first.
        checksum_note: which checksums are published, or why none is.
        split_note: how the ``val`` split is made when it is not upstream ('' when it is).
        evaluation_note: how the task is evaluated, where it differs from the obvious.
        published_stats: statistics published for some bands only (``band_mean``/``band_std``
            are then None), kept for reference.
        benchmark_citation: the benchmark whose task list this task comes from, if any.
        tile_option: the reader option that sets a sliding-window tile side ('' when the
            reader yields whole samples); runs set it to their input size.
    """

    name: str
    suite: str
    kind: TaskKind
    metric: str
    higher_is_better: bool = True
    classes: tuple[str, ...] = ()
    bands: tuple[Band, ...] = ()
    ignore_index: int | None = None
    splits: tuple[str, ...] = ("train", "val", "test")
    band_mean: tuple[float, ...] | None = None
    band_std: tuple[float, ...] | None = None
    licence: str = ""
    citation: str = ""
    url: str = ""
    sha256: str = ""
    synthetic: bool = False
    files: tuple[RemoteFile, ...] = ()
    layouts: tuple[Layout, ...] = ()
    checksum_note: str = ""
    split_note: str = ""
    evaluation_note: str = ""
    published_stats: PublishedStats | None = None
    benchmark_citation: str = ""
    tile_option: str = ""

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise InvalidInputError(
                f"task {self.name!r}: kind {self.kind!r} is not one of {', '.join(TASK_KINDS)}"
            )
        n = len(self.bands)
        for label, stats in (("band_mean", self.band_mean), ("band_std", self.band_std)):
            if stats is not None and len(stats) != n:
                raise InvalidInputError(
                    f"task {self.name!r}: {label} has {len(stats)} values but there are {n} bands"
                )

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.classes)

    @property
    def layout_description(self) -> str:
        """The accepted layouts in words ('' when none is declared)."""
        return " or ".join(layout.pattern for layout in self.layouts)

    @property
    def band_names(self) -> tuple[str, ...]:
        """Names of the input bands, in order."""
        return tuple(b.name for b in self.bands)


class Reader(Protocol):
    """Reads one split of a task from its upstream on-disk layout.

    A reader is called as ``reader(root, split, **options)`` and returns a sized, indexable dataset
    whose items are dicts of NumPy arrays: ``"image"`` of shape (C, H, W) float32 in the order of
    ``TaskSpec.bands``, ``"id"`` (str), and the target: ``"mask"`` (H, W) int64 for segmentation,
    ``"label"`` for classification/regression, ``"boxes"`` for detection.
    """

    def __call__(self, root: Path, split: str, **options: Any) -> SampleDataset: ...


class SampleDataset(Protocol):
    """A split of a task: ``len(ds)`` samples, ``ds[i]`` a dict of NumPy arrays (see Reader)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Task:
    """A TaskSpec paired with the reader of its upstream layout."""

    spec: TaskSpec
    reader: Reader

    def load(self, root: str | Path, split: str, **options: Any) -> SampleDataset:
        """Open ``split`` of this task from ``root``."""
        if split not in self.spec.splits:
            raise InvalidInputError(
                f"task {self.spec.name!r} has no split {split!r}; "
                f"available: {', '.join(self.spec.splits)}"
            )
        return self.reader(Path(root), split, **options)
