"""Hyper-parameter search on the validation split, then the best configuration with several seeds.

Mars-Bench's protocol (paper Tables 2 and 3, §5.3 of ``shared/reference/mars-bench.md``): per
encoder × task, search learning-rate schedule, learning rate, weight decay, batch size, optimiser,
maximum epochs, patience and loss (:func:`planetbench.protocols.mars.search_space`), select the
configuration by its validation score, then train it with the seeds 0, 1, 10, 42, 123, 1000 and
1234 and test each run. :func:`run_search` does that for any registered encoder and task:

* ``grid``: every configuration of the space; ``optuna``: ``n_trials`` configurations proposed by
  Optuna's TPE sampler (Bergstra et al. 2011, seeded), with the median pruner (Optuna's
  ``MedianPruner``) stopping a trial whose validation score after an epoch is below the median of
  earlier trials at that epoch. Pruning needs the epochs as they happen, so it only acts on runs
  executed in this process (``--executor local``); on Ray every trial runs to its end.
* Every trial is a run (:func:`planetbench.runs.runner.run_grid`: preflight, executors, store).
  Its configuration carries ``search_study`` (so its identity differs from a regular run) and it
  is stored under the suite ``<suite>-search``, off the suite's leaderboards. A pruned trial is
  stored too (score NaN, ``metrics["pruned"]``), so that a search resumes where it stopped: an
  interrupted search run again skips every stored trial (grid: by run key; Optuna: the stored
  trials are replayed into the study, and the sampler continues from them).
* Selection reads the validation score only (``metrics["val_score"]`` of image runs,
  ``metrics["val_miou"]`` of segmentation runs); the test score every run also records is never
  looked at. Ties go to the earlier trial.
* The chosen configuration is then run with each seed (without ``search_study``: regular runs of
  the suite), and each is tested on its best checkpoint. Mars-Bench instead tests the final
  in-memory weights of each seed run (``test_after_training``), a documented difference.

Segmentation searches leave out optimiser and scheduler (the dense protocols train with AdamW
and no schedule) and search cross-entropy vs cross-entropy + Dice as the loss.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import Field

from planetbench.config import DenseRunConfig, FrozenModel, config_hash
from planetbench.errors import ConfigError, InvalidInputError, require
from planetbench.protocols.mars import MARSBENCH_SEEDS
from planetbench.registry import did_you_mean

if TYPE_CHECKING:
    from planetbench.runs.executors import Executor
    from planetbench.runs.runner import ExperimentSummary, RunStopped
    from planetbench.store import Result, ResultStore

#: Search methods.
SEARCH_METHODS: tuple[str, ...] = ("grid", "optuna")

#: Run settings a search may vary.
SEARCHABLE: tuple[str, ...] = ("scheduler", "lr", "weight_decay", "batch_size", "optimizer",
                               "epochs", "patience", "loss", "dice_weight")

#: The tiny budget (for tests and a first look): the space of Mars-Bench with these settings fixed.
TINY_BUDGET: dict[str, tuple[Any, ...]] = {"epochs": (1, 2), "patience": (1,), "batch_size": (4,)}

#: Trials of an Optuna search when ``n_trials`` is not given (full and tiny budget).
DEFAULT_TRIALS = {"full": 30, "tiny": 3}


class SearchSettings(FrozenModel):
    """How to search (validated at the edges: CLI flags, Python callers).

    Attributes:
        method: ``grid`` or ``optuna``.
        n_trials: Optuna: trials in the study (default 30, tiny budget 3); grid: an upper bound
            (refused when the grid is larger).
        space: run setting → values; default Mars-Bench's space for the task's kind.
        budget: ``full`` or ``tiny`` (:data:`TINY_BUDGET` replaces those settings' values: all
            of them in Mars-Bench's space, those the given space varies otherwise).
        seed: seed of the sampler and of every trial run.
        pruning: Optuna's median pruner (in-process runs only).
        batch: trials asked at once (run side by side by a parallel executor such as Ray).
        seeds: seeds the chosen configuration runs with (default Mars-Bench's seven); empty: the
            search only.
    """

    method: str = "optuna"
    n_trials: int | None = Field(None, ge=1)
    space: dict[str, list[Any]] | None = None
    budget: str = "full"
    seed: int = Field(0, ge=0)
    pruning: bool = True
    batch: int = Field(1, ge=1)
    seeds: list[int] = Field(default_factory=lambda: list(MARSBENCH_SEEDS))


@dataclass
class Trial:
    """One configuration tried.

    Attributes:
        number: order of the trial in the search (0-based).
        params: the searched settings and their values.
        run_key: the trial run's key in the store.
        state: ``complete``, ``pruned`` or ``failed``.
        val_score: the validation score of its best checkpoint (None unless complete).
        reused: True when it was already stored (not run again).
        error: why it failed (``failed`` only).
    """

    number: int
    params: dict[str, Any]
    run_key: str
    state: str
    val_score: float | None = None
    reused: bool = False
    error: str = ""


@dataclass
class SearchSummary:
    """What :func:`run_search` did.

    Attributes:
        study: the search's name (``search_study`` of its trial runs).
        method: ``grid`` or ``optuna``.
        space: the searched space.
        metric: the validation metric maximised.
        trials: every trial, in order.
        best: the chosen trial.
        best_run: the chosen configuration (the seed runs' configuration, seed aside).
        seeds: what the seed runs did (None when no seeds were asked).
        seed_keys: run keys of the seed runs (their results are in the store).
        notes: what a reader should know (pruning off on Ray, space left out …).
    """

    study: str
    method: str
    space: dict[str, tuple[Any, ...]]
    metric: str
    trials: list[Trial]
    best: Trial
    best_run: DenseRunConfig
    seeds: ExperimentSummary | None = None
    seed_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- the search space


def resolve_space(task_kind: str, settings: SearchSettings, *,
                  whole_model: bool = False) -> dict[str, tuple[Any, ...]]:
    """The space searched: the given one or Mars-Bench's for the kind, then the tiny budget.

    ``whole_model``: the model is a whole-model baseline (Mars-Bench's segmenters search its
    optimisers, schedulers and losses, which the dense protocols fix).

    Raises:
        ConfigError: an unknown setting (did-you-mean), an empty list, or a setting the kind
            does not take (loss for segmentation, optimiser for segmentation …).
    """
    from planetbench.protocols.mars import DENSE_FIXED, image_kind, search_space

    if settings.budget not in DEFAULT_TRIALS:
        raise ConfigError(f"budget {settings.budget!r} is not one of full, tiny")
    kind = image_kind(task_kind)
    if settings.space is None:
        space = search_space(task_kind, whole_model=whole_model)
    else:
        space = {}
        for key, values in settings.space.items():
            if key not in SEARCHABLE:
                hint = did_you_mean(key, SEARCHABLE)
                raise ConfigError(f"search space: {key!r} is not a searchable setting"
                                  + (f"; {hint}" if hint else "")
                                  + f" (searchable: {', '.join(SEARCHABLE)})")
            if not values:
                raise ConfigError(f"search space: {key} lists no value")
            space[key] = tuple(values)
    dense = kind == "segmentation" and not whole_model
    wrong = ({"loss"} if dense else {"dice_weight"}) | (set(DENSE_FIXED) if dense else set())
    if kind == "detection":
        wrong.add("loss")
    bad = sorted(wrong & set(space))
    if bad:
        raise ConfigError(f"search space: {', '.join(bad)} cannot vary for {task_kind} tasks; "
                          "remove them")
    if settings.budget == "tiny":  # Mars-Bench's space, or the given keys, made small
        space.update({k: v for k, v in TINY_BUDGET.items()
                      if settings.space is None or k in space})
    return space


def grid_of(space: dict[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Every configuration of ``space`` (the product of its values, in key order)."""
    keys = list(space)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*space.values())]


def study_name(base: DenseRunConfig, settings: SearchSettings,
               space: dict[str, tuple[Any, ...]]) -> str:
    """The search's name: model, task, protocol, method and a hash of what defines the search
    (the base run's hashed settings, the space, the method, the sampler seed, pruning)."""
    from planetbench.runs.identity import run_config_hash, run_model

    digest = config_hash({"run": run_config_hash(base), "fraction": base.fraction,
                          "space": {k: list(v) for k, v in space.items()},
                          "method": settings.method, "seed": settings.seed,
                          "pruning": settings.pruning and settings.method == "optuna"})
    return f"{run_model(base)}|{base.task}|{base.protocol}|{settings.method}|{digest[:10]}"


def trial_run(base: DenseRunConfig, params: dict[str, Any], *, study: str | None,
              seed: int) -> DenseRunConfig:
    """The run of a configuration: ``base`` with ``params``, the seed and the study set.

    Raises:
        ConfigError: a value the run settings refuse.
    """
    from planetbench.config import validate_config

    data = {**base.model_dump(), **params, "search_study": study, "seed": seed}
    run: DenseRunConfig = validate_config(DenseRunConfig, data, source="search space")
    return run


def validation_score(metrics: dict[str, Any]) -> float | None:
    """The validation score a stored run was selected on (never its test score)."""
    value = metrics.get("val_score", metrics.get("val_miou"))
    return None if value is None or not math.isfinite(float(value)) else float(value)


# ------------------------------------------------------------------------------------ search


def run_search(
    base: DenseRunConfig,
    settings: SearchSettings | None = None,
    *,
    store: ResultStore,
    executor: Executor | None = None,
    progress: bool = True,
    print_fn: Callable[[str], None] | None = None,
) -> SearchSummary:
    """Search ``base``'s hyper-parameters on the validation split, then run the best with seeds.

    Args:
        base: the run whose settings are searched (encoder, task, protocol, data, fraction …);
            its ``seed`` and ``search_study`` are replaced.
        settings: how to search (default: Optuna, Mars-Bench's space, its seven seeds).
        store: where trials and seed runs go (resumes from it).
        executor: where runs execute (default: this process).
        progress: Rich progress bars.
        print_fn: where status lines go.

    Raises:
        ConfigError: bad settings or space.
        GridError: the runs cannot run as given (before any run).
        MissingDependencyError: ``optuna`` is not installed (``pip install
            'planetbench[search]'``).
        InvalidInputError: no trial completed.
        RunsFailedError: a seed run failed (the others are stored).
    """
    from planetbench.encoders import get_encoder
    from planetbench.runs.executors import LocalExecutor
    from planetbench.runs.images import search_suite
    from planetbench.tasks import get_task

    settings = settings or SearchSettings.model_validate({})
    if settings.method not in SEARCH_METHODS:
        hint = did_you_mean(settings.method, SEARCH_METHODS)
        raise ConfigError(f"search method {settings.method!r} is not one of "
                          f"{', '.join(SEARCH_METHODS)}" + (f"; {hint}" if hint else ""))
    spec = get_task(base.task).spec
    space = resolve_space(spec.kind, settings,
                          whole_model=bool(get_encoder(base.encoder).spec.whole_model))
    study = study_name(base, settings, space)
    executor = executor if executor is not None else LocalExecutor()
    context = _Context(base, settings, space, study, store, executor, progress, print_fn,
                       search_suite(spec.suite))
    if settings.method == "grid":
        trials = _grid(context)
    else:
        trials = _optuna(context)
    done = [t for t in trials if t.state == "complete" and t.val_score is not None]
    if not done:
        raise InvalidInputError(
            f"no trial of search {study!r} completed with a validation score ("
            f"{len(trials)} tried: {', '.join(sorted({t.state for t in trials}))}); see the "
            "failures above, widen the budget or turn pruning off"
        )
    best = max(done, key=lambda t: (t.val_score, -t.number))
    best_run = trial_run(base, best.params, study=None, seed=base.seed)
    seeds, seed_keys = None, []
    if settings.seeds:
        from planetbench.runs.identity import planned_run_key
        from planetbench.runs.runner import run_grid

        runs = [trial_run(base, best.params, study=None, seed=s) for s in settings.seeds]
        seed_keys = [planned_run_key(r) for r in runs]
        seeds = run_grid(runs, store=store, executor=executor, progress=progress,
                         print_fn=print_fn)
    return SearchSummary(study, settings.method, space, _metric(spec), trials, best, best_run,
                         seeds, seed_keys, context.notes)


@dataclass
class _Context:
    base: DenseRunConfig
    settings: SearchSettings
    space: dict[str, tuple[Any, ...]]
    study: str
    store: ResultStore
    executor: Executor
    progress: bool
    print_fn: Callable[[str], None] | None
    suite: str
    notes: list[str] = field(default_factory=list)

    def run(self, runs: Sequence[DenseRunConfig],
            on_epoch: Callable[[DenseRunConfig, Any], None] | None = None
            ) -> ExperimentSummary:
        """Run trials (stored ones skipped); failures and stops are returned, not raised."""
        from planetbench.runs.runner import RunsFailedError, run_grid

        try:
            return run_grid(runs, store=self.store, executor=self.executor,
                            progress=self.progress, print_fn=self.print_fn, on_epoch=on_epoch)
        except RunsFailedError as exc:
            return exc.summary

    def stored(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored metrics of the trial runs among ``keys``."""
        if not keys:
            return {}
        rows = self.store.query(run_key=list(keys))
        return {str(r.run_key): dict(r.metrics) for r in rows.itertuples()}


def _metric(spec: Any) -> str:
    from planetbench.runs.images import is_image_task

    return str(spec.metric) if is_image_task(spec) else "miou"


def _trial_of(number: int, params: dict[str, Any], key: str, metrics: dict[str, Any] | None,
              failure: str = "", reused: bool = False) -> Trial:
    if metrics is None:
        return Trial(number, params, key, "failed", error=failure)
    if metrics.get("pruned"):
        return Trial(number, params, key, "pruned", reused=reused)
    return Trial(number, params, key, "complete", validation_score(metrics), reused)


def _grid(ctx: _Context) -> list[Trial]:
    from planetbench.runs.identity import planned_run_key

    configs = grid_of(ctx.space)
    if ctx.settings.n_trials is not None and ctx.settings.n_trials < len(configs):
        raise ConfigError(
            f"the grid has {len(configs)} configurations but n_trials is "
            f"{ctx.settings.n_trials}; raise --n-trials, narrow the space or use --method optuna"
        )
    runs = [trial_run(ctx.base, p, study=ctx.study, seed=ctx.settings.seed) for p in configs]
    keys = [planned_run_key(r) for r in runs]
    before = ctx.store.finished_keys(keys)
    summary = ctx.run(runs)
    errors = {planned_run_key(f.run): f"{type(f.error).__name__}: {f.error}"
              for f in summary.failures}
    metrics = ctx.stored(keys)
    return [_trial_of(i, p, k, metrics.get(k), errors.get(k, "not run"), k in before)
            for i, (p, k) in enumerate(zip(configs, keys, strict=True))]


def _optuna(ctx: _Context) -> list[Trial]:
    """Optuna's TPE over the space: stored trials replayed, new ones asked ``batch`` at a time."""
    optuna: Any = require("optuna", "search")
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState, create_trial

    from planetbench.runs.identity import planned_run_key, run_config_hash
    from planetbench.runs.runner import RunStopped

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = ctx.settings
    n_trials = settings.n_trials or DEFAULT_TRIALS[settings.budget]
    distributions = {k: CategoricalDistribution(list(v)) for k, v in ctx.space.items()}
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
              if settings.pruning else optuna.pruners.NopPruner())
    stored = _stored_trials(ctx)
    # a resumed study continues from the stored trials with a sampler seeded by their number
    # (deterministic for a given store; the sampler's own state is not stored)
    sampler = optuna.samplers.TPESampler(seed=settings.seed + len(stored))
    study = optuna.create_study(direction="maximize", pruner=pruner, sampler=sampler)
    trials = _replay(study, stored, distributions, create_trial, TrialState)
    if settings.pruning and not ctx.executor.in_process:
        ctx.notes.append("pruning off: the executor runs trials in other processes, which do "
                         "not report their epochs back")
    while len(trials) < n_trials:
        asked = _ask_new(study, distributions, trials, min(settings.batch,
                                                           n_trials - len(trials)), TrialState)
        if not asked:
            ctx.notes.append(f"the space is exhausted after {len(trials)} distinct "
                             "configurations")
            break
        runs = [trial_run(ctx.base, dict(t.params), study=ctx.study, seed=settings.seed)
                for t in asked]
        keys = [planned_run_key(r) for r in runs]
        before = ctx.store.finished_keys(keys)
        by_hash = {run_config_hash(r): t for r, t in zip(runs, asked, strict=True)}
        summary = ctx.run(runs, on_epoch=_pruning_hook(by_hash) if settings.pruning else None)
        for stop in summary.stopped:
            if isinstance(stop.error, RunStopped):
                ctx.store.add(_stopped_result(stop.run, stop.error))
        errors = {planned_run_key(f.run): f"{type(f.error).__name__}: {f.error}"
                  for f in summary.failures}
        metrics = ctx.stored(keys)
        for trial, key in zip(asked, keys, strict=True):
            record = _trial_of(len(trials), dict(trial.params), key, metrics.get(key),
                               errors.get(key, "not run"), key in before)
            trials.append(record)
            if record.state == "complete" and record.val_score is not None:
                study.tell(trial, record.val_score)
            elif record.state == "pruned":
                study.tell(trial, state=TrialState.PRUNED)
            else:
                study.tell(trial, state=TrialState.FAIL)
    return trials


def _stored_trials(ctx: _Context) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(params, run key, metrics) of this study's stored trials, in the order they were stored."""
    out = []
    for row in ctx.store.query(suite=ctx.suite).itertuples():
        config = dict(row.config)
        if config.get("search_study") == ctx.study:
            out.append(({k: config[k] for k in ctx.space}, str(row.run_key), dict(row.metrics)))
    return out


def _params_key(params: dict[str, Any]) -> str:
    return config_hash(params)


def _ask_new(study: Any, distributions: dict[str, Any], trials: list[Trial], n: int,
             trial_state: Any, max_attempts: int = 100) -> list[Any]:
    """Up to ``n`` trials whose configurations were not tried yet. A configuration the sampler
    proposes again is told its earlier result instead of being run twice."""
    value_of = {_params_key(t.params): t.val_score for t in trials}
    asked: list[Any] = []
    for _ in range(max_attempts):
        if len(asked) == n:
            break
        trial = study.ask(distributions)
        key = _params_key(dict(trial.params))
        if key in value_of or any(_params_key(dict(a.params)) == key for a in asked):
            value = value_of.get(key)
            if value is not None:
                study.tell(trial, value)
            else:
                study.tell(trial, state=trial_state.FAIL)
            continue
        asked.append(trial)
    return asked


def _replay(study: Any, stored: list[tuple[dict[str, Any], str, dict[str, Any]]],
            distributions: dict[str, Any], create_trial: Any, trial_state: Any) -> list[Trial]:
    """The stored trials added to ``study`` (pruned ones with their intermediate values)."""
    trials: list[Trial] = []
    for params, key, metrics in stored:
        if any(params[k] not in distributions[k].choices for k in params):
            continue  # not a point of this space (cannot happen for an unchanged study)
        record = _trial_of(len(trials), params, key, metrics, reused=True)
        if record.state == "complete" and record.val_score is not None:
            study.add_trial(create_trial(params=params, distributions=distributions,
                                         value=record.val_score))
        elif record.state == "pruned":
            steps = {int(k): float(v) for k, v in metrics.get("intermediate_values", {}).items()
                     if v is not None}
            study.add_trial(create_trial(params=params, distributions=distributions,
                                         state=trial_state.PRUNED, intermediate_values=steps))
        else:
            continue
        trials.append(record)
    return trials


def _epoch_value(record: Any) -> float | None:
    """The validation score of an epoch record (image runs) or its mIoU (segmentation)."""
    value = getattr(record, "val_score", getattr(record, "val_miou", None))
    return None if value is None else float(value)


def _pruning_hook(by_hash: dict[str, Any]) -> Callable[[DenseRunConfig, Any], None]:
    """Report each epoch's validation score to its Optuna trial; stop the run when pruned."""
    from planetbench.runs.identity import run_config_hash
    from planetbench.runs.runner import RunStopped

    seen: dict[str, dict[int, float | None]] = {}

    def hook(run: DenseRunConfig, record: Any) -> None:
        key = run_config_hash(run)
        trial = by_hash.get(key)
        if trial is None:
            return
        value = _epoch_value(record)
        seen.setdefault(key, {})[int(record.epoch)] = value
        if value is None:
            return
        trial.report(value, int(record.epoch))
        if trial.should_prune():
            raise RunStopped(
                f"pruned by Optuna's median pruner after epoch {record.epoch} (validation "
                f"score {value:.4f})", epoch=int(record.epoch), values=dict(seen[key]))

    return hook


def _stopped_result(run: DenseRunConfig, stop: RunStopped) -> Result:
    """The stored record of a pruned trial (score NaN), so that a resumed search skips it."""
    from planetbench.runs.identity import planned_run_key, run_config_hash, run_model
    from planetbench.runs.images import search_suite
    from planetbench.store import Result
    from planetbench.store.result import library_versions
    from planetbench.tasks import get_task

    spec = get_task(run.task).spec
    return Result(
        model=run_model(run), task=spec.name, protocol=run.protocol, metric=_metric(spec),
        score=float("nan"), suite=search_suite(spec.suite), config_hash=run_config_hash(run),
        seed=run.seed, fraction=run.fraction, lr=run.lr,
        metrics={"pruned": True, "pruned_epoch": stop.epoch,
                 "intermediate_values": {str(k): v for k, v in stop.values.items()}},
        versions=library_versions(), config=run.model_dump(mode="json"),
        run_key=planned_run_key(run), notes=[f"search trial of study {run.search_study!r}: "
                                             f"{stop}"],
    )


def format_search(summary: SearchSummary) -> list[str]:
    """Lines describing a search: the space, each trial, the choice and the seed runs."""
    from planetbench.protocols.mars import describe_space

    lines = [f"search {summary.study} ({summary.method}): {describe_space(summary.space)}",
             f"selected on the validation {summary.metric} (the test score is not looked at)"]
    for t in summary.trials:
        value = "" if t.val_score is None else f" val {t.val_score:.4f}"
        extra = " (stored)" if t.reused else ""
        why = f": {t.error}" if t.state == "failed" and t.error else ""
        params = ", ".join(f"{k}={v}" for k, v in t.params.items())
        lines.append(f"  trial {t.number}: {t.state}{value}{extra} · {params}{why}")
    best = ", ".join(f"{k}={v}" for k, v in summary.best.params.items())
    lines.append(f"best: trial {summary.best.number} (val {summary.best.val_score:.4f}) · {best}")
    if summary.seeds is not None:
        lines.append(f"seed runs: {summary.seeds.n_total} ({summary.seeds.n_skipped} already "
                     "stored), each tested on its best checkpoint (Mars-Bench tests its final "
                     "weights)")
    lines.extend(f"note: {n}" for n in summary.notes)
    return lines


__all__ = [
    "DEFAULT_TRIALS",
    "SEARCHABLE",
    "SEARCH_METHODS",
    "TINY_BUDGET",
    "SearchSettings",
    "SearchSummary",
    "Trial",
    "format_search",
    "grid_of",
    "resolve_space",
    "run_search",
    "study_name",
    "trial_run",
    "validation_score",
]
