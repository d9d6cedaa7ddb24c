"""Seeded tiny fakes of Mars-Bench's on-disk layouts, for tests and plugin authors.

:func:`write_mars_fake` writes ``<root>/<task id>/`` for any registered Mars-Bench task in any of
the three layouts its reader accepts: ``zenodo`` (``annotation.csv`` + ``data/<split>/…`` +
``partitions/`` + ``few_shot/``; detection with Pascal VOC, COCO and YOLO labels side by side),
``hf-parquet`` (a Hub repository copy: ``README.md`` with a ``configs`` block and
``data/<split>-00000-of-00001.parquet``) and ``hf-save-to-disk`` (``dataset_dict.json`` and Arrow
stream files, as ``datasets.DatasetDict.save_to_disk`` writes them). Only NumPy, Pillow, pyarrow
and tifffile are used (the ``datasets`` package is not needed).

The data is SYNTHETIC: toy images whose brightness depends on the class, drawn from
``numpy.random.default_rng([seed, split, index])``. The same arguments always write the same
bytes-for-bytes content (except PNG/Parquet container metadata), so tests can assert exact labels.

What the fakes contain (``n`` = ``n_per_split``):

* classification: sample ``i`` of a split has label ``(i + offset) % n_classes``; images are grey
  (``L``) where Mars-Bench's source is grey, RGB otherwise; ``feature_name`` is ``class<label>``.
  Change pairs: ``<split>_<i>_before.png`` and ``…_after.png`` (grey); on the Hub layouts the pair is
  stored pre-stacked as RGB (zeros, after, before).
* multi-label: ``label`` lists 1-3 label indices (written as ``"[1, 4]"`` in CSVs, a list on the Hub).
* segmentation: one filled ellipse of class ``1 + i % (n_classes - 1)`` on background 0, in each
  dataset's naming (same name, ``.jpg``/``.png``, MMLS ``Image``/``Mask`` 7-band float32 tiffs).
* detection: 1-2 integer-pixel boxes per image, except every third image (``i % 3 == 2``), which
  has none; VOC names are the class name, COCO ``category_id`` is 1, YOLO class is 0.
* budgets: ``partitions/<p>x_partition.csv`` for every fraction below 1 and ``few_shot/<n>_shot.csv``
  for every shot count (classification sets with published shots), holding a seeded choice of
  train rows plus all val and test rows; on the Hub layouts the splits
  ``partition_train_<p>x_partition`` (``<p>x_partition`` for detection) and
  ``few_shot_train_<n>_shot`` with the train rows only.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from planetbench.errors import InvalidInputError, require
from planetbench.tasks import get_task
from planetbench.tasks.mars.base import BudgetRequest, MarsTask, partition_token
from planetbench.tasks.mars.info import BUDGET_FRACTIONS, BUDGET_SHOTS, MarsBenchInfo
from planetbench.tasks.readers.boxes import coco_document, write_voc_file, write_yolo_file

SPLITS: tuple[str, ...] = ("train", "val", "test")
FakeLayout = Literal["zenodo", "hf-parquet", "hf-save-to-disk"]


@dataclass
class FakeSample:
    """One generated sample before it is written.

    Attributes:
        file_id: the file name (Zenodo) / stored image path (Hub).
        image: uint8 (H, W) grey or (H, W, 3) RGB; float32 (H, W, 7) for MMLS.
        label: class index (classification) or label indices (multi-label).
        mask: uint8 (H, W) class indices (segmentation).
        boxes: float (N, 4) integer-valued pixel ``x0, y0, x1, y1`` (detection).
        after: the 'after' image of a change pair.
    """

    file_id: str
    image: np.ndarray
    label: int | list[int] | None = None
    mask: np.ndarray | None = None
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    after: np.ndarray | None = None

    @property
    def stem(self) -> str:
        """``file_id`` without its suffix."""
        return Path(self.file_id).stem

    @property
    def feature_name(self) -> str:
        """The class folder of a single-label sample."""
        return f"class{self.label}"


def _mars_task(task_id: str) -> MarsTask:
    task = get_task(task_id)
    if not isinstance(task, MarsTask):
        raise InvalidInputError(f"{task_id!r} is not a Mars-Bench task (ids start with 'mb-')")
    return task


def _grey(rng: np.random.Generator, size: int, level: float) -> np.ndarray:
    return np.clip(rng.normal(level, 12.0, (size, size)), 0, 255).astype(np.uint8)


def _ellipse(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(0.3, 0.7, 2) * size
    ry, rx = rng.uniform(0.15, 0.3, 2) * size
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def make_samples(info: MarsBenchInfo, n_classes: int, split: str, n: int, size: int,
                 seed: int) -> list[FakeSample]:
    """The generated samples of one split (see the module docstring)."""
    s = SPLITS.index(split)
    out: list[FakeSample] = []
    for i in range(n):
        rng = np.random.default_rng([seed, s, i])
        stem = f"{split}_{i:04d}"
        if info.family in ("classification", "change"):
            label = (i + s) % n_classes
            level = 40.0 + 170.0 * label / max(1, n_classes - 1)
            img = _grey(rng, size, level)
            if info.family == "change":
                out.append(FakeSample(f"{stem}_before.png", img, label,
                                      after=_grey(rng, size, 255.0 - level)))
                continue
            if info.native_bands == 3:
                img = np.stack([img, _grey(rng, size, level / 2), _grey(rng, size, 90.0)], -1)
            out.append(FakeSample(f"{stem}.png", img, label))
        elif info.family == "multilabel":
            k = int(rng.integers(1, 4))
            labels = sorted({(i + s + j * 7) % n_classes for j in range(k)})
            level = 30.0 + 200.0 * labels[0] / max(1, n_classes - 1)
            out.append(FakeSample(f"{stem}.png", _grey(rng, size, level), labels))
        elif info.family == "segmentation":
            cls = 1 + i % (n_classes - 1)
            mask = np.where(_ellipse(rng, size), cls, 0).astype(np.uint8)
            grey = np.where(mask > 0, 60.0 + 150.0 * cls / n_classes, 128.0)
            grey = np.clip(grey + rng.normal(0, 10.0, (size, size)), 0, 255).astype(np.uint8)
            if info.seg_naming == "mmls":
                bands = np.stack([grey.astype(np.float32) / 255 * (b + 1) for b in range(7)], -1)
                out.append(FakeSample(f"Image_{stem}.tif", bands.astype(np.float32), mask=mask))
                continue
            img = np.stack([grey, grey // 2, 255 - grey], -1) if info.native_bands == 3 else grey
            suffix = ".jpg" if info.seg_naming == "jpg_png" else ".png"
            out.append(FakeSample(f"{stem}{suffix}", img, mask=mask))
        else:
            k = 0 if i % 3 == 2 else int(rng.integers(1, 3))
            boxes = []
            for _ in range(k):
                w, h = (int(v) for v in rng.integers(size // 8, size // 3, 2))
                x0, y0 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
                boxes.append([x0, y0, x0 + w, y0 + h])
            img = _grey(rng, size, 100.0)
            for x0, y0, x1, y1 in boxes:
                img[y0:y1, x0:x1] = 220
            out.append(FakeSample(f"{stem}.png", img,
                                  boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4)))
    return out


def _budget_rows(info: MarsBenchInfo, train: Sequence[FakeSample], budget: BudgetRequest,
                 seed: int) -> list[FakeSample]:
    """The train samples of a published budget (a seeded choice; k per class for shots)."""
    rng = np.random.default_rng([seed, 99, int((budget.fraction or 0) * 100), budget.shots or 0])
    if budget.fraction is not None:
        k = max(1, round(budget.fraction * len(train)))
        pick = sorted(rng.choice(len(train), size=k, replace=False).tolist())
        return [train[i] for i in pick]
    chosen: list[int] = []
    by_class: dict[Any, list[int]] = {}
    for i, smp in enumerate(train):
        key = smp.label if not isinstance(smp.label, list) else smp.label[0]
        by_class.setdefault(key, []).append(i)
    for members in by_class.values():
        take = min(len(members), budget.shots or 0)
        chosen.extend(rng.choice(members, size=take, replace=False).tolist())
    return [train[i] for i in sorted(chosen)]


def _budgets(info: MarsBenchInfo) -> list[BudgetRequest]:
    out = [BudgetRequest(fraction=f) for f in BUDGET_FRACTIONS if f < 1.0]
    if info.published_shots:
        out += [BudgetRequest(shots=n) for n in BUDGET_SHOTS]
    return out


def _png_bytes(arr: np.ndarray, fmt: str = "PNG") -> bytes:
    image_mod: Any = require("PIL.Image", "geo")
    buf = io.BytesIO()
    image_mod.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def _save_image(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".tif":
        tifffile: Any = require("tifffile", "mars")
        tifffile.imwrite(path, arr)
        return
    image_mod: Any = require("PIL.Image", "geo")
    options = {"quality": 95} if path.suffix == ".jpg" else {}
    image_mod.fromarray(arr).save(path, **options)


# ---------------------------------------------------------------------------------- Zenodo


def _csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _annotation_rows(info: MarsBenchInfo, split: str,
                     samples: Sequence[FakeSample]) -> list[list[Any]]:
    if info.family in ("classification", "change"):
        return [[s.file_id, s.feature_name, s.label, split] for s in samples]
    if info.family == "multilabel":
        return [[s.file_id, str(s.label), split] for s in samples]
    return [[s.file_id, split] for s in samples]


def _header(info: MarsBenchInfo) -> list[str]:
    if info.family in ("classification", "change"):
        return ["file_id", "feature_name", "label", "split"]
    if info.family == "multilabel":
        return ["file_id", "label", "split"]
    return ["file_id", "split"]


def _write_zenodo(folder: Path, info: MarsBenchInfo, classes: Sequence[str],
                  data: dict[str, list[FakeSample]], budgets: Sequence[BudgetRequest],
                  seed: int, box_formats: Sequence[str]) -> None:
    for split, samples in data.items():
        base = folder / "data" / split
        for smp in samples:
            if info.family in ("classification", "change"):
                _save_image(base / smp.feature_name / smp.file_id, smp.image)
                if smp.after is not None:
                    _save_image(base / smp.feature_name / smp.file_id.replace("before", "after"),
                                smp.after)
            elif info.family == "multilabel":
                _save_image(base / smp.file_id, smp.image)
            elif info.family == "segmentation":
                _save_image(base / "images" / smp.file_id, smp.image)
                mask = _mask(smp)
                if info.seg_naming == "mmls":
                    _save_image(base / "masks" / smp.file_id.replace("Image", "Mask"), mask)
                elif info.seg_naming == "jpg_png":
                    _save_image(base / "masks" / f"{smp.stem}.png", mask)
                else:
                    _save_image(base / "masks" / smp.file_id, mask)
            else:
                _save_image(base / "images" / smp.file_id, smp.image)
        if info.family == "detection":
            size = samples[0].image.shape[1], samples[0].image.shape[0]
            for smp in samples:
                n = len(smp.boxes)
                if "pascal_voc" in box_formats:
                    write_voc_file(base / "pascal_voc" / f"{smp.stem}.xml", smp.file_id,
                                   smp.boxes, [classes[0]] * n, *size)
                if "yolo" in box_formats:
                    write_yolo_file(base / "labels" / f"{smp.stem}.txt", smp.boxes, [0] * n,
                                    *size)
            if "coco" in box_formats:
                doc = coco_document([(s.file_id, s.boxes, [1] * len(s.boxes)) for s in samples],
                                    {1: classes[0]})
                (base / "coco_annotations.json").write_text(json.dumps(doc))
    if info.family in ("classification", "change", "multilabel"):
        rows = [r for split, smp in data.items() for r in _annotation_rows(info, split, smp)]
        _csv(folder / "annotation.csv", _header(info), rows)
    for budget in budgets:
        train = _budget_rows(info, data["train"], budget, seed)
        rows = _annotation_rows(info, "train", train) + [
            r for split in ("val", "test") for r in _annotation_rows(info, split, data[split])]
        _csv(folder / budget.zenodo_file(), _header(info), rows)


# ------------------------------------------------------------------------ Hugging Face layouts


def _features(info: MarsBenchInfo, classes: Sequence[str]) -> dict[str, Any]:
    value = {"dtype": "int32", "_type": "Value"}
    if info.family in ("classification", "change"):
        return {"image": {"_type": "Image"},
                "label": {"names": list(classes), "_type": "ClassLabel"}}
    if info.family == "multilabel":
        return {"image": {"_type": "Image"},
                "label": {"feature": {"dtype": "int64", "_type": "Value"}, "_type": "List"}}
    if info.family == "segmentation":
        return {"image": {"_type": "Image"}, "mask": {"_type": "Image"}}

    def floats() -> dict[str, Any]:
        return {"feature": {"feature": {"dtype": "float32", "_type": "Value"}, "_type": "List"},
                "_type": "List"}

    return {
        "image": {"_type": "Image"},
        "pascal_voc_annotation": {"objects": {
            "bbox": {"feature": {k: value for k in ("xmin", "ymin", "xmax", "ymax")},
                     "_type": "List"},
            "name": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "List"}}},
        "coco_annotation": {"annotations": {
            "bbox": floats(), "category_id": {"feature": value, "_type": "List"}}},
        "yolo_annotation": {"bbox": floats(), "category": {"feature": value, "_type": "List"}},
    }


def _mask(smp: FakeSample) -> np.ndarray:
    if smp.mask is None:
        raise InvalidInputError(f"fake sample {smp.file_id} has no mask")
    return smp.mask


def _hub_image(info: MarsBenchInfo, smp: FakeSample) -> np.ndarray:
    if info.family == "change":
        if smp.after is None:
            raise InvalidInputError(f"fake change pair {smp.file_id} has no 'after' image")
        return np.stack([np.zeros_like(smp.image), smp.after, smp.image], -1)
    if info.seg_naming == "mmls":
        return np.clip(smp.image[..., [2, 1, 0]] * 255 / 7, 0, 255).astype(np.uint8)
    return smp.image


def _table(info: MarsBenchInfo, classes: Sequence[str], samples: Sequence[FakeSample]) -> Any:
    import pyarrow as pa

    cols: dict[str, list[Any]] = {"image": [
        {"bytes": _png_bytes(_hub_image(info, s)), "path": f"{s.stem}.png"} for s in samples]}
    if info.family in ("classification", "change"):
        cols["label"] = [int(s.label) for s in samples]  # type: ignore[arg-type]
    elif info.family == "multilabel":
        cols["label"] = [list(s.label) for s in samples]  # type: ignore[arg-type]
    elif info.family == "segmentation":
        cols["mask"] = [{"bytes": _png_bytes(_mask(s)), "path": f"{s.stem}_mask.png"}
                        for s in samples]
    else:
        voc, coco, yolo = [], [], []
        for s in samples:
            h, w = s.image.shape[:2]
            b = s.boxes
            voc.append({"objects": {
                "bbox": [{"xmin": int(x0), "ymin": int(y0), "xmax": int(x1), "ymax": int(y1)}
                         for x0, y0, x1, y1 in b],
                "name": [classes[0]] * len(b)}})
            coco.append({"annotations": {
                "bbox": [[float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
                         for x0, y0, x1, y1 in b],
                "category_id": [1] * len(b)}})
            yolo.append({
                "bbox": [[float((x0 + x1) / 2 / w), float((y0 + y1) / 2 / h),
                          float((x1 - x0) / w), float((y1 - y0) / h)] for x0, y0, x1, y1 in b],
                "category": [0] * len(b)})
        cols["pascal_voc_annotation"], cols["coco_annotation"] = voc, coco
        cols["yolo_annotation"] = yolo
    table = pa.table(cols)
    meta = {"info": {"features": _features(info, classes)}}
    return table.replace_schema_metadata({"huggingface": json.dumps(meta)})


def _hub_splits(info: MarsBenchInfo, data: dict[str, list[FakeSample]],
                budgets: Sequence[BudgetRequest], seed: int) -> dict[str, list[FakeSample]]:
    out = dict(data)
    for budget in budgets:
        out[budget.hf_split(info)] = _budget_rows(info, data["train"], budget, seed)
    return out


def _write_hub(folder: Path, info: MarsBenchInfo, classes: Sequence[str],
               splits: dict[str, list[FakeSample]], card: bool) -> None:
    import pyarrow.parquet as pq

    (folder / "data").mkdir(parents=True, exist_ok=True)
    for name, samples in splits.items():
        pq.write_table(_table(info, classes, samples),
                       folder / "data" / f"{name}-00000-of-00001.parquet")
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for name in splits:
        lines += [f"  - split: {name}", f"    path: data/{name}-*"]
    lines += ["---", f"# {info.task_id} (synthetic fake written by planetbench.testing_mars)", ""]
    (folder / "README.md").write_text("\n".join(lines) if card else
                                      f"# {info.task_id} (synthetic fake)\n")


def _write_saved(folder: Path, info: MarsBenchInfo, classes: Sequence[str],
                 splits: dict[str, list[FakeSample]]) -> None:
    import pyarrow as pa

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset_dict.json").write_text(json.dumps({"splits": list(splits)}))
    for name, samples in splits.items():
        sub = folder / name
        sub.mkdir(parents=True, exist_ok=True)
        table = _table(info, classes, samples)
        with pa.OSFile(str(sub / "data-00000-of-00001.arrow"), "wb") as sink, \
                pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        (sub / "state.json").write_text(json.dumps({
            "_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_fingerprint": "fake",
            "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
            "_output_all_columns": False, "_split": None}))
        (sub / "dataset_info.json").write_text(json.dumps({"features": _features(info, classes)}))


# -------------------------------------------------------------------------------- public API


def write_mars_fake(
    root: str | Path,
    task_id: str,
    *,
    layout: FakeLayout = "zenodo",
    n_per_split: int | dict[str, int] = 3,
    size: int = 32,
    seed: int = 0,
    budgets: bool = True,
    box_formats: Sequence[str] = ("pascal_voc", "coco", "yolo"),
    card: bool = True,
) -> Path:
    """Write a synthetic ``<root>/<task_id>/`` in one of Mars-Bench's layouts.

    Args:
        root: the ``--root`` folder (Mars-Bench's ``dataset_path``); created.
        task_id: a Mars-Bench task id, e.g. ``"mb-domars16k"``.
        layout: ``zenodo``, ``hf-parquet`` or ``hf-save-to-disk``.
        n_per_split: samples per split (an int, or a dict per split).
        size: image side in pixels.
        seed: seed of every draw.
        budgets: also write the published label-budget files/splits.
        box_formats: detection label formats to write in the Zenodo layout.
        card: Hub layout: give ``README.md`` a ``configs`` block (else split names come from the
            shard names).

    Returns:
        The dataset folder ``<root>/<task_id>``.
    """
    if layout not in ("zenodo", "hf-parquet", "hf-save-to-disk"):
        raise InvalidInputError(f"layout={layout!r} is not zenodo, hf-parquet or hf-save-to-disk")
    task = _mars_task(task_id)
    info, classes = task.info, task.spec.classes
    counts = (n_per_split if isinstance(n_per_split, dict)
              else dict.fromkeys(SPLITS, n_per_split))
    data = {split: make_samples(info, len(classes), split, counts[split], size, seed)
            for split in SPLITS}
    chosen = _budgets(info) if budgets else []
    folder = Path(root) / task_id
    if layout == "zenodo":
        _write_zenodo(folder, info, classes, data, chosen, seed, box_formats)
    elif layout == "hf-parquet":
        _write_hub(folder, info, classes, _hub_splits(info, data, chosen, seed), card)
    else:
        _write_saved(folder, info, classes, _hub_splits(info, data, chosen, seed))
    return folder


def fake_samples(task_id: str, split: str, *, n_per_split: int = 3, size: int = 32,
                 seed: int = 0) -> list[FakeSample]:
    """The samples :func:`write_mars_fake` writes for one split (to assert against)."""
    task = _mars_task(task_id)
    return make_samples(task.info, task.spec.n_classes, split, n_per_split, size, seed)


def fake_budget(task_id: str, *, fraction: float | None = None, shots: int | None = None,
                n_per_split: int = 3, size: int = 32, seed: int = 0) -> list[FakeSample]:
    """The train samples of a budget as :func:`write_mars_fake` publishes it."""
    task = _mars_task(task_id)
    train = fake_samples(task_id, "train", n_per_split=n_per_split, size=size, seed=seed)
    return _budget_rows(task.info, train, BudgetRequest(fraction=fraction, shots=shots), seed)


__all__ = [
    "FakeSample",
    "fake_budget",
    "fake_samples",
    "make_samples",
    "partition_token",
    "write_mars_fake",
]
