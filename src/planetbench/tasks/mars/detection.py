"""Mars-Bench detection readers (``marsbench/data/detection/*.py``).

Zenodo layout: ``data/<split>/images/<stem>.<ext>`` with boxes in Pascal VOC
(``data/<split>/pascal_voc/<stem>.xml``), COCO (``data/<split>/coco_annotations.json``) or YOLO
(``data/<split>/labels/<stem>.txt``) form; the reader option ``box_format`` picks one
(``pascal_voc``, ``coco``, ``yolo``), by default the first present in that order (Mars-Bench's
models all read ``pascal_voc``). Hugging Face layouts: column ``image`` and one annotation column
per format, ``pascal_voc_annotation`` (``{objects: {bbox: [{xmin, ymin, xmax, ymax}, …], name:
[…]}}``; the dict-of-lists form is read too), ``coco_annotation`` (``{annotations: {bbox: [[x, y,
w, h], …], category_id: […]}}``) or ``yolo_annotation`` (``{bbox: [[cx, cy, w, h], …], category:
[…]}``, relative to the image size).

Every sample gives ``boxes`` float32 (N, 4) pixel ``(x0, y0, x1, y1)`` and ``labels`` int64 (N,)
indices into ``spec.classes`` (0-based: add 1 for torchvision detectors, whose class 0 is the
background). The three Mars-Bench sets have one object class; every category in the files maps to
it, and a file holding two different categories is refused.

Images without boxes are kept (N = 0): they are valid evaluation samples (false positives on them
count). Mars-Bench's Zenodo reader drops them; ``drop_empty=True`` reproduces that. A budget CSV's
``file_id`` values select images by stem.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError, LabelFileError
from planetbench.tasks.mars.base import (
    VALID_IMAGE_SUFFIXES,
    BudgetRequest,
    Context,
    MarsSplit,
    missing_error,
    open_hf_split,
    read_csv,
    read_rgb,
    rgb_from_pil,
    unique_ids,
    warn_note,
    zenodo_budget_csv,
)
from planetbench.tasks.mars.classification import hf_ids
from planetbench.tasks.readers.boxes import (
    BOX_FORMATS,
    ImageBoxes,
    empty_boxes,
    read_coco_file,
    read_voc_file,
    read_yolo_file,
    xywh_to_xyxy,
    yolo_boxes,
)
from planetbench.tasks.readers.hf import HFRows, cell_digest, decode_image

DETECTION_OPTIONS: tuple[str, ...] = ("box_format", "drop_empty")
"""Reader options of the detection tasks besides fraction, shots and layout."""

HF_BOX_COLUMNS: dict[str, str] = {
    "pascal_voc": "pascal_voc_annotation",
    "coco": "coco_annotation",
    "yolo": "yolo_annotation",
}
"""Annotation column of each box format in Mars-Bench's Hugging Face repositories."""


def category_map(categories: Sequence[int | str], classes: Sequence[str],
                 where: str) -> dict[int | str, int]:
    """Map the raw categories found in a split onto class indices of ``classes``.

    One-class tasks: every category becomes 0, and at most one distinct category may occur.
    Otherwise names must be class names and integers class indices.

    Raises:
        LabelFileError: a category that cannot be mapped.
    """
    found = sorted(set(categories), key=str)
    if len(classes) == 1:
        if len(found) > 1:
            raise LabelFileError(
                f"{where}: boxes carry {len(found)} different categories {found[:5]}, but the task "
                f"has one class ({classes[0]!r})"
            )
        return {c: 0 for c in found}
    out: dict[int | str, int] = {}
    for c in found:
        if isinstance(c, str) and c in classes:
            out[c] = list(classes).index(c)
        elif isinstance(c, int) and 0 <= c < len(classes):
            out[c] = c
        else:
            raise LabelFileError(f"{where}: box category {c!r} is not one of {list(classes)}")
    return out


class DetectionSplit(MarsSplit):
    """Images and their boxes for one split (see the module docstring).

    Attributes:
        box_format: the label format read.
        boxes: raw boxes per sample (YOLO boxes stay relative until the image is read).
        classes_of: raw category → class index.
    """

    def __init__(self, ctx: Context, split: str, source: str, budget: BudgetRequest | None,
                 box_format: str, boxes: Sequence[ImageBoxes], ids: Sequence[str]) -> None:
        super().__init__(ctx.spec, ctx.info, split, ctx.layout, source, budget)
        self.box_format = box_format
        self.boxes = tuple(boxes)
        self._ids = tuple(ids)
        self.classes_of = category_map(
            [c for b in self.boxes for c in b.categories], ctx.spec.classes,
            f"task {ctx.spec.name!r} split {split!r} ({box_format})",
        )

    def __len__(self) -> int:
        return len(self._ids)

    def sample_id(self, index: int) -> str:
        """The id of sample ``index``: the image file stem."""
        return self._ids[self._check_index(index)]

    def target(self, index: int) -> np.ndarray:
        """Class indices of the boxes of sample ``index`` (int64 (N,)), without the image."""
        b = self.boxes[self._check_index(index)]
        return np.asarray([self.classes_of[c] for c in b.categories], dtype=np.int64)

    @property
    def n_boxes(self) -> int:
        """Boxes in the split."""
        return sum(len(b) for b in self.boxes)

    def _image(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index`` (see :class:`~planetbench.tasks.mars.base.MarsSplit`)."""
        index = self._check_index(index)
        image = self._image(index)
        boxes = self.boxes[index].in_pixels(image.shape[2], image.shape[1])
        return {"image": image, "boxes": boxes.boxes.astype(np.float32, copy=False),
                "labels": self.target(index), "id": self._ids[index]}


class ZenodoDetection(DetectionSplit):
    """Detection split in the Zenodo layout."""

    def __init__(self, ctx: Context, split: str, source: str, budget: BudgetRequest | None,
                 box_format: str, images: Sequence[Path], boxes: Sequence[ImageBoxes]) -> None:
        ids = unique_ids([p.stem for p in images], [p.name for p in images], source)
        super().__init__(ctx, split, source, budget, box_format, boxes, ids)
        self.images = tuple(images)

    def _image(self, index: int) -> np.ndarray:
        return read_rgb(self.images[index])


def _present_formats(labels: Path) -> list[str]:
    where = {"pascal_voc": labels / "pascal_voc", "coco": labels / "coco_annotations.json",
             "yolo": labels / "labels"}
    return [f for f in BOX_FORMATS if where[f].exists()]


def _choose_format(ctx: Context, present: Sequence[str], asked: Any, where: str) -> str:
    if asked is not None and asked not in BOX_FORMATS:
        raise InvalidInputError(
            f"box_format={asked!r} is not one of {', '.join(BOX_FORMATS)}"
        )
    if not present:
        raise missing_error(ctx.spec, ctx.info, ctx.folder.parent,
                            f"{where} holds no boxes in any of {', '.join(BOX_FORMATS)}")
    if asked is None:
        return present[0]
    if asked not in present:
        raise missing_error(
            ctx.spec, ctx.info, ctx.folder.parent,
            f"box_format={asked!r} was asked but {where} holds only {', '.join(present)}",
        )
    return str(asked)


def _read_boxes(folder: Path, fmt: str) -> dict[str, ImageBoxes]:
    if fmt == "coco":
        return read_coco_file(folder / "coco_annotations.json")
    sub, suffix, read = (("pascal_voc", ".xml", read_voc_file) if fmt == "pascal_voc"
                         else ("labels", ".txt", read_yolo_file))
    return {p.stem: read(p) for p in sorted((folder / sub).glob(f"*{suffix}"))}


def _drop_empty_option(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"drop_empty={value!r} must be True or False")
    return value


def open_zenodo(ctx: Context, split: str, budget: BudgetRequest | None,
                options: dict[str, Any]) -> ZenodoDetection:
    """Open one split of a detection task in the Zenodo layout."""
    spec, info = ctx.spec, ctx.info
    drop_empty = _drop_empty_option(options.get("drop_empty", False))
    folder = ctx.folder / "data" / split
    image_dir = folder / "images"
    if not image_dir.is_dir():
        raise missing_error(spec, info, ctx.folder.parent, f"{str(image_dir)!r} is absent")
    fmt = _choose_format(ctx, _present_formats(folder), options.get("box_format"), str(folder))
    images = [p for p in sorted(image_dir.iterdir())
              if p.is_file() and p.suffix.lower() in VALID_IMAGE_SUFFIXES]
    if not images:
        raise missing_error(spec, info, ctx.folder.parent, f"no images in {str(image_dir)!r}")
    by_stem = _read_boxes(folder, fmt)
    all_stems = {p.stem for p in images}
    csv = zenodo_budget_csv(ctx, budget)
    if csv is not None:
        df = read_csv(csv, ("file_id", "split"), "partition file")
        wanted = {Path(str(v)).stem for v in df[df["split"] == split]["file_id"]}
        absent = sorted(wanted - all_stems)
        if absent:
            raise missing_error(spec, info, ctx.folder.parent,
                                f"{len(absent)} image(s) named in {csv.name} are absent from "
                                f"{str(image_dir)!r}, e.g. {absent[0]!r}")
        images = [p for p in images if p.stem in wanted]
    boxes = [by_stem.get(p.stem, empty_boxes()) for p in images]
    n_all = len(images)
    if drop_empty:
        keep = [i for i, b in enumerate(boxes) if len(b)]
        images, boxes = [images[i] for i in keep], [boxes[i] for i in keep]
        if not images:
            raise missing_error(spec, info, ctx.folder.parent,
                                f"no image of {str(image_dir)!r} has a box ({fmt})")
    ds = ZenodoDetection(ctx, split, str(csv or folder), budget, fmt, images, boxes)
    orphans = sorted(set(by_stem) - all_stems)
    if orphans:
        warn_note(ds, f"task {spec.name!r} split {split!r}: {len(orphans)} {fmt} label(s) have "
                  f"no image in {image_dir} and were skipped, e.g. {orphans[0]!r}")
    if drop_empty:
        ds.notes.append(f"drop_empty=True: {n_all - len(images)} image(s) without boxes dropped, "
                        "as Mars-Bench's Zenodo reader does")
    return ds


def _hf_boxes(value: Any, fmt: str, where: str) -> ImageBoxes:
    """Boxes of one Hugging Face annotation cell (``None`` or an empty cell: no boxes)."""
    if not value:
        return empty_boxes()
    try:
        if fmt == "yolo":
            rows, cats = value.get("bbox") or [], value.get("category") or []
            if len(rows) != len(cats):
                raise LabelFileError(f"{where}: {len(rows)} YOLO boxes but {len(cats)} categories")
            return yolo_boxes([[float(v) for v in r] for r in rows], list(cats))
        if fmt == "coco":
            ann = value.get("annotations") or {}
            rows, cats = ann.get("bbox") or [], ann.get("category_id") or []
            if len(rows) != len(cats):
                raise LabelFileError(f"{where}: {len(rows)} COCO boxes but {len(cats)} ids")
            if not rows:
                return empty_boxes()
            return ImageBoxes(xywh_to_xyxy([[float(v) for v in r] for r in rows]),
                              tuple(int(c) for c in cats))
        objects = value.get("objects") or {}
        bbox, names = objects.get("bbox") or [], objects.get("name") or []
        if isinstance(bbox, dict):  # the dict-of-lists form of an old Sequence(struct)
            bbox = [dict(zip(bbox, vals, strict=True)) for vals in zip(*bbox.values(), strict=True)]
        if len(bbox) != len(names):
            raise LabelFileError(f"{where}: {len(bbox)} VOC boxes but {len(names)} names")
        if not bbox:
            return empty_boxes()
        rows = [[float(b[k]) for k in ("xmin", "ymin", "xmax", "ymax")] for b in bbox]
        return ImageBoxes(np.asarray(rows, dtype=np.float32), tuple(str(n) for n in names))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise LabelFileError(f"{where}: malformed {fmt} annotation {value!r}: {exc}") from exc


class HFDetection(DetectionSplit):
    """Detection split stored as Hugging Face rows."""

    def __init__(self, ctx: Context, split: str, source: str, budget: BudgetRequest | None,
                 box_format: str, rows: HFRows, keep: Sequence[int],
                 boxes: Sequence[ImageBoxes], ids: Sequence[str]) -> None:
        super().__init__(ctx, split, source, budget, box_format, boxes, ids)
        self.rows = rows
        self.keep = tuple(keep)

    def image_digest(self, index: int) -> str:
        """sha256 of the stored image bytes of sample ``index``."""
        return cell_digest(self.rows.cell(self.keep[self._check_index(index)], "image"))

    def _image(self, index: int) -> np.ndarray:
        row = self.keep[index]
        where = f"task {self.spec.name!r} {self.source} row {row}"
        return rgb_from_pil(decode_image(self.rows.cell(row, "image"), where, mode=None))


def open_hf(ctx: Context, split: str, budget: BudgetRequest | None,
            options: dict[str, Any]) -> HFDetection:
    """Open one split of a detection task in a Hugging Face layout."""
    drop_empty = _drop_empty_option(options.get("drop_empty", False))
    rows, name = open_hf_split(ctx, split, budget)
    where = f"task {ctx.spec.name!r} split {name!r} ({ctx.layout} in {ctx.folder})"
    rows.require_columns(("image",), where)
    present = [f for f in BOX_FORMATS if HF_BOX_COLUMNS[f] in rows.column_names]
    fmt = _choose_format(ctx, present, options.get("box_format"), where)
    cells = rows.column(HF_BOX_COLUMNS[fmt])
    boxes = [_hf_boxes(v, fmt, f"{where} row {i}") for i, v in enumerate(cells)]
    ids = hf_ids(rows, name)
    keep = [i for i, b in enumerate(boxes) if len(b) or not drop_empty]
    if not keep:
        raise missing_error(ctx.spec, ctx.info, ctx.folder.parent, f"{where}: no row has a box")
    ds = HFDetection(ctx, split, name, budget, fmt, rows, keep, [boxes[i] for i in keep],
                     [ids[i] for i in keep])
    if drop_empty:
        ds.notes.append(f"drop_empty=True: {len(boxes) - len(keep)} image(s) without boxes "
                        "dropped, as Mars-Bench's Zenodo reader does")
    return ds


__all__ = [
    "DETECTION_OPTIONS",
    "HF_BOX_COLUMNS",
    "DetectionSplit",
    "HFDetection",
    "ZenodoDetection",
    "category_map",
    "open_hf",
    "open_zenodo",
]
