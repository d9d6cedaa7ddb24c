"""Evaluate a file of embeddings on a NeuCo-Bench label folder: probe, Q score, store, summary.

For each label task: align the embeddings to the task ids, run the probe on K random splits,
compute the quality score Q (Vinge et al. 2025, NeuCo-Bench), store one :class:`Result` per task
and write ``OUT/NAME/summary.json``. Tasks whose run is already stored are not run again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.config import ProbeConfig, config_hash, validate_config
from planetbench.embedding.files import (
    SUFFIXES,
    EmbeddingTable,
    align,
    file_sha256,
    read_embeddings,
)
from planetbench.embedding.labels import LabelTask, check_splittable, load_label_tasks
from planetbench.embedding.summary import SUITE, EvaluationSummary, TaskSummary
from planetbench.errors import (
    ConfigError,
    EmbeddingFileError,
    InvalidInputError,
    UnknownNameError,
)
from planetbench.registry import did_you_mean
from planetbench.store import Result, ResultStore
from planetbench.store.result import library_versions, run_key

PROTOCOL = "probe"


def _resolve_config(config: ProbeConfig | None, overrides: dict[str, Any]) -> ProbeConfig:
    if config is not None and not isinstance(config, ProbeConfig):
        raise ConfigError(
            f"config must be a planetbench.config.ProbeConfig or None; got {type(config).__name__}"
        )
    base = config.model_dump(exclude_unset=True) if config is not None else {}
    clean = {k: v for k, v in overrides.items() if v is not None}
    if not clean and config is not None:
        return config
    return validate_config(ProbeConfig, {**base, **clean}, source="evaluate_embeddings arguments")


def _select_tasks(tasks: list[LabelTask], task_filter: list[str] | None) -> list[LabelTask]:
    if task_filter is None:
        return tasks
    names = [t.name for t in tasks]
    unknown = [f for f in task_filter if f not in names]
    if unknown:
        close = {u: did_you_mean(u, names, n=1) for u in unknown}
        hints = "; ".join(f"{u!r}" + (f" ({c})" if c else "") for u, c in close.items())
        raise UnknownNameError(
            f"task filter names unknown task(s): {hints}. Tasks in the label folder: "
            f"{', '.join(names)}"
        )
    return [t for t in tasks if t.name in set(task_filter)]


def _pooled_predictions(pr: Any, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.concatenate([y[test] for _, test in pr.splits])
    pred = np.concatenate([np.asarray(p) for p in pr.test_predictions])
    return truth, pred


def _from_row(row: Any, kind: str) -> TaskSummary:
    folds = [float(v) for v in row["fold_scores"]]
    metrics = row["metrics"] or {}
    notes = list(row["notes"] or [])
    q = float(row["q"]) if row["q"] is not None else float("nan")
    return TaskSummary(
        task=str(row["task"]),
        kind=kind,
        metric=str(row["metric"]),
        probe=str(row["probe"]),
        mean=float(np.mean(folds)),
        std=float(np.std(folds)),
        q=q,
        n_samples=int(metrics.get("n_samples", 0)),
        fold_scores=folds,
        coverage=float(metrics.get("coverage", 1.0)),
        unreliable=not np.isfinite(q) or q < 0,
        notes=notes,
        resumed=True,
        run_key=str(row["run_key"]),
    )


def _standardise(table: EmbeddingTable, labelled: np.ndarray) -> EmbeddingTable:
    """Global z-score with one mean and std over every value of the labelled rows.

    NeuCo-Bench computes the scalar mean and standard deviation over the rows of the submission
    whose id appears in the label folder (after exclusions) and applies them to every row.
    """
    rows = np.isin(table.ids, labelled)
    values = table.matrix[rows] if rows.any() else table.matrix
    mu, sigma = float(values.mean()), float(values.std())
    matrix = (table.matrix - mu) / (sigma if sigma > 0 else 1.0)
    return EmbeddingTable(
        path=table.path, ids=table.ids, matrix=matrix, columns=table.columns, sha256=table.sha256
    )


def evaluate_embeddings(
    embeddings: str | Path,
    labels: str | Path,
    *,
    name: str | None = None,
    suite: str = SUITE,
    config: ProbeConfig | None = None,
    store: str | ResultStore | None = None,
    out: str | Path | None = None,
    plots: bool = False,
    task_filter: list[str] | None = None,
    exclude_ids: list[str] | None = None,
    standardize: bool = False,
    normalize_labels: bool = False,
    n_jobs: int | None = None,
    progress: bool = False,
    **config_overrides: Any,
) -> EvaluationSummary:
    """Probe a file of embeddings on every task of a NeuCo-Bench label folder.

    Args:
        embeddings: CSV/Parquet embedding file (``id`` + digit-named columns).
        labels: folder of ``<task>__<type>.csv`` label files.
        name: model name stored with the results (default: the embedding file's stem).
        suite: suite the results are stored under (``neuco``; the demo uses ``demo`` so that
            synthetic results are labelled and never mix with real ones).
        config: probe configuration; ``config_overrides`` (``probe``, ``n_splits``, ``test_size``,
            ``seed``, ``epsilon``, ``dim``, ``allow_missing``, ``neuco_epochs``) replace its fields.
        store: results store (URL, path or :class:`ResultStore`; default store when None).
        out: folder for ``NAME/summary.json`` (and ``NAME/plots/``); nothing is written when None.
        plots: also write PNG plots (needs ``out``).
        task_filter: only evaluate these task names.
        exclude_ids: sample ids dropped from the embeddings and from every task (NeuCo-Bench's
            ``--exclude_file`` of corrupted samples).
        standardize: z-score the embeddings with one scalar mean/std computed over the rows of
            all labelled ids, before probing (NeuCo-Bench's ``standardize_embeddings``).
        normalize_labels: min-max scale regression targets to [0, 1] per task (NeuCo-Bench's
            ``normalize_labels``).
        n_jobs: tasks probed at once in worker processes (results are identical; each probe
            uses one BLAS thread). None = automatic: as many as tasks and CPU cores allow when
            the work is large enough to pay for the processes (Linux ``fork`` only), else 1.
        progress: show a Rich progress bar on stderr.

    Returns:
        An :class:`EvaluationSummary`.

    Raises:
        LabelFileError, EmbeddingFileError, ConfigError: invalid inputs (nothing is stored).
    """
    cfg = _resolve_config(config, config_overrides)
    if cfg.test_size is None or cfg.seed is None:  # ProbeConfig's validator fills both
        raise ConfigError(f"probe configuration lacks test_size or seed: {cfg!r}")
    test_size, seed = float(cfg.test_size), int(cfg.seed)
    emb_path = Path(embeddings)
    if emb_path.suffix.lower() not in SUFFIXES or not emb_path.is_file():
        read_embeddings(emb_path)  # raises the precise EmbeddingFileError
    if plots and out is None:
        raise ConfigError("plots=True needs an output folder: pass out=DIR (CLI: --out DIR)")
    model = name or emb_path.stem
    if not model.strip():
        raise ConfigError("name must be a non-empty model name")
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    probe_cfg: dict[str, Any] = cfg.model_dump(mode="json")
    from planetbench.protocols.probes.base import IMPLEMENTATION_VERSION

    base_config = {
        **probe_cfg,
        "standardize": standardize,
        "normalize_labels": normalize_labels,
        "probe_implementation": IMPLEMENTATION_VERSION,
    }
    excluded = np.array(sorted({str(i) for i in exclude_ids or []}), dtype=str)
    if excluded.size:
        base_config["exclude_ids_sha256"] = hashlib.sha256("\n".join(excluded).encode()).hexdigest()

    all_tasks = load_label_tasks(labels)
    if excluded.size:
        all_tasks = [t.subset(~np.isin(t.ids, excluded)) for t in all_tasks]
    tasks = _select_tasks(all_tasks, task_filter)
    sha = file_sha256(emb_path)
    # One submission = one (embedding file, configuration); the leaderboard groups rows by it.
    submission = config_hash({**base_config, "input_sha256": sha})
    keyed: list[tuple[LabelTask, dict[str, Any], str]] = []
    for task in tasks:
        task_config = {
            **base_config,
            "submission_hash": submission,
            "labels_sha256": task.sha256,
            "kind": task.kind,
            "suite": suite,
        }
        key = run_key(
            model=model,
            task=task.name,
            protocol=PROTOCOL,
            config_hash=config_hash(task_config),
            seed=seed,
            input_sha256=sha,
        )
        keyed.append((task, task_config, key))
    done = rs.finished_keys([k for _, _, k in keyed])

    summaries: dict[str, TaskSummary] = {}
    resumed: list[str] = []
    if done:
        stored = rs.query(run_key=sorted(done)).drop_duplicates("run_key", keep="last")
        by_key = {r["run_key"]: r for r in stored.to_dict("records")}
        for task, _, key in keyed:
            if key in done:
                summaries[task.name] = _from_row(by_key[key], task.kind)
                resumed.append(task.name)

    todo = [(t, c, k) for t, c, k in keyed if k not in done]
    new_results: list[Result] = []
    predictions: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if todo:
        t0 = time.perf_counter()
        table = read_embeddings(emb_path, dim=cfg.dim)
        if table.sha256 != sha:
            raise EmbeddingFileError(
                f"embedding file {str(emb_path)!r} changed while it was being read; run again"
            )
        if excluded.size:
            keep = ~np.isin(table.ids, excluded)
            table = EmbeddingTable(path=table.path, ids=table.ids[keep], matrix=table.matrix[keep],
                                   columns=table.columns, sha256=table.sha256)
        if standardize:
            table = _standardise(table, np.unique(np.concatenate([t.ids for t in all_tasks])))
        read_s = time.perf_counter() - t0
        from planetbench.protocols.probes.base import resolve_probe

        prepared = []
        for task, task_config, key in todo:  # validate everything before any probe runs
            t1 = time.perf_counter()
            X, y, coverage = align(table, task, allow_missing=cfg.allow_missing)
            scored = task if coverage == 1.0 else task.subset(np.isin(task.ids, table.ids))
            check_splittable(scored, n_splits=cfg.n_splits, test_size=test_size)
            try:
                resolve_probe(cfg.probe, task.kind)
            except InvalidInputError as exc:
                raise ConfigError(f"label file {task.path.name!r}: {exc}") from None
            if normalize_labels and task.kind == "regression":
                y = (y - y.min()) / (y.max() - y.min())
            prepared.append((task, task_config, key, X, y, coverage, time.perf_counter() - t1))

        from planetbench.stats.qscore import q_score

        versions = library_versions()
        probe_options: dict[str, Any] = {
            "probe": cfg.probe,
            "n_splits": cfg.n_splits,
            "test_size": test_size,
            "seed": seed,
            "epochs": cfg.neuco_epochs,
        }
        jobs: list[_Job] = [
            (X, y, str(task.kind), probe_options) for task, _, _, X, y, _, _ in prepared
        ]
        with _Progress(progress, len(prepared)) as bar, _probe_runner(jobs, n_jobs) as outcomes:
            for (task, task_config, key, _, y, coverage, align_s), (pr, probe_s) in zip(
                prepared, outcomes, strict=True
            ):
                folds = [float(v) for v in np.asarray(pr.fold_scores, dtype=np.float64)]
                q = float(q_score(np.asarray(folds), epsilon=cfg.epsilon))
                mean = float(np.mean(folds))
                notes: list[str] = []
                if coverage < 1.0:
                    notes.append(
                        f"coverage {coverage:.3f}: scored on {len(y)} of {task.n_samples} ids "
                        "(allow_missing)"
                    )
                unreliable = not np.isfinite(q) or q < 0
                if unreliable:
                    notes.append(f"unreliable: negative Q (mean {pr.metric} = {mean:.4g})")
                metrics: dict[str, Any] = {
                    k: np.asarray(v).tolist() for k, v in pr.metrics.items()
                }
                metrics.update(
                    {"n_samples": len(y), "coverage": coverage, "std": float(np.std(folds))}
                )
                result = Result(
                    model=model,
                    task=task.name,
                    protocol=PROTOCOL,
                    metric=pr.metric,
                    score=mean,
                    suite=suite,
                    probe=pr.probe,
                    seed=seed,
                    n_splits=cfg.n_splits,
                    fold_scores=folds,
                    q=q,
                    metrics=metrics,
                    timings={"read_s": read_s, "align_s": align_s, "probe_s": probe_s},
                    versions=versions,
                    config={**task_config, "probe_options": dict(pr.options)},
                    config_hash=config_hash(task_config),
                    input_sha256=sha,
                    notes=notes,
                    run_key=key,
                )
                rs.add(result)  # one row per task, so an interrupted evaluation resumes
                new_results.append(result)
                predictions[task.name] = _pooled_predictions(pr, y)
                summaries[task.name] = TaskSummary(
                    task=task.name,
                    kind=task.kind,
                    metric=pr.metric,
                    probe=pr.probe,
                    mean=mean,
                    std=float(np.std(folds)),
                    q=q,
                    n_samples=len(y),
                    fold_scores=folds,
                    coverage=coverage,
                    unreliable=unreliable,
                    notes=notes,
                    run_key=key,
                )
                bar.advance()

    summary = EvaluationSummary(
        name=model,
        config=base_config,
        tasks={n: summaries[n] for n in sorted(summaries)},
        embeddings=emb_path,
        input_sha256=sha,
        suite=suite,
        labels=Path(labels),
        resumed=resumed,
        results=new_results,
        predictions=predictions,
    )
    if out is not None:
        run_dir = Path(out) / model
        run_dir.mkdir(parents=True, exist_ok=True)
        summary.summary_path = run_dir / "summary.json"
        summary.summary_path.write_text(json.dumps(_json_safe(summary.to_dict()), indent=2))
        if plots:
            from planetbench.embedding.plots import write_embedding_plots

            summary.plot_paths = write_embedding_plots(summary, run_dir / "plots", store=rs)
    return summary


def _json_safe(value: Any) -> Any:
    """Replace non-finite floats by None (strict JSON) and NumPy values by Python ones."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


_Job = tuple[np.ndarray, np.ndarray, str, dict[str, Any]]
"""One task's probe: (embeddings X, targets y, task kind, run_probe options)."""

#: Below this much work in all (sum over tasks of rows × dims × splits) worker processes cost
#: more than they save.
_PARALLEL_MIN_WORK = 20_000_000


def _probe_one(job: _Job) -> tuple[Any, float]:
    """Run one task's probe (in a worker process or inline); returns (ProbeResult, seconds)."""
    from planetbench.protocols.probes.base import run_probe

    X, y, kind, options = job
    t0 = time.perf_counter()
    result = run_probe(X, y, kind=kind, **options)
    return result, time.perf_counter() - t0


def _resolve_jobs(jobs: list[_Job], n_jobs: int | None) -> tuple[int, str | None]:
    """(number of worker processes, multiprocessing start method or None for inline)."""
    import multiprocessing
    import os
    import sys

    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)
                               or n_jobs < 1):
        raise ConfigError(f"n_jobs must be a positive integer or None; got {n_jobs!r}")
    methods = multiprocessing.get_all_start_methods()
    if n_jobs is None:
        work = sum(X.shape[0] * X.shape[1] * int(o["n_splits"]) for X, _, _, o in jobs)
        safe_fork = "fork" in methods and "torch" not in sys.modules
        if not safe_fork or work < _PARALLEL_MIN_WORK:
            return 1, None
        n_jobs = os.cpu_count() or 1
    n = min(n_jobs, len(jobs))
    if n <= 1:
        return 1, None
    return n, "fork" if "fork" in methods and "torch" not in sys.modules else "spawn"


@contextlib.contextmanager
def _probe_runner(
    jobs: list[_Job], n_jobs: int | None
) -> Iterator[Iterator[tuple[Any, float]]]:
    """Yield the (ProbeResult, seconds) of every job, in job order, computed inline or by a pool
    of worker processes; each result is yielded as soon as it and all earlier ones are done."""
    n, method = _resolve_jobs(jobs, n_jobs)
    if method is None:
        yield (_probe_one(job) for job in jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(method)) as pool:
        yield pool.map(_probe_one, jobs)


class _Progress:
    """A Rich progress bar on stderr, or nothing when disabled."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and total > 0
        self.total = total
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("probing tasks", total=self.total)
        return self

    def advance(self) -> None:
        """One task done."""
        if self._bar is not None:
            self._bar.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def load_summary(path: str | Path) -> dict[str, Any]:
    """Read a ``summary.json`` written by :func:`evaluate_embeddings`."""
    return dict(json.loads(Path(path).read_text()))


__all__ = ["EvaluationSummary", "TaskSummary", "evaluate_embeddings", "load_summary"]
