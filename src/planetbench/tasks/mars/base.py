"""Shared reader logic of the Mars-Bench tasks: the task type, layout detection, label budgets.

``root`` is Mars-Bench's ``dataset_path``: each dataset lives in ``<root>/<task id>/`` in one of
three layouts (:data:`~planetbench.tasks.mars.info.LAYOUTS`), chosen from what is on disk:

1. ``hf-save-to-disk`` when ``dataset_dict.json`` (or ``<split>/state.json``) is there;
2. ``hf-parquet`` when ``data/*.parquet`` is there (a local copy of ``Mirali33/<id>``);
3. ``zenodo`` otherwise, when ``annotation.csv`` or ``data/<split>/`` is there.

The reader option ``layout=`` forces one. Every sample is a dict of NumPy arrays (see
:class:`MarsSplit`). Label budgets (reader options ``fraction=`` and ``shots=``, train split only)
read the files Mars-Bench publishes: in the Zenodo layout ``partitions/<p>x_partition.csv`` and
``few_shot/<n>_shot.csv`` (which hold the reduced train rows plus all val and test rows; only
the train rows are used), in the Hugging Face layouts the extra splits
``partition_train_<p>x_partition`` (``<p>x_partition`` for detection) and
``few_shot_train_<n>_shot`` (train rows only). ``<p>`` is written with two decimals (``0.01``,
``0.10``, ``0.25``), as Mars-Bench builds the name. A budget that is not published raises
:class:`~planetbench.errors.BudgetNotPublishedError`;
``planetbench.protocols.budgets.select_budget`` then draws planetbench's own stratified list.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import (
    BudgetNotPublishedError,
    DatasetNotFoundError,
    InvalidInputError,
    LabelFileError,
    require,
)
from planetbench.tasks.mars.info import (
    BUDGET_FRACTIONS,
    BUDGET_SHOTS,
    LAYOUTS,
    ZENODO_COMMUNITY,
    LayoutName,
    MarsBenchInfo,
    hf_url,
    layout_descriptions,
)
from planetbench.tasks.readers.hf import (
    HFRows,
    disk_splits,
    hub_splits,
    is_hub_copy,
    is_saved_to_disk,
)
from planetbench.tasks.spec import SampleDataset, Task, TaskSpec

READER_OPTIONS: tuple[str, ...] = ("fraction", "shots", "layout")
"""Options every Mars task's reader accepts (detection adds ``box_format`` and ``drop_empty``)."""

VALID_IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
"""Image file suffixes (Mars-Bench's ``valid_image_extensions``: jpg, jpeg, png, tif, any case;
``.tiff`` added)."""


# ---------------------------------------------------------------------------------- budgets


def partition_token(fraction: float) -> str:
    """Mars-Bench's file/split token of a training fraction: ``0.1`` → ``"0.10x_partition"``."""
    return f"{fraction:.2f}x_partition"


@dataclass(frozen=True)
class BudgetRequest:
    """A label budget asked for: a training fraction or a number of images per class.

    Attributes:
        fraction: share of the training split in (0, 1], or None.
        shots: images per class, or None.
    """

    fraction: float | None = None
    shots: int | None = None

    @property
    def label(self) -> str:
        """``fraction=0.1`` or ``shots=5``."""
        return f"fraction={self.fraction:g}" if self.fraction is not None else f"shots={self.shots}"

    def zenodo_file(self) -> str:
        """The budget file's path inside the dataset folder."""
        if self.fraction is not None:
            return f"partitions/{partition_token(self.fraction)}.csv"
        return f"few_shot/{self.shots}_shot.csv"

    def hf_split(self, info: MarsBenchInfo) -> str:
        """The budget's split name in the Hugging Face layouts."""
        if self.fraction is not None:
            token = partition_token(self.fraction)
            return token if info.family == "detection" else f"partition_train_{token}"
        return f"few_shot_train_{self.shots}_shot"


def budget_request(
    info: MarsBenchInfo, split: str, fraction: Any = None, shots: Any = None
) -> BudgetRequest | None:
    """Validate the ``fraction``/``shots`` reader options (None when neither is given).

    Raises:
        InvalidInputError: both given, a value outside Mars-Bench's study, or a split other than
            train.
    """
    if fraction is None and shots is None:
        return None
    if fraction is not None and shots is not None:
        raise InvalidInputError(
            f"task {info.task_id!r}: give fraction= or shots=, not both (Mars-Bench refuses the "
            "pair too)"
        )
    if split != "train":
        raise InvalidInputError(
            f"task {info.task_id!r}: label budgets apply to the train split only; load "
            f"split {split!r} without fraction=/shots= (val and test stay full)"
        )
    if fraction is not None:
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise InvalidInputError(f"fraction={fraction!r} must be a number")
        match = [f for f in BUDGET_FRACTIONS if abs(f - float(fraction)) < 1e-9]
        if not match:
            raise InvalidInputError(
                f"task {info.task_id!r}: fraction={fraction!r} is not one of Mars-Bench's "
                f"published fractions {', '.join(f'{f:g}' for f in BUDGET_FRACTIONS)}; other "
                "fractions are drawn by planetbench.protocols.budgets.select_budget"
            )
        return BudgetRequest(fraction=match[0])
    if isinstance(shots, bool) or not isinstance(shots, int) or shots not in BUDGET_SHOTS:
        raise InvalidInputError(
            f"task {info.task_id!r}: shots={shots!r} is not one of Mars-Bench's few-shot sizes "
            f"{', '.join(map(str, BUDGET_SHOTS))}"
        )
    return BudgetRequest(shots=shots)


# --------------------------------------------------------------------------------- samples


class MarsSplit:
    """One split (or label budget of the train split) of a Mars task.

    ``ds[i]`` is a dict of NumPy arrays:

    * ``"image"``: float32 (3, H, W), values as stored (0-255 for 8-bit files), channels as
      Mars-Bench loads them (grey → 3 equal channels; change pairs (zeros, after, before); MMLS
      file channels 2, 1, 0);
    * ``"id"``: str, unique within the split;
    * the target: ``"label"`` int64 scalar (binary 0/1 or class index) for classification,
      ``"label"`` int64 (n_labels,) 0/1 for multi-label, ``"mask"`` int64 (H, W) class indices
      for segmentation, ``"boxes"`` float32 (N, 4) pixel ``(x0, y0, x1, y1)`` plus ``"labels"``
      int64 (N,) class indices into ``spec.classes`` for detection (N may be 0).

    Attributes:
        spec: the task's spec.
        info: its Mars-Bench facts.
        split: the split read (``train``, ``val`` or ``test``).
        layout: the layout it was read from.
        source: the file or split name the samples come from (a budget file when one was asked).
        budget: the label budget read, or None for the full split.
        class_names: class names found on disk (``mapping.json``, ``feature_name`` per label,
            Hugging Face ``ClassLabel``), or None when the files name none.
        notes: things the reader did that a user should know (e.g. unmatched files skipped).
    """

    def __init__(
        self,
        spec: TaskSpec,
        info: MarsBenchInfo,
        split: str,
        layout: LayoutName,
        source: str,
        budget: BudgetRequest | None = None,
    ) -> None:
        self.spec = spec
        self.info = info
        self.split = split
        self.layout = layout
        self.source = source
        self.budget = budget
        self.class_names: tuple[str, ...] | None = None
        self.notes: list[str] = []
        self._budget_opener: Callable[[BudgetRequest], MarsSplit] | None = None

    def published_subset(
        self, *, fraction: float | None = None, shots: int | None = None
    ) -> MarsSplit | None:
        """The published label budget of this (full, train) split, or None when it has none.

        Label-budget samplers (``planetbench.protocols.fraction`` and ``.kshot``) call this so
        that the published file wins over a drawn list.
        """
        if self._budget_opener is None:
            return None
        try:
            request = budget_request(self.info, "train", fraction, shots)
        except InvalidInputError:
            return None  # not a value Mars-Bench publishes
        if request is None:
            return None
        try:
            return self._budget_opener(request)
        except BudgetNotPublishedError:
            return None

    def image_digest(self, index: int) -> str:
        """sha256 of the stored image bytes of sample ``index`` (to match rows across splits)."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def sample_id(self, index: int) -> str:
        """The id of sample ``index`` (no image is decoded)."""
        raise NotImplementedError

    def target(self, index: int) -> np.ndarray:
        """The target of sample ``index`` without decoding its image (for budget sampling):
        int64 scalar label, (n_labels,) 0/1 vector, (H, W) mask or (N,) box class indices."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def ids(self) -> tuple[str, ...]:
        """Every sample id, in order."""
        return tuple(self.sample_id(i) for i in range(len(self)))

    def _check_index(self, index: int) -> int:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"sample {index} out of range for {n} samples")
        return index

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        what = f", {self.budget.label}" if self.budget else ""
        return (f"{type(self).__name__}({self.spec.name!r}, {self.split!r}{what}, "
                f"{len(self)} samples, layout {self.layout!r})")


# ------------------------------------------------------------------------------ file reading


def pil() -> Any:
    """Pillow's Image module (``pip install 'planetbench[geo]'`` when missing)."""
    return require("PIL.Image", "geo")


def read_rgb(path: Path) -> np.ndarray:
    """An image file as Mars-Bench opens it (``Image.open(p).convert("RGB")``).

    Returns:
        float32 (3, H, W), 0-255.
    """
    image_mod = pil()
    try:
        with image_mod.open(path) as img:
            arr = np.asarray(img.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read image {path}: {exc}") from exc
    return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)


def rgb_from_pil(img: Any) -> np.ndarray:
    """A Pillow image converted to RGB as float32 (3, H, W)."""
    arr = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
    return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)


def mask_from_pil(img: Any, where: str) -> np.ndarray:
    """A label image as int64 (H, W) class indices.

    Grey (``L``, ``I``, ``I;16``) and bilevel images give their values; palette images give their
    palette indices (Mars-Bench converts them to luminance, which is not a class index); RGB
    images are accepted only when their three channels are equal.
    """
    if img.mode in ("RGB", "RGBA"):
        arr = np.asarray(img)[..., :3]
        if not (np.array_equal(arr[..., 0], arr[..., 1])
                and np.array_equal(arr[..., 0], arr[..., 2])):
            raise LabelFileError(
                f"{where}: the mask is a colour image with differing channels; masks must be "
                "single-channel class indices (8-bit grey PNG, value = class index)"
            )
        return arr[..., 0].astype(np.int64)
    arr = np.asarray(img)
    if arr.ndim != 2:
        raise LabelFileError(f"{where}: the mask has shape {arr.shape}; expected (H, W)")
    return arr.astype(np.int64)


def read_mask(path: Path) -> np.ndarray:
    """A mask file as int64 (H, W) class indices (see :func:`mask_from_pil`)."""
    image_mod = pil()
    try:
        with image_mod.open(path) as img:
            img.load()
            return mask_from_pil(img, str(path))
    except LabelFileError:
        raise
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read mask {path}: {exc}") from exc


def check_mask(spec: TaskSpec, mask: np.ndarray, where: str) -> np.ndarray:
    """Raise unless every mask value is a class index of ``spec``; return the mask."""
    if mask.size and (mask.min() < 0 or mask.max() >= spec.n_classes):
        bad = sorted(set(np.unique(mask).tolist()) - set(range(spec.n_classes)))
        hint = " (a 0/255 mask must be saved as 0/1)" if 255 in bad else ""
        raise LabelFileError(
            f"task {spec.name!r}: mask {where} holds value(s) {bad[:10]}; allowed are class "
            f"indices 0..{spec.n_classes - 1}{hint}"
        )
    return mask


def read_csv(path: Path, columns: Sequence[str], where: str) -> Any:
    """A pandas DataFrame of ``path`` with ``columns`` checked (all read as strings)."""
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read {where} {path}: {exc}") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise LabelFileError(
            f"{where} {path} lacks column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, df.columns))}"
        )
    return df


def unique_ids(primary: Sequence[str], fallback: Sequence[str], where: str) -> tuple[str, ...]:
    """``primary`` when its values are unique, else ``fallback`` (which must be unique)."""
    if len(set(primary)) == len(primary):
        return tuple(primary)
    if len(set(fallback)) == len(fallback):
        return tuple(fallback)
    seen: set[str] = set()
    dup = next(x for x in fallback if x in seen or seen.add(x))  # type: ignore[func-returns-value]
    raise LabelFileError(f"{where}: sample {dup!r} is listed twice")


def read_mapping(folder: Path, n_classes: int) -> tuple[str, ...] | None:
    """Class names from ``<folder>/mapping.json`` (``{"0": name, …}`` or ``[names]``) when it
    holds exactly ``n_classes`` entries, else None (as Mars-Bench's ``load_mapping``)."""
    path = folder / "mapping.json"
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
        if isinstance(raw, dict):
            names = {int(k): v for k, v in raw.items()}
            ordered = [names[i] for i in range(len(names))]
        elif isinstance(raw, list):
            ordered = list(raw)
        else:
            return None
    except (OSError, ValueError, KeyError):
        return None
    if len(ordered) != n_classes:
        return None
    return tuple(str(n[0] if isinstance(n, list) and n else n) for n in ordered)


# ------------------------------------------------------------------------------- the reader


@dataclass(frozen=True)
class Context:
    """What a family reader needs to open a split: the task, its folder and the layout."""

    spec: TaskSpec
    info: MarsBenchInfo
    folder: Path
    layout: LayoutName


Opener = Callable[[Context, str, BudgetRequest | None, dict[str, Any]], MarsSplit]
"""Opens one split: ``(context, split, budget, family options) -> MarsSplit``."""


def _suggest(root: Path, task_id: str) -> str:
    if not root.is_dir():
        return f" The folder {str(root)!r} does not exist."
    if looks_like_dataset(root):
        return (f" {str(root)!r} itself looks like a dataset folder: pass its parent, i.e. "
                f"--root {root.parent}, and name the folder {task_id!r}.")
    for depth in (1, 2):
        hits = [p for p in root.glob("/".join(["*"] * depth) + f"/{task_id}") if p.is_dir()]
        if hits:
            return f" Found {str(hits[0])!r}: did you mean --root {hits[0].parent}?"
    return ""


def looks_like_dataset(folder: Path) -> bool:
    """True when ``folder`` holds any of the accepted layouts' marker files."""
    return (
        is_saved_to_disk(folder)
        or is_hub_copy(folder)
        or (folder / "annotation.csv").is_file()
        or (folder / "data").is_dir()
    )


def detect_layout(folder: Path) -> LayoutName | None:
    """The layout of a dataset folder (see the module docstring), or None."""
    if is_saved_to_disk(folder):
        return "hf-save-to-disk"
    if is_hub_copy(folder):
        return "hf-parquet"
    if (folder / "annotation.csv").is_file() or (folder / "data").is_dir():
        return "zenodo"
    return None


def missing_error(spec: TaskSpec, info: MarsBenchInfo, root: Path, what: str) -> DatasetNotFoundError:
    """The error for absent data: what is missing, where to get it, which layouts are read."""
    layouts = "; ".join(f"({i}) {k}: {v}" for i, (k, v) in
                        enumerate(layout_descriptions(info).items(), start=1))
    return DatasetNotFoundError(
        f"task {spec.name!r}: {what}. --root is Mars-Bench's dataset_path, the folder that holds "
        f"{info.task_id}/. Get the data from the Zenodo community {ZENODO_COMMUNITY} (unzip it "
        f"so that {root / info.task_id} holds its files) or from Hugging Face {hf_url(info.task_id)} "
        f"(`huggingface-cli download {info.hf_repo} --repo-type dataset --local-dir "
        f"{root / info.task_id}`). Accepted layouts: {layouts}."
        + _suggest(root, info.task_id)
    )


class MarsReader:
    """The reader of one Mars task: ``reader(root, split, **options) -> MarsSplit``.

    Args:
        spec: the task's spec.
        info: its Mars-Bench facts.
        zenodo: opener of the Zenodo layout.
        hf: opener of the Hugging Face layouts (``hf-parquet`` and ``hf-save-to-disk``).
        family_options: reader options beyond :data:`READER_OPTIONS` this family accepts.
    """

    def __init__(
        self,
        spec: TaskSpec,
        info: MarsBenchInfo,
        zenodo: Opener,
        hf: Opener,
        family_options: tuple[str, ...] = (),
    ) -> None:
        self.spec = spec
        self.info = info
        self.zenodo = zenodo
        self.hf = hf
        self.family_options = family_options

    def folder(self, root: str | Path) -> Path:
        """``<root>/<task id>``."""
        return Path(root) / self.info.task_id

    def layout_of(self, root: str | Path, layout: str | None = None) -> LayoutName:
        """The layout under ``root`` (detected, or ``layout`` when given and present).

        Raises:
            DatasetNotFoundError: nothing readable is there.
            InvalidInputError: ``layout`` is not an accepted layout name.
        """
        root = Path(root)
        folder = self.folder(root)
        if layout is not None and layout not in LAYOUTS:
            raise InvalidInputError(
                f"layout={layout!r} is not one of {', '.join(LAYOUTS)}"
            )
        if not folder.is_dir():
            raise missing_error(self.spec, self.info, root, f"the folder {str(folder)!r} is absent")
        found = detect_layout(folder)
        if found is None:
            raise missing_error(
                self.spec, self.info, root,
                f"{str(folder)!r} holds none of annotation.csv, data/, data/*.parquet, "
                "dataset_dict.json",
            )
        if layout is None:
            return found
        return layout

    def __call__(self, root: Path, split: str, **options: Any) -> MarsSplit:
        """Open ``split`` under ``root`` (see the module docstring for the options)."""
        allowed = READER_OPTIONS + self.family_options
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise InvalidInputError(
                f"task {self.spec.name!r} reader options are {', '.join(allowed)}; got "
                f"{', '.join(unknown)}"
            )
        budget = budget_request(self.info, split, options.get("fraction"), options.get("shots"))
        layout = self.layout_of(root, options.get("layout"))
        ctx = Context(self.spec, self.info, self.folder(root), layout)
        family = {k: options[k] for k in self.family_options if k in options}
        if budget is not None and budget.fraction == 1.0 and not self._has_budget(ctx, budget):
            budget = None  # the whole training split is the 100 % budget
        opener = self.zenodo if layout == "zenodo" else self.hf
        ds = opener(ctx, split, budget, family)
        if split == "train" and budget is None:
            ds._budget_opener = lambda b: opener(ctx, "train", b, family)
        return ds

    def _has_budget(self, ctx: Context, budget: BudgetRequest) -> bool:
        if ctx.layout == "zenodo":
            return (ctx.folder / budget.zenodo_file()).is_file()
        return budget.hf_split(self.info) in hf_splits_of(ctx)

    def published_budgets(self, root: str | Path) -> dict[str, tuple[float | int, ...]]:
        """The budgets published under ``root``: ``{"fraction": (…), "shots": (…)}``."""
        ctx = Context(self.spec, self.info, self.folder(root), self.layout_of(root))
        return {
            "fraction": tuple(f for f in BUDGET_FRACTIONS
                              if self._has_budget(ctx, BudgetRequest(fraction=f))),
            "shots": tuple(n for n in BUDGET_SHOTS
                           if self._has_budget(ctx, BudgetRequest(shots=n))),
        }


def not_published(ctx: Context, budget: BudgetRequest, looked: str) -> BudgetNotPublishedError:
    """The error for a label budget whose file or split is absent."""
    return BudgetNotPublishedError(
        f"task {ctx.spec.name!r}: no published label budget {budget.label} under "
        f"{str(ctx.folder)!r} (looked for {looked}). Draw planetbench's own stratified list "
        "with planetbench.protocols.budgets.select_budget(task, root, "
        f"{budget.label}, seed=…), which uses the published file when there is one."
    )


def zenodo_budget_csv(ctx: Context, budget: BudgetRequest | None) -> Path | None:
    """The budget CSV of the Zenodo layout (None for the full split); raises when absent."""
    if budget is None:
        return None
    path = ctx.folder / budget.zenodo_file()
    if not path.is_file():
        raise not_published(ctx, budget, str(path))
    return path


def hf_splits_of(ctx: Context) -> dict[str, tuple[Path, ...]]:
    """Split name → files of the Hugging Face layout in ``ctx.folder``."""
    return hub_splits(ctx.folder) if ctx.layout == "hf-parquet" else disk_splits(ctx.folder)


def open_hf_split(ctx: Context, split: str, budget: BudgetRequest | None) -> tuple[HFRows, str]:
    """Rows of the split (or its budget split) of a Hugging Face layout, and the split name.

    Raises:
        BudgetNotPublishedError: the budget split is absent.
        DatasetNotFoundError: the split is absent or empty.
    """
    name = budget.hf_split(ctx.info) if budget is not None else split
    splits = hf_splits_of(ctx)
    files = splits.get(name)
    if not files:
        if budget is not None:
            raise not_published(ctx, budget, f"split {name!r}")
        raise missing_error(
            ctx.spec, ctx.info, ctx.folder.parent,
            f"split {name!r} is absent from {str(ctx.folder)!r} (layout {ctx.layout}; splits "
            f"present: {', '.join(sorted(splits)) or 'none'})",
        )
    rows = HFRows(files, "parquet" if ctx.layout == "hf-parquet" else "arrow")
    if len(rows) == 0:
        raise missing_error(ctx.spec, ctx.info, ctx.folder.parent,
                            f"split {name!r} of {str(ctx.folder)!r} has no rows")
    return rows, name


def warn_note(ds: MarsSplit, message: str) -> None:
    """Record ``message`` in ``ds.notes`` and emit it as a UserWarning."""
    ds.notes.append(message)
    warnings.warn(message, UserWarning, stacklevel=3)


@dataclass(frozen=True)
class MarsTask(Task):
    """A Mars-Bench task: its spec, its reader and Mars-Bench's facts about it.

    ``load(root, split, fraction=p)`` / ``load(root, split, shots=n)`` read a published label
    budget of the train split; ``layout=``, and for detection ``box_format=`` and
    ``drop_empty=``, are the other reader options.
    """

    info: MarsBenchInfo = field(kw_only=True)

    @property
    def layouts(self) -> dict[str, str]:
        """Every accepted layout (name → description), as in ``spec.layouts``."""
        return {layout.name: layout.pattern for layout in self.spec.layouts}

    def describe(self) -> tuple[tuple[str, str], ...]:
        """(label, text) lines for ``planetbench data info``: layouts, Mars-Bench's facts."""
        info = self.info
        lines = [
            ("mars-bench", f"{info.marsbench_class} (kerner-lab/Mars-Bench); Hugging Face "
             f"{hf_url(info.task_id)}; Zenodo {ZENODO_COMMUNITY}"),
            ("images", f"{info.image_size}, {info.native_bands} band(s) in the files, fed as 3 "
             "channels as Mars-Bench loads them"),
            ("published split sizes", "train/val/test = "
             + "/".join(str(n) for n in info.split_sizes)),
            ("classes", info.class_note),
            ("label budgets", "fractions " + ", ".join(f"{f:g}" for f in BUDGET_FRACTIONS)
             + (", shots " + ", ".join(map(str, BUDGET_SHOTS)) if info.published_shots else "")
             + " from the published files (load(..., fraction=p) / shots=n, train split); "
             "otherwise planetbench.protocols.budgets.select_budget draws a stratified list"),
        ]
        lines += [("note", n) for n in info.notes]
        return tuple(lines)

    def layout_of(self, root: str | Path) -> LayoutName:
        """The layout found under ``root`` (raises when the data is absent)."""
        return self._reader().layout_of(root)

    def published_budgets(self, root: str | Path) -> dict[str, tuple[float | int, ...]]:
        """The label budgets published under ``root`` (fractions and shots)."""
        return self._reader().published_budgets(root)

    def _reader(self) -> MarsReader:
        if not isinstance(self.reader, MarsReader):
            raise InvalidInputError(f"task {self.spec.name!r} has no Mars reader")
        return self.reader

    def load(self, root: str | Path, split: str, **options: Any) -> MarsSplit:
        """Open ``split`` of this task under ``root`` (see :class:`MarsReader`)."""
        ds = super().load(root, split, **options)
        if not isinstance(ds, MarsSplit):
            raise InvalidInputError(f"task {self.spec.name!r}: reader returned {type(ds)}")
        return ds


def subset_ids(ds: SampleDataset) -> tuple[str, ...]:
    """Sample ids of any dataset (``ds.ids`` when it has them, else ``ds[i]["id"]``)."""
    ids = getattr(ds, "ids", None)
    if ids is not None:
        return tuple(ids)
    return tuple(str(ds[i]["id"]) for i in range(len(ds)))


__all__ = [
    "READER_OPTIONS",
    "VALID_IMAGE_SUFFIXES",
    "BudgetRequest",
    "Context",
    "MarsReader",
    "MarsSplit",
    "MarsTask",
    "budget_request",
    "check_mask",
    "detect_layout",
    "missing_error",
    "partition_token",
    "read_mask",
    "read_rgb",
]
