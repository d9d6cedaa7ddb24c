"""The ``presto`` suite: Presto's two pixel-time-series downstream tasks, read in place.

Tseng et al. 2023 ("Lightweight, Pre-trained Transformers for Remote Sensing Timeseries") evaluate
Presto on, among others, live fuel moisture regression and algae-bloom severity. Their repository
(``nasaharvest/presto``, MIT) publishes the model inputs of both as NumPy arrays exported from Earth
Engine; we read those files unchanged, where they lie (the project keeps them in
``shared/data/presto-weights-and-probe-tasks`` beside the clone; they are never copied into the
repository).

Layout (``--root``): ``<root>/<folder>/npy/<array>.npy`` with ``folder`` ``fuel_moisture`` or
``algae_blooms``. ``root`` may also be the task folder itself (``<root>/npy``) or the folder
holding the bundle (``<root>/presto-weights-and-probe-tasks/<folder>/npy``, e.g.
``../shared/data``). Arrays per task (N samples, T time steps):

* ``s1_s2_era5_srtm.npy`` (N, T, 18) float64 in raw units, bands :data:`UPSTREAM_BAND_NAMES`
  (Sentinel-1 dB, Sentinel-2 reflectance × 10⁴, ERA5 2 m temperature in K and total precipitation
  in m, SRTM elevation in m and slope in degrees, NDVI);
* ``dynamic_world.npy`` (N, T) Dynamic World land-cover class per step (0-8, 9 = absent);
* ``month.npy`` (N, T) calendar month of each step (0 = January);
* ``latlon.npy`` (N, 2) latitude and longitude in degrees;
* ``is_test.npy`` (N,) 0/1: the upstream train/test split;
* ``target.npy`` (N,) the label; ``site.npy`` (fuel moisture: sampling-site names) or
  ``uid.npy`` (algae blooms: sample ids).

Tasks:

* ``presto-fuel-moisture`` — live fuel moisture content (%) at 2,313 field samples (T = 3
  monthly steps), **regression** (R²). Upstream split: 1,578 train / 735 test, assigned by
  sampling site (about a third of the 150 sites are test sites; no site is in both).
* ``presto-algae-blooms`` — cyanobacteria bloom severity (classes 1-5) of 1,122 water samples
  (T = 12 monthly steps), **multiclass** (macro-F1). Upstream split: 777 train / 345 test, by
  region (test: east of 93° W and south of 41° N, as Presto's evaluation code assigns it). Presto
  treats severity as a regression target; we score it as classes, as the issue asks.

Splits are the upstream ``is_test`` flag: ``train`` (0) and ``test`` (1); there is no
validation split. Random K-split probes (``planetbench probe``) ignore this split and mix sites;
:func:`planetbench.embedding.timeseries.probe_timeseries` scores the upstream split
(``scheme="upstream"``) or K splits grouped by site (``scheme="site"``; fuel moisture only).

Samples (dicts, as every reader yields) hold ``image`` (18, T, 1) float32 — the pixel's time
series as a one-pixel-wide column (bands, steps, 1) in raw units, so that generic tooling sees an
image of the task's bands —, ``dynamic_world`` (T,) int64, ``month`` (T,) int64, ``latlon`` (2,)
float64, ``label`` (float for regression, class index 0-4 for algae), ``group`` (the site or the
uid) and ``id``. :meth:`PrestoSplit.series` gives the whole split as arrays.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks import TASKS
from planetbench.tasks.bands import Band, bands
from planetbench.tasks.spec import Layout, Task, TaskSpec

SUITE = "presto"

#: The folder the project's shared data keeps the weights and both tasks in.
BUNDLE_FOLDER = "presto-weights-and-probe-tasks"

#: Band names of ``s1_s2_era5_srtm.npy`` as Presto's export names them, in file order.
UPSTREAM_BAND_NAMES: tuple[str, ...] = (
    "VV", "VH", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12",
    "temperature_2m", "total_precipitation", "elevation", "slope", "NDVI",
)  # fmt: skip

#: The 18 input bands of ``s1_s2_era5_srtm.npy`` (our band names), in file order.
PRESTO_INPUT_BANDS: tuple[Band, ...] = (
    *bands("VV", "VH", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11",
           "B12"),
    Band("temperature_2m", "other"),
    Band("total_precipitation", "other"),
    *bands("elevation", "slope"),
    Band("NDVI", "other"),
)

#: Dynamic World V1 land-cover classes, by index (Brown et al. 2022); index 9 marks an absent step.
DYNAMIC_WORLD_CLASSES: tuple[str, ...] = (
    "water", "trees", "grass", "flooded_vegetation", "crops", "shrub_and_scrub", "built", "bare",
    "snow_and_ice",
)  # fmt: skip
DYNAMIC_WORLD_ABSENT = len(DYNAMIC_WORLD_CLASSES)

PRESTO_CITATION = (
    "Tseng, Cartuyvels, Zvonkov, Purohit, Rolnick, Kerner 2023, Lightweight, Pre-trained "
    "Transformers for Remote Sensing Timeseries, arXiv:2304.14065"
)
SPLIT_NOTE = "train/test are the upstream is_test flag (0/1) of Presto's evaluation arrays"

_ARRAYS: tuple[str, ...] = (
    "s1_s2_era5_srtm", "dynamic_world", "month", "latlon", "is_test", "target",
)  # fmt: skip


@dataclass(frozen=True)
class PrestoTaskFiles:
    """Where a task's arrays are and what its extra array means.

    Attributes:
        folder: task folder name under the bundle (``fuel_moisture``).
        group_array: the array naming each sample's group (``site`` or ``uid``).
        ids_from_group: sample ids are the group array's values (unique uids) rather than row
            numbers.
    """

    folder: str
    group_array: str
    ids_from_group: bool


FUEL_MOISTURE = TaskSpec(
    name="presto-fuel-moisture",
    suite=SUITE,
    kind="regression",
    metric="r2",
    bands=PRESTO_INPUT_BANDS,
    splits=("train", "test"),
    licence="MIT (arrays: nasaharvest/presto); labels: US National Fuel Moisture Database via "
    "Rao et al. 2020 — check their terms before redistribution",
    citation=f"{PRESTO_CITATION}; labels: Rao, Williams, Flefil, Konings 2020, SAR-enhanced "
    "mapping of live fuel moisture content, Remote Sensing of Environment 245:111797",
    layouts=(
        Layout("presto", "root/fuel_moisture/npy/<array>.npy (or root/npy/<array>.npy)"),
        Layout("bundle", f"root/{BUNDLE_FOLDER}/fuel_moisture/npy/<array>.npy"),
    ),
    split_note=f"{SPLIT_NOTE}: 1,578 train / 735 test, assigned by sampling site (no site in both)",
    evaluation_note="R² of live fuel moisture content (%); group = sampling site (site.npy). "
    "Random K-split probes mix sites between train and test (optimistic); score the upstream "
    "split or site-grouped splits with planetbench.embedding.timeseries.probe_timeseries",
)

ALGAE_BLOOMS = TaskSpec(
    name="presto-algae-blooms",
    suite=SUITE,
    kind="multiclass",
    metric="f1_macro",
    classes=("1", "2", "3", "4", "5"),
    bands=PRESTO_INPUT_BANDS,
    splits=("train", "test"),
    licence="MIT (arrays: nasaharvest/presto); labels: DrivenData 'Tick Tick Bloom' competition "
    "data — check its terms before redistribution",
    citation=f"{PRESTO_CITATION}; labels: DrivenData 2023, Tick Tick Bloom: Harmful Algal Bloom "
    "Detection Challenge",
    layouts=(
        Layout("presto", "root/algae_blooms/npy/<array>.npy (or root/npy/<array>.npy)"),
        Layout("bundle", f"root/{BUNDLE_FOLDER}/algae_blooms/npy/<array>.npy"),
    ),
    split_note=f"{SPLIT_NOTE}: 777 train / 345 test, by region (east of 93° W and south of "
    "41° N is test)",
    evaluation_note="macro-F1 over severity classes 1-5 (class 5 has 6 samples); Presto's own "
    "evaluation regresses severity instead",
)

TASK_FILES: dict[str, PrestoTaskFiles] = {
    FUEL_MOISTURE.name: PrestoTaskFiles("fuel_moisture", "site", ids_from_group=False),
    ALGAE_BLOOMS.name: PrestoTaskFiles("algae_blooms", "uid", ids_from_group=True),
}
"""Files of each task of the suite."""


@dataclass(frozen=True)
class PixelTimeSeries:
    """Samples of a pixel-time-series task as arrays (N samples, T steps).

    Attributes:
        x: (N, T, 18) float64 raw band values, bands :data:`PRESTO_INPUT_BANDS`.
        dynamic_world: (N, T) int64 Dynamic World class per step (9 = absent).
        months: (N, T) int64 calendar month per step (0 = January).
        latlons: (N, 2) float64 latitude, longitude in degrees.
        targets: (N,) float64 (regression) or int64 class indices.
        ids: (N,) sample ids (str).
        groups: (N,) group of each sample (site or uid, str).
        is_test: (N,) bool, the upstream split.
    """

    x: np.ndarray
    dynamic_world: np.ndarray
    months: np.ndarray
    latlons: np.ndarray
    targets: np.ndarray
    ids: np.ndarray
    groups: np.ndarray
    is_test: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_timesteps(self) -> int:
        """Time steps T per sample."""
        return int(self.x.shape[1])

    def subset(self, rows: np.ndarray) -> PixelTimeSeries:
        """The samples at ``rows`` (indices or a boolean mask)."""
        return PixelTimeSeries(*(np.asarray(getattr(self, f))[rows] for f in _FIELDS))


_FIELDS = ("x", "dynamic_world", "months", "latlons", "targets", "ids", "groups", "is_test")


@dataclass(frozen=True)
class PrestoSplit:
    """One split of a ``presto`` task (a :class:`~planetbench.tasks.spec.SampleDataset`)."""

    spec: TaskSpec
    split: str
    data: PixelTimeSeries

    def __len__(self) -> int:
        return len(self.data)

    def series(self) -> PixelTimeSeries:
        """The whole split as arrays."""
        return self.data

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index`` (see the module docstring for its keys)."""
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for {len(self)} samples")
        d = self.data
        return {
            "image": np.ascontiguousarray(d.x[index].T[:, :, None], dtype=np.float32),
            "dynamic_world": d.dynamic_world[index].copy(),
            "month": d.months[index].copy(),
            "latlon": d.latlons[index].copy(),
            "label": d.targets[index],
            "group": str(d.groups[index]),
            "id": str(d.ids[index]),
        }


def task_folder(task: str, root: str | Path) -> Path:
    """The folder holding ``npy/`` of ``task`` under ``root`` (see the module's layouts).

    Raises:
        UnknownNameError: ``task`` is not a task of this suite.
        DatasetNotFoundError: no accepted layout holds the task's arrays.
    """
    files = TASK_FILES.get(task)
    if files is None:
        TASKS.get(task)  # did-you-mean for a misspelt id
        raise InvalidInputError(f"task {task!r} is not a task of the {SUITE!r} suite")
    root = Path(root).expanduser()
    candidates = (root / files.folder, root, root / BUNDLE_FOLDER / files.folder)
    for folder in candidates:
        if (folder / "npy" / "s1_s2_era5_srtm.npy").is_file():
            return folder
    tried = ", ".join(str(c / "npy") for c in candidates)
    raise DatasetNotFoundError(
        f"task {task!r}: its arrays (npy/s1_s2_era5_srtm.npy …) are not under --root "
        f"{str(root)!r} (looked in {tried}). Pass the folder holding {files.folder}/ — in this "
        f"project ../shared/data/{BUNDLE_FOLDER} (see its SOURCE.md for origin and licence)"
    )


def _load(folder: Path, name: str) -> np.ndarray:
    path = folder / "npy" / f"{name}.npy"
    if not path.is_file():
        raise DatasetNotFoundError(f"array {path} is missing; the task folder is incomplete")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read {path} as a NumPy array: {exc}") from exc


@functools.lru_cache(maxsize=4)
def _read_cached(task: str, folder: str, stamp: tuple[int, ...]) -> PixelTimeSeries:
    """Arrays of ``task`` in ``folder``; ``stamp`` (modification times) renews the cache entry."""
    return _read_arrays(task, Path(folder))


def _read_arrays(task: str, folder: Path) -> PixelTimeSeries:
    """Read and check every array of ``task`` in ``folder``."""
    files = TASK_FILES[task]
    arr = {name: _load(folder, name) for name in (*_ARRAYS, files.group_array)}
    x = arr["s1_s2_era5_srtm"]
    where = f"task {task!r} ({folder / 'npy'})"
    if x.ndim != 3 or x.shape[2] != len(PRESTO_INPUT_BANDS):
        raise LabelFileError(
            f"{where}: s1_s2_era5_srtm.npy has shape {x.shape}; expected (N, T, "
            f"{len(PRESTO_INPUT_BANDS)}) with bands {', '.join(UPSTREAM_BAND_NAMES)}"
        )
    n, t = x.shape[:2]
    expected = {"dynamic_world": (n, t), "month": (n, t), "latlon": (n, 2), "is_test": (n,),
                "target": (n,), files.group_array: (n,)}  # fmt: skip
    for name, shape in expected.items():
        if arr[name].shape != shape:
            raise LabelFileError(
                f"{where}: {name}.npy has shape {arr[name].shape}; expected {shape} to match "
                f"s1_s2_era5_srtm.npy {x.shape}"
            )
    months = arr["month"].astype(np.int64)
    dw = arr["dynamic_world"].astype(np.int64)
    is_test = arr["is_test"]
    checks = (
        ("month.npy", (months < 0) | (months > 11), "months 0-11"),
        ("dynamic_world.npy", (dw < 0) | (dw > DYNAMIC_WORLD_ABSENT),
         f"classes 0-{DYNAMIC_WORLD_ABSENT - 1} or {DYNAMIC_WORLD_ABSENT} (absent)"),
        ("is_test.npy", ~np.isin(is_test, (0, 1)), "0 or 1"),
        ("latlon.npy", ~np.isfinite(arr["latlon"]), "finite degrees"),
    )  # fmt: skip
    for name, bad, allowed in checks:
        if bad.any():
            raise LabelFileError(f"{where}: {name} holds {int(bad.sum())} values outside {allowed}")
    spec = TASKS.get(task).spec
    targets = _targets(spec, arr["target"], where)
    groups = arr[files.group_array].astype(str)
    ids = groups if files.ids_from_group else np.array([f"fm-{i:04d}" for i in range(n)])
    if len(np.unique(ids)) != n:
        raise LabelFileError(f"{where}: sample ids ({files.group_array}.npy) are not unique")
    return PixelTimeSeries(
        x=x.astype(np.float64), dynamic_world=dw, months=months,
        latlons=arr["latlon"].astype(np.float64), targets=targets, ids=ids, groups=groups,
        is_test=is_test.astype(bool),
    )  # fmt: skip


def _targets(spec: TaskSpec, target: np.ndarray, where: str) -> np.ndarray:
    """Targets as float64 (regression) or class indices into ``spec.classes``."""
    if not np.issubdtype(target.dtype, np.number) or not np.isfinite(target).all():
        raise LabelFileError(f"{where}: target.npy must hold finite numbers")
    if spec.kind == "regression":
        return target.astype(np.float64)
    names = np.array([str(int(v)) if float(v).is_integer() else str(v) for v in target])
    unknown = sorted(set(names.tolist()) - set(spec.classes))
    if unknown:
        raise LabelFileError(
            f"{where}: target.npy holds {unknown}, not among the classes {list(spec.classes)}"
        )
    return np.searchsorted(np.array(spec.classes), names).astype(np.int64)


def read_series(task: str, root: str | Path) -> PixelTimeSeries:
    """Every sample of ``task`` (both splits) as arrays, read from ``root`` (cached per folder).

    Raises:
        DatasetNotFoundError: the arrays are not under ``root``.
        LabelFileError: an array is unreadable or inconsistent with the others.
    """
    folder = task_folder(task, root).resolve()
    stamp = tuple(p.stat().st_mtime_ns for p in sorted((folder / "npy").glob("*.npy")))
    return _read_cached(task, str(folder), stamp)


def read_presto_split(task: str, root: Path, split: str, **options: Any) -> PrestoSplit:
    """Open ``split`` (``train`` or ``test``: the upstream ``is_test`` flag) of ``task``."""
    spec = TASKS.get(task).spec
    if options:
        raise InvalidInputError(
            f"task {task!r} reader takes no options; got {', '.join(sorted(options))}"
        )
    if split not in spec.splits:
        raise InvalidInputError(
            f"task {task!r} has no split {split!r}; available: {', '.join(spec.splits)}"
        )
    data = read_series(task, root)
    return PrestoSplit(spec, split, data.subset(data.is_test == (split == "test")))


@dataclass(frozen=True)
class _Reader:
    task: str

    def __call__(self, root: Path, split: str, **options: Any) -> PrestoSplit:
        return read_presto_split(self.task, root, split, **options)


def label_file_name(spec: TaskSpec) -> str:
    """NeuCo-Bench label file name of a task: ``<task>__regr.csv`` or ``<task>__cls.csv``."""
    return f"{spec.name}__{'regr' if spec.kind == 'regression' else 'cls'}.csv"


def write_presto_labels(
    task: str, root: str | Path, folder: str | Path, *, split: str | None = None
) -> Path:
    """Write the labels of ``task`` as a NeuCo-Bench label file (columns ``id``, ``label``).

    Regression targets are written as numbers, classes by name (``1`` … ``5``), one row per sample
    of ``split`` (every sample when None), as :func:`planetbench.tasks.demo.write_demo_labels`
    writes the demo's.

    Returns:
        The written file ``folder/<task>__regr.csv`` or ``folder/<task>__cls.csv``.
    """
    import pandas as pd

    spec = TASKS.get(task).spec
    if split is None:
        data = read_series(task, root)
    else:
        data = read_presto_split(task, Path(root), split).series()
    label: Any = (
        data.targets if spec.kind == "regression" else np.asarray(spec.classes)[data.targets]
    )
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / label_file_name(spec)
    pd.DataFrame({"id": data.ids, "label": label}).to_csv(path, index=False)
    return path


for _spec in (FUEL_MOISTURE, ALGAE_BLOOMS):
    TASKS.register(_spec.name, Task(_spec, _Reader(_spec.name)), override=True)

__all__ = [
    "ALGAE_BLOOMS",
    "BUNDLE_FOLDER",
    "DYNAMIC_WORLD_ABSENT",
    "DYNAMIC_WORLD_CLASSES",
    "FUEL_MOISTURE",
    "PRESTO_CITATION",
    "PRESTO_INPUT_BANDS",
    "SUITE",
    "TASK_FILES",
    "UPSTREAM_BAND_NAMES",
    "PixelTimeSeries",
    "PrestoSplit",
    "PrestoTaskFiles",
    "label_file_name",
    "read_presto_split",
    "read_series",
    "task_folder",
    "write_presto_labels",
]
