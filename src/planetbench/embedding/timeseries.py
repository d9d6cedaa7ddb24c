"""Embed pixel-time-series tasks (the ``presto`` suite) and probe them on their own splits.

:func:`planetbench.embedding.embed.embed_task` hands tasks of this kind here: their samples are
time series of one pixel (:class:`~planetbench.tasks.presto.PixelTimeSeries`), not images, so
they are embedded by a time-series encoder (``presto``, ``presto-raw``) from the raw arrays,
normalised the way Presto reads them (:func:`planetbench.encoders.presto.presto_batch`). The
output file has the layout of every embedding file (``id``, ``0`` … ``D-1``), and
:func:`write_task_labels` writes the NeuCo-Bench label file that ``planetbench probe`` reads.

``planetbench probe`` draws K random splits over all samples; for these tasks that mixes sites
(fuel moisture) and regions (algae blooms) between train and test. :func:`probe_timeseries`
scores an embedding file on the task's own split instead: the upstream ``is_test`` split
(``scheme="upstream"``, as Tseng et al. 2023 evaluate) or K random splits grouped by site
(``scheme="site"``: no site in both train and test; fuel moisture only), with the same probes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from planetbench.errors import EmbeddingFileError, InvalidInputError
from planetbench.tasks.presto import (
    BUNDLE_FOLDER,
    TASK_FILES,
    PixelTimeSeries,
    read_series,
    task_folder,
    write_presto_labels,
)

#: Registered encoders that embed pixel time series.
SERIES_ENCODERS: tuple[str, ...] = ("presto", "presto-raw")

Scheme = Literal["upstream", "site"]
SCHEMES: tuple[str, ...] = ("upstream", "site")
#: Share of sites held out per split under ``scheme="site"`` (Presto's fuel-moisture split holds
#: out about a third of the sites).
SITE_TEST_SIZE = 1 / 3

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def is_series_task(task: str) -> bool:
    """True when ``task`` is a registered pixel-time-series task (the ``presto`` suite)."""
    return task in TASK_FILES


def _check_encoder(encoder: str, task: str) -> None:
    from planetbench.encoders import get_encoder

    get_encoder(encoder)  # did-you-mean on a misspelt id
    if encoder not in SERIES_ENCODERS:
        raise InvalidInputError(
            f"task {task!r} holds pixel time series, which encoder {encoder!r} (an image "
            f"encoder) cannot embed; use --encoder {' or '.join(SERIES_ENCODERS)}"
        )


def _format(out: Path, fmt: str | None) -> str:
    found = fmt if fmt is not None else _FORMATS.get(out.suffix.lower())
    if found not in ("csv", "parquet"):
        raise InvalidInputError(
            f"cannot write embeddings to out={str(out)!r} with fmt={fmt!r}: name the file *.csv "
            "or *.parquet, or pass fmt='csv' / fmt='parquet'"
        )
    return found


def bundled_weights(encoder: str, root: str | Path, task: str) -> Path | None:
    """The published weights of ``encoder`` kept beside the task data, checked, or None.

    The project's shared folder holds Presto's checkpoint next to the two tasks
    (``presto-weights-and-probe-tasks/default_model.pt``); when ``root`` leads to it, the file is
    used after its SHA-256 is checked against the published one
    (:func:`planetbench.encoders.weights.verify_weights`).

    Raises:
        ChecksumError: the file is there but is not the published checkpoint.
    """
    from planetbench.encoders import get_encoder
    from planetbench.encoders.weights import verify_weights

    spec = get_encoder(encoder).spec
    if spec.weights is None or not spec.weights.file_name:
        return None
    candidate = task_folder(task, root).parent / spec.weights.file_name
    if not candidate.is_file():
        return None
    verify_weights(candidate, spec)
    return candidate


def _series(task: str, root: str | Path, split: str | None) -> PixelTimeSeries:
    from planetbench.tasks import get_task

    data = read_series(task, root)
    splits = get_task(task).spec.splits
    if split is None:
        return data
    if split not in splits:
        raise InvalidInputError(
            f"task {task!r} has no split {split!r}; available: {', '.join(splits)}"
        )
    return data.subset(data.is_test == (split == "test"))


def embed_series_task(
    encoder: str,
    task: str,
    *,
    out: str | Path,
    root: str | Path | None,
    split: str | None = None,
    batch_size: int = 256,
    seed: int = 0,
    device: str | None = None,
    fmt: str | None = None,
    encoder_options: dict[str, Any] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    band_policy: str = "auto",
    progress: bool = True,
    reader_options: dict[str, Any] | None = None,
) -> Path:
    """Embed every pixel time series of ``task`` with a time-series encoder and write the vectors.

    Arguments are those of :func:`planetbench.embedding.embed.embed_task`. Without ``weights``,
    ``presto`` uses the checkpoint kept beside the data (:func:`bundled_weights`) when there is
    one, else the cache, else a download.

    Returns:
        The written file: ``id`` and ``0`` … ``D-1`` (float32 values), samples in the upstream
        order (train and test interleaved as in the arrays).

    Raises:
        UnknownNameError: unknown encoder or task.
        InvalidInputError: an image encoder, a band policy, a bad split, batch size or format.
        DatasetNotFoundError: the arrays are not under ``root``.
        WeightsUnavailableError: the weights are neither beside the data, cached nor downloadable.
    """
    import torch

    from planetbench.encoders import get_encoder
    from planetbench.encoders.base import default_device
    from planetbench.encoders.presto import TimeSeriesEncoder, presto_batch
    from planetbench.tasks import get_task

    out = Path(out)
    file_format = _format(out, fmt)
    _check_encoder(encoder, task)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer; got {batch_size!r}")
    if reader_options:
        raise InvalidInputError(
            f"task {task!r} reader takes no options; got {', '.join(sorted(reader_options))}"
        )
    if band_policy != "auto":
        raise InvalidInputError(
            f"task {task!r} feeds Presto's bands by name; band policies align image bands: "
            f"drop --band-policy {band_policy}"
        )
    if root is None:
        raise InvalidInputError(
            f"task {task!r} is read from disk: pass root=<folder holding it> (CLI: --root DIR, "
            f"e.g. ../shared/data/{BUNDLE_FOLDER})"
        )
    data = _series(task, root, split)
    if weights is None and not tiny:
        weights = bundled_weights(encoder, root, task)
    registered = get_encoder(encoder)
    options: dict[str, Any] = dict(encoder_options or {})
    if encoder == "presto-raw":
        options.setdefault("n_timesteps", data.n_timesteps)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = registered.factory(
            in_bands=get_task(task).spec.bands, tiny=tiny, weights=weights, **options
        )
    if not isinstance(model, TimeSeriesEncoder):  # pragma: no cover - SERIES_ENCODERS guards
        raise InvalidInputError(f"encoder {encoder!r} does not embed pixel time series")
    dev = torch.device(device) if device is not None else default_device()
    model = model.to(dev).eval()
    batch = presto_batch(data.x, data.dynamic_world, data.latlons, data.months)
    vectors = []
    with _progress(progress, len(data), f"embedding {task} with {encoder}") as advance:
        for start in range(0, len(data), batch_size):
            rows = batch.rows(start, start + batch_size).to(dev)
            with torch.inference_mode():
                vectors.append(model.embed_series(rows).to("cpu", torch.float32).numpy())
            advance(len(rows))
    return _write(out, file_format, data.ids, np.concatenate(vectors))


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A transient Rich progress bar on stderr yielding an ``advance(n)`` callable."""
    if not enabled or total <= 0:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  console=Console(stderr=True), transient=True) as bar:  # fmt: skip
        handle = bar.add_task(label, total=total)
        yield lambda n: bar.advance(handle, n)


def _write(out: Path, file_format: str, ids: np.ndarray, matrix: np.ndarray) -> Path:
    import pandas as pd

    frame = pd.DataFrame(matrix, columns=[str(i) for i in range(matrix.shape[1])])
    frame.insert(0, "id", [str(i) for i in ids])
    out.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        frame.to_csv(out, index=False, float_format="%.7g")
    else:
        frame.to_parquet(out, index=False)
    return out


def write_task_labels(
    task: str, root: str | Path | None, folder: str | Path, *, split: str | None = None
) -> Path:
    """Write the NeuCo-Bench label file of ``task`` (``<task>__regr.csv`` / ``__cls.csv``).

    Args:
        task: a pixel-time-series task.
        root: folder holding its data (as for embedding).
        folder: the label folder to write into (created).
        split: only the samples of this split (default: all, as ``embed`` embeds them).

    Raises:
        InvalidInputError: ``task`` is not a pixel-time-series task (image tasks have no label
            writer here: the demo writes its own labels) or ``root`` is missing.
    """
    if not is_series_task(task):
        from planetbench.tasks import get_task

        get_task(task)  # did-you-mean on a misspelt id
        raise InvalidInputError(
            f"labels are written for the pixel-time-series tasks ({', '.join(TASK_FILES)}); "
            f"task {task!r} has no label writer: drop --labels"
        )
    if root is None:
        raise InvalidInputError(f"task {task!r} is read from disk: pass --root DIR")
    _series(task, root, split)  # validates the split
    return write_presto_labels(task, root, folder, split=split)


@dataclass(frozen=True)
class SeriesProbeResult:
    """Scores of one embedding file on a pixel-time-series task's own splits.

    Attributes:
        task: the task id.
        scheme: ``upstream`` (one split: the ``is_test`` flag) or ``site`` (K site-grouped
            splits).
        probe: the probe used (``ridge`` or ``logistic``).
        metric: ``r2`` or ``f1_macro``.
        fold_scores: (K,) the metric per split (K = 1 for ``upstream``).
        n_train: training samples per split.
        n_test: test samples per split.
        options: the probe's choices per split (``alpha`` / ``C`` …).
    """

    task: str
    scheme: str
    probe: str
    metric: str
    fold_scores: np.ndarray
    n_train: int
    n_test: int
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        """Mean of the fold scores."""
        return float(np.mean(self.fold_scores))


def _site_splits(
    groups: np.ndarray, n_splits: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(K, n_train) and (K, n_test) rows of K random site-grouped splits of equal sizes.

    Sites are shuffled by a seeded generator and taken as test sites until a third of the
    samples is reached; every split is then cut to the smallest train/test sizes (rows dropped at
    random within the split) so that the K splits stack, as the probes need.
    """
    rng = np.random.default_rng(seed)
    sites = np.unique(groups)
    target = round(SITE_TEST_SIZE * len(groups))
    trains, tests = [], []
    for _ in range(n_splits):
        order = rng.permutation(sites)
        counts = np.array([(groups == s).sum() for s in order])
        n_sites = int(np.searchsorted(np.cumsum(counts), target)) + 1
        is_test = np.isin(groups, order[:n_sites])
        tests.append(np.flatnonzero(is_test))
        trains.append(np.flatnonzero(~is_test))
    n_te, n_tr = min(len(t) for t in tests), min(len(t) for t in trains)
    cut = [(np.sort(rng.choice(tr, n_tr, replace=False)), np.sort(rng.choice(te, n_te,
                                                                              replace=False)))
           for tr, te in zip(trains, tests, strict=True)]  # fmt: skip
    return np.stack([c[0] for c in cut]), np.stack([c[1] for c in cut])


def probe_timeseries(
    embeddings: str | Path,
    task: str,
    root: str | Path,
    *,
    scheme: str = "upstream",
    probe: str = "auto",
    n_splits: int = 10,
    seed: int = 0,
) -> SeriesProbeResult:
    """Score an embedding file on a pixel-time-series task's own split(s) with our probes.

    Args:
        embeddings: embedding file covering every sample of ``task``.
        task: a pixel-time-series task.
        root: folder holding its data.
        scheme: ``"upstream"`` (train on ``is_test`` = 0, score on 1) or ``"site"`` (K random
            splits, each holding out whole sites covering a third of the samples; fuel moisture).
        probe: ``"auto"`` (ridge for regression, logistic for classes), or a probe id.
        n_splits: K for ``scheme="site"``.
        seed: seed of the probe's inner validation split and of the site splits.

    Returns:
        A :class:`SeriesProbeResult`.

    Raises:
        InvalidInputError: unknown scheme, a task without sites for ``"site"``, bad ``n_splits``.
        EmbeddingFileError: the file lacks samples of the task.
    """
    from planetbench.embedding.files import read_embeddings
    from planetbench.metrics import tabular
    from planetbench.protocols.probes import MAIN_METRIC, resolve_probe
    from planetbench.tasks import get_task

    if scheme not in SCHEMES:
        raise InvalidInputError(f"scheme must be one of {', '.join(SCHEMES)}; got {scheme!r}")
    spec = get_task(task).spec
    if not is_series_task(task):
        raise InvalidInputError(f"task {task!r} is not a pixel-time-series task")
    if scheme == "site" and TASK_FILES[task].group_array != "site":
        raise InvalidInputError(
            f"task {task!r} has no sampling sites; use scheme='upstream'"
        )
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 1:
        raise InvalidInputError(f"n_splits must be a positive integer; got {n_splits!r}")
    data = read_series(task, root)
    table = read_embeddings(embeddings)
    index = table.row_index()
    rows = np.array([index.get(str(i), -1) for i in data.ids])
    if (rows < 0).any():
        raise EmbeddingFileError(
            f"embedding file {str(embeddings)!r} lacks {int((rows < 0).sum())} of the "
            f"{len(rows)} samples of task {task!r}; embed the whole task (no --split)"
        )
    X, y = table.matrix[rows], data.targets
    if scheme == "upstream":
        train, test = np.flatnonzero(~data.is_test)[None], np.flatnonzero(data.is_test)[None]
    else:
        train, test = _site_splits(data.groups, n_splits, seed)
    chosen = resolve_probe(probe, spec.kind)
    scores, options = chosen.fit(X, y, train, test, kind=spec.kind, seed=seed, epochs=20,
                                 standardize=True)
    if spec.kind == "regression":
        fold = tabular.r2(y[test], scores)
    else:
        fold = tabular.f1(y[test], np.argmax(scores, axis=-1), average="macro")
    return SeriesProbeResult(
        task=task, scheme=scheme, probe=chosen.name, metric=MAIN_METRIC[spec.kind],
        fold_scores=np.asarray(fold), n_train=int(train.shape[1]), n_test=int(test.shape[1]),
        options=options,
    )  # fmt: skip


__all__ = [
    "SCHEMES",
    "SERIES_ENCODERS",
    "SeriesProbeResult",
    "bundled_weights",
    "embed_series_task",
    "is_series_task",
    "probe_timeseries",
    "write_task_labels",
]
