"""The dense experiment runner: grid → runs → results in the store, resumable.

One run (:func:`execute_job`) aligns the task's bands to the encoder's inputs under the band
policy, builds the encoder, reads the splits, selects the label fraction, trains with the run's
protocol (``frozen``, ``finetune`` or a plugin's), scores the best checkpoint on the test split,
measures efficiency and returns a :class:`~planetbench.store.Result`; its set-up steps live in
:mod:`planetbench.runs.jobs`, its identity (model name, run key) in
:mod:`planetbench.runs.identity`. :func:`run_experiment` expands an
:class:`~planetbench.config.ExperimentSpec` into runs, checks the whole grid first
(:mod:`planetbench.runs.preflight`: one message per problem, nothing run), skips the runs whose
key is already stored, executes the rest through an :class:`~planetbench.runs.executors.Executor` (in this process, or on a Ray
cluster) and stores each result as soon as it is ready. The Cryo-Bench table of stored runs is
:func:`planetbench.report.dense_leaderboard.dense_leaderboard`.

Runs that fail do not stop the grid (unless ``fail_fast``): every other run goes on and is stored,
and :class:`RunsFailedError` then names each failed run with its error. Running the experiment
again retries only what is not in the store.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planetbench.config import DenseRunConfig, ExperimentSpec
from planetbench.errors import InvalidInputError, PlanetbenchError
from planetbench.runs.executors import Executor, LocalExecutor, Outcome
from planetbench.runs.identity import (
    planned_run_key,
    resolve_run,
    run_config_hash,
    run_label,
    run_model,
)
from planetbench.runs.jobs import (
    RunJob,
    build_encoder,
    build_protocol,
    check_available,
    open_splits,
    weights_record,
    weights_sha256,
)
from planetbench.runs.preflight import check_grid, check_work
from planetbench.store import Result, ResultStore
from planetbench.store.result import library_versions

if TYPE_CHECKING:
    from planetbench.encoders.bands import BandAlignment
    from planetbench.encoders.base import Encoder
    from planetbench.protocols.dense import DenseProtocol
    from planetbench.protocols.fraction import FractionSubset


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Use ``n`` torch intra-op CPU threads inside the block (unchanged when None), then restore.

    On a small or shared CPU, one thread is often much faster for small models: OpenMP workers
    spin-wait for each other at every operation.
    """
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def execute_job(job: RunJob, on_epoch: Callable[[Any], None] | None = None) -> Result:
    """Execute one job and return its Result (not stored): what executors map over a grid.

    A module-level function, so it can be pickled and run in another process.
    """
    with torch_threads(job.run.num_threads):
        return _execute(job, on_epoch)


def execute_run(run: DenseRunConfig, *, on_epoch: Callable[[Any], None] | None = None) -> Result:
    """Train and evaluate one dense run and return its Result (not stored).

    Args:
        run: the run's configuration (its names are looked up in this process's registries).
        on_epoch: called with each epoch record (progress display).
    """
    return execute_job(RunJob.resolve(run), on_epoch)


@dataclass
class _Trained:
    """What one run produced, before it becomes a :class:`~planetbench.store.Result`."""

    alignment: BandAlignment
    encoder: Encoder
    protocol: DenseProtocol
    indices: list[int]
    subset: FractionSubset
    metrics: dict[str, Any]
    efficiency: dict[str, Any]
    timings: dict[str, float]
    warnings: list[str]


def _execute(job: RunJob, on_epoch: Callable[[Any], None] | None) -> Result:
    """The steps of one run: align bands, build, read, select, train, test, measure, record."""
    from planetbench.runs.images import execute_image_job, is_image_run

    if is_image_run(job.task.spec, job.encoder.spec):  # classification, detection, whole models
        return execute_image_job(job, on_epoch)
    t_start = time.perf_counter()
    check_available(job.encoder)
    alignment = job.align()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        encoder = build_encoder(job, alignment)
        timings["build_encoder_s"] = time.perf_counter() - t0
        train, val, test = open_splits(job)
        indices, subset = _select_fraction(job, train)
        protocol = build_protocol(job, encoder, alignment, on_epoch)
        protocol.fit(train, val, indices)
        metrics = protocol.score(test)
        timings.update(protocol.timings_)
        t0 = time.perf_counter()
        efficiency = _measure_efficiency(job, protocol)
        timings["efficiency_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    trained = _Trained(alignment, encoder, protocol, indices, subset, metrics, efficiency,
                       timings, [f"warning: {w.message}" for w in caught])
    return _result(job, trained)


def _select_fraction(job: RunJob, train: Any) -> tuple[list[int], FractionSubset]:
    """The training images of the run's label fraction (a saved, hashed id list)."""
    from planetbench.protocols.fraction import select_fraction

    run, spec = job.run, job.task.spec
    indices, subset = select_fraction(
        train, task=spec.name, fraction=run.fraction, seed=run.fraction_seed,
        n_classes=spec.n_classes, ignore_index=spec.ignore_index, directory=run.fraction_dir,
        sampler=job.protocol.fraction_sampler,
    )
    return list(indices), subset


def _measure_efficiency(job: RunJob, protocol: DenseProtocol) -> dict[str, Any]:
    """Parameters, GFLOPs (fvcore convention), latency and peak memory of the trained encoder +
    head on one image at the protocol's measuring size (the input size; the encoder's input size
    under ``cryobench``), by the function ``planetbench efficiency`` uses."""
    import torch

    from planetbench.runs.efficiency import model_efficiency

    size = protocol.measure_size()
    x = torch.zeros(1, len(job.task.spec.bands), size, size, device=protocol.device_)
    return model_efficiency(protocol.encoder, protocol.head_, x, forward=protocol.logits,
                            n_repeats=job.run.latency_repeats)


def _notes(job: RunJob, trained: _Trained) -> list[str]:
    """What the run's reader should know: band policy, warnings, synthetic data, protocol notes."""
    alignment, protocol = trained.alignment, trained.protocol
    notes = [
        f"band policy {alignment.policy} (requested {job.run.band_policy}): task bands "
        f"{list(alignment.task_bands)} → encoder bands {list(alignment.encoder_bands)}",
        *alignment.warnings,
    ]
    for text in [*trained.warnings, *(f"warning: {w}" for w in protocol.warnings_)]:
        if text not in notes:
            notes.append(text)
    if job.task.spec.synthetic:
        notes.append("synthetic task data (not a real benchmark result)")
    from planetbench.runs.jobs import reader_options

    options = reader_options(job)
    if options:
        notes.append(f"task read with options {options}")
    notes.extend(protocol.notes())
    if trained.metrics[job.protocol.score_metric] is None:
        notes.append("test mIoU undefined: no class present in the test targets or predictions")
    return notes


def _result(job: RunJob, trained: _Trained) -> Result:
    """The run's :class:`~planetbench.store.Result` (score: the protocol's metric, test mIoU of
    the best checkpoint; ``miou_cryobench`` under ``cryobench``)."""
    from planetbench.runs.images import mars_metric_record, search_suite

    run, spec, declared = job.run, job.task.spec, job.encoder.spec.weights_sha256
    metric = job.protocol.score_metric
    score = trained.metrics[metric]
    return Result(
        model=run_model(run),
        task=spec.name,
        protocol=run.protocol,
        metric=metric,
        score=float("nan") if score is None else float(score),
        suite=search_suite(spec.suite) if run.search_study else spec.suite,
        config_hash=run_config_hash(run),
        seed=run.seed,
        fraction=run.fraction,
        lr=run.lr,
        metrics={
            **trained.metrics,
            **trained.protocol.fit_record(),
            "n_train": len(trained.indices),
            "fraction_sha256": trained.subset.sha256,
            "band_policy": trained.alignment.policy,
            "band_alignment": trained.alignment.to_record(),
            "fraction_sampler": job.protocol.fraction_sampler,
            "weights": weights_record(trained.encoder),
            **mars_metric_record(spec),
        },
        efficiency=trained.efficiency,
        timings=trained.timings,
        versions=library_versions(),
        config=run.model_dump(mode="json"),
        input_sha256=weights_sha256(trained.encoder, declared),
        # the identity resume looks for, whatever weights file was loaded
        run_key=planned_run_key(run, weights_sha256=declared),
        notes=_notes(job, trained),
    )


@dataclass(frozen=True)
class RunFailure:
    """A run that raised instead of returning a result.

    Attributes:
        run: the run's configuration.
        error: the exception it raised (for a remote run, the worker's exception; or Ray's own
            when the worker was lost).
        traceback: the formatted traceback (remote frames included).
    """

    run: DenseRunConfig
    error: BaseException
    traceback: str

    def __str__(self) -> str:
        return f"{run_label(self.run)}: {type(self.error).__name__}: {self.error}"


class RunStopped(PlanetbenchError):
    """Raised by an ``on_epoch`` hook of :func:`run_grid` to stop a run on purpose (a search
    pruning a trial); the run is reported as stopped, not as failed, and nothing is stored for it.

    Attributes:
        epoch: the last epoch the run finished.
        values: what the hook saw per epoch (e.g. the validation scores), for the caller's record.
    """

    def __init__(self, message: str, *, epoch: int, values: dict[int, float | None]) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.values = values


@dataclass
class ExperimentSummary:
    """What :func:`run_experiment` did.

    Attributes:
        n_total: runs in the grid.
        n_skipped: runs already in the store (not re-run).
        results: results of the runs executed now (all stored), in completion order.
        failures: runs that raised, in completion order (nothing stored for them).
        n_cancelled: runs not executed because ``fail_fast`` stopped the grid.
        stopped: runs an ``on_epoch`` hook stopped on purpose (:class:`RunStopped`; nothing
            stored for them).
    """

    n_total: int
    n_skipped: int
    results: list[Result] = field(default_factory=list)
    failures: list[RunFailure] = field(default_factory=list)
    n_cancelled: int = 0
    stopped: list[RunFailure] = field(default_factory=list)


class RunsFailedError(PlanetbenchError, RuntimeError):
    """Some runs of an experiment failed; the others' results are in the store.

    Attributes:
        summary: the experiment's summary (results stored, failures with tracebacks).
    """

    def __init__(self, summary: ExperimentSummary) -> None:
        self.summary = summary
        n_run = len(summary.results) + len(summary.failures)
        lines = [
            f"{len(summary.failures)} of {n_run} run(s) failed "
            f"({len(summary.results)} stored, {summary.n_skipped} already in the store"
            + (f", {summary.n_cancelled} not run: stopped at the first failure"
               if summary.n_cancelled else "") + "):"
        ]
        lines.extend(f"  {failure}" for failure in summary.failures)
        lines.append(
            "fix the cause and run the experiment again: stored runs are skipped, only the "
            "missing ones run"
        )
        super().__init__("\n".join(lines))


def run_experiment(
    spec: ExperimentSpec,
    *,
    store: ResultStore | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    print_fn: Callable[[str], None] | None = None,
    fail_fast: bool = False,
) -> ExperimentSummary:
    """Run the grid of ``spec`` (see :func:`run_grid`); the store defaults to ``spec.store``."""
    store = store if store is not None else ResultStore(spec.store)
    return run_grid(spec.runs(), store=store, executor=executor, progress=progress,
                    print_fn=print_fn, fail_fast=fail_fast)


def run_grid(
    runs: Sequence[DenseRunConfig],
    *,
    store: ResultStore,
    executor: Executor | None = None,
    progress: bool = True,
    print_fn: Callable[[str], None] | None = None,
    fail_fast: bool = False,
    on_epoch: Callable[[DenseRunConfig, Any], None] | None = None,
) -> ExperimentSummary:
    """Run every run of the grid that is not yet in the store, storing each result when ready.

    Results are stored one by one as they come back (completion order), so an interrupted grid
    resumes where it stopped. A failing run is reported at once (``print_fn``) and the grid goes
    on; at the end :class:`RunsFailedError` lists every failed run. With ``fail_fast`` the grid
    stops at the first failure instead (runs not yet finished are cancelled) and raises the same
    error. Results stored before a failure stay stored either way.

    Args:
        runs: the runs (e.g. ``spec.runs()`` of an experiment, or the trials of a search).
        store: where results go.
        executor: where runs execute (default :class:`LocalExecutor`; e.g.
            :class:`~planetbench.runs.executors.RayExecutor` for a cluster).
        progress: show a Rich progress bar (advanced in this process as results come back).
        print_fn: where status lines (plain text) go (default: stdout through Rich).
        fail_fast: stop at the first failed run instead of running the rest.
        on_epoch: called with each run and each of its epoch records, for runs executed in this
            process (a search prunes trials through it; remote executors do not report epochs).

    Returns:
        The summary, when every run succeeded.

    Raises:
        GridError: the grid cannot run as given (every problem listed; before any run): unknown
            names, missing data, options an encoder or head refuses …
        RunsFailedError: at least one run failed (its ``summary`` holds results and tracebacks).
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(emoji=False)

    def plain(line: str) -> None:  # no Rich markup: messages may hold "[...]"
        console.print(line, markup=False, highlight=False)

    say = print_fn or plain
    executor = executor if executor is not None else LocalExecutor()
    runs = [resolve_run(r) for r in runs]
    check_grid(runs)
    keys = [planned_run_key(r) for r in runs]
    done = store.finished_keys(keys)
    todo = [RunJob.resolve(r) for r, k in zip(runs, keys, strict=True) if k not in done]
    check_work(todo)
    n_skipped = len(runs) - len(todo)
    say(f"{len(runs)} run(s) in the grid; skipping {n_skipped} already in the store; "
        f"running {len(todo)}")
    summary = ExperimentSummary(n_total=len(runs), n_skipped=n_skipped)
    if not todo:
        return summary
    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), console=console, disable=not progress,
        transient=False,
    ) as bar:
        job_bar = bar.add_task("runs", total=len(todo))

        def with_epochs(job: RunJob) -> Result:  # a closure: only for in-process executors
            label = escape(run_label(job.run))
            bar.update(job_bar, description=label)

            def epoch_done(record: Any) -> None:
                describe = getattr(record, "describe", None)  # image runs describe themselves
                if describe is not None:
                    text = describe()
                else:
                    miou = "n/a" if record.val_miou is None else f"{record.val_miou:.3f}"
                    text = f"epoch {record.epoch} val mIoU {miou}"
                # the epoch's score first: a narrow terminal crops the run's label, not the score
                bar.update(job_bar, description=f"{text} · {label}")
                if on_epoch is not None:
                    on_epoch(job.run, record)

            return execute_job(job, on_epoch=epoch_done)

        fn: Callable[[RunJob], Result] = with_epochs if executor.in_process else execute_job
        if not executor.in_process:
            bar.update(job_bar, description=f"{len(todo)} run(s) submitted")
        with contextlib.closing(executor.map(fn, todo)) as outcomes:
            for outcome in outcomes:
                _collect(outcome, todo, store, summary, say)
                bar.advance(job_bar)
                if not executor.in_process:
                    bar.update(job_bar, description=escape(
                        f"finished {run_label(todo[outcome.index].run)}"))
                if summary.failures and fail_fast:
                    break
    summary.n_cancelled = (len(todo) - len(summary.results) - len(summary.failures)
                           - len(summary.stopped))
    if summary.failures:
        raise RunsFailedError(summary) from summary.failures[0].error
    return summary


def _collect(
    outcome: Outcome[Result], jobs: Sequence[RunJob], store: ResultStore,
    summary: ExperimentSummary, say: Callable[[str], None],
) -> None:
    """Store a finished run's result, or record and report its failure."""
    run = jobs[outcome.index].run
    if isinstance(outcome.error, RunStopped):
        summary.stopped.append(RunFailure(run=run, error=outcome.error, traceback=""))
        say(f"run stopped: {run_label(run)}: {outcome.error}")
        return
    if outcome.error is not None:
        failure = RunFailure(run=run, error=outcome.error, traceback=outcome.traceback)
        summary.failures.append(failure)
        say(f"run failed: {failure}")
        return
    if outcome.value is None:
        raise InvalidInputError(  # an executor that breaks the Outcome contract
            f"the executor returned neither a result nor an error for run {run_label(run)}"
        )
    store.add(outcome.value)
    summary.results.append(outcome.value)


__all__ = [  # the identity functions and RunJob are re-exported for the callers of this module
    "ExperimentSummary",
    "RunFailure",
    "RunJob",
    "RunStopped",
    "RunsFailedError",
    "execute_job",
    "execute_run",
    "planned_run_key",
    "run_config_hash",
    "run_experiment",
    "run_grid",
    "run_label",
    "run_model",
    "torch_threads",
]
