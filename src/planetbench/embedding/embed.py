"""Embed the images of a task with a registered encoder and write a NeuCo-Bench embedding file.

The file has one row per image: an ``id`` column and one column per embedding dimension named
``0`` … ``D-1`` (NeuCo-Bench's submission layout), so it can be probed with
:func:`planetbench.embedding.evaluate.evaluate_embeddings` against a label folder.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.tasks.spec import SampleDataset, Task

#: Output formats by file suffix.
FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

#: ``task="demo"`` embeds the scenes shared by every image-level task of the demo suite.
DEMO_SUITE = "demo"

_STD_FLOOR = 1e-6


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


def _band_statistics(
    datasets: Sequence[SampleDataset], n_bands: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation over every pixel of ``datasets`` (float64, (C,))."""
    total = np.zeros(n_bands)
    total_sq = np.zeros(n_bands)
    count = 0
    for ds in datasets:
        for i in range(len(ds)):
            image = np.asarray(ds[i]["image"], dtype=np.float64)
            total += image.sum(axis=(1, 2))
            total_sq += (image**2).sum(axis=(1, 2))
            count += image.shape[1] * image.shape[2]
    if count == 0:
        raise InvalidInputError("cannot compute band statistics: the split holds no images")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return mean, np.maximum(std, _STD_FLOOR)


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

    Images are standardised per band with the task spec's ``band_mean``/``band_std`` when it
    has them, else with statistics computed over the task's ``train`` split (over the embedded
    images when the task has no ``train`` split), as the dense protocols do. Then the task's bands
    are aligned to the encoder's (:func:`planetbench.encoders.bands.align_bands`: wavelength
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
        band_policy: band alignment policy (``auto``, ``match``, ``sar-rgb``, ``wavelength``,
            ``zero-fill``).
        progress: show a Rich progress bar on stderr.

    Returns:
        The written file. Columns: ``id`` (str) and ``0`` … ``D-1`` (float32 values).

    Raises:
        UnknownNameError: unknown encoder or task (with near misses).
        InvalidInputError: bad split, batch size, format or options.
        BandAlignmentError: the task's bands cannot be aligned to the encoder's under
            ``band_policy`` (the message lists both band sets).
        WeightsUnavailableError: pretrained weights are neither cached nor downloadable.
    """
    import pandas as pd
    import torch

    from planetbench.encoders import get_encoder
    from planetbench.encoders.bands import apply as apply_alignment
    from planetbench.encoders.base import default_device

    out = Path(out)
    file_format = _resolve_format(out, fmt)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer; got {batch_size!r}")
    registered = get_encoder(encoder)
    spec_task = _resolve_task(task)
    spec = spec_task.spec
    if split is not None and split not in spec.splits:
        raise InvalidInputError(
            f"task {spec.name!r} has no split {split!r}; available: {', '.join(spec.splits)}"
        )
    splits = list(spec.splits) if split is None else [split]
    task_bands = spec.bands
    any_band = not registered.spec.bands and not registered.spec.wavelength_conditioned
    alignment = None
    if not any_band:
        from planetbench.encoders.bands import align_bands

        alignment = align_bands(task_bands, registered.spec, policy=band_policy)

    datasets = _open_splits(spec_task, splits, root, reader_options or {})
    n_bands = len(task_bands)
    if spec.band_mean is not None and spec.band_std is not None:
        mean, std = np.asarray(spec.band_mean), np.asarray(spec.band_std)
    elif "train" in spec.splits:
        train = datasets[splits.index("train")] if "train" in splits else None
        stat_sets = [train] if train is not None else _open_splits(
            spec_task, ["train"], root, reader_options or {}
        )
        mean, std = _band_statistics(stat_sets, n_bands)
    else:
        mean, std = _band_statistics(datasets, n_bands)

    dev = torch.device(device) if device is not None else default_device()
    options: dict[str, Any] = dict(encoder_options or {})
    if registered.spec.weights is None:  # random parts drawn from the seed
        options.setdefault("seed", seed)
    if alignment is not None and registered.spec.wavelength_conditioned:
        options["wavelengths_um"] = alignment.wavelengths_um
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = registered.factory(in_bands=task_bands, tiny=tiny, weights=weights, **options)
    model = model.to(dev).eval()
    mean_t = torch.as_tensor(mean, dtype=torch.float32, device=dev)[None, :, None, None]
    std_t = torch.as_tensor(std, dtype=torch.float32, device=dev)[None, :, None, None]
    size = None if any_band else int(model.spec.input_size)

    total = sum(len(ds) for ds in datasets)
    ids: list[str] = []
    vectors: list[np.ndarray] = []
    with _progress(progress, total, f"embedding {spec.name} with {encoder}") as advance:
        for ds in datasets:
            for start in range(0, len(ds), batch_size):
                items = [ds[i] for i in range(start, min(start + batch_size, len(ds)))]
                batch = torch.from_numpy(np.stack([np.asarray(it["image"]) for it in items]))
                batch = (batch.to(dev, torch.float32) - mean_t) / std_t
                if alignment is not None:
                    batch = apply_alignment(batch, alignment)
                if size is not None and tuple(batch.shape[-2:]) != (size, size):
                    batch = torch.nn.functional.interpolate(
                        batch, size=(size, size), mode="bilinear", align_corners=False
                    )
                with torch.inference_mode():
                    emb = model.embed(batch)
                vectors.append(emb.detach().to("cpu", torch.float32).numpy())
                ids.extend(str(it["id"]) for it in items)
                advance(len(items))
    matrix = np.concatenate(vectors, axis=0)
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"task {spec.name!r} yields duplicate sample ids; cannot embed")
    frame = pd.DataFrame(matrix, columns=[str(i) for i in range(matrix.shape[1])])
    frame.insert(0, "id", ids)
    out.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        frame.to_csv(out, index=False, float_format="%.7g")
    else:
        frame.to_parquet(out, index=False)
    return out


__all__ = ["FORMATS", "embed_task"]
