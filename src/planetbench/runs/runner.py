"""The dense experiment runner: grid → runs → results in the store, resumable.

One run (:func:`execute_run`) looks up the task and the encoder in their registries, aligns the
task's bands to the encoder's inputs, selects the label fraction, trains with the ``frozen`` or
``finetune`` protocol, scores the best checkpoint on the test split, measures efficiency and returns
a :class:`~planetbench.store.Result`. :func:`run_experiment` expands an
:class:`~planetbench.config.ExperimentSpec` into runs, skips the runs whose key is already stored,
executes the rest through an :class:`~planetbench.runs.executors.Executor` (in this process, or on a Ray
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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planetbench.config import DenseRunConfig, ExperimentSpec, config_hash
from planetbench.errors import InvalidInputError, PlanetbenchError
from planetbench.runs.executors import Executor, LocalExecutor, Outcome
from planetbench.store import Result, ResultStore
from planetbench.store.result import library_versions, run_key

if TYPE_CHECKING:
    from planetbench.encoders.base import RegisteredEncoder
    from planetbench.tasks.spec import Task

#: Settings left out of a run's config hash: paths and speed knobs that do not change its outcome
#: (the frozen feature cache gives the same numbers stored or recomputed), and the fields that
#: enter the run key on their own (seed, fraction, lr).
_NOT_IN_HASH = frozenset(
    {"root", "roots", "num_workers", "num_threads", "latency_repeats", "cache", "fraction_dir",
     "seed", "fraction", "lr"}
)


def run_model(run: DenseRunConfig) -> str:
    """The model name (leaderboard row) of a run: the encoder id, plus its options if any.

    ``vit`` with ``encoder_options={"vit": {"tiny": True}}`` is ``vit (tiny)``; other options
    appear as ``key=value`` (e.g. ``mosaiks (num_filters=16)``), so a variant never shares a row
    with the registered encoder. (Parentheses, not brackets, which Rich reads as markup.)
    """
    options = run.encoder_options.get(run.encoder, {})
    if not options:
        return run.encoder
    parts = [k if v is True else f"{k}={v}" for k, v in sorted(options.items())]
    return f"{run.encoder} ({', '.join(parts)})"


def run_label(run: DenseRunConfig) -> str:
    """One line naming a run: model · task · protocol · fraction · lr · seed."""
    return (f"{run_model(run)} · {run.task} · {run.protocol} · f={run.fraction:g} · "
            f"lr={run.lr:g} · seed={run.seed}")


#: Per-name maps of which a run only uses its own entry (its encoder's or its task's).
_OWN_ENTRY = {"encoder_options": "encoder", "data_options": "task"}


def run_config_hash(run: DenseRunConfig) -> str:
    """Hash of the settings that define the run's work (paths and speed knobs excluded).

    Of the per-encoder and per-task option maps only the run's own entry counts, so adding
    options for another encoder or task to an experiment does not re-run this one.
    """
    data = run.model_dump(mode="json")
    for field_name, owner in _OWN_ENTRY.items():
        data[field_name] = data.get(field_name, {}).get(getattr(run, owner), {})
    return config_hash({k: v for k, v in data.items() if k not in _NOT_IN_HASH})


def planned_run_key(run: DenseRunConfig, *, weights_sha256: str | None = None) -> str:
    """The run key the run's Result will carry (known before running, for resume).

    Args:
        run: the run.
        weights_sha256: the encoder spec's declared weights checksum; looked up in the encoder
            registry when None (workers pass the spec they were shipped).
    """
    if weights_sha256 is None:
        from planetbench.encoders import get_encoder

        weights_sha256 = get_encoder(run.encoder).spec.weights_sha256
    return run_key(
        model=run_model(run), task=run.task, protocol=run.protocol,
        config_hash=run_config_hash(run), seed=run.seed, fraction=run.fraction, lr=run.lr,
        input_sha256=weights_sha256,
    )


def check_names(runs: Sequence[DenseRunConfig]) -> None:
    """Look every encoder and task up once, and find each task's data folder setting.

    Mistakes then show before any training starts (with did-you-mean for names).

    Raises:
        UnknownNameError: an unregistered encoder or task.
        InvalidInputError: a non-segmentation task or an unavailable encoder.
        ConfigError: a task without a data folder (``root``/``roots``).
    """
    from planetbench.encoders import get_encoder
    from planetbench.tasks import get_task

    for name, run in {r.task: r for r in runs}.items():
        spec = get_task(name).spec
        if spec.kind != "segmentation":
            raise InvalidInputError(
                f"task {name!r} is a {spec.kind} task; `planetbench run` evaluates segmentation "
                "tasks (use the embedding commands for the others)"
            )
        run.data_root()
    for name in dict.fromkeys(r.encoder for r in runs):
        espec = get_encoder(name).spec
        if not espec.available:
            raise InvalidInputError(
                f"encoder {name!r} is not available: {espec.unavailable_reason}"
            )


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


@dataclass(frozen=True)
class RunJob:
    """One run with the registry entries it uses, looked up in the driver process.

    Executors ship jobs, not bare configs, to their workers: a worker builds the task and the
    encoder from these objects instead of looking the names up in its own registries. Encoders and
    tasks registered only in the driver (a notebook, a test, a plugin missing on the worker) thus
    run anywhere, and exactly as the driver validated them. Registry entries are small (specs,
    factories, readers); cloudpickle (Ray) ships local factory functions by value.

    Attributes:
        run: the run's configuration.
        task: the registered task ``run.task``.
        encoder: the registered encoder ``run.encoder``.
    """

    run: DenseRunConfig
    task: Task
    encoder: RegisteredEncoder

    @classmethod
    def resolve(cls, run: DenseRunConfig) -> RunJob:
        """The job of ``run``, with its task and encoder looked up in this process's registries.

        Raises:
            UnknownNameError: an unregistered encoder or task.
        """
        from planetbench.encoders import get_encoder
        from planetbench.tasks import get_task

        return cls(run=run, task=get_task(run.task), encoder=get_encoder(run.encoder))


def execute_job(job: RunJob, on_epoch: Callable[[Any], None] | None = None) -> Result:
    """Execute one job and return its Result (not stored): what executors map over a grid.

    A module-level function, so it can be pickled and run in another process.
    """
    return execute_run(job.run, on_epoch=on_epoch, task=job.task, encoder=job.encoder)


def execute_run(
    run: DenseRunConfig,
    *,
    on_epoch: Callable[[Any], None] | None = None,
    task: Task | None = None,
    encoder: RegisteredEncoder | None = None,
) -> Result:
    """Train and evaluate one dense run and return its Result (not stored).

    Args:
        run: the run's configuration.
        on_epoch: called with each epoch record (progress display).
        task: the task to use (default: ``run.task`` looked up in the task registry).
        encoder: the registered encoder to use (default: ``run.encoder`` looked up).
    """
    with torch_threads(run.num_threads):
        return _execute_run(run, on_epoch=on_epoch, task=task, registered=encoder)


def _execute_run(
    run: DenseRunConfig,
    *,
    on_epoch: Callable[[Any], None] | None,
    task: Task | None,
    registered: RegisteredEncoder | None,
) -> Result:
    import torch

    from planetbench.encoders import get_encoder
    from planetbench.encoders.bands import align_bands, apply
    from planetbench.protocols.dense import FrozenProtocol, get_protocol
    from planetbench.protocols.fraction import select_fraction
    from planetbench.runs.efficiency import measure_efficiency
    from planetbench.tasks import get_task

    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    notes: list[str] = []
    task = task if task is not None else get_task(run.task)
    spec = task.spec
    registered = registered if registered is not None else get_encoder(run.encoder)
    if not registered.spec.available:
        raise InvalidInputError(
            f"encoder {run.encoder!r} is not available: {registered.spec.unavailable_reason}"
        )
    alignment = align_bands(spec.bands, registered.spec, policy=run.band_policy)
    notes.append(
        f"band policy {alignment.policy} (requested {run.band_policy}): task bands "
        f"{list(alignment.task_bands)} → encoder bands {list(alignment.encoder_bands)}"
    )
    notes.extend(alignment.warnings)
    identity = alignment.index_map == tuple(range(len(spec.bands)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        options: dict[str, Any] = dict(run.encoder_options.get(run.encoder, {}))
        if "in_bands" in options or "wavelengths_um" in options:
            raise InvalidInputError(
                f"encoder_options of {run.encoder!r} may not set in_bands/wavelengths_um; they "
                "come from the task's bands and the band policy"
            )
        options["in_bands"] = spec.bands
        if registered.spec.wavelength_conditioned:
            options["wavelengths_um"] = alignment.wavelengths_um
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(run.seed)
            encoder = registered.factory(**options)
        timings["build_encoder_s"] = time.perf_counter() - t0

        root = run.data_root()
        reader_options = dict(run.data_options.get(run.task, {}))
        if spec.tile_option:  # sliding-window tasks: tiles of the run's input size (no resizing)
            reader_options.setdefault(spec.tile_option, run.input_size)
        train, val, test = (task.load(root, s, **reader_options) for s in ("train", "val", "test"))
        indices, subset = select_fraction(
            train, task=spec.name, fraction=run.fraction, seed=run.fraction_seed,
            n_classes=spec.n_classes, ignore_index=spec.ignore_index,
            directory=run.fraction_dir,
        )
        params: dict[str, Any] = dict(
            head=run.head, head_options=run.head_options or None, lr=run.lr,
            weight_decay=run.weight_decay, batch_size=run.batch_size, epochs=run.epochs,
            patience=run.patience, input_size=run.input_size, dice_weight=run.dice_weight,
            augment=run.augment, seed=run.seed, num_workers=run.num_workers, on_epoch=on_epoch,
            input_transform=None if identity else partial(apply, alignment=alignment),
        )
        cls = get_protocol(run.protocol)
        if cls is FrozenProtocol:
            params["cache"] = run.cache
        protocol = cls.from_task(spec, encoder, **params)
        protocol.fit(train, val, indices)
        metrics = protocol.score(test)
        timings.update(protocol.timings_)

        device = protocol._device_
        x = torch.zeros(1, len(spec.bands), run.input_size, run.input_size, device=device)
        head = protocol.head_

        def forward(batch: torch.Tensor) -> torch.Tensor:
            return head(protocol._encode(batch), batch.shape[-2:])

        t0 = time.perf_counter()
        eff = measure_efficiency(forward, x, [encoder, head], n_repeats=run.latency_repeats)
        timings["efficiency_s"] = time.perf_counter() - t0
    for w in caught:
        text = f"warning: {w.message}"
        if text not in notes:
            notes.append(text)
    notes.extend(f"warning: {w}" for w in protocol.warnings_ if f"warning: {w}" not in notes)
    if spec.synthetic:
        notes.append("synthetic task data (not a real benchmark result)")
    notes.append(f"band statistics from the {protocol.band_stats_source_}")
    cache = getattr(protocol, "cache_", None)
    if cache is not None:
        reason = f" ({cache.reason})" if cache.reason else ""
        notes.append(f"feature cache: {cache.storage}{reason}")
    miou = metrics["miou"]
    if miou is None:
        notes.append("test mIoU undefined: no class present in the test targets or predictions")
    timings["total_s"] = time.perf_counter() - t_start
    efficiency = eff.to_dict()
    efficiency["encoder_params"] = sum(p.numel() for p in encoder.parameters())
    efficiency["head_params"] = sum(p.numel() for p in head.parameters())
    return Result(
        model=run_model(run),
        task=spec.name,
        protocol=run.protocol,
        metric="miou",
        score=float("nan") if miou is None else float(miou),
        suite=spec.suite,
        config_hash=run_config_hash(run),
        seed=run.seed,
        fraction=run.fraction,
        lr=run.lr,
        metrics={
            **metrics,
            "val_miou": protocol.best_val_miou_,
            "best_epoch": protocol.best_epoch_,
            "epochs_run": len(protocol.history_),
            "history": [vars(r) for r in protocol.history_],
            "n_train": len(indices),
            "fraction_sha256": subset.sha256,
            "band_policy": alignment.policy,
            "band_alignment": alignment.to_record(),
            "weights": _load_record(encoder),
        },
        efficiency=efficiency,
        timings=timings,
        versions=library_versions(),
        config=run.model_dump(mode="json"),
        input_sha256=_weights_sha256(encoder, registered.spec.weights_sha256),
        # the identity resume looks for, whatever weights file was loaded
        run_key=planned_run_key(run, weights_sha256=registered.spec.weights_sha256),
        notes=notes,
    )


def _load_record(encoder: Any) -> dict[str, Any] | None:
    """What the strict weight loader loaded (origin, file, sha256 …), or None (random init)."""
    report = getattr(encoder, "load_report", None)
    if report is None:
        return None
    from dataclasses import asdict, is_dataclass

    record = asdict(report) if is_dataclass(report) and not isinstance(report, type) else dict(vars(report))
    return {k: str(v) if isinstance(v, Path) else v for k, v in record.items()}


def _weights_sha256(encoder: Any, declared: str) -> str:
    report = getattr(encoder, "load_report", None)
    return str(report.sha256) if report is not None and report.sha256 else declared


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


@dataclass
class ExperimentSummary:
    """What :func:`run_experiment` did.

    Attributes:
        n_total: runs in the grid.
        n_skipped: runs already in the store (not re-run).
        results: results of the runs executed now (all stored), in completion order.
        failures: runs that raised, in completion order (nothing stored for them).
        n_cancelled: runs not executed because ``fail_fast`` stopped the grid.
    """

    n_total: int
    n_skipped: int
    results: list[Result] = field(default_factory=list)
    failures: list[RunFailure] = field(default_factory=list)
    n_cancelled: int = 0


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
    """Run every run of the grid that is not yet in the store, storing each result when ready.

    Results are stored one by one as they come back (completion order), so an interrupted grid
    resumes where it stopped. A failing run is reported at once (``print_fn``) and the grid goes
    on; at the end :class:`RunsFailedError` lists every failed run. With ``fail_fast`` the grid
    stops at the first failure instead (runs not yet finished are cancelled) and raises the same
    error. Results stored before a failure stay stored either way.

    Args:
        spec: the validated experiment.
        store: where results go (default: ``spec.store`` or the default store).
        executor: where runs execute (default :class:`LocalExecutor`; e.g.
            :class:`~planetbench.runs.executors.RayExecutor` for a cluster).
        progress: show a Rich progress bar (advanced in this process as results come back).
        print_fn: where status lines (plain text) go (default: stdout through Rich).
        fail_fast: stop at the first failed run instead of running the rest.

    Returns:
        The summary, when every run succeeded.

    Raises:
        UnknownNameError, InvalidInputError, ConfigError: a bad name or setting (before any run).
        RunsFailedError: at least one run failed (its ``summary`` holds results and tracebacks).
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(emoji=False)

    def plain(line: str) -> None:  # no Rich markup: messages may hold "[...]"
        console.print(line, markup=False, highlight=False)

    say = print_fn or plain
    store = store if store is not None else ResultStore(spec.store)
    executor = executor if executor is not None else LocalExecutor()
    runs = spec.runs()
    check_names(runs)
    keys = [planned_run_key(r) for r in runs]
    done = store.finished_keys(keys)
    todo = [RunJob.resolve(r) for r, k in zip(runs, keys, strict=True) if k not in done]
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

            def on_epoch(record: Any) -> None:
                miou = "n/a" if record.val_miou is None else f"{record.val_miou:.3f}"
                bar.update(job_bar, description=f"{label} · epoch {record.epoch} val mIoU {miou}")

            return execute_job(job, on_epoch=on_epoch)

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
    summary.n_cancelled = len(todo) - len(summary.results) - len(summary.failures)
    if summary.failures:
        raise RunsFailedError(summary) from summary.failures[0].error
    return summary


def _collect(
    outcome: Outcome[Result], jobs: Sequence[RunJob], store: ResultStore,
    summary: ExperimentSummary, say: Callable[[str], None],
) -> None:
    """Store a finished run's result, or record and report its failure."""
    run = jobs[outcome.index].run
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


__all__ = [
    "ExperimentSummary",
    "RunFailure",
    "RunJob",
    "RunsFailedError",
    "check_names",
    "execute_job",
    "execute_run",
    "planned_run_key",
    "run_config_hash",
    "run_experiment",
    "run_label",
    "run_model",
]
