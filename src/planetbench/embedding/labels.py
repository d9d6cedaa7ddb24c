"""NeuCo-Bench label tasks: a folder of ``<task>__<type>.csv`` files (``id``, ``label`` columns).

NeuCo-Bench (Vinge et al. 2025, "NeuCo-Bench: A Novel Benchmark Framework for Neural Embeddings in
Earth Observation") evaluates a file of embeddings on every label file of an annotation folder. We
read that folder unchanged.

File names
    ``<task>__<type>.csv``; the task name is everything before the first ``__``. Type spellings
    (case-insensitive):

    * ``regr``, ``regression``, ``reg`` → ``regression`` (float labels, metric ``r2``);
    * ``cls``, ``classification`` → ``classification`` when there are 2 classes (metric ``f1``),
      else ``multiclass`` (metric ``f1_macro``); labels are integers or names;
    * ``mcls`` → ``multiclass`` (integer labels only, metric ``f1_macro``);
    * ``mlbl`` → ``multilabel`` (metric ``f1_macro``), in one of two layouts (not both at once):

      - a ``label`` column holding ``;``-separated class names per sample (``"water;forest"``);
        every sample needs at least one class, an empty cell is a missing label;
      - no ``label`` column but one 0/1 column ``label_<class>`` per class (samples with no class
        are allowed here).

Class labels are encoded to ``0..C-1`` in sorted order (numerically for integer labels); the
original names are kept in :attr:`LabelTask.classes`. Every problem raises
:class:`~planetbench.errors.LabelFileError` naming the file.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from planetbench.embedding.names import check_name
from planetbench.errors import InvalidInputError, LabelFileError
from planetbench.tasks.spec import TaskSpec

LabelKind = Literal["regression", "classification", "multiclass", "multilabel"]

#: Accepted type spellings after ``__`` in a label file name → what they mean.
TYPE_SPELLINGS: dict[str, str] = {
    "regr": "regression",
    "regression": "regression",
    "reg": "regression",
    "cls": "classification",
    "classification": "classification",
    "mcls": "multiclass",
    "mlbl": "multilabel",
}

#: Main metric per kind.
KIND_METRIC: dict[str, str] = {
    "regression": "r2",
    "classification": "f1",
    "multiclass": "f1_macro",
    "multilabel": "f1_macro",
}

MULTILABEL_SEPARATOR = ";"
MULTILABEL_PREFIX = "label_"
#: Regression labels must lie within ±LABEL_MAX and vary by at least LABEL_MIN_RANGE: beyond,
#: squared errors (R², MSE) leave float64's range and the scores cannot be finite.
LABEL_MAX = 1e100
LABEL_MIN_RANGE = 1e-100


def _list_items(items: list[str], limit: int = 10) -> str:
    """``a, b, c`` capped at ``limit`` entries, then ``and N more``."""
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@dataclass(frozen=True)
class LabelTask:
    """One label file of a NeuCo-Bench annotation folder.

    Attributes:
        name: task name (file stem before ``__``), e.g. ``"biomass_mean"``.
        kind: ``regression``, ``classification`` (binary), ``multiclass`` or ``multilabel``.
        ids: sample ids, shape (n,), str.
        y: targets: float64 (n,) for regression, int64 (n,) in ``0..C-1`` for classification and
            multiclass, int64 (n, C) of 0/1 for multilabel.
        classes: class names in encoded order (empty for regression).
        path: the label file.
        sha256: checksum of the label file (part of the run identity).
        skipped_ids: ids whose label cell was empty and which were left out
            (``read_label_file(skip_empty=True)``, NeuCo-Bench's reading); empty otherwise.
    """

    name: str
    kind: LabelKind
    ids: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    path: Path
    sha256: str = ""
    skipped_ids: tuple[str, ...] = ()

    @property
    def type_suffix(self) -> str:
        """The type as the file name spells it, lower-case (``regr``, ``cls`` …)."""
        return self.path.stem.split("__", 1)[1].strip().lower()

    @property
    def metric(self) -> str:
        """Main metric name: ``r2``, ``f1`` or ``f1_macro``."""
        return KIND_METRIC[self.kind]

    @property
    def n_samples(self) -> int:
        """Number of labelled samples."""
        return len(self.ids)

    @property
    def spec(self) -> TaskSpec:
        """The planetbench :class:`TaskSpec` of this task (suite ``neuco``)."""
        return TaskSpec(
            name=self.name,
            suite="neuco",
            kind=self.kind,
            metric=self.metric,
            classes=self.classes,
            splits=(),
        )

    def subset(self, mask: np.ndarray) -> LabelTask:
        """The same task restricted to the samples where ``mask`` (n,) is True."""
        return LabelTask(
            name=self.name,
            kind=self.kind,
            ids=self.ids[mask],
            y=self.y[mask],
            classes=self.classes,
            path=self.path,
            sha256=self.sha256,
            skipped_ids=self.skipped_ids,
        )


def parse_label_file_name(path: Path) -> tuple[str, str]:
    """Split ``<task>__<type>.csv`` into (task name, kind) or raise :class:`LabelFileError`."""
    stem = path.stem
    if "__" not in stem:
        raise LabelFileError(
            f"label file {str(path)!r}: the name must be <task>__<type>.csv (two underscores "
            f"between task and type, e.g. biomass_mean__regr.csv); got {path.name!r}"
        )
    name, spelling = stem.split("__", 1)
    if not name:
        raise LabelFileError(f"label file {str(path)!r}: the task name before '__' is empty")
    try:
        check_name(name, what=f"label file {path.name!r}: the task name")
    except InvalidInputError as exc:
        raise LabelFileError(str(exc)) from None
    kind = TYPE_SPELLINGS.get(spelling.lower())
    if kind is None:
        raise LabelFileError(
            f"label file {str(path)!r}: unknown task type {spelling!r}; allowed spellings: "
            f"{', '.join(TYPE_SPELLINGS)} (regr/regression/reg = regression, "
            "cls/classification = classification, mcls = multiclass, mlbl = multilabel)"
        )
    return name, kind


def _encode_classes(
    values: pd.Series, path: Path, *, integers_only: bool
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Encode class labels (integers or names) to 0..C-1 in sorted order."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        arr = numeric.to_numpy(dtype=np.float64)
        not_int = ~np.isclose(arr, np.round(arr))
        if not_int.any():
            bad = sorted({str(v) for v in values[not_int]})
            raise LabelFileError(
                f"label file {str(path)!r}: class labels must be integers or class names, got "
                f"non-integer numbers {_list_items(bad)}; use a __regr file for continuous targets"
            )
        ints = np.round(arr).astype(np.int64)
        uniq = np.unique(ints)
        codes = np.searchsorted(uniq, ints).astype(np.int64)
        return codes, tuple(str(u) for u in uniq.tolist())
    if integers_only:
        bad = sorted({str(v) for v in values[numeric.isna()]})
        raise LabelFileError(
            f"label file {str(path)!r}: __mcls labels must be integers; got {_list_items(bad)}. "
            "Use __cls for class names"
        )
    names = values.astype(str).to_numpy()
    uniq_names = np.unique(names)
    codes = np.searchsorted(uniq_names, names).astype(np.int64)
    return codes, tuple(str(u) for u in uniq_names.tolist())


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise LabelFileError(f"label file {str(path)!r} {what}; remove or rename it")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError) as exc:
        raise LabelFileError(f"label file {str(path)!r} cannot be read as CSV: {exc}") from exc


def _multilabel_targets(df: pd.DataFrame, path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    matrix_cols = [c for c in df.columns if c.startswith(MULTILABEL_PREFIX)]
    if "label" in df.columns and matrix_cols:
        raise LabelFileError(
            f"label file {str(path)!r}: give multilabel targets either as a ';'-separated 'label' "
            f"column or as 0/1 columns label_<class>, not both (found 'label' and {matrix_cols})"
        )
    if "label" in df.columns:
        lists = [sorted({p.strip() for p in str(v).split(MULTILABEL_SEPARATOR) if p.strip()})
                 for v in df["label"]]
        empty = [str(i) for i, parts in zip(df["id"], lists, strict=True) if not parts]
        if empty:
            raise LabelFileError(
                f"label file {str(path)!r}: multilabel cells without any class name for ids "
                f"{_list_items(empty)}; list classes separated by ';' (or use label_<class> 0/1 "
                "columns to allow samples without classes)"
            )
        classes = tuple(sorted({c for parts in lists for c in parts}))
        index = {c: i for i, c in enumerate(classes)}
        y = np.zeros((len(df), len(classes)), dtype=np.int64)
        for row, parts in enumerate(lists):
            y[row, [index[c] for c in parts]] = 1
        return y, classes
    classes = tuple(c[len(MULTILABEL_PREFIX):] for c in matrix_cols)
    block = df[matrix_cols].apply(pd.to_numeric, errors="coerce")
    bad_cols = [c for c in matrix_cols if not block[c].isin([0, 1]).all()]
    if bad_cols:
        raise LabelFileError(
            f"label file {str(path)!r}: multilabel columns must hold only 0 or 1; offending "
            f"columns: {_list_items(bad_cols)}"
        )
    return block.to_numpy(dtype=np.int64), classes


def read_label_file(path: str | Path, *, skip_empty: bool = False) -> LabelTask:
    """Read and validate one ``<task>__<type>.csv`` label file.

    Args:
        path: the label file.
        skip_empty: leave out rows whose label cell is empty (NeuCo-Bench's reading), recording
            their ids in :attr:`LabelTask.skipped_ids`; otherwise an empty cell is an error. A
            cell holding ``NaN`` or any other non-numeric text stays an error either way.

    Raises:
        LabelFileError: bad name or type, missing ``id``/``label`` columns, duplicate ids, missing
            labels, constant labels, malformed classes. The message names the file.
    """
    path = Path(path)
    name, kind = parse_label_file_name(path)
    df = _read_csv(path)
    df.columns = [str(c).strip() for c in df.columns]
    has_matrix = kind == "multilabel" and any(c.startswith(MULTILABEL_PREFIX) for c in df.columns)
    needed = ["id"] if has_matrix else ["id", "label"]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        hint = " (or label_<class> 0/1 columns for multilabel)" if kind == "multilabel" else ""
        raise LabelFileError(
            f"label file {str(path)!r}: missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"found {list(df.columns)}. A label file needs columns 'id' and 'label'{hint}"
        )
    if df.empty:
        raise LabelFileError(f"label file {str(path)!r} has no rows")
    if df["id"].isna().any():
        rows = [str(i + 2) for i in np.flatnonzero(df["id"].isna().to_numpy())]
        raise LabelFileError(f"label file {str(path)!r}: empty id on line(s) {_list_items(rows)}")
    ids = df["id"].astype(str).str.strip()
    dup = ids[ids.duplicated(keep=False)].unique().tolist()
    if dup:
        raise LabelFileError(
            f"label file {str(path)!r}: {len(dup)} duplicate id(s): {_list_items(dup)}; "
            "each id must appear once per task"
        )
    label_cols = ["label"] if "label" in df.columns else [
        c for c in df.columns if c.startswith(MULTILABEL_PREFIX)
    ]
    nan_rows = df[label_cols].isna().any(axis=1).to_numpy()
    skipped: tuple[str, ...] = ()
    if nan_rows.any() and skip_empty and not nan_rows.all():
        skipped = tuple(ids[nan_rows].tolist())
        df, ids = df.loc[~nan_rows].reset_index(drop=True), ids[~nan_rows].reset_index(drop=True)
        nan_rows = np.zeros(len(df), dtype=bool)
    if nan_rows.any():
        bad = ids[nan_rows].tolist()
        raise LabelFileError(
            f"label file {str(path)!r}: {len(bad)} missing (NaN/empty) label(s) for ids "
            f"{_list_items(bad)}; drop those rows or fill them in"
        )

    classes: tuple[str, ...] = ()
    if kind == "regression":
        y_num = pd.to_numeric(df["label"], errors="coerce")
        lowered = df["label"].str.strip().str.lower()
        nan_like = lowered.isin(["nan", "na", "n/a", "null", "none"])
        if nan_like.any():
            raise LabelFileError(
                f"label file {str(path)!r}: {int(nan_like.sum())} NaN label(s) for ids "
                f"{_list_items(ids[nan_like].tolist())}; drop those rows or fill them in"
            )
        bad_mask = y_num.isna().to_numpy() | ~np.isfinite(y_num.to_numpy(dtype=float))
        if bad_mask.any():
            raise LabelFileError(
                f"label file {str(path)!r}: regression labels must be finite numbers; bad values "
                f"for ids {_list_items(ids[bad_mask].tolist())}"
            )
        y = y_num.to_numpy(dtype=np.float64)
        if np.ptp(y) == 0:
            raise LabelFileError(
                f"label file {str(path)!r}: all {len(y)} labels equal {y[0]!r}; a constant target "
                "cannot be probed"
            )
        _check_label_scale(y, path)
        final_kind: LabelKind = "regression"
    elif kind == "multilabel":
        y, classes = _multilabel_targets(df, path)
        constant = [c for j, c in enumerate(classes) if y[:, j].min() == y[:, j].max()]
        if constant:
            raise LabelFileError(
                f"label file {str(path)!r}: multilabel class(es) {_list_items(constant)} are "
                "constant (present in every sample or in none); remove them"
            )
        final_kind = "multilabel"
    else:
        lowered = df["label"].str.strip().str.lower()
        nan_like = lowered.isin(["nan", "na", "n/a", "null", "none"])
        if nan_like.any():
            raise LabelFileError(
                f"label file {str(path)!r}: {int(nan_like.sum())} NaN label(s) for ids "
                f"{_list_items(ids[nan_like].tolist())}; drop those rows or fill them in"
            )
        y, classes = _encode_classes(
            df["label"].str.strip(), path, integers_only=kind == "multiclass"
        )
        if len(classes) < 2:
            raise LabelFileError(
                f"label file {str(path)!r}: all {len(y)} labels are {classes[0]!r}; a "
                "classification task needs at least 2 classes"
            )
        if kind == "multiclass":
            final_kind = "multiclass"
        else:
            final_kind = "classification" if len(classes) == 2 else "multiclass"
    return LabelTask(
        name=name,
        kind=final_kind,
        ids=ids.to_numpy(dtype=str),
        y=y,
        classes=classes,
        path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        skipped_ids=skipped,
    )


def _check_label_scale(y: np.ndarray, path: Path) -> None:
    """Refuse regression labels whose squared errors would leave float64's range."""
    biggest, spread = float(np.max(np.abs(y))), float(np.ptp(y))
    if biggest > LABEL_MAX or spread < LABEL_MIN_RANGE:
        what = (f"reach {biggest:.3g} in magnitude, beyond {LABEL_MAX:g}" if biggest > LABEL_MAX
                else f"vary by only {spread:.3g}, below {LABEL_MIN_RANGE:g}")
        raise LabelFileError(
            f"label file {str(path)!r}: regression labels {what}: their squared errors (R², "
            "MSE) would leave float64's range and no score could be finite; rescale the "
            "labels (other units)"
        )


def check_splittable(task: LabelTask, *, n_splits: int, test_size: float) -> None:
    """Raise :class:`LabelFileError` when ``task`` has too few samples for the requested splits.

    Each of the ``n_splits`` random splits holds out ``ceil(test_size · n)`` test samples; we need
    at least 1 test and 2 training samples, at least ``n_splits`` distinct test sets, and for
    (multi)class tasks at least 2 members per class and as many test/training samples as classes
    (stratified splitting).
    """
    n = task.n_samples
    where = f"label file {str(task.path)!r} (task {task.name!r})"
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_test < 1 or n_train < 2:
        raise LabelFileError(
            f"{where}: {n} samples are too few for test_size={test_size} (would give {n_train} "
            f"training and {n_test} test samples; need at least 2 and 1)"
        )
    if math.comb(n, n_test) < n_splits:
        raise LabelFileError(
            f"{where}: {n} samples with test_size={test_size} allow only {math.comb(n, n_test)} "
            f"distinct test sets, fewer than the {n_splits} splits requested; lower --n-splits or "
            "add samples"
        )
    if task.kind == "multilabel":
        # Splits of multilabel tasks are stratified on the first class (protocols.splits).
        first = task.y[:, 0]
        n_pos = int(first.sum())
        if min(n_pos, n - n_pos) < 2:
            raise LabelFileError(
                f"{where}: multilabel splits are stratified on the first class "
                f"{task.classes[0]!r}, which needs at least 2 samples with and 2 without it "
                f"(has {n_pos} of {n})"
            )
    if task.kind in ("classification", "multiclass"):
        counts = np.bincount(task.y, minlength=len(task.classes))
        small = [f"{task.classes[i]!r} ({int(c)})" for i, c in enumerate(counts) if c < 2]
        if small:
            raise LabelFileError(
                f"{where}: class(es) with fewer than 2 members cannot be stratified: "
                f"{', '.join(small)}; merge or drop those classes"
            )
        n_cls = len(task.classes)
        if n_test < n_cls or n_train < n_cls:
            raise LabelFileError(
                f"{where}: a stratified split of {n} samples with test_size={test_size} gives "
                f"{n_test} test / {n_train} training samples, fewer than the {n_cls} classes; "
                "raise test_size or add samples"
            )


def check_test_folds(
    task: LabelTask, *, n_splits: int, test_size: float, seed: int
) -> None:
    """Raise :class:`LabelFileError` when a split's test fold would make the score undefined.

    The splits are the probes' own (:func:`~planetbench.protocols.probes.splits.make_splits`
    with the same ``seed``). R² is undefined on a test fold whose labels are all equal, so every
    regression test fold needs two distinct label values.
    """
    if task.kind != "regression":
        return  # F1 is defined on any fold; stratification puts every class in each test fold
    from planetbench.protocols.probes.splits import make_splits

    splits = make_splits(task.y, kind=task.kind, n_splits=n_splits, test_size=test_size,
                         seed=seed)
    flat = [k for k, (_, test) in enumerate(splits) if np.ptp(task.y[test]) == 0]
    if flat:
        value = float(task.y[splits[flat[0]][1][0]])
        shown = ", ".join(str(k) for k in flat[:10]) + (f" and {len(flat) - 10} more"
                                                        if len(flat) > 10 else "")
        raise LabelFileError(
            f"label file {str(task.path)!r} (task {task.name!r}): the test fold of split(s) "
            f"{shown} of {n_splits} holds only the label value {value!r}, where R² is "
            "undefined; raise test_size, add samples with other labels, or change the seed"
        )


def load_label_tasks(
    folder: str | Path,
    *,
    n_splits: int | None = None,
    test_size: float | None = None,
    skip_empty: bool = False,
) -> list[LabelTask]:
    """Read every ``<task>__<type>.csv`` of a NeuCo-Bench annotation folder, sorted by task name.

    Args:
        folder: the annotation folder.
        n_splits: when given with ``test_size``, also check each task has enough samples for
            that many random splits (see :func:`check_splittable`).
        test_size: test share of each split.
        skip_empty: leave out rows with an empty label cell (see :func:`read_label_file`).

    Raises:
        LabelFileError: the folder is missing or holds no CSV, two files share a task name, or a
            file is invalid (see :func:`read_label_file`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LabelFileError(
            f"label folder {str(folder)!r} does not exist or is not a directory; pass the folder "
            "holding <task>__<type>.csv files"
        )
    files = sorted(folder.glob("*.csv"))
    folders = [p.name for p in files if not p.is_file()]
    if folders:
        raise LabelFileError(
            f"label folder {str(folder)!r}: {_list_items(folders)} named like label files "
            "(<task>__<type>.csv) are not files; remove or rename them"
        )
    if not files:
        raise LabelFileError(
            f"label folder {str(folder)!r} holds no .csv files; expected <task>__<type>.csv files"
        )
    seen: dict[str, Path] = {}
    for path in files:
        name, _ = parse_label_file_name(path)
        if name in seen:
            raise LabelFileError(
                f"label folder {str(folder)!r}: two files for task {name!r}: "
                f"{seen[name].name!r} and {path.name!r}; keep one"
            )
        seen[name] = path
    tasks = [read_label_file(seen[name], skip_empty=skip_empty) for name in sorted(seen)]
    if n_splits is not None and test_size is not None:
        for task in tasks:
            check_splittable(task, n_splits=n_splits, test_size=test_size)
    return tasks


__all__ = [
    "KIND_METRIC",
    "LABEL_MAX",
    "LABEL_MIN_RANGE",
    "TYPE_SPELLINGS",
    "LabelTask",
    "check_splittable",
    "check_test_folds",
    "load_label_tasks",
    "parse_label_file_name",
    "read_label_file",
]
