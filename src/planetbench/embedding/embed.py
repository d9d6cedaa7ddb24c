"""Embed the images of a task with a registered encoder and write a NeuCo-Bench embedding file.

The file has one row per image: an ``id`` column and one column per embedding dimension named
``0`` … ``D-1`` (NeuCo-Bench's submission layout), so it can be probed with
:func:`planetbench.embedding.evaluate.evaluate_embeddings` against a label folder.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.protocols.band_stats import (
    BandStats,
    Standardiser,
    band_statistics,
    images_of,
    published_band_stats,
)
from planetbench.tasks.spec import SampleDataset, Task, TaskSpec

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from planetbench.encoders.bands import BandAlignment
    from planetbench.encoders.base import Encoder, RegisteredEncoder

#: Output formats by file suffix.
FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

#: ``task="demo"`` embeds the scenes shared by every image-level task of the demo suite.
DEMO_SUITE = "demo"

def _resolve_format(out: Path, fmt: str | None) -> str:
    if fmt is None:
        found = FORMATS.get(out.suffix.lower())
        if found is None:
            raise InvalidInputError(
                f"cannot tell the format of out={str(out)!r} from its suffix; name the file "
                f"*.csv or *.parquet, or pass fmt='csv' / fmt='parquet'"
            )
        return found
    if fmt not in ("csv", "parquet"):
        raise InvalidInputError(f"fmt must be 'csv' or 'parquet'; got {fmt!r}")
    return fmt


def _resolve_task(task: str) -> Task:
    from planetbench.tasks import get_task

    if task == DEMO_SUITE:
        from planetbench.tasks.demo import IMAGE_TASKS

        return get_task(next(iter(IMAGE_TASKS)))
    return get_task(task)


def _open_splits(
    task: Task, splits: Sequence[str], root: str | Path | None, reader_options: dict[str, Any]
) -> list[SampleDataset]:
    options = dict(reader_options)
    if root is None:
        if task.spec.suite != DEMO_SUITE:
            raise InvalidInputError(
                f"task {task.spec.name!r} is read from disk: pass root=<folder holding its data> "
                "(CLI: --root DIR); only demo tasks can be generated in memory"
            )
        options.setdefault("in_memory", True)
        root = Path(".")
    return [task.load(root, split, **options) for split in splits]


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Any]:
    """A transient Rich progress bar on stderr yielding an ``advance(n)`` callable."""
    if not enabled or total <= 0:
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        handle = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(handle, n)


def embed_task(
    encoder: str,
    task: str,
    *,
    out: str | Path,
    split: str | None = None,
    batch_size: int = 64,
    seed: int = 0,
    device: str | None = None,
    fmt: str | None = None,
    root: str | Path | None = None,
    encoder_options: dict[str, Any] | None = None,
    reader_options: dict[str, Any] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    band_policy: str = "auto",
    progress: bool = True,
) -> Path:
    """Embed every image of ``task`` (one split or all) with ``encoder`` and write the vectors.

    Pixel-time-series tasks (the ``presto`` suite) are embedded by
    :func:`planetbench.embedding.timeseries.embed_series_task` instead (Presto's own
    normalisation; encoders ``presto`` and ``presto-raw``).

    Images are standardised per band exactly as the dense protocols do
    (:mod:`planetbench.protocols.band_stats`): with the task spec's ``band_mean``/``band_std``
    when it has them, else with statistics computed over the task's ``train`` split (over the
    embedded images when the task has no ``train`` split). Then the task's bands are aligned to
    the encoder's under ``band_policy`` (:mod:`planetbench.protocols.band_policies`: wavelength
    match, SAR replicated as RGB, wavelengths fed to DOFA …) and, for encoders with a fixed input
    size, images are resized bilinearly to it.

    Args:
        encoder: registered encoder id (``random``, ``averaging``, ``mosaiks`` …).
        task: registered task id, or ``"demo"`` for the scenes shared by the demo suite's
            image-level tasks.
        out: output file; its suffix (``.csv`` / ``.parquet``) picks the format unless ``fmt``.
        split: one split to embed; ``None`` embeds every split of the task into one file.
        batch_size: images per forward pass.
        seed: seed passed to the encoder factory (baselines draw their random parts from it).
        device: torch device (``"cpu"``, ``"cuda:0"``); default CUDA when present, else CPU.
        fmt: ``"csv"`` or ``"parquet"``, overriding the suffix.
        root: folder holding the task's data; ``None`` generates demo tasks in memory.
        encoder_options: extra keyword options of the encoder factory.
        reader_options: extra keyword options of the task reader (e.g. demo ``seed``).
        tiny: build the encoder's tiny variant.
        weights: None (published weights: cache, else download), ``"none"`` (random; only
            from-scratch baselines) or a local checkpoint, loaded strictly.
        band_policy: a registered band policy (``auto``, ``match``, ``sar-rgb``,
            ``wavelength``, ``zero-fill`` or a plugin's).
        progress: show a Rich progress bar on stderr.

    Returns:
        The written file. Columns: ``id`` (str) and ``0`` … ``D-1`` (float32 values).

    Raises:
        UnknownNameError: unknown encoder, task or band policy (with near misses).
        InvalidInputError: bad split, batch size, format or options.
        BandAlignmentError: the task's bands cannot be aligned to the encoder's under
            ``band_policy`` (the message lists both band sets).
        WeightsUnavailableError: pretrained weights are neither cached nor downloadable.
    """
    # --- pixel-time-series tasks (the presto suite) take their own path --------------------
    from planetbench.embedding.timeseries import embed_series_task, is_series_task

    if is_series_task(task):
        return embed_series_task(
            encoder, task, out=out, root=root, split=split, batch_size=batch_size, seed=seed,
            device=device, fmt=fmt, encoder_options=encoder_options, tiny=tiny,
            weights=weights, band_policy=band_policy, progress=progress,
            reader_options=reader_options,
        )  # fmt: skip
    # ----------------------------------------------------------------------------------------
    import torch

    from planetbench.encoders import get_encoder
    from planetbench.encoders.base import default_device

    out = Path(out)
    file_format = _resolve_format(out, fmt)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer; got {batch_size!r}")
    registered = get_encoder(encoder)
    the_task = _resolve_task(task)
    splits = _splits(the_task.spec, split)
    alignment = _alignment(the_task.spec, registered, band_policy)
    datasets = _open_splits(the_task, splits, root, reader_options or {})
    stats = _band_stats(the_task, splits, datasets, root, reader_options or {})
    dev = torch.device(device) if device is not None else default_device()
    model = _build_encoder(registered, the_task.spec, alignment, seed=seed, tiny=tiny,
                           weights=weights, options=encoder_options or {}).to(dev).eval()
    prepare = _Inputs(
        Standardiser(stats, device=dev),
        alignment,
        None if alignment is None else int(model.spec.input_size),
    )
    label = f"embedding {the_task.spec.name} with {encoder}"
    ids, matrix = _embed(model, datasets, prepare, dev, batch_size, _progress, progress, label)
    if len(set(ids)) != len(ids):
        raise InvalidInputError(
            f"task {the_task.spec.name!r} yields duplicate sample ids; cannot embed"
        )
    return _write(out, file_format, ids, matrix)


def _splits(spec: TaskSpec, split: str | None) -> list[str]:
    """The splits to embed: ``split``, or every split of the task."""
    if split is not None and split not in spec.splits:
        raise InvalidInputError(
            f"task {spec.name!r} has no split {split!r}; available: {', '.join(spec.splits)}"
        )
    return list(spec.splits) if split is None else [split]


def _alignment(
    spec: TaskSpec, registered: RegisteredEncoder, band_policy: str
) -> BandAlignment | None:
    """How the task's bands feed the encoder; None for encoders that take any bands."""
    from planetbench.protocols.band_policies import align

    if not registered.spec.bands and not registered.spec.wavelength_conditioned:
        return None
    return align(spec.bands, registered.spec, band_policy)


def _band_stats(
    task: Task,
    splits: Sequence[str],
    datasets: Sequence[SampleDataset],
    root: str | Path | None,
    reader_options: dict[str, Any],
) -> BandStats:
    """The task's published statistics, else those of its train split (else of ``datasets``)."""
    published = published_band_stats(task.spec)
    if published is not None:
        return published
    if "train" not in task.spec.splits:
        return band_statistics(chain.from_iterable(images_of(ds) for ds in datasets),
                               source="embedded images")
    if "train" in splits:
        train = datasets[list(splits).index("train")]
    else:
        (train,) = _open_splits(task, ["train"], root, reader_options)
    return band_statistics(images_of(train), source="train")


def _build_encoder(
    registered: RegisteredEncoder,
    spec: TaskSpec,
    alignment: BandAlignment | None,
    *,
    seed: int,
    tiny: bool,
    weights: str | Path | None,
    options: dict[str, Any],
) -> Encoder:
    """The encoder for the task's bands, its random parts drawn from ``seed``."""
    import torch

    kwargs: dict[str, Any] = dict(options)
    if registered.spec.weights is None:  # random parts drawn from the seed
        kwargs.setdefault("seed", seed)
    if alignment is not None and registered.spec.wavelength_conditioned:
        kwargs["wavelengths_um"] = alignment.wavelengths_um
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return registered.factory(in_bands=spec.bands, tiny=tiny, weights=weights, **kwargs)


class _Inputs:
    """Turns a batch of task images (B, C, H, W) into encoder inputs: standardised per band,
    aligned to the encoder's bands, resized to its fixed input size (when it has one)."""

    def __init__(
        self, standardise: Standardiser, alignment: BandAlignment | None, size: int | None
    ) -> None:
        self.standardise = standardise
        self.alignment = alignment
        self.size = size

    def __call__(self, batch: Tensor) -> Tensor:
        import torch

        from planetbench.encoders.bands import apply as apply_alignment

        x = self.standardise(batch)
        if self.alignment is not None:
            x = apply_alignment(x, self.alignment)
        if self.size is not None and tuple(x.shape[-2:]) != (self.size, self.size):
            x = torch.nn.functional.interpolate(
                x, size=(self.size, self.size), mode="bilinear", align_corners=False
            )
        return x


def _embed(
    model: Encoder,
    datasets: Sequence[SampleDataset],
    prepare: _Inputs,
    device: torch.device,
    batch_size: int,
    progress_bar: Any,
    progress: bool,
    label: str,
) -> tuple[list[str], np.ndarray]:
    """Sample ids and their embeddings (N, D) float32, split after split, batch after batch."""
    import torch

    ids: list[str] = []
    vectors: list[np.ndarray] = []
    total = sum(len(ds) for ds in datasets)
    with progress_bar(progress, total, label) as advance:
        for ds in datasets:
            for start in range(0, len(ds), batch_size):
                items = [ds[i] for i in range(start, min(start + batch_size, len(ds)))]
                batch = torch.from_numpy(np.stack([np.asarray(it["image"]) for it in items]))
                with torch.inference_mode():
                    emb = model.embed(prepare(batch.to(device, torch.float32)))
                vectors.append(emb.detach().to("cpu", torch.float32).numpy())
                ids.extend(str(it["id"]) for it in items)
                advance(len(items))
    return ids, np.concatenate(vectors, axis=0)


def _write(out: Path, file_format: str, ids: list[str], matrix: np.ndarray) -> Path:
    """Write the NeuCo-layout file: ``id`` then columns ``0`` … ``D-1``."""
    import pandas as pd

    frame = pd.DataFrame(matrix, columns=[str(i) for i in range(matrix.shape[1])])
    frame.insert(0, "id", ids)
    out.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        frame.to_csv(out, index=False, float_format="%.7g")
    else:
        frame.to_parquet(out, index=False)
    return out


__all__ = ["FORMATS", "embed_task"]
