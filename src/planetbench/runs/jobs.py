"""A dense run's set-up: the registry entries it uses and the steps that build its parts.

The runner (:mod:`planetbench.runs.runner`) executes these steps; the preflight
(:mod:`planetbench.runs.preflight`) takes the same steps over a whole grid before any run starts,
so a bad option or a missing data folder is found by the code that would have failed on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from planetbench.config import DenseRunConfig
from planetbench.errors import InvalidInputError

if TYPE_CHECKING:
    from planetbench.encoders.bands import BandAlignment
    from planetbench.encoders.base import Encoder, RegisteredEncoder
    from planetbench.protocols.band_policies import BandPolicy
    from planetbench.protocols.dense import DenseProtocol, EpochRecord
    from planetbench.tasks.spec import SampleDataset, Task

#: The splits a dense run reads.
SPLITS: tuple[str, str, str] = ("train", "val", "test")


@dataclass(frozen=True)
class RunJob:
    """One run with the registry entries it uses, looked up in the driver process.

    Executors ship jobs, not bare configs, to their workers: a worker builds the task, the encoder
    and the protocol from these objects instead of looking the names up in its own registries.
    Encoders, tasks, protocols and band policies registered only in the driver (a notebook, a
    test, a plugin missing on the worker) thus run anywhere, and exactly as the driver validated
    them. Registry entries are small (specs, factories, readers, classes); cloudpickle (Ray) ships
    local functions and classes by value.

    Attributes:
        run: the run's configuration.
        task: the registered task ``run.task``.
        encoder: the registered encoder ``run.encoder``.
        protocol: the dense protocol class ``run.protocol``.
        band_policy: the band policy ``run.band_policy``.
    """

    run: DenseRunConfig
    task: Task
    encoder: RegisteredEncoder
    protocol: type[DenseProtocol]
    band_policy: BandPolicy

    @classmethod
    def resolve(cls, run: DenseRunConfig) -> RunJob:
        """The job of ``run``, its names looked up in this process's registries and its
        settings left at None replaced by the protocol's (:func:`~planetbench.runs.identity.
        resolve_run`).

        Raises:
            UnknownNameError: an unregistered encoder, task, protocol or band policy.
        """
        from planetbench.encoders import get_encoder
        from planetbench.protocols.band_policies import BAND_POLICIES
        from planetbench.protocols.dense import get_protocol
        from planetbench.runs.identity import resolve_run
        from planetbench.tasks import get_task

        run = resolve_run(run)
        return cls(
            run=run,
            task=get_task(run.task),
            encoder=get_encoder(run.encoder),
            protocol=get_protocol(run.protocol),
            band_policy=BAND_POLICIES.get(str(run.band_policy)),
        )

    def align(self) -> BandAlignment:
        """How the task's bands feed the encoder under the run's band policy.

        Raises:
            BandAlignmentError: the policy does not apply to these bands.
        """
        return self.band_policy(self.task.spec.bands, self.encoder.spec)


def check_available(registered: RegisteredEncoder) -> None:
    """Raise unless the encoder can be built here.

    Raises:
        InvalidInputError: the spec says why it cannot (no installable code), or a module it
            requires is not installed.
    """
    import importlib.util

    spec = registered.spec
    if not spec.available:
        raise InvalidInputError(f"encoder {spec.name!r} is not available: {spec.unavailable_reason}")
    missing = [m for m in spec.requires if importlib.util.find_spec(m) is None]
    if missing:
        extra = "mars" if spec.whole_model else "all"
        raise InvalidInputError(
            f"{spec.name!r} needs {', '.join(missing)}, which is not installed: "
            f"pip install 'planetbench[{extra}]'"
        )


def reader_options(job: RunJob) -> dict[str, Any]:
    """Options of the task reader for this run: the protocol's (for sliding-window tasks, tiles of
    the run's input size under ``frozen``/``finetune``; native resolution under ``cryobench``),
    overridden by the experiment's ``data_options`` of the task."""
    run = job.run
    root = run.roots.get(run.task, run.root)
    options = dict(job.protocol.reader_options(job.task.spec, run.input_size, root))
    options.update(run.data_options.get(run.task, {}))
    return options


def open_splits(job: RunJob) -> tuple[SampleDataset, SampleDataset, SampleDataset]:
    """The train, val and test splits of the run's task, read from its data folder.

    Raises:
        ConfigError: no data folder is configured for the task.
        DatasetNotFoundError: the data is not where the folder says.
    """
    root = job.run.data_root()
    options = reader_options(job)
    train, val, test = (job.task.load(root, split, **options) for split in SPLITS)
    return train, val, test


def encoder_options(job: RunJob, alignment: BandAlignment) -> dict[str, Any]:
    """Keyword options of the encoder factory: the experiment's ``encoder_options`` of the
    encoder, plus the task's bands (and their wavelengths for wavelength-conditioned encoders)
    and the run's weights file for the encoder, if any.

    Raises:
        InvalidInputError: the experiment sets ``in_bands`` or ``wavelengths_um`` itself, or a
            weights file both in ``weights`` and in ``encoder_options``.
    """
    run = job.run
    options: dict[str, Any] = dict(run.encoder_options.get(run.encoder, {}))
    if "in_bands" in options or "wavelengths_um" in options:
        raise InvalidInputError(
            f"encoder_options of {run.encoder!r} may not set in_bands/wavelengths_um; they "
            "come from the task's bands and the band policy"
        )
    if run.encoder in run.weights:
        if "weights" in options:
            raise InvalidInputError(
                f"the weights of {run.encoder!r} are given twice (weights and "
                "encoder_options.weights); keep one: --weights ENCODER=PATH"
            )
        options["weights"] = run.weights[run.encoder]
    if getattr(job.protocol, "random_encoder", False):  # scratch: random weights
        if options.get("weights", "none") != "none":
            raise InvalidInputError(
                f"protocol {run.protocol!r} trains {run.encoder!r} from random weights; drop "
                "its weights (--weights, encoder_options.weights)"
            )
        if job.encoder.spec.weights is None:  # a from-scratch baseline
            options["weights"] = "none"
        else:  # a pretrained encoder: random weights only through its explicit option
            import inspect

            if "random_init" not in inspect.signature(job.encoder.factory).parameters:
                raise InvalidInputError(
                    f"protocol {run.protocol!r} trains from random weights, but encoder "
                    f"{run.encoder!r} has no random initialisation (its published weights are "
                    "its point); scratch runs take the from-scratch baselines (unet, vit) and "
                    "Mars-Bench's baselines (mb-resnet101, mb-vit-l16, mb-swinv2-b)"
                )
            options.pop("weights", None)
            options["random_init"] = True
    # the bands of the encoder's input channels when it is built for the bands it is given
    # (baselines, DOFA: BandAlignment.input_bands); fixed-band encoders ignore in_bands
    options["in_bands"] = alignment.input_bands or job.task.spec.bands
    if job.encoder.spec.wavelength_conditioned:
        options["wavelengths_um"] = alignment.wavelengths_um
    return options


def build_encoder(job: RunJob, alignment: BandAlignment) -> Encoder:
    """The run's encoder, its random parts drawn from the run's seed (global RNG untouched).

    Raises:
        InvalidInputError: bad ``encoder_options`` (see :func:`encoder_options`).
        PlanetbenchError: whatever the factory refuses (options, weights …).
    """
    import torch

    options = encoder_options(job, alignment)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(job.run.seed)
        return job.encoder.factory(**options)


def build_protocol(
    job: RunJob,
    encoder: Encoder,
    alignment: BandAlignment,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> DenseProtocol:
    """The run's protocol around ``encoder``, with the run's settings and band alignment."""
    from functools import partial

    from planetbench.encoders.bands import apply

    run = job.run
    identity = alignment.index_map == tuple(range(len(job.task.spec.bands)))
    params: dict[str, Any] = dict(
        head=run.head or job.protocol.run_defaults(run.encoder)["head"],
        head_options=run.head_options or None, lr=run.lr,
        weight_decay=run.weight_decay, batch_size=run.batch_size, epochs=run.epochs,
        patience=run.patience, input_size=run.input_size, dice_weight=run.dice_weight,
        augment=run.augment, seed=run.seed, num_workers=run.num_workers, on_epoch=on_epoch,
        input_transform=None if identity else partial(apply, alignment=alignment),
    )
    if job.protocol.caches_features:
        params["cache"] = run.cache
    return job.protocol.from_task(job.task.spec, encoder, **params)


def weights_record(encoder: Any) -> dict[str, Any] | None:
    """What the strict weight loader loaded into ``encoder`` (origin, file, sha256 …), or None
    (random initialisation); paths as strings, for a result's config."""
    report = getattr(encoder, "load_report", None)
    if report is None:
        return None
    from dataclasses import asdict, is_dataclass
    from pathlib import Path

    record = asdict(report) if is_dataclass(report) and not isinstance(report, type) else dict(vars(report))
    return {k: str(v) if isinstance(v, Path) else v for k, v in record.items()}


def weights_sha256(encoder: Any, declared: str) -> str:
    """The sha256 of the weights ``encoder`` loaded, else the ``declared`` one."""
    report = getattr(encoder, "load_report", None)
    return str(report.sha256) if report is not None and report.sha256 else declared


__all__ = [
    "SPLITS",
    "RunJob",
    "build_encoder",
    "build_protocol",
    "check_available",
    "encoder_options",
    "open_splits",
    "reader_options",
    "weights_record",
    "weights_sha256",
]
