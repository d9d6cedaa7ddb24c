"""Bounding-box label files: YOLO txt, COCO json and Pascal VOC xml, read into one form.

Every reader returns boxes as a float32 array of shape (N, 4) holding ``(x_min, y_min, x_max,
y_max)`` in pixels of the image (the form torchvision's detectors take), and the raw category of
each box (YOLO class id, COCO ``category_id`` or VOC object name) so that the caller maps
categories to its own class indices. ``N`` may be 0: an image without objects is a valid sample.

Formats (as Mars-Bench's detection readers parse them, ``marsbench/data/detection``):

* YOLO: one ``<stem>.txt`` per image, one line ``<class> <cx> <cy> <w> <h>`` per box, the four
  numbers relative to the image width/height (0-1).
* COCO: one ``coco_annotations.json`` per split: ``images[{id, file_name}]``,
  ``annotations[{image_id, bbox: [x_min, y_min, w, h] (px), category_id}]``.
* Pascal VOC: one ``<stem>.xml`` per image: ``object/name`` and
  ``object/bndbox/{xmin, ymin, xmax, ymax}`` in pixels (integers in Mars-Bench's files).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from planetbench.errors import LabelFileError

BoxFormat = Literal["pascal_voc", "coco", "yolo"]
BOX_FORMATS: tuple[BoxFormat, ...] = ("pascal_voc", "coco", "yolo")
"""Supported label formats, in the order they are preferred when several are present (Mars-Bench's
detection models are all configured with ``pascal_voc``)."""


@dataclass(frozen=True)
class ImageBoxes:
    """The boxes of one image.

    Attributes:
        boxes: float32 (N, 4) ``x_min, y_min, x_max, y_max`` in pixels, or, when ``relative``,
            float64 (N, 4) YOLO ``cx, cy, w, h`` relative to the image size (convert with
            :meth:`in_pixels` once the image size is known).
        categories: the raw category of each box (length N): YOLO class id (int), COCO
            ``category_id`` (int) or VOC object name (str).
        relative: True for YOLO boxes not yet converted to pixels.
    """

    boxes: np.ndarray
    categories: tuple[int | str, ...] = field(default=())
    relative: bool = False

    def __post_init__(self) -> None:
        if self.boxes.shape != (len(self.categories), 4):
            raise LabelFileError(
                f"boxes of shape {self.boxes.shape} do not match {len(self.categories)} categories"
            )

    def __len__(self) -> int:
        return len(self.categories)

    def in_pixels(self, width: int, height: int) -> ImageBoxes:
        """These boxes as pixel ``(x0, y0, x1, y1)`` for an image of ``width`` × ``height``."""
        if not self.relative:
            return self
        return ImageBoxes(yolo_to_xyxy(self.boxes, width, height), self.categories)


def empty_boxes() -> ImageBoxes:
    """An image without objects: boxes of shape (0, 4)."""
    return ImageBoxes(np.zeros((0, 4), dtype=np.float32), ())


def _as_boxes(rows: Sequence[Sequence[float]]) -> np.ndarray:
    if not rows:
        return np.zeros((0, 4), dtype=np.float32)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4).astype(np.float32)


def _check_finite(values: Sequence[float], where: str) -> None:
    if not all(math.isfinite(v) for v in values):
        raise LabelFileError(f"{where}: box values {list(values)} are not all finite numbers")


def yolo_to_xyxy(rows: Sequence[Sequence[float]] | np.ndarray, width: int,
                 height: int) -> np.ndarray:
    """Relative ``(cx, cy, w, h)`` rows → float32 (N, 4) pixel ``(x0, y0, x1, y1)``."""
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    cx, cy, w, h = arr[:, 0] * width, arr[:, 1] * height, arr[:, 2] * width, arr[:, 3] * height
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)


def xywh_to_xyxy(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Pixel ``(x_min, y_min, w, h)`` rows (COCO) → float32 (N, 4) ``(x0, y0, x1, y1)``."""
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([arr[:, :2], arr[:, :2] + arr[:, 2:]], axis=1).astype(np.float32)


def read_yolo_lines(text: str, where: str) -> ImageBoxes:
    """Parse the lines of a YOLO label file into relative boxes (see :meth:`ImageBoxes.in_pixels`).

    Raises:
        LabelFileError: a line without exactly five numbers.
    """
    rows: list[list[float]] = []
    cats: list[int | str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 5 or values[0] != int(values[0]):
            raise LabelFileError(
                f"{where} line {n}: {line.strip()!r} is not a YOLO box "
                "'<class> <cx> <cy> <w> <h>' (class an integer, the rest relative 0-1)"
            )
        _check_finite(values[1:], f"{where} line {n}")
        cats.append(int(values[0]))
        rows.append(values[1:])
    return yolo_boxes(rows, cats)


def yolo_boxes(rows: Sequence[Sequence[float]], categories: Sequence[int | str]) -> ImageBoxes:
    """Relative YOLO ``(cx, cy, w, h)`` rows and their categories as :class:`ImageBoxes`."""
    if not rows:
        return empty_boxes()
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return ImageBoxes(arr, tuple(categories), relative=True)


def read_yolo_file(path: str | Path) -> ImageBoxes:
    """Read one YOLO ``.txt`` label file into relative boxes (see :func:`read_yolo_lines`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFileError(f"cannot read YOLO label file {path}: {exc}") from exc
    return read_yolo_lines(text, str(path))


def _voc_number(node: ET.Element | None, tag: str, where: str) -> float:
    child = node.find(tag) if node is not None else None
    if child is None or child.text is None:
        raise LabelFileError(f"{where}: an object has no bndbox/{tag}")
    try:
        return float(child.text.strip())
    except ValueError as exc:
        raise LabelFileError(f"{where}: bndbox/{tag} {child.text!r} is not a number") from exc


def read_voc_file(path: str | Path) -> ImageBoxes:
    """Read one Pascal VOC ``.xml`` annotation (every ``object`` with a ``bndbox``).

    Raises:
        LabelFileError: unparsable XML, or an object without a name or a full bndbox.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise LabelFileError(f"cannot parse Pascal VOC file {path}: {exc}") from exc
    rows: list[list[float]] = []
    cats: list[int | str] = []
    for obj in root.findall("object"):
        name = obj.findtext("name")
        if name is None or not name.strip():
            raise LabelFileError(f"{path}: an object has no <name>")
        box = obj.find("bndbox")
        values = [_voc_number(box, t, str(path)) for t in ("xmin", "ymin", "xmax", "ymax")]
        _check_finite(values, str(path))
        rows.append(values)
        cats.append(name.strip())
    if not rows:
        return empty_boxes()
    return ImageBoxes(_as_boxes(rows), tuple(cats))


def parse_coco(data: Mapping[str, Any], where: str) -> dict[str, ImageBoxes]:
    """Boxes per image file stem from a parsed COCO detection document.

    Every image listed in ``images`` gets an entry (an empty one when it has no annotation).

    Raises:
        LabelFileError: missing keys, an annotation for an unknown image id, a malformed bbox.
    """
    try:
        images = {int(im["id"]): Path(str(im["file_name"])).stem for im in data["images"]}
        annotations = list(data.get("annotations", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise LabelFileError(
            f"{where}: not a COCO detection file (needs images[{{id, file_name}}] and "
            f"annotations[{{image_id, bbox, category_id}}]): {exc!r}"
        ) from exc
    rows: dict[str, list[list[float]]] = {stem: [] for stem in images.values()}
    cats: dict[str, list[int | str]] = {stem: [] for stem in images.values()}
    for i, ann in enumerate(annotations):
        try:
            stem = images[int(ann["image_id"])]
            bbox = [float(v) for v in ann["bbox"]]
            cat = int(ann["category_id"])
        except KeyError as exc:
            raise LabelFileError(
                f"{where}: annotation {i} lacks {exc} or names an image id absent from 'images'"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise LabelFileError(f"{where}: annotation {i} is malformed: {exc}") from exc
        if len(bbox) != 4:
            raise LabelFileError(f"{where}: annotation {i} bbox {bbox} is not [x, y, w, h]")
        _check_finite(bbox, f"{where} annotation {i}")
        rows[stem].append(bbox)
        cats[stem].append(cat)
    return {
        stem: ImageBoxes(xywh_to_xyxy(r), tuple(cats[stem])) if r else empty_boxes()
        for stem, r in rows.items()
    }


def read_coco_file(path: str | Path) -> dict[str, ImageBoxes]:
    """Read a COCO ``.json`` detection file: boxes per image file stem (see :func:`parse_coco`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read COCO file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise LabelFileError(f"{path}: a COCO file holds a JSON object, not {type(data).__name__}")
    return parse_coco(data, str(path))


def write_yolo_file(path: str | Path, boxes: np.ndarray, categories: Sequence[int],
                    width: int, height: int) -> Path:
    """Write pixel ``(x0, y0, x1, y1)`` boxes as a YOLO ``.txt`` file (fakes and tools)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for (x0, y0, x1, y1), c in zip(np.asarray(boxes, dtype=np.float64), categories, strict=True):
        lines.append(
            f"{int(c)} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
            f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}"
        )
    path.write_text("".join(line + "\n" for line in lines))
    return path


def write_voc_file(path: str | Path, filename: str, boxes: np.ndarray, names: Sequence[str],
                   width: int, height: int) -> Path:
    """Write pixel boxes as a Pascal VOC ``.xml`` file with integer coordinates (fakes, tools)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for tag, value in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    for box, name in zip(np.asarray(boxes), names, strict=True):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = name
        bnd = ET.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True):
            ET.SubElement(bnd, tag).text = str(round(float(value)))
    ET.ElementTree(root).write(path)
    return path


def coco_document(
    files: Sequence[tuple[str, np.ndarray, Sequence[int]]],
    categories: Mapping[int, str],
) -> dict[str, Any]:
    """A COCO detection document from ``(file_name, boxes xyxy px, category ids)`` per image."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, (name, boxes, cats) in enumerate(files):
        images.append({"id": image_id, "file_name": name})
        for box, cat in zip(np.asarray(boxes, dtype=np.float64), cats, strict=True):
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append({
                "id": len(annotations), "image_id": image_id, "category_id": int(cat),
                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
                "iscrowd": 0,
            })
    return {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": int(k), "name": v} for k, v in categories.items()],
    }


__all__ = [
    "BOX_FORMATS",
    "BoxFormat",
    "ImageBoxes",
    "coco_document",
    "empty_boxes",
    "parse_coco",
    "read_coco_file",
    "read_voc_file",
    "read_yolo_file",
    "read_yolo_lines",
    "write_voc_file",
    "write_yolo_file",
    "xywh_to_xyxy",
    "yolo_boxes",
    "yolo_to_xyxy",
]
