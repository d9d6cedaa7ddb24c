"""Mars-Bench classification readers: single-label, change pairs and multi-label.

Zenodo layout (Mars-Bench's ``marsbench/data/classification/*.py``): ``annotation.csv`` rows with
``split == <split>``; the image of a row is ``data/<split>/<feature_name>/<file_id>``
(multi-label: ``data/<split>/<file_id>``, ``label`` a list literal such as ``"[1, 4, 5]"``).
Change pairs: the row names the *before* image and the *after* image is the same path with
``before`` replaced by ``after`` (replaced in the path below the dataset folder, so a root whose
name contains "before" still works); both are single-band and are stacked as Mars-Bench stacks
them, channels ``(zeros, after, before)``.

Hugging Face layouts: columns ``image`` and ``label`` (an int, a ``ClassLabel``; for multi-label
an index list, its string form or a 0/1 vector of length n_labels, any of which Mars-Bench's own
HF reader fails on). Change pairs on the Hub are read as one image converted to RGB, as
Mars-Bench's HF reader does (a pre-stacked 3-channel image reproduces the Zenodo input; whether
the Hub copies are pre-stacked is not known, so a grey one is reported with a warning).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import DatasetNotFoundError, LabelFileError
from planetbench.tasks.mars.base import (
    VALID_IMAGE_SUFFIXES,
    BudgetRequest,
    Context,
    MarsSplit,
    missing_error,
    open_hf_split,
    pil,
    read_csv,
    read_mapping,
    read_rgb,
    rgb_from_pil,
    unique_ids,
    warn_note,
    zenodo_budget_csv,
)
from planetbench.tasks.readers.hf import HFRows, cell_digest, decode_image

# ------------------------------------------------------------------------------------ labels


def parse_label(value: Any, n_classes: int, where: str) -> int:
    """A single-label class index, checked to lie in [0, n_classes)."""
    try:
        label = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError as exc:
        raise LabelFileError(f"{where}: label {value!r} is not an integer class index") from exc
    if not 0 <= label < n_classes:
        raise LabelFileError(
            f"{where}: label {label} is outside 0..{n_classes - 1} ({n_classes} classes)"
        )
    return label


def parse_multilabel(value: Any, n_labels: int, where: str) -> np.ndarray:
    """A multi-hot int64 (n_labels,) vector from an index list, its string form or a 0/1 vector.

    A list of length ``n_labels`` holding only 0 and 1 is read as a 0/1 vector; any other list as
    label indices (an index list of that length would need every index 0..n-1, so the two never
    coincide for n > 2).
    """
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip()) if value.strip() else []
        except (ValueError, SyntaxError) as exc:
            raise LabelFileError(
                f"{where}: label {value!r} is not a list of label indices such as '[1, 4]'"
            ) from exc
    if isinstance(value, (int, np.integer)):
        value = [int(value)]
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise LabelFileError(f"{where}: label {value!r} is not a list of label indices")
    items = [int(v) for v in value]
    out = np.zeros(n_labels, dtype=np.int64)
    if len(items) == n_labels and set(items) <= {0, 1} and n_labels > 2:
        out[:] = items
        return out
    bad = [i for i in items if not 0 <= i < n_labels]
    if bad:
        raise LabelFileError(f"{where}: label indices {bad} are outside 0..{n_labels - 1}")
    out[items] = 1
    return out


# ------------------------------------------------------------------------------ Zenodo layout


class ZenodoClassification(MarsSplit):
    """Rows of ``annotation.csv`` (or of a budget CSV) for one split; see the module docstring.

    Attributes:
        paths: image file per sample (the *before* image for change pairs).
        labels: int64 (n,) class indices, or (n, n_labels) 0/1 for multi-label.
    """

    def __init__(self, ctx: Context, split: str, source: str, budget: BudgetRequest | None,
                 paths: Sequence[Path], labels: np.ndarray, ids: Sequence[str]) -> None:
        super().__init__(ctx.spec, ctx.info, split, ctx.layout, source, budget)
        self.folder = ctx.folder
        self.paths = tuple(paths)
        self.labels = labels
        self._ids = tuple(ids)

    def __len__(self) -> int:
        return len(self.paths)

    def sample_id(self, index: int) -> str:
        """The id of sample ``index``: the image file stem (or its path when stems repeat)."""
        return self._ids[self._check_index(index)]

    def target(self, index: int) -> np.ndarray:
        """The label of sample ``index`` (int64 scalar, or (n_labels,) 0/1)."""
        return np.asarray(self.labels[self._check_index(index)], dtype=np.int64)

    def after_path(self, index: int) -> Path:
        """The *after* image of change pair ``index``."""
        before = self.paths[self._check_index(index)]
        rel = before.relative_to(self.folder)
        return self.folder / Path(str(rel).replace("before", "after"))

    def _image(self, index: int) -> np.ndarray:
        if self.info.family != "change":
            return read_rgb(self.paths[index])
        return read_change_pair(self.paths[index], self.after_path(index))

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index`` (see :class:`~planetbench.tasks.mars.base.MarsSplit`)."""
        index = self._check_index(index)
        return {"image": self._image(index), "label": self.target(index), "id": self._ids[index]}


def read_change_pair(before: Path, after: Path) -> np.ndarray:
    """A before/after pair stacked as Mars-Bench stacks it: float32 (3, H, W) = (0, after, before).

    Both files are read without mode conversion and must be single-band of one size.
    """
    image_mod = pil()
    layers = []
    for path in (after, before):
        if not path.is_file():
            raise DatasetNotFoundError(
                f"change pair image {path} is absent (the 'after' image is the 'before' path "
                "with 'before' replaced by 'after')"
            )
        try:
            with image_mod.open(path) as img:
                arr = np.asarray(img)
        except (OSError, ValueError) as exc:
            raise LabelFileError(f"cannot read image {path}: {exc}") from exc
        if arr.ndim != 2:
            raise LabelFileError(
                f"change pair image {path} has shape {arr.shape}; Mars-Bench stacks two "
                "single-band images, so each must be one band (H, W)"
            )
        layers.append(arr)
    if layers[0].shape != layers[1].shape:
        raise LabelFileError(
            f"change pair {before.name}: before {layers[1].shape} and after {layers[0].shape} "
            "differ in size"
        )
    zeros = np.zeros_like(layers[0])
    return np.stack([zeros, layers[0], layers[1]]).astype(np.float32)


def _class_names_from_rows(features: Sequence[str], labels: Sequence[int],
                           n_classes: int) -> tuple[str, ...] | None:
    """Class names by index when every label has exactly one ``feature_name`` (and all appear)."""
    names: dict[int, set[str]] = {}
    for f, lab in zip(features, labels, strict=True):
        names.setdefault(lab, set()).add(f)
    if sorted(names) != list(range(n_classes)) or any(len(v) != 1 for v in names.values()):
        return None
    return tuple(next(iter(names[i])) for i in range(n_classes))


def open_zenodo(ctx: Context, split: str, budget: BudgetRequest | None,
                options: dict[str, Any]) -> ZenodoClassification:
    """Open one split of a classification task in the Zenodo layout."""
    del options
    spec, info = ctx.spec, ctx.info
    csv = zenodo_budget_csv(ctx, budget) or ctx.folder / "annotation.csv"
    if not csv.is_file():
        raise missing_error(spec, info, ctx.folder.parent, f"{str(csv)!r} is absent")
    multilabel = info.family == "multilabel"
    columns = ("file_id", "label", "split") if multilabel else (
        "file_id", "feature_name", "label", "split")
    df = read_csv(csv, columns, "annotation file")
    rows = df[df["split"] == split]
    if rows.empty:
        raise missing_error(
            spec, info, ctx.folder.parent,
            f"{str(csv)!r} has no rows with split == {split!r} (splits present: "
            f"{', '.join(sorted(set(df['split'])))})",
        )
    file_ids = [str(v) for v in rows["file_id"]]
    data = ctx.folder / "data" / split
    if multilabel:
        paths = [data / f for f in file_ids]
        labels = np.stack([parse_multilabel(v, spec.n_classes, f"{csv.name} row {f!r}")
                           for v, f in zip(rows["label"], file_ids, strict=True)])
        rel = file_ids
    else:
        features = [str(v) for v in rows["feature_name"]]
        paths = [data / c / f for c, f in zip(features, file_ids, strict=True)]
        labels = np.asarray([parse_label(v, spec.n_classes, f"{csv.name} row {f!r}")
                             for v, f in zip(rows["label"], file_ids, strict=True)],
                            dtype=np.int64)
        rel = [f"{c}/{f}" for c, f in zip(features, file_ids, strict=True)]
    bad = [p.name for p in paths if p.suffix.lower() not in VALID_IMAGE_SUFFIXES]
    if bad:
        raise LabelFileError(
            f"task {spec.name!r}: {csv.name} names file(s) without an image suffix "
            f"({', '.join(VALID_IMAGE_SUFFIXES)}), e.g. {', '.join(bad[:3])}"
        )
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise missing_error(
            spec, info, ctx.folder.parent,
            f"{len(absent)} of the {len(paths)} images {csv.name} lists for split {split!r} are "
            f"absent, e.g. {str(absent[0])!r}",
        )
    ids = unique_ids([Path(f).stem for f in file_ids], rel, f"{csv}")
    ds = ZenodoClassification(ctx, split, str(csv), budget, paths, labels, ids)
    ds.class_names = read_mapping(ctx.folder, spec.n_classes)
    if ds.class_names is None and not multilabel:
        full = df[df["split"].isin(["train", "val", "test"])]
        ds.class_names = _class_names_from_rows(
            [str(v) for v in full["feature_name"]],
            [parse_label(v, spec.n_classes, csv.name) for v in full["label"]],
            spec.n_classes,
        )
    return ds


# -------------------------------------------------------------------------- Hugging Face


class HFClassification(MarsSplit):
    """A classification split stored as Hugging Face rows (columns ``image`` and ``label``).

    Attributes:
        rows: the lazy rows.
        labels: int64 (n,) class indices, or (n, n_labels) 0/1 for multi-label.
    """

    def __init__(self, ctx: Context, split: str, source: str, budget: BudgetRequest | None,
                 rows: HFRows, labels: np.ndarray, ids: Sequence[str]) -> None:
        super().__init__(ctx.spec, ctx.info, split, ctx.layout, source, budget)
        self.rows = rows
        self.labels = labels
        self._ids = tuple(ids)
        self._warned_grey = False

    def __len__(self) -> int:
        return len(self.rows)

    def image_digest(self, index: int) -> str:
        """sha256 of the stored image bytes of row ``index``."""
        return cell_digest(self.rows.cell(self._check_index(index), "image"))

    def sample_id(self, index: int) -> str:
        """The id of row ``index``: the image's stored file stem, else ``<split name>-<row>``."""
        return self._ids[self._check_index(index)]

    def target(self, index: int) -> np.ndarray:
        """The label of row ``index``."""
        return np.asarray(self.labels[self._check_index(index)], dtype=np.int64)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index`` (see :class:`~planetbench.tasks.mars.base.MarsSplit`)."""
        index = self._check_index(index)
        where = f"task {self.spec.name!r} {self.source} row {index}"
        img = decode_image(self.rows.cell(index, "image"), where, mode=None)
        if self.info.family == "change" and img.mode != "RGB" and not self._warned_grey:
            self._warned_grey = True
            warn_note(self, f"{where}: the change pair is stored as one {img.mode} image, not "
                      "pre-stacked (zeros, after, before); it is read as 3 equal channels, as "
                      "Mars-Bench's HF reader does")
        return {"image": rgb_from_pil(img), "label": self.target(index),
                "id": self._ids[index]}


def hf_ids(rows: HFRows, split_name: str) -> tuple[str, ...]:
    """Stored image file stems when every row has a distinct one, else ``<split>-<row>``."""
    try:
        names = [Path(str(p)).stem if p else "" for p in rows.column("image.path")]
    except (KeyError, ValueError, TypeError, LabelFileError):
        names = []
    if names and all(names) and len(set(names)) == len(names):
        return tuple(names)
    return tuple(f"{split_name}-{i:06d}" for i in range(len(rows)))


def open_hf(ctx: Context, split: str, budget: BudgetRequest | None,
            options: dict[str, Any]) -> HFClassification:
    """Open one split of a classification task in a Hugging Face layout."""
    del options
    spec = ctx.spec

    rows, name = open_hf_split(ctx, split, budget)
    where = f"task {spec.name!r} split {name!r} ({ctx.layout} in {ctx.folder})"
    rows.require_columns(("image", "label"), where)
    raw = rows.column("label")
    if ctx.info.family == "multilabel":
        labels = np.stack([parse_multilabel(v, spec.n_classes, f"{where} row {i}")
                           for i, v in enumerate(raw)])
    else:
        labels = np.asarray([parse_label(v, spec.n_classes, f"{where} row {i}")
                             for i, v in enumerate(raw)], dtype=np.int64)
    ds = HFClassification(ctx, split, name, budget, rows, labels, hf_ids(rows, name))
    names_found = rows.class_names("label")
    if names_found is not None and len(names_found) == spec.n_classes:
        ds.class_names = names_found
    return ds


__all__ = [
    "HFClassification",
    "ZenodoClassification",
    "hf_ids",
    "open_hf",
    "open_zenodo",
    "parse_label",
    "parse_multilabel",
    "read_change_pair",
]
