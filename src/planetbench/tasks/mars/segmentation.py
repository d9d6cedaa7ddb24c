"""Mars-Bench segmentation readers (``marsbench/data/segmentation/*.py``).

Zenodo layout: ``data/<split>/images/`` and ``data/<split>/masks/``, paired by the dataset's
naming (:data:`~planetbench.tasks.mars.info.SegNaming`): the same file name (boulder, ConeQuest,
crater sets), ``<stem>.jpg`` with ``<stem>.png`` (MarsSegMER/MSL, S5Mars; the image is found by
stem, ``.jpg`` preferred), or ``Image<rest>`` with ``Mask<rest>`` (MMLS). Without a budget the
split is every image that has a mask (an image or mask without a partner is skipped with a
warning, as Mars-Bench skips it with a log line); with a budget, the ``file_id`` rows of the
budget CSV whose ``split`` is ``train``.

Masks are single-channel class indices (8-bit grey PNG, value = class index; palette PNGs give
their palette indices, RGB masks with equal channels their value); any value outside
``0..n_classes-1`` raises :class:`~planetbench.errors.LabelFileError`. MMLS images are 7-band
tiffs read with tifffile; channels 2, 1, 0 are fed (Mars-Bench's choice), and
:func:`read_mmls_bands` gives all seven. Mars-Bench's MMLS reader fails on every sample (it reads
``self.ground``); this one reads the mask tiffs.

Hugging Face layouts: columns ``image`` (converted to RGB) and ``mask``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import LabelFileError, require
from planetbench.tasks.mars.base import (
    VALID_IMAGE_SUFFIXES,
    BudgetRequest,
    Context,
    MarsSplit,
    check_mask,
    mask_from_pil,
    missing_error,
    open_hf_split,
    read_csv,
    read_mapping,
    read_mask,
    read_rgb,
    rgb_from_pil,
    unique_ids,
    warn_note,
    zenodo_budget_csv,
)
from planetbench.tasks.mars.classification import hf_ids
from planetbench.tasks.readers.hf import HFRows, cell_digest, decode_image

MMLS_CHANNELS: tuple[int, int, int] = (2, 1, 0)
"""File channels of an MMLS tiff fed as the three input channels (Mars-Bench's ``[:, :, [2, 1, 0]]``)."""

MMLS_N_BANDS = 7
"""Bands in an MMLS image tiff."""


def read_mmls_bands(path: Path) -> np.ndarray:
    """Every band of an MMLS image tiff as float32 (7, H, W), values as stored.

    Channels-last (H, W, 7) files, as Mars-Bench indexes them, and channels-first files are both
    accepted.
    """
    tifffile: Any = require("tifffile", "mars")
    try:
        arr = np.asarray(tifffile.imread(path))
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read MMLS tiff {path}: {exc}") from exc
    if arr.ndim == 3 and arr.shape[-1] == MMLS_N_BANDS:
        arr = arr.transpose(2, 0, 1)
    if arr.ndim != 3 or arr.shape[0] != MMLS_N_BANDS:
        raise LabelFileError(
            f"MMLS image {path} has shape {arr.shape}; expected {MMLS_N_BANDS} bands "
            "(H, W, 7) as the MMLS tiffs hold"
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


def read_mmls_image(path: Path) -> np.ndarray:
    """An MMLS image as fed: float32 (3, H, W) = file channels 2, 1, 0."""
    return read_mmls_bands(path)[list(MMLS_CHANNELS)]


def read_mmls_mask(path: Path) -> np.ndarray:
    """An MMLS mask tiff as int64 (H, W) (a trailing or leading band axis of size 1 is dropped)."""
    tifffile: Any = require("tifffile", "mars")
    try:
        arr = np.asarray(tifffile.imread(path))
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read MMLS mask {path}: {exc}") from exc
    arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise LabelFileError(f"MMLS mask {path} has shape {arr.shape}; expected (H, W)")
    if not np.all(np.equal(np.mod(arr, 1), 0)):
        raise LabelFileError(f"MMLS mask {path} holds non-integer values")
    return arr.astype(np.int64)


@dataclass(frozen=True)
class SegPair:
    """One segmentation sample on disk."""

    id: str
    image: Path
    mask: Path


def _by_stem(folder: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file():
            out.setdefault(p.name.split(".")[0], []).append(p)
    return out


def _pick(paths: Sequence[Path], preferred: str) -> Path:
    for p in paths:
        if p.suffix.lower() == preferred:
            return p
    return paths[0]


class ZenodoSegmentation(MarsSplit):
    """Image/mask pairs of one split in the Zenodo layout (see the module docstring)."""

    def __init__(self, ctx: Context, split: str, source: str, budget: BudgetRequest | None,
                 pairs: Sequence[SegPair]) -> None:
        super().__init__(ctx.spec, ctx.info, split, ctx.layout, source, budget)
        self.pairs = tuple(pairs)
        self._mmls = ctx.info.seg_naming == "mmls"

    def __len__(self) -> int:
        return len(self.pairs)

    def sample_id(self, index: int) -> str:
        """The id of sample ``index``: the image file stem."""
        return self.pairs[self._check_index(index)].id

    def target(self, index: int) -> np.ndarray:
        """The mask of sample ``index`` (int64 (H, W)), read without the image."""
        pair = self.pairs[self._check_index(index)]
        mask = read_mmls_mask(pair.mask) if self._mmls else read_mask(pair.mask)
        return check_mask(self.spec, mask, str(pair.mask))

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index`` (see :class:`~planetbench.tasks.mars.base.MarsSplit`)."""
        index = self._check_index(index)
        pair = self.pairs[index]
        image = read_mmls_image(pair.image) if self._mmls else read_rgb(pair.image)
        mask = self.target(index)
        if mask.shape != image.shape[1:]:
            raise LabelFileError(
                f"task {self.spec.name!r}: mask {pair.mask} is {mask.shape}, image {pair.image} "
                f"is {image.shape[1:]}"
            )
        return {"image": image, "mask": mask, "id": pair.id}


def _pairs_from_names(ctx: Context, images: Path, masks: Path,
                      names: Sequence[str] | None) -> tuple[list[SegPair], list[str]]:
    """Pairs of the split; ``names`` are budget ``file_id`` values (None: list the folders).

    Returns the pairs and the names left unpaired.
    """
    naming = ctx.info.seg_naming or "same_name"
    unpaired: list[str] = []
    pairs: list[SegPair] = []
    if naming == "jpg_png":
        img_by, msk_by = _by_stem(images), _by_stem(masks)
        stems = ([str(n).split(".")[0] for n in names] if names is not None
                 else sorted(set(img_by) | set(msk_by)))
        for stem in stems:
            if stem in img_by and stem in msk_by:
                pairs.append(SegPair(stem, _pick(img_by[stem], ".jpg"), _pick(msk_by[stem], ".png")))
            else:
                unpaired.append(stem)
        return pairs, unpaired
    if naming == "mmls":
        img_rest = {p.name.replace("Image", "", 1): p for p in images.iterdir() if p.is_file()}
        msk_rest = {p.name.replace("Mask", "", 1): p for p in masks.iterdir() if p.is_file()}
        rests = ([str(n).replace("Image", "") for n in names] if names is not None
                 else sorted(set(img_rest) | set(msk_rest)))
        for rest in rests:
            if rest in img_rest and rest in msk_rest:
                pairs.append(SegPair(img_rest[rest].stem, img_rest[rest], msk_rest[rest]))
            else:
                unpaired.append(rest)
        return pairs, unpaired
    img_names = {p.name for p in images.iterdir() if p.is_file()}
    msk_names = {p.name for p in masks.iterdir() if p.is_file()}
    listed = list(names) if names is not None else sorted(img_names | msk_names)
    for name in listed:
        if name in img_names and name in msk_names:
            pairs.append(SegPair(Path(name).stem, images / name, masks / name))
        else:
            unpaired.append(name)
    return pairs, unpaired


def open_zenodo(ctx: Context, split: str, budget: BudgetRequest | None,
                options: dict[str, Any]) -> ZenodoSegmentation:
    """Open one split of a segmentation task in the Zenodo layout."""
    del options
    spec, info = ctx.spec, ctx.info
    images, masks = ctx.folder / "data" / split / "images", ctx.folder / "data" / split / "masks"
    for folder in (images, masks):
        if not folder.is_dir():
            raise missing_error(spec, info, ctx.folder.parent, f"{str(folder)!r} is absent")
    csv = zenodo_budget_csv(ctx, budget)
    names: list[str] | None = None
    if csv is not None:
        df = read_csv(csv, ("file_id", "split"), "partition file")
        names = [str(v) for v in df[df["split"] == split]["file_id"]]
        if not names:
            raise missing_error(spec, info, ctx.folder.parent,
                                f"{str(csv)!r} has no rows with split == {split!r}")
    pairs, unpaired = _pairs_from_names(ctx, images, masks, names)
    if csv is not None and unpaired:
        raise missing_error(
            spec, info, ctx.folder.parent,
            f"{len(unpaired)} file(s) named in {csv.name} have no image/mask pair under "
            f"{str(images.parent)!r}, e.g. {unpaired[0]!r}",
        )
    if not pairs:
        raise missing_error(spec, info, ctx.folder.parent,
                            f"no image/mask pairs in {str(images)!r} and {str(masks)!r}")
    bad = [p.image.name for p in pairs if p.image.suffix.lower() not in VALID_IMAGE_SUFFIXES]
    if bad:
        raise LabelFileError(f"task {spec.name!r}: not image files: {', '.join(bad[:3])}")
    ids = unique_ids([p.id for p in pairs], [p.image.name for p in pairs], str(images))
    pairs = [SegPair(i, p.image, p.mask) for i, p in zip(ids, pairs, strict=True)]
    ds = ZenodoSegmentation(ctx, split, str(csv or images.parent), budget, pairs)
    if unpaired:
        warn_note(ds, f"task {spec.name!r} split {split!r}: {len(unpaired)} image(s) or mask(s) "
                  f"without a partner skipped, e.g. {unpaired[0]!r}")
    ds.class_names = read_mapping(ctx.folder, spec.n_classes)
    return ds


class HFSegmentation(MarsSplit):
    """A segmentation split stored as Hugging Face rows (columns ``image`` and ``mask``)."""

    def __init__(self, ctx: Context, split: str, source: str, budget: BudgetRequest | None,
                 rows: HFRows, ids: Sequence[str]) -> None:
        super().__init__(ctx.spec, ctx.info, split, ctx.layout, source, budget)
        self.rows = rows
        self._ids = tuple(ids)

    def __len__(self) -> int:
        return len(self.rows)

    def image_digest(self, index: int) -> str:
        """sha256 of the stored image bytes of row ``index``."""
        return cell_digest(self.rows.cell(self._check_index(index), "image"))

    def sample_id(self, index: int) -> str:
        """The id of row ``index``."""
        return self._ids[self._check_index(index)]

    def target(self, index: int) -> np.ndarray:
        """The mask of row ``index`` (int64 (H, W))."""
        index = self._check_index(index)
        where = f"task {self.spec.name!r} {self.source} row {index} mask"
        img = decode_image(self.rows.cell(index, "mask"), where, mode=None)
        return check_mask(self.spec, mask_from_pil(img, where), where)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index`` (see :class:`~planetbench.tasks.mars.base.MarsSplit`)."""
        index = self._check_index(index)
        where = f"task {self.spec.name!r} {self.source} row {index}"
        image = rgb_from_pil(decode_image(self.rows.cell(index, "image"), where, mode=None))
        mask = self.target(index)
        if mask.shape != image.shape[1:]:
            raise LabelFileError(f"{where}: mask {mask.shape} and image {image.shape[1:]} differ")
        return {"image": image, "mask": mask, "id": self._ids[index]}


def open_hf(ctx: Context, split: str, budget: BudgetRequest | None,
            options: dict[str, Any]) -> HFSegmentation:
    """Open one split of a segmentation task in a Hugging Face layout."""
    del options
    rows, name = open_hf_split(ctx, split, budget)
    rows.require_columns(("image", "mask"),
                         f"task {ctx.spec.name!r} split {name!r} ({ctx.layout} in {ctx.folder})")
    return HFSegmentation(ctx, split, name, budget, rows, hf_ids(rows, name))


__all__ = [
    "MMLS_CHANNELS",
    "HFSegmentation",
    "SegPair",
    "ZenodoSegmentation",
    "open_hf",
    "open_zenodo",
    "read_mmls_bands",
    "read_mmls_image",
    "read_mmls_mask",
]
