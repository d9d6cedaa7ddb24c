"""Check a whole grid of dense runs before the first one starts: one message per problem.

Two passes, both before any training:

* :func:`check_grid` (cheap, every run of the grid): every name resolves in its registry (encoder,
  task, protocol, head, band policy, cache mode; with did-you-mean), every task is a
  segmentation task, every encoder can be built here, every task has a data folder setting, the
  option maps set nothing reserved, every ``weights`` file exists, encoders whose weights cannot
  be downloaded have one, the settings suit each run's protocol (e.g. ``cryobench`` takes no
  ``patience``), and each task's bands can feed each encoder under the band policy.
* :func:`check_work` (the runs about to execute, i.e. not already stored): each task's splits
  open from its data folder (and hold enough images), each encoder builds once with its options
  and weights (offline without a cached file: the message names ``--weights ENCODER=PATH``), and
  the head builds on that encoder's maps with the head options, with the protocol's settings
  checked against the encoder; then the memory of a training step is estimated
  (:mod:`planetbench.runs.memory`) and a run that would not fit in this machine is refused with
  the input size and batch size that would (unless ``memory_check`` is off).

Each pass collects every problem (each named once, however many runs share it) and raises one
:class:`GridError` listing them, so a grid without data says so once per task instead of failing
run after run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from planetbench.config import DenseRunConfig
from planetbench.errors import ConfigError, PlanetbenchError, WeightsUnavailableError

if TYPE_CHECKING:
    from planetbench.encoders.base import Encoder
    from planetbench.runs.jobs import RunJob
    from planetbench.runs.memory import MemoryEstimate
    from planetbench.tasks.spec import SampleDataset


def weights_hint(encoder: str) -> str:
    """How ``planetbench run`` is given a local weights file for ``encoder``."""
    return (f"planetbench run takes a local file with --weights {encoder}=PATH (or weights: "
            f"{{{encoder}: PATH}} in the experiment file)")


class GridError(ConfigError):
    """An experiment cannot run as given; nothing was run.

    Attributes:
        problems: one line per problem, each naming what to fix.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = [f"the experiment cannot run ({len(self.problems)} problem(s); nothing was run):"]
        lines.extend(f"  - {p}" for p in self.problems)
        super().__init__("\n".join(lines))


class _Problems:
    """Collects distinct problem lines in order; ``check`` turns a raised error into one."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)

    @contextmanager
    def check(self, context: str = "") -> Iterator[None]:
        """Record a :class:`PlanetbenchError` raised in the block (prefixed by ``context``)."""
        try:
            yield
        except PlanetbenchError as exc:
            self.add(f"{context}{exc}")

    def raise_if_any(self) -> None:
        if self.lines:
            raise GridError(self.lines)


def check_choices(runs: Sequence[DenseRunConfig]) -> None:
    """Check that every name of the grid is registered (with did-you-mean for near misses).

    Names: encoders, tasks, protocols (:data:`~planetbench.protocols.dense.DENSE_PROTOCOLS`),
    the head (:data:`~planetbench.heads.HEADS`), the band policy
    (:data:`~planetbench.protocols.band_policies.BAND_POLICIES`) and the cache mode
    (:data:`~planetbench.protocols.feature_cache.CACHE_MODES`).

    Raises:
        GridError: listing every unknown name.
    """
    from planetbench.runs.identity import resolve_run

    problems = _Problems()
    _check_names([resolve_run(r) for r in runs], problems)
    problems.raise_if_any()


def check_grid(runs: Sequence[DenseRunConfig]) -> None:
    """The cheap checks of every run of a grid (see the module docstring).

    Raises:
        GridError: listing every problem found.
    """
    from planetbench.runs.identity import resolve_run

    runs = [resolve_run(r) for r in runs]
    problems = _Problems()
    if _check_names(runs, problems):
        _check_tasks(runs, problems)
        _check_kind_settings(runs, problems)
        _check_encoders(runs, problems)
        _check_weights(runs, problems)
        _check_protocol_settings(runs, problems)
        _check_alignments(runs, problems)
    problems.raise_if_any()


def check_work(jobs: Sequence[RunJob]) -> None:
    """The checks that read data and build models, for the runs about to execute.

    Each task's data (per data folder and reader options) is opened once, and each encoder is
    built once per distinct options and task bands, as the runs will do it; the global random
    state is left as it was.

    Raises:
        GridError: listing every problem found.
    """
    problems = _Problems()
    data = _check_data(jobs, problems)
    _check_models(jobs, problems, data)
    problems.raise_if_any()


# --------------------------------------------------------------------------- cheap checks


def _check_names(runs: Sequence[DenseRunConfig], problems: _Problems) -> bool:
    """Record every unregistered name; True when all resolve."""
    from planetbench.encoders import get_encoder
    from planetbench.heads import HEADS
    from planetbench.protocols.band_policies import BAND_POLICIES
    from planetbench.protocols.dense import DENSE_PROTOCOLS
    from planetbench.protocols.feature_cache import CACHE_MODES
    from planetbench.tasks import get_task

    n_before = len(problems.lines)
    # head and cache name a dense head and cache mode for segmentation runs only; image runs
    # check theirs in _check_kind_settings
    dense = [r for r in runs if not _is_image_run(r)]
    lookups: list[tuple[str, Callable[[str], Any], Callable[[DenseRunConfig], str],
                        Sequence[DenseRunConfig]]] = [
        ("encoders", get_encoder, lambda r: r.encoder, runs),
        ("tasks", get_task, lambda r: r.task, runs),
        ("protocols", DENSE_PROTOCOLS.get, lambda r: r.protocol, runs),
        ("head", HEADS.get, lambda r: str(r.head), dense),
        ("band_policy", BAND_POLICIES.get, lambda r: str(r.band_policy), runs),
        ("cache", CACHE_MODES.get, lambda r: r.cache, dense),
    ]
    for key, get, name_of, which in lookups:
        for name in dict.fromkeys(name_of(r) for r in which):
            with problems.check(f"{key}: "):
                get(name)
    return len(problems.lines) == n_before


def _is_image_run(run: DenseRunConfig) -> bool:
    """True for a run of a classification or detection task or of a whole-model baseline
    (False for an unknown task or encoder)."""
    from planetbench.encoders import get_encoder
    from planetbench.errors import UnknownNameError
    from planetbench.runs.images import is_image_run
    from planetbench.tasks import get_task

    try:
        return is_image_run(get_task(run.task).spec, get_encoder(run.encoder).spec)
    except UnknownNameError:
        return False


def _check_kind_settings(runs: Sequence[DenseRunConfig], problems: _Problems) -> None:
    """The settings suit each task's kind (:func:`planetbench.runs.images.check_settings`)."""
    from planetbench.encoders import get_encoder
    from planetbench.runs.images import check_settings
    from planetbench.tasks import get_task

    for run in runs:
        for problem in check_settings(run, get_task(run.task).spec, get_encoder(run.encoder).spec):
            problems.add(problem)


def _check_tasks(runs: Sequence[DenseRunConfig], problems: _Problems) -> None:
    """Segmentation, classification and detection tasks, each with a data folder setting."""
    from planetbench.runs.images import is_image_task
    from planetbench.tasks import get_task

    for name, run in {r.task: r for r in runs}.items():
        spec = get_task(name).spec
        if spec.kind != "segmentation" and not is_image_task(spec):
            problems.add(
                f"task {name!r} is a {spec.kind} task; `planetbench run` evaluates segmentation, "
                "classification and detection tasks (use the embedding commands for the others)"
            )
        with problems.check():
            run.data_root()


def _check_encoders(runs: Sequence[DenseRunConfig], problems: _Problems) -> None:
    """Every encoder can be built here, and its options set nothing the runner sets."""
    from planetbench.encoders import get_encoder
    from planetbench.runs.jobs import check_available

    for name, run in {r.encoder: r for r in runs}.items():
        with problems.check():
            check_available(get_encoder(name))
        reserved = sorted({"in_bands", "wavelengths_um"} & set(run.encoder_options.get(name, {})))
        if reserved:
            problems.add(
                f"encoder_options of {name!r} may not set {'/'.join(reserved)}; they come from "
                "the task's bands and the band policy: remove them from encoder_options"
            )


def _check_weights(runs: Sequence[DenseRunConfig], problems: _Problems) -> None:
    """Every ``weights`` file exists; an encoder whose weights cannot be downloaded has one."""
    from pathlib import Path

    from planetbench.encoders import get_encoder
    from planetbench.encoders.weights import weights_status

    first = runs[0] if runs else None
    for name, path in (first.weights.items() if first is not None else ()):
        if not Path(path).expanduser().is_file():
            problems.add(
                f"weights file {path!r} of encoder {name!r} does not exist; fix the path given "
                f"with --weights {name}=PATH (or weights: in the experiment file)"
            )
    for name, run in {r.encoder: r for r in runs}.items():
        spec = get_encoder(name).spec
        tiny = bool(run.encoder_options.get(name, {}).get("tiny"))
        if name not in run.weights and not tiny and weights_status(spec) == "manual":
            problems.add(
                f"encoder {name!r} publishes no downloadable weights; download them by hand "
                f"and {weights_hint(name)}"
            )


def _check_protocol_settings(runs: Sequence[DenseRunConfig], problems: _Problems) -> None:
    """The settings suit each run's protocol (e.g. ``cryobench`` refuses ``patience``)."""
    from planetbench.protocols.dense import DENSE_PROTOCOLS

    for run in runs:
        protocol = DENSE_PROTOCOLS.get(run.protocol)
        for problem in protocol.check_settings(run.model_dump()):
            problems.add(f"protocol {run.protocol!r}, encoder {run.encoder!r}: {problem}")


def _check_alignments(runs: Sequence[DenseRunConfig], problems: _Problems) -> None:
    """Each task's bands can feed each encoder under the band policy."""
    from planetbench.runs.jobs import RunJob

    pairs = {(r.encoder, r.task, r.band_policy): r for r in runs}
    for (encoder, task, policy), run in pairs.items():
        with problems.check(f"encoder {encoder!r} on task {task!r} (band_policy {policy!r}): "):
            RunJob.resolve(run).align()


# ------------------------------------------------------------------------ checks with work


@dataclass(frozen=True)
class _DataFacts:
    """What the memory estimate needs to know of a task's data."""

    n_train: int
    n_val: int
    train: SampleDataset

    def image_side(self) -> int:
        """Shorter side of the first training image (read only when asked)."""
        import numpy as np

        return int(min(np.asarray(self.train[0]["image"]).shape[-2:]))


def _data_key(job: RunJob) -> str:
    from planetbench.runs.jobs import reader_options

    return json.dumps([job.run.task, job.run.data_root(), reader_options(job)], sort_keys=True,
                      default=str)


def _check_data(jobs: Sequence[RunJob], problems: _Problems) -> dict[str, _DataFacts]:
    """Each task's splits open from its data folder and hold enough images; returns the sizes
    (and the training split) per data key."""
    from planetbench.runs.jobs import SPLITS, open_splits

    facts: dict[str, _DataFacts] = {}
    seen: set[str] = set()
    for job in jobs:
        key = _data_key(job)
        if key in seen:
            continue
        seen.add(key)
        with problems.check(f"task {job.run.task!r}: "):
            splits = open_splits(job)
            sizes = dict(zip(SPLITS, (len(ds) for ds in splits), strict=True))
            if sizes["train"] < 2 or sizes["val"] < 1 or sizes["test"] < 1:
                problems.add(
                    f"task {job.run.task!r}: the data in {job.run.data_root()!r} holds "
                    f"{sizes['train']} train / {sizes['val']} val / {sizes['test']} test "
                    "image(s); dense runs need at least 2 / 1 / 1"
                )
                continue
            facts[key] = _DataFacts(sizes["train"], sizes["val"], splits[0])
    return facts


def _check_models(
    jobs: Sequence[RunJob], problems: _Problems, data: dict[str, _DataFacts]
) -> None:
    """Each encoder builds with its options (once per options and task bands); the protocol's
    settings and the head fit the built encoder on each task; a training step fits in memory."""
    groups: dict[str, list[RunJob]] = {}
    for job in jobs:
        run = job.run
        key = json.dumps(
            [run.encoder, run.encoder_options.get(run.encoder, {}), job.task.spec.band_names],
            sort_keys=True, default=str,
        )
        groups.setdefault(key, []).append(job)
    import torch

    for group in groups.values():
        first = group[0]
        with problems.check(f"encoder {first.run.encoder!r} on task {first.run.task!r}: "), \
                torch.random.fork_rng(devices=[]):  # head initialisation: global state untouched
            encoder = _build_encoder_once(first)
            for job in {(j.run.task, j.run.protocol): j for j in group}.values():
                with problems.check(f"encoder {job.run.encoder!r} on task {job.run.task!r}: "):
                    _check_protocol_and_head(job, encoder)
            sizes = {(j.run.task, j.run.protocol, j.run.input_size, j.run.batch_size): j
                     for j in group if j.run.memory_check}
            for job in sizes.values():
                facts = data.get(_data_key(job))
                if facts is not None:
                    _check_memory(job, encoder, facts, problems)


def _build_encoder_once(job: RunJob) -> Encoder:
    """The job's encoder, built as the run will build it."""
    from planetbench.runs.jobs import build_encoder

    options = job.run.encoder_options.get(job.run.encoder, {})
    try:
        return build_encoder(job, job.align())
    except WeightsUnavailableError as exc:
        raise WeightsUnavailableError(f"{exc}. {weights_hint(job.run.encoder)}") from None
    except TypeError as exc:  # an option the factory does not take
        if not options:
            raise
        raise ConfigError(
            f"the encoder factory refused encoder_options {json.dumps(options)}: {exc}; fix "
            f"or remove them under encoder_options.{job.run.encoder}"
        ) from None


def _check_protocol_and_head(job: RunJob, encoder: Encoder) -> None:
    """The protocol's settings suit ``encoder`` and the head builds on its maps."""
    from planetbench.heads import build_head
    from planetbench.runs.images import build_image_protocol, is_image_run
    from planetbench.runs.jobs import build_protocol

    if is_image_run(job.task.spec, job.encoder.spec):
        protocol = build_image_protocol(job, encoder, job.align())
        protocol.check()
        try:
            protocol.build_model()
        except TypeError as exc:  # an option the head does not take
            raise ConfigError(
                f"head refused head_options {json.dumps(job.run.head_options)}: {exc}; fix or "
                "remove them under head_options"
            ) from None
        return
    build_protocol(job, encoder, job.align()).check()
    spec, head_options = encoder.spec, job.run.head_options
    try:
        build_head(str(job.run.head), in_channels=spec.feature_channels,
                   in_strides=spec.feature_strides, n_classes=job.task.spec.n_classes,
                   **head_options)
    except TypeError as exc:  # an option the head does not take
        if not head_options:
            raise
        raise ConfigError(
            f"head {job.run.head!r} refused head_options {json.dumps(head_options)}: {exc}; fix "
            "or remove them under head_options"
        ) from None


def run_memory(job: RunJob, encoder: Encoder, *, image_side: Callable[[], int], n_cached: int,
               batch_size: int | None = None, side: int | None = None) -> MemoryEstimate:
    """The estimated memory of a training step of ``job`` on ``encoder``
    (:func:`~planetbench.runs.memory.estimate_training_memory`).

    Args:
        job: the run.
        encoder: its built encoder.
        image_side: gives the shorter side of the task's first training image (the window of
            native-size encoders under ``cryobench``; read only for those).
        n_cached: images a frozen in-memory feature cache would hold.
        batch_size: instead of the run's.
        side: instead of the run's input side.
    """
    import torch

    from planetbench.heads import build_head
    from planetbench.runs.jobs import build_protocol
    from planetbench.runs.memory import estimate_training_memory

    protocol = build_protocol(job, encoder, job.align())
    run = job.run
    if side is None:
        side = _run_side(job, encoder, image_side)
    caches = (protocol.caches_features and getattr(protocol, "cache", "none") == "memory"
              and not run.augment)
    with torch.device("meta"):
        head = build_head(str(run.head), in_channels=encoder.spec.feature_channels,
                          in_strides=encoder.spec.feature_strides,
                          n_classes=job.task.spec.n_classes, **run.head_options)
    return estimate_training_memory(
        encoder, head, n_channels=len(encoder.spec.bands) or len(job.task.spec.bands),
        batch_size=batch_size or run.batch_size, side=side, trains_encoder=protocol.trains(),
        cached_images=n_cached if caches else 0,
    )


def _run_side(job: RunJob, encoder: Encoder, image_side: Callable[[], int]) -> int:
    """The side a run's training step sees: its input size, else the encoder's (or, for the
    encoders Cryo-Bench runs at the dataset's size, the images')."""
    if job.run.input_size is not None:
        return int(job.run.input_size)
    from planetbench.protocols.cryobench import NATIVE_SIZE_ENCODERS

    if job.run.encoder in NATIVE_SIZE_ENCODERS:
        return image_side()
    return int(encoder.spec.input_size)


def _check_memory(job: RunJob, encoder: Encoder, facts: _DataFacts, problems: _Problems) -> None:
    """Refuse a run whose training step would not fit, naming settings that would."""
    from planetbench.encoders.base import default_device
    from planetbench.runs.memory import available_memory, size_text, smaller_settings

    budget, what = available_memory(default_device())
    if budget is None:
        return
    n_cached = facts.n_train + facts.n_val

    def need_at(batch_size: int | None = None, side: int | None = None) -> MemoryEstimate:
        return run_memory(job, encoder, image_side=facts.image_side, n_cached=n_cached,
                          batch_size=batch_size, side=side)

    try:
        need = need_at()
    except Exception:  # a model the meta device cannot run, an unreadable image:
        return  # no estimate, no refusal (the run itself reports real errors)
    if need.total <= budget:
        return
    run = job.run
    fixes = smaller_settings(
        need_at, batch_size=run.batch_size, side=need.side, budget=budget,
        stride=max(encoder.spec.feature_strides or (1,)),
        # the window of a cryobench run is the encoder's input size unless one is given
        vary_side=run.input_size is not None,
    )
    hints = [f"--{key.replace('_', '-')} {value} (≈ {size_text(e.total)})"
             for key, value, e in fixes]
    advice = (f"it fits with {' or '.join(hints)}" if hints else
              "no smaller input size or batch size fits either; use a machine with more memory")
    problems.add(
        f"encoder {run.encoder!r} on task {run.task!r} (protocol {run.protocol}, batch "
        f"{run.batch_size} × {need.side} px): a training step needs {need.describe()}, more than "
        f"the {size_text(budget)} of {what} here; {advice} (or --no-memory-check to try "
        "anyway)"
    )


__all__ = ["GridError", "check_choices", "check_grid", "check_work", "run_memory",
           "weights_hint"]
