"""Evaluate a file of embeddings on a NeuCo-Bench label folder: probe, Q score, store, summary.

One evaluation reads top-down as named steps over an :class:`EvaluationConfig`:

1. :meth:`EvaluationConfig.build` validates the arguments (names, output folder, probe
   configuration) before anything is read;
2. :func:`_load_tasks` reads the label folder, drops excluded ids and applies the task filter;
3. :func:`_plan` gives every task its run key and finds the runs already stored (resume);
4. :func:`_prepare` reads the embeddings once, standardises them (NeuCo-Bench's file-wide scalar
   z-score) and aligns and validates EVERY task (ids, labels, splits, probe, finite scores)
   before any probe runs, so an invalid task never leaves the others half stored;
5. :func:`_probe_and_store` runs the probes on K random splits, computes the quality score Q
   (Vinge et al. 2025, NeuCo-Bench) and stores one :class:`Result` per task as it finishes;
6. :func:`_write_outputs` writes ``OUT/MODEL/summary.json`` (strict JSON) and the plots.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.config import ProbeConfig, config_hash, validate_config
from planetbench.embedding.files import (
    EmbeddingTable,
    align,
    check_embedding_path,
    file_sha256,
    read_embeddings,
)
from planetbench.embedding.labels import (
    LabelTask,
    check_splittable,
    check_test_folds,
    load_label_tasks,
)
from planetbench.embedding.names import check_name, check_output_folder, output_path
from planetbench.embedding.summary import SUITE, EvaluationSummary, TaskSummary, write_json
from planetbench.errors import ConfigError, EmbeddingFileError, InvalidInputError, LabelFileError
from planetbench.protocols.probes.pool import ProbeJob, probe_pool
from planetbench.registry import did_you_mean
from planetbench.store import Result, ResultStore
from planetbench.store.result import library_versions, run_key

PROTOCOL = "probe"


@dataclass(frozen=True)
class NeucoRules:
    """NeuCo-Bench v1.1's handling of a submission, applied under ``planetbench neuco``.

    Attributes:
        pad_to_dim: zero-pad the embeddings to ``embedding_dim`` columns before the file-wide
            standardisation (which the zero columns change, as in NeuCo-Bench).
        score_around_missing: score each task on the ids that have an embedding and a non-empty
            label, warning with the ids left out (NeuCo-Bench does so silently); False makes
            them errors (``require_complete``).
        missing_fix: how to make missing ids an error or accept them, for the messages.
        run_tag: identity of this run (NeuCo's timestamped experiment); part of the run key, so
            a NeuCo run is always computed afresh, never resumed from the store.
        keep_train_outputs: keep the best epoch's training outputs (NeuCo's plots).
        refit: keep a probe trained on all rows (NeuCo's ``store_probes``).
    """

    pad_to_dim: bool = True
    score_around_missing: bool = True
    missing_fix: str = ""
    run_tag: str = ""
    keep_train_outputs: bool = False
    refit: bool = False


@dataclass(frozen=True)
class EvaluationConfig:
    """Everything one evaluation needs, validated by :meth:`build`.

    Attributes:
        embeddings: CSV/Parquet embedding file.
        labels: folder of ``<task>__<type>.csv`` label files.
        model: model name stored with the results (a leaderboard row; also a folder name).
        suite: suite the results are stored under.
        probe: probe configuration (``test_size`` and ``seed`` filled in).
        out: folder for ``MODEL/summary.json`` and plots, or None to write nothing.
        plots: also write PNG plots.
        task_filter: names of the tasks to evaluate, or None for all.
        exclude_ids: sample ids dropped from the embeddings and from every task.
        standardize: NeuCo-Bench's file-wide scalar z-score of the embeddings.
        normalize_labels: NeuCo-Bench's per-task min-max scaling of regression targets.
        n_jobs: tasks probed at once (None: automatic).
        progress: show a progress bar.
        neuco: NeuCo-Bench v1.1's own handling where it changes what is scored (set by
            ``planetbench neuco``; see :class:`NeucoRules`), or None for planetbench's.
        probe_options: settings passed to the probe (NeuCo's ``batch_size``, ``lr``, SVM search
            …); part of the run configuration.
    """

    embeddings: Path
    labels: Path
    model: str
    suite: str
    probe: ProbeConfig
    out: Path | None = None
    plots: bool = False
    task_filter: tuple[str, ...] | None = None
    exclude_ids: tuple[str, ...] = ()
    standardize: bool = False
    normalize_labels: bool = False
    n_jobs: int | None = None
    progress: bool = False
    neuco: NeucoRules | None = None
    probe_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        embeddings: str | Path,
        labels: str | Path,
        *,
        name: str | None = None,
        suite: str = SUITE,
        config: ProbeConfig | None = None,
        out: str | Path | None = None,
        plots: bool = False,
        task_filter: list[str] | tuple[str, ...] | None = None,
        exclude_ids: list[str] | tuple[str, ...] | None = None,
        standardize: bool = False,
        normalize_labels: bool = False,
        n_jobs: int | None = None,
        progress: bool = False,
        neuco: NeucoRules | None = None,
        probe_options: dict[str, Any] | None = None,
        **config_overrides: Any,
    ) -> EvaluationConfig:
        """Validate the arguments of :func:`evaluate_embeddings` (nothing is read or written).

        Raises:
            ConfigError: an invalid probe configuration, ``plots`` without ``out``, an empty
                task filter or a bad ``n_jobs``.
            InvalidInputError: a model name that is not a plain name, or an ``out`` that cannot
                be a folder.
            EmbeddingFileError: the embedding file does not exist or has an unknown suffix.
        """
        probe = _resolve_probe_config(config, config_overrides)
        emb_path = check_embedding_path(embeddings)
        model = check_name(name if name is not None else emb_path.stem,
                           what="model name (--model)")
        if plots and out is None:
            raise ConfigError("plots=True needs an output folder: pass out=DIR (CLI: --out DIR)")
        if out is not None:
            check_output_folder(out, flag="out (--out)")
        if task_filter is not None:
            if isinstance(task_filter, str) or not all(isinstance(t, str) for t in task_filter):
                raise ConfigError(f"task_filter must be a list of task names; got {task_filter!r}")
            if not task_filter:
                raise ConfigError(
                    "task_filter is empty, so there is nothing to evaluate; name at least one "
                    "task, or pass None for every task of the label folder"
                )
        if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)
                                   or n_jobs < 1):
            raise ConfigError(f"n_jobs must be a positive integer or None; got {n_jobs!r}")
        check_name(suite, what="suite")
        return cls(
            embeddings=emb_path,
            labels=Path(labels),
            model=model,
            suite=suite,
            probe=probe,
            out=Path(out) if out is not None else None,
            plots=plots,
            task_filter=tuple(task_filter) if task_filter is not None else None,
            exclude_ids=tuple(sorted({str(i) for i in exclude_ids or []})),
            standardize=standardize,
            normalize_labels=normalize_labels,
            n_jobs=n_jobs,
            progress=progress,
            neuco=neuco,
            probe_options=dict(probe_options or {}),
        )

    @property
    def test_size(self) -> float:
        """Test share of each split (the probe configuration's, filled in)."""
        return float(self.probe.test_size or 0.0)

    @property
    def seed(self) -> int:
        """Seed of the splits and probes (the probe configuration's, filled in)."""
        return int(self.probe.seed or 0)

    def run_config(self) -> dict[str, Any]:
        """The configuration stored with (and hashed into) every run of this evaluation."""
        from planetbench.protocols.probes.base import IMPLEMENTATION_VERSION

        config: dict[str, Any] = {
            **self.probe.model_dump(mode="json"),
            "standardize": self.standardize,
            "normalize_labels": self.normalize_labels,
            "probe_implementation": IMPLEMENTATION_VERSION,
        }
        if self.probe_options:
            config["probe_options"] = dict(self.probe_options)
        if self.neuco is not None:
            config["neuco_rules"] = {
                "pad_to_dim": self.neuco.pad_to_dim,
                "score_around_missing": self.neuco.score_around_missing,
                "run": self.neuco.run_tag,
            }
        if self.exclude_ids:
            config["exclude_ids_sha256"] = hashlib.sha256(
                "\n".join(self.exclude_ids).encode()
            ).hexdigest()
        return config


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
        name: model name stored with the results (default: the embedding file's stem); a plain
            name (it names the folder ``out/name``): no path separators, at most 128 characters.
        suite: suite the results are stored under (``neuco``; the demo uses ``demo`` so that
            synthetic results are labelled and never mix with real ones).
        config: probe configuration; ``config_overrides`` (``probe``, ``n_splits``, ``test_size``,
            ``seed``, ``epsilon``, ``dim``, ``allow_missing``, ``neuco_epochs``) replace its fields.
        store: results store (URL, path or :class:`ResultStore`; default store when None).
        out: folder for ``NAME/summary.json`` (and ``NAME/plots/``); nothing is written when None.
        plots: also write PNG plots (needs ``out``).
        task_filter: only evaluate these task names (a non-empty list).
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
        LabelFileError, EmbeddingFileError, ConfigError, InvalidInputError: invalid inputs,
            found before any task is probed (nothing is stored).

    Example::

        summary = evaluate_embeddings("emb.csv", "labels/", name="my-model", probe="ridge",
                                      n_splits=10, store="sqlite:///r.sqlite")
        summary.tasks["biomass"].q, summary.mean_q
    """
    cfg = EvaluationConfig.build(
        embeddings, labels, name=name, suite=suite, config=config, out=out, plots=plots,
        task_filter=task_filter, exclude_ids=exclude_ids, standardize=standardize,
        normalize_labels=normalize_labels, n_jobs=n_jobs, progress=progress, **config_overrides,
    )
    return run_evaluation(cfg, store)


def run_evaluation(cfg: EvaluationConfig, store: str | ResultStore | None = None
                   ) -> EvaluationSummary:
    """Run a validated evaluation (see the module docstring for its steps)."""
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    all_tasks, tasks = _load_tasks(cfg)
    plan = _plan(cfg, tasks, rs)
    fresh: list[tuple[Result, TaskSummary, tuple[np.ndarray, np.ndarray], dict[str, Any]]] = []
    warnings = [
        f"label file {t.path.name!r}: {len(t.skipped_ids)} row(s) with an empty label cell left "
        f"out, as NeuCo-Bench does: {_listed(t.skipped_ids)}"
        + (f"; {cfg.neuco.missing_fix}" if cfg.neuco is not None else "")
        for t in tasks if t.skipped_ids
    ]
    if plan.todo:
        prepared, read_s = _prepare(cfg, plan, all_tasks)
        warnings += [p.warning for p in prepared if p.warning]
        fresh = list(_probe_and_store(cfg, plan, prepared, read_s, rs))
    summary = EvaluationSummary(
        name=cfg.model,
        config=plan.config,
        tasks=dict(sorted({**plan.resumed, **{s.task: s for _, s, _, _ in fresh}}.items())),
        embeddings=cfg.embeddings,
        input_sha256=plan.sha256,
        suite=cfg.suite,
        labels=cfg.labels,
        resumed=sorted(plan.resumed),
        results=[r for r, _, _, _ in fresh],
        predictions={s.task: p for _, s, p, _ in fresh},
        details={s.task: d for _, s, _, d in fresh if d},
        warnings=warnings,
    )
    _write_outputs(cfg, summary, rs)
    return summary


def _listed(ids: tuple[str, ...] | list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _resolve_probe_config(config: ProbeConfig | None, overrides: dict[str, Any]) -> ProbeConfig:
    if config is not None and not isinstance(config, ProbeConfig):
        raise ConfigError(
            f"config must be a planetbench.config.ProbeConfig or None; got {type(config).__name__}"
        )
    base = config.model_dump(exclude_unset=True) if config is not None else {}
    clean = {k: v for k, v in overrides.items() if v is not None}
    if not clean and config is not None:
        return config
    resolved: ProbeConfig = validate_config(
        ProbeConfig, {**base, **clean}, source="evaluate_embeddings arguments"
    )
    return resolved


# ----------------------------------------------------------------------------- 2. label tasks


def _load_tasks(cfg: EvaluationConfig) -> tuple[list[LabelTask], list[LabelTask]]:
    """(every task of the label folder, the tasks to evaluate), excluded ids dropped."""
    lenient = cfg.neuco is not None and cfg.neuco.score_around_missing
    try:
        all_tasks = load_label_tasks(cfg.labels, skip_empty=lenient)
    except LabelFileError as exc:
        if cfg.neuco is None or "missing (NaN/empty) label" not in str(exc):
            raise
        raise LabelFileError(f"{exc}; {cfg.neuco.missing_fix}") from None
    if cfg.exclude_ids:
        excluded = np.array(cfg.exclude_ids, dtype=str)
        all_tasks = [t.subset(~np.isin(t.ids, excluded)) for t in all_tasks]
    if cfg.task_filter is None:
        return all_tasks, all_tasks
    names = [t.name for t in all_tasks]
    unknown = [f for f in cfg.task_filter if f not in names]
    if unknown:
        from planetbench.errors import UnknownNameError

        close = {u: did_you_mean(u, names, n=1) for u in unknown}
        hints = "; ".join(f"{u!r}" + (f" ({c})" if c else "") for u, c in close.items())
        raise UnknownNameError(
            f"task filter names unknown task(s): {hints}. Tasks in the label folder: "
            f"{', '.join(names)}"
        )
    return all_tasks, [t for t in all_tasks if t.name in set(cfg.task_filter)]


# ----------------------------------------------------------------------------- 3. plan / resume


@dataclass(frozen=True)
class _Run:
    """One task's run: the task, its stored configuration and its run key."""

    task: LabelTask
    config: dict[str, Any]
    key: str


@dataclass
class _Plan:
    """The runs of an evaluation: those to compute and the summaries of those already stored."""

    sha256: str
    config: dict[str, Any]
    todo: list[_Run]
    resumed: dict[str, TaskSummary] = field(default_factory=dict)


def _plan(cfg: EvaluationConfig, tasks: list[LabelTask], rs: ResultStore) -> _Plan:
    """Run keys of every task; tasks whose run is already stored are resumed from the store."""
    sha = file_sha256(cfg.embeddings)
    base = cfg.run_config()
    # One submission = one (embedding file, configuration); the leaderboard groups rows by it.
    submission = config_hash({**base, "input_sha256": sha})
    runs = []
    for task in tasks:
        task_config = {
            **base,
            "submission_hash": submission,
            "labels_sha256": task.sha256,
            "kind": task.kind,
            "suite": cfg.suite,
        }
        key = run_key(model=cfg.model, task=task.name, protocol=PROTOCOL,
                      config_hash=config_hash(task_config), seed=cfg.seed, input_sha256=sha)
        runs.append(_Run(task, task_config, key))
    done = rs.finished_keys([r.key for r in runs])
    plan = _Plan(sha, base, [r for r in runs if r.key not in done])
    if done:
        stored = rs.query(run_key=sorted(done)).drop_duplicates("run_key", keep="last")
        by_key = {row["run_key"]: row for row in stored.to_dict("records")}
        for run in runs:
            if run.key in done:
                plan.resumed[run.task.name] = _from_row(by_key[run.key], run.task.kind)
    return plan


def _from_row(row: Any, kind: str) -> TaskSummary:
    folds = [float(v) for v in row["fold_scores"]]
    metrics = row["metrics"] or {}
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
        notes=list(row["notes"] or []),
        resumed=True,
        run_key=str(row["run_key"]),
    )


# ----------------------------------------------------------------------------- 4. prepare


@dataclass
class _Prepared:
    """One task ready to probe: aligned embeddings ``X`` (m, d), targets ``y``, coverage."""

    run: _Run
    X: np.ndarray
    y: np.ndarray
    coverage: float
    align_s: float
    warning: str = ""


def _prepare(
    cfg: EvaluationConfig, plan: _Plan, all_tasks: list[LabelTask]
) -> tuple[list[_Prepared], float]:
    """Read the embeddings once and align and validate every task to run; (tasks, read seconds).

    Raises:
        EmbeddingFileError, LabelFileError, ConfigError, InvalidInputError: the first invalid
            task, before any probe runs.
    """
    t0 = time.perf_counter()
    table = _read_table(cfg, plan.sha256, all_tasks)
    read_s = time.perf_counter() - t0
    return [_prepare_task(cfg, table, run) for run in plan.todo], read_s


def _read_table(cfg: EvaluationConfig, sha: str, all_tasks: list[LabelTask]) -> EmbeddingTable:
    """The embeddings, NeuCo-standardised over the labelled rows when ``cfg.standardize``."""
    from planetbench.protocols.probes.neuco import neuco_zscore, scalar_zscore

    table = read_embeddings(cfg.embeddings, dim=cfg.probe.dim)
    if table.sha256 != sha:
        raise EmbeddingFileError(
            f"embedding file {str(cfg.embeddings)!r} changed while it was being read; run again"
        )
    dim = cfg.probe.dim
    padded = (cfg.neuco is not None and cfg.neuco.pad_to_dim and dim is not None
              and dim > table.dim)
    if padded and dim is not None:
        table = pad_embeddings(table, dim)
    if cfg.standardize:
        # NeuCo-Bench: one mean and std over the rows whose id is labelled (after exclusions),
        # applied to every row; excluded rows are never aligned to a task.
        labelled = np.isin(table.ids, np.unique(np.concatenate([t.ids for t in all_tasks])))
        if cfg.neuco is not None:
            neuco_zscore(table.matrix, labelled, padded=padded)
        else:
            scalar_zscore(table.matrix, rows=labelled, out=table.matrix)
    return table


def pad_embeddings(table: EmbeddingTable, dim: int) -> EmbeddingTable:
    """``table`` with zero columns appended up to ``dim`` columns (NeuCo-Bench's zero-padding to
    ``embedding_dim``; the new columns are named ``d``, ``d+1`` …)."""
    padded = np.zeros((table.matrix.shape[0], dim), dtype=np.float32)
    padded[:, : table.dim] = table.matrix
    names = table.columns + tuple(str(i) for i in range(table.dim, dim))
    return EmbeddingTable(table.path, table.ids, padded, names, table.sha256)


def _prepare_task(cfg: EvaluationConfig, table: EmbeddingTable, run: _Run) -> _Prepared:
    """Align one task and check that its probe can give finite scores."""
    from planetbench.protocols.probes.base import resolve_probe, validate_targets
    from planetbench.protocols.probes.neuco import minmax_labels

    t0 = time.perf_counter()
    task = run.task
    rules = cfg.neuco
    if rules is None:
        X, y, coverage = align(table, task, allow_missing=cfg.probe.allow_missing)
    else:
        X, y, coverage = align(table, task, fix=rules.missing_fix,
                               allow_missing=cfg.probe.allow_missing
                               or rules.score_around_missing)
    warning = ""
    if coverage < 1.0 and rules is not None:
        missing = [str(i) for i in task.ids[~np.isin(task.ids, table.ids)]]
        warning = (f"task {task.name!r}: {len(missing)} of {task.n_samples} labelled ids have no "
                   f"embedding in {table.path.name!r} and were left out, as NeuCo-Bench does: "
                   f"{_listed(missing)}; {rules.missing_fix}")
    scored = task if coverage == 1.0 else task.subset(np.isin(task.ids, table.ids))
    check_splittable(scored, n_splits=cfg.probe.n_splits, test_size=cfg.test_size)
    check_test_folds(scored, n_splits=cfg.probe.n_splits, test_size=cfg.test_size,
                     seed=cfg.seed)
    where = f"label file {task.path.name!r}"
    try:
        resolve_probe(cfg.probe.probe, task.kind)
        validate_targets(y, len(y), task.kind)
    except InvalidInputError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if cfg.normalize_labels and task.kind == "regression":
        y = minmax_labels(y)[0]
    return _Prepared(run, X, y, coverage, time.perf_counter() - t0, warning)


# ----------------------------------------------------------------------------- 5. probe + store


def _probe_and_store(
    cfg: EvaluationConfig,
    plan: _Plan,
    prepared: list[_Prepared],
    read_s: float,
    rs: ResultStore,
) -> Iterator[tuple[Result, TaskSummary, tuple[np.ndarray, np.ndarray], dict[str, Any]]]:
    """Probe every prepared task and store its result as soon as it is done (so an interrupted
    evaluation resumes); yields (result, summary, pooled test (truth, prediction), details) with
    the probe's details (options, splits, predictions, targets) under ``neuco`` rules only."""
    options: dict[str, Any] = {
        "probe": cfg.probe.probe,
        "n_splits": cfg.probe.n_splits,
        "test_size": cfg.test_size,
        "seed": cfg.seed,
        "epochs": cfg.probe.neuco_epochs,
        # NeuCo-Bench z-scores once per file: the probe must not z-score each task again; under
        # NeuCo's own rules the file-wide choice (standardize_embeddings) is final.
        "standardize": not cfg.standardize and cfg.neuco is None,
    }
    probe_options = dict(cfg.probe_options)
    if cfg.neuco is not None:
        probe_options.update(keep_train_outputs=cfg.neuco.keep_train_outputs,
                             refit=cfg.neuco.refit)
    if probe_options:
        options["options"] = probe_options
    jobs: list[ProbeJob] = [(p.X, p.y, str(p.run.task.kind), options) for p in prepared]
    versions = library_versions()
    with _Progress(cfg.progress, len(jobs)) as bar, probe_pool(jobs, cfg.n_jobs) as outcomes:
        for item, (pr, probe_s) in zip(prepared, outcomes, strict=True):
            result, summary = _record(cfg, plan, item, pr, versions,
                                      {"read_s": read_s, "align_s": item.align_s,
                                       "probe_s": probe_s})
            rs.add(result)
            bar.advance()
            details = ({"options": pr.options, "splits": pr.splits,
                        "test_predictions": pr.test_predictions, "y": item.y}
                       if cfg.neuco is not None else {})
            yield result, summary, _pooled_predictions(pr, item.y), details


def _record(
    cfg: EvaluationConfig,
    plan: _Plan,
    item: _Prepared,
    pr: Any,
    versions: dict[str, str],
    timings: dict[str, float],
) -> tuple[Result, TaskSummary]:
    """The stored :class:`Result` and the :class:`TaskSummary` of one probed task."""
    from planetbench.stats.qscore import q_score

    task, n = item.run.task, len(item.y)
    folds = [float(v) for v in np.asarray(pr.fold_scores, dtype=np.float64)]
    if cfg.neuco is not None:
        mean, std, q = neuco_task_statistics(folds, epsilon=cfg.probe.epsilon)
    else:
        q = float(q_score(np.asarray(folds), epsilon=cfg.probe.epsilon))
        mean, std = float(np.mean(folds)), float(np.std(folds))
    notes: list[str] = []
    if item.coverage < 1.0:
        why = "allow_missing" if cfg.neuco is None else "NeuCo-Bench's leniency"
        notes.append(f"coverage {item.coverage:.3f}: scored on {n} of {task.n_samples} ids "
                     f"({why})")
    unreliable = not np.isfinite(q) or q < 0
    if unreliable:
        notes.append(f"unreliable: negative Q (mean {pr.metric} = {mean:.4g})")
    metrics: dict[str, Any] = {k: np.asarray(v).tolist() for k, v in pr.metrics.items()}
    metrics.update({"n_samples": n, "coverage": item.coverage, "std": std})
    result = Result(
        model=cfg.model,
        task=task.name,
        protocol=PROTOCOL,
        metric=pr.metric,
        score=mean,
        suite=cfg.suite,
        probe=pr.probe,
        seed=cfg.seed,
        n_splits=cfg.probe.n_splits,
        fold_scores=folds,
        q=q,
        metrics=metrics,
        timings=timings,
        versions=versions,
        config={**item.run.config,
                "probe_options": {k: v for k, v in pr.options.items() if k not in _NOT_STORED}},
        config_hash=config_hash(item.run.config),
        input_sha256=plan.sha256,
        notes=notes,
        run_key=item.run.key,
    )
    summary = TaskSummary(
        task=task.name, kind=task.kind, metric=pr.metric, probe=pr.probe, mean=mean, std=std,
        q=q, n_samples=n, fold_scores=folds, coverage=item.coverage, unreliable=unreliable,
        notes=notes, run_key=item.run.key,
    )
    return result, summary


#: Probe details kept for NeuCo's output files but not stored with the result (models, per-row
#: arrays).
_NOT_STORED = frozenset({"model", "train_outputs", "train_targets", "all_predictions",
                         "probe_weight", "probe_bias"})


def neuco_task_statistics(folds: list[float], *, epsilon: float = 0.02
                          ) -> tuple[float, float, float]:
    """NeuCo-Bench's ``(mean_score, std_dev, q_stat)`` of one task's fold scores.

    Failed folds (NaN) are left out of the mean and the standard deviation (``nanmean``,
    ``nanstd`` with ddof 0), and ``Q = mean / (ε + std) · 100ε`` (NeuCo: ε = 0.02, so the factor
    is 2), evaluated in NeuCo-Bench's order. NaN when every fold failed; a fold of ``-inf``
    (NeuCo's start value, kept when no epoch had a score) makes the mean ``-inf`` and Q NaN.
    """
    arr = np.asarray(folds, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"), warnings_ignored():
        mean = float(np.nanmean(arr)) if not np.isnan(arr).all() else float("nan")
        std = float(np.nanstd(arr)) if not np.isnan(arr).all() else float("nan")
        q = mean / (epsilon + std) * (100.0 * epsilon)
    return mean, std, float(q)


@contextlib.contextmanager
def warnings_ignored() -> Iterator[None]:
    """Silence Python warnings (NumPy's RuntimeWarnings of all-NaN reductions)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _pooled_predictions(pr: Any, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.concatenate([y[test] for _, test in pr.splits])
    pred = np.concatenate([np.asarray(p) for p in pr.test_predictions])
    return truth, pred


# ----------------------------------------------------------------------------- 6. outputs


def _write_outputs(cfg: EvaluationConfig, summary: EvaluationSummary, rs: ResultStore) -> None:
    """``OUT/MODEL/summary.json`` (strict JSON) and, with ``plots``, ``OUT/MODEL/plots/``."""
    if cfg.out is None:
        return
    run_dir = output_path(cfg.out, cfg.model)
    run_dir.mkdir(parents=True, exist_ok=True)
    summary.summary_path = write_json(run_dir / "summary.json", summary.to_dict())
    if cfg.plots:
        from planetbench.embedding.plots import write_embedding_plots

        summary.plot_paths = write_embedding_plots(summary, run_dir / "plots", store=rs)


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
    import json

    return dict(json.loads(Path(path).read_text()))


__all__ = [
    "EvaluationConfig",
    "EvaluationSummary",
    "TaskSummary",
    "evaluate_embeddings",
    "load_summary",
    "run_evaluation",
]
