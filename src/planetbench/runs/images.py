"""Image-level runs: classification (binary, multi-class, multi-label) and detection tasks, and
the runs of Mars-Bench's whole-model baselines.

``planetbench run`` executes a run of such a task here (the runner dispatches on the task's kind;
segmentation runs of encoders stay in :mod:`planetbench.runs.runner`). A whole-model baseline
(:mod:`planetbench.encoders.marsbench_models`: ``mb-unet``, ``mb-faster-rcnn`` …) runs here on
its kind's tasks, segmentation included
(:class:`~planetbench.protocols.whole_models.SegmentationModelProtocol`). The steps are those of a dense run:
align bands, build the encoder (random weights under ``scratch``), read the splits, select the
label fraction (stratified by the task kind), train with
:class:`~planetbench.protocols.classification.ClassificationProtocol` or
:class:`~planetbench.protocols.detection.DetectionProtocol`, score the best checkpoint on the test
split, measure efficiency and return a :class:`~planetbench.store.Result`.

Settings of a run (:class:`~planetbench.config.DenseRunConfig`) as image runs read them:

* ``protocol``: ``frozen``, ``finetune`` or ``scratch`` (Mars-Bench's ``feature_extraction``,
  ``transfer_learning``, ``scratch_training``; recorded as ``training_type``).
* ``head``: a classification head (``linear``, ``mlp``) or a detector (``faster-rcnn``,
  ``retinanet``, ``fcos``); the dense default ``upernet`` (or None) means the kind's default
  (``linear``, ``faster-rcnn``).
* ``input_size``: None means the encoder's input size (Mars-Bench resizes to the model's input).
* ``normalisation``, ``optimizer``, ``scheduler``, ``loss``, ``monitor``, ``min_delta``,
  ``augment``, ``cache`` (classification: ``memory`` or ``none``): see
  :mod:`planetbench.protocols.mars` and :mod:`planetbench.protocols.images`.

The Result's ``metric``/``score`` is the task's metric (planetbench's: ``f1`` for binary,
``f1_weighted``, ``map``); Mars-Bench's reported number is stored beside it in ``metrics``
(``f1_weighted_mb``, ``map``), named by ``metrics["marsbench_metric"]``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from planetbench.config import DenseRunConfig
from planetbench.errors import PlanetbenchError
from planetbench.runs.identity import planned_run_key, run_config_hash, run_model
from planetbench.store import Result
from planetbench.store.result import library_versions

if TYPE_CHECKING:
    from planetbench.encoders.bands import BandAlignment
    from planetbench.encoders.base import Encoder, EncoderSpec
    from planetbench.protocols.images import ImageProtocol
    from planetbench.runs.jobs import RunJob
    from planetbench.tasks.spec import TaskSpec

#: Task kinds run here.
IMAGE_KINDS: tuple[str, ...] = ("classification", "multiclass", "multilabel", "detection")

#: The dense runs' default head; for an image run it means "the kind's default head".
DENSE_DEFAULT_HEAD = "upernet"

#: Settings that only segmentation runs use, with their defaults (image runs refuse others).
DENSE_ONLY: dict[str, Any] = {"dice_weight": 0.0}


def is_image_task(spec: TaskSpec) -> bool:
    """True for the task kinds run by this module (whatever the model)."""
    return spec.kind in IMAGE_KINDS


def is_image_run(spec: TaskSpec, encoder: EncoderSpec) -> bool:
    """True for the runs executed here: image-level tasks, and whole-model baselines."""
    return is_image_task(spec) or bool(encoder.whole_model)


def protocol_class(spec: TaskSpec, encoder: EncoderSpec | None = None) -> type[ImageProtocol]:
    """The image protocol class of a task's kind (and of a whole segmenter)."""
    if spec.kind == "detection":
        from planetbench.protocols.detection import DetectionProtocol

        return DetectionProtocol
    if encoder is not None and encoder.whole_model and spec.kind == "segmentation":
        from planetbench.protocols.whole_models import SegmentationModelProtocol

        return SegmentationModelProtocol
    from planetbench.protocols.classification import ClassificationProtocol

    return ClassificationProtocol


def image_head(run: DenseRunConfig, spec: TaskSpec, encoder: EncoderSpec | None = None) -> str:
    """The head of an image run (the kind's default for None or ``upernet``; '' for a whole
    model, which has its own)."""
    head = run.head
    if head is None or head == DENSE_DEFAULT_HEAD:
        if encoder is not None and encoder.whole_model:
            return ""
        return protocol_class(spec, encoder).default_head
    return str(head)


def _whole_model_problems(run: DenseRunConfig, spec: TaskSpec, encoder: EncoderSpec) -> list[str]:
    """A whole model runs on its kind's tasks, without a head of ours."""
    name, kind = encoder.name, encoder.whole_model
    if spec.kind != kind:
        return [f"{name!r} is Mars-Bench's whole {kind} model; task {spec.name!r} is a "
                f"{spec.kind} task: run it on {kind} tasks (or use an encoder here)"]
    if (run.head is not None and run.head != DENSE_DEFAULT_HEAD) or run.head_options:
        return [f"{name!r} is a whole model with its own decoder/detector: remove head "
                f"{run.head!r} and head_options (--head, --head-option)"]
    return []


def check_settings(run: DenseRunConfig, spec: TaskSpec,
                   encoder: EncoderSpec | None = None) -> list[str]:
    """Problems of a run's settings for its task's kind (empty: none); each names the key.

    Image runs: the protocol has an image form, and the head, optimiser, scheduler, loss,
    normalisation, monitor and cache names exist for the kind; segmentation runs: the image-only
    settings are at their defaults (the dense protocols do not use them). A whole-model
    baseline (``encoder.whole_model``) runs on tasks of its kind only, without a head.
    """
    from planetbench.errors import UnknownNameError
    from planetbench.heads.classification import CLASSIFICATION_HEADS
    from planetbench.heads.detection import DETECTORS
    from planetbench.protocols.classification import VECTOR_CACHES
    from planetbench.protocols.images import IMAGE_PROTOCOL_MODES
    from planetbench.protocols.mars import (
        MONITORS,
        OPTIMIZERS,
        SCHEDULERS,
        check_normalisation,
        image_kind,
        resolve_loss,
    )
    from planetbench.runs.identity import IMAGE_SETTINGS

    where = f"task {spec.name!r} ({spec.kind})"
    whole = encoder is not None and bool(encoder.whole_model)
    if whole:
        assert encoder is not None
        refused = _whole_model_problems(run, spec, encoder)
        if refused:
            return refused
    if not is_image_task(spec) and not whole:
        return [f"{where}: {key}={getattr(run, key)!r} applies to classification and detection "
                f"runs only; remove it (segmentation runs use {default!r})"
                for key, default in IMAGE_SETTINGS.items()
                if key != "search_study" and getattr(run, key) != default]
    problems: list[str] = []
    registry = DETECTORS if spec.kind == "detection" else CLASSIFICATION_HEADS
    lookups: list[tuple[str, str, Callable[[str], Any]]] = [
        ("protocol", run.protocol, IMAGE_PROTOCOL_MODES.get),
        *([] if whole else [("head", image_head(run, spec), registry.get)]),
        ("optimizer", run.optimizer, OPTIMIZERS.get),
        ("scheduler", run.scheduler, SCHEDULERS.get),
        ("normalisation", run.normalisation, check_normalisation),
        ("loss", run.loss, lambda name: resolve_loss(name, image_kind(spec.kind))),
    ]
    for key, value, get in lookups:
        try:
            get(value)
        except (UnknownNameError, PlanetbenchError) as exc:
            problems.append(f"{where}: {key}: {exc}")
    if run.monitor not in MONITORS:
        problems.append(f"{where}: monitor {run.monitor!r} is not one of {', '.join(MONITORS)}")
    if spec.kind in ("classification", "multiclass", "multilabel") and \
            run.cache not in VECTOR_CACHES:
        problems.append(f"{where}: cache {run.cache!r}: classification runs cache pooled vectors "
                        f"in memory or not at all; use one of {', '.join(VECTOR_CACHES)}")
    problems.extend(f"{where}: {key}={getattr(run, key)!r} applies to segmentation runs only; "
                    "remove it" for key, default in DENSE_ONLY.items()
                    if getattr(run, key) != default)
    return problems


def build_image_protocol(
    job: RunJob,
    encoder: Encoder,
    alignment: BandAlignment,
    on_epoch: Callable[[Any], None] | None = None,
) -> ImageProtocol:
    """The run's image protocol around ``encoder`` with the run's settings."""
    from functools import partial

    from planetbench.encoders.bands import apply
    from planetbench.protocols.images import IMAGE_PROTOCOL_MODES
    from planetbench.protocols.mars import resolve_normalisation

    run, spec, espec = job.run, job.task.spec, job.encoder.spec
    mode = IMAGE_PROTOCOL_MODES.get(run.protocol)
    identity = alignment.index_map == tuple(range(len(spec.bands)))
    params: dict[str, Any] = dict(
        train_encoder=mode.train_encoder, head=image_head(run, spec, espec) or None,
        head_options=dict(run.head_options) or None, lr=run.lr,
        weight_decay=run.weight_decay, batch_size=run.batch_size, epochs=run.epochs,
        patience=run.patience, input_size=run.input_size,
        normalisation=resolve_normalisation(run.normalisation, job.encoder.spec),
        augment=run.augment, optimizer=run.optimizer, scheduler=run.scheduler,
        monitor=run.monitor, min_delta=run.min_delta, seed=run.seed, on_epoch=on_epoch,
        input_transform=None if identity else partial(apply, alignment=alignment),
    )
    if spec.kind == "segmentation":  # a whole segmenter
        params.update(loss=run.loss)
    elif spec.kind != "detection":
        params.update(loss=run.loss, cache=run.cache)
    return protocol_class(spec, espec).from_task(spec, encoder, **params)


def execute_image_job(job: RunJob, on_epoch: Callable[[Any], None] | None = None) -> Result:
    """Train and test one image-level run (the steps of the module docstring)."""
    from planetbench.runs.jobs import build_encoder, check_available, open_splits, weights_record

    t_start = time.perf_counter()
    check_available(job.encoder)
    alignment = job.align()
    timings: dict[str, float] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        encoder = build_encoder(job, alignment)
        timings["build_encoder_s"] = time.perf_counter() - t0
        train, val, test = open_splits(job)
        indices, subset = select_training(job, train)
        protocol = build_image_protocol(job, encoder, alignment, on_epoch)
        protocol.fit(train, val, indices)
        metrics = protocol.score(test)
        timings.update(protocol.timings_)
        t0 = time.perf_counter()
        efficiency = measure(job, protocol)
        timings["efficiency_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    record = {"n_train": len(indices), "fraction_sha256": subset.sha256,
              "fraction_source": subset.source, "band_policy": alignment.policy,
              "band_alignment": alignment.to_record(), "weights": weights_record(encoder)}
    notes = _notes(job, alignment, protocol, metrics, [f"warning: {w.message}" for w in caught])
    return _result(job, protocol, metrics, record, efficiency, timings, notes)


def select_training(job: RunJob, train: Any) -> tuple[list[int], Any]:
    """The training images of the run's label fraction (published, else a saved hashed list
    stratified by the task kind)."""
    from planetbench.protocols.fraction import select_fraction

    run, spec = job.run, job.task.spec
    indices, subset = select_fraction(
        train, task=spec.name, fraction=run.fraction, seed=run.fraction_seed,
        n_classes=spec.n_classes, ignore_index=spec.ignore_index, directory=run.fraction_dir,
        kind=spec.kind,
    )
    return list(indices), subset


def measure(job: RunJob, protocol: ImageProtocol) -> dict[str, Any]:
    """Parameters, GFLOPs, latency and peak memory of the trained model on one image."""
    import torch

    from planetbench.runs.efficiency import measure_efficiency

    side = protocol.side()
    x = torch.zeros(1, len(job.task.spec.bands), side, side, device=protocol.device_)
    modules = [protocol.encoder, protocol.trainable()]
    eff = measure_efficiency(protocol.forward_batch, x, modules, n_repeats=job.run.latency_repeats)
    out = eff.to_dict()
    out["params"] = sum(p.numel() for p in protocol.model_.parameters())
    out["encoder_params"] = protocol.encoder_parameters()
    out["head_params"] = out["params"] - out["encoder_params"]
    return out


def _notes(job: RunJob, alignment: BandAlignment, protocol: ImageProtocol,
           metrics: dict[str, Any], caught: list[str]) -> list[str]:
    from planetbench.protocols.mars import training_type

    run, spec = job.run, job.task.spec
    notes = [
        f"band policy {alignment.policy} (requested {run.band_policy}): task bands "
        f"{list(alignment.task_bands)} → encoder bands {list(alignment.encoder_bands)}",
        *alignment.warnings,
    ]
    for text in caught:
        if text not in notes:
            notes.append(text)
    if spec.synthetic:
        notes.append("synthetic task data (not a real benchmark result)")
    ttype = training_type(run.protocol)
    notes.append(f"protocol {run.protocol} = Mars-Bench's {ttype}; tested on the best "
                 "checkpoint (Mars-Bench tests its final weights)")
    notes.extend(protocol.notes())
    if metrics.get(spec.metric) is None:
        notes.append(f"test {spec.metric} undefined (no positive in the test targets or "
                     "predictions)")
    if run.search_study:
        notes.append(f"search trial of study {run.search_study!r} (selected on validation)")
    return notes


def _result(job: RunJob, protocol: ImageProtocol, metrics: dict[str, Any],
            record: dict[str, Any], efficiency: dict[str, Any], timings: dict[str, float],
            notes: list[str]) -> Result:
    from planetbench.metrics.mars import marsbench_metric
    from planetbench.protocols.mars import training_type
    from planetbench.runs.jobs import weights_sha256

    run, spec, declared = job.run, job.task.spec, job.encoder.spec.weights_sha256
    score = metrics.get(spec.metric)
    return Result(
        model=run_model(run),
        task=spec.name,
        protocol=run.protocol,
        metric=spec.metric,
        score=float("nan") if score is None else float(score),
        suite=search_suite(spec.suite) if run.search_study else spec.suite,
        config_hash=run_config_hash(run),
        seed=run.seed,
        fraction=run.fraction,
        lr=run.lr,
        metrics={
            **metrics,
            **protocol.fit_record(),
            **record,
            "marsbench_metric": marsbench_metric(spec.kind),
            "training_type": training_type(run.protocol),
            "normalisation": protocol.normalisation,
            "head": image_head(run, spec, job.encoder.spec) or "(whole model)",
            "input_size": protocol.side(),
        },
        efficiency=efficiency,
        timings=timings,
        versions=library_versions(),
        config=run.model_dump(mode="json"),
        input_sha256=weights_sha256(protocol.encoder, declared),
        run_key=planned_run_key(run, weights_sha256=declared),
        notes=notes,
    )


#: Suites of Mars tasks: their segmentation runs name Mars-Bench's metric (``iou_mb``) too.
MARS_SUITES: tuple[str, ...] = ("mars", "mars-real", "demo-mars")


def mars_metric_record(spec: TaskSpec) -> dict[str, str]:
    """``{"marsbench_metric": "iou_mb"}`` for a segmentation task of a Mars suite, else ``{}``
    (the name of Mars-Bench's reported number among a segmentation run's metrics)."""
    if spec.kind == "segmentation" and spec.suite in MARS_SUITES:
        return {"marsbench_metric": "iou_mb"}
    return {}


def search_suite(suite: str) -> str:
    """The suite search trials are stored under: ``<suite>-search`` (kept off the suite's
    leaderboards; the seed runs of the chosen configuration carry the suite itself)."""
    return f"{suite}-search"


__all__ = [
    "DENSE_DEFAULT_HEAD",
    "IMAGE_KINDS",
    "MARS_SUITES",
    "build_image_protocol",
    "check_settings",
    "execute_image_job",
    "image_head",
    "is_image_run",
    "is_image_task",
    "mars_metric_record",
    "measure",
    "protocol_class",
    "search_suite",
    "select_training",
]
