"""``planetbench data``: list, describe, download and verify task datasets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from planetbench.cli._app import app, console, handle_errors
from planetbench.errors import ChecksumError, DatasetNotFoundError, InvalidInputError
from planetbench.tasks import get_task, list_tasks
from planetbench.tasks.download import check_kind, fetch_task, task_files, verify_task

data_app = typer.Typer(
    name="data",
    help="List, describe, download and verify the datasets of the registered tasks.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")

RootOption = typer.Option(..., "--root", help="Folder the task's files live in (or go to).")


def _bands_text(names: tuple[str, ...], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown}, … ({len(names)})" if len(names) > limit else shown


@data_app.command("list")
@handle_errors
def list_cmd(
    suite: str | None = typer.Option(None, help="Only tasks of this suite (cryo, demo, …)."),
) -> None:
    """Show every registered task with its suite, kind, bands and licence.

    Example: planetbench data list --suite cryo
    """
    names = list_tasks(suite)
    if not names:
        suites = sorted({get_task(n).spec.suite for n in list_tasks()})
        raise InvalidInputError(
            f"--suite {suite!r} has no registered tasks; suites with tasks: {', '.join(suites)}"
        )
    table = Table("task", "suite", "kind", "metric", "bands", "licence")
    for name in names:
        spec = get_task(name).spec
        table.add_row(
            name, spec.suite, spec.kind, spec.metric, _bands_text(spec.band_names), spec.licence
        )
    console.print(table)


@data_app.command("info")
@handle_errors
def info_cmd(task: str = typer.Argument(..., help="Task id, e.g. glid.")) -> None:
    """Show a task's full specification and the files it is downloaded as.

    Example: planetbench data info sicd
    """
    spec = get_task(task).spec
    table = Table("field", "value", show_header=False)
    table.add_row("name", spec.name)
    table.add_row("suite", spec.suite)
    table.add_row("kind", spec.kind)
    table.add_row("metric", f"{spec.metric} ({'higher' if spec.higher_is_better else 'lower'} "
                  "is better)")
    table.add_row("classes", ", ".join(f"{i}={c}" for i, c in enumerate(spec.classes)))
    table.add_row("ignore_index", str(spec.ignore_index))
    table.add_row("splits", ", ".join(spec.splits))
    table.add_row("licence", spec.licence)
    table.add_row("citation", spec.citation)
    table.add_row("url", spec.url)
    if spec.synthetic:
        table.add_row("synthetic", "yes")
    console.print(table)
    bands = Table("#", "band", "modality", "wavelength_um / polarisation", "mean", "std")
    for i, band in enumerate(spec.bands):
        where = (f"{band.wavelength_um:g}" if band.wavelength_um is not None
                 else band.polarisation or "-")
        mean = f"{spec.band_mean[i]:g}" if spec.band_mean is not None else "not published"
        std = f"{spec.band_std[i]:g}" if spec.band_std is not None else "not published"
        bands.add_row(str(i), band.name, band.modality, where, mean, std)
    console.print(bands)
    if spec.url or spec.files:
        files = Table("file", "check", "url")
        for rf in task_files(spec):
            files.add_row(rf.filename, check_kind(rf), rf.url)
        console.print(files)
    for label, text in getattr(get_task(task), "describe", tuple)():
        console.print(f"{label}: {text}", highlight=False, soft_wrap=True)
    for note, label in (
        (spec.layout_description, "expected layout"),
        (spec.checksum_note, "checksums"),
        (spec.split_note, "val split"),
        (spec.evaluation_note, "evaluation"),
    ):
        if note:
            console.print(f"{label}: {note}", highlight=False, soft_wrap=True)


@data_app.command("download")
@handle_errors
def download_cmd(
    task: str = typer.Argument(..., help="Task id, e.g. caffe."),
    root: Path = RootOption,
    resume: bool = typer.Option(True, help="Continue partial downloads with HTTP Range."),
    timeout: float = typer.Option(30.0, help="Seconds to wait for the server."),
) -> None:
    """Download a task's files into --root, check them and unpack archives.

    Files with a published digest are digest-checked; the others are checked against the size the
    server announced and, for archives, their own integrity (zip CRCs, a full tar read). A broken
    file already under --root is deleted and downloaded again.

    Example: planetbench data download glid --root /data/cryo/glid
    """
    spec = get_task(task).spec
    paths = fetch_task(spec, root, resume=resume, timeout=timeout,
                       notify=lambda msg: console.print(msg, highlight=False, soft_wrap=True))
    kinds = {root / rf.filename: check_kind(rf) for rf in task_files(spec)}
    for path in paths:
        how = kinds.get(path, "integrity-checked (joined archive)")
        console.print(f"ok {path}: {how}", highlight=False, soft_wrap=True)
    console.print(f"{spec.name}: {len(paths)} file(s) in {root}", highlight=False)


@data_app.command("verify")
@handle_errors
def verify_cmd(
    task: str = typer.Argument(..., help="Task id, e.g. caffe."),
    root: Path = RootOption,
) -> None:
    """Check a task's files under --root: published checksums, then that every split opens.

    Downloaded files that are present are checked against their published digests; archives
    without one are checked for integrity (intact or broken); other files without one are
    reported as unchecked. Archives may be absent once unpacked: what counts is that the reader
    finds every split in the upstream layout.

    Example: planetbench data verify glid --root /data/cryo/glid
    """
    registered = get_task(task)
    spec = registered.spec
    reports = verify_task(spec, root) if spec.url or spec.files else []
    table = Table("file", "status", "detail")
    for r in reports:
        table.add_row(r.filename, r.status, r.detail)
    if reports:
        console.print(table)
    bad = [r.filename for r in reports if r.status == "mismatch"]
    if bad:
        raise ChecksumError(
            f"{spec.name}: {', '.join(bad)} do(es) not match the published checksum; delete and "
            f"download again with `planetbench data download {spec.name} --root {root}`"
        )
    broken = [r.filename for r in reports if r.status == "broken"]
    if broken:
        raise ChecksumError(
            f"{spec.name}: {', '.join(broken)} is/are broken (the archive does not read back "
            f"whole); `planetbench data download {spec.name} --root {root}` replaces it"
        )
    splits = Table("split", "samples")
    for split in spec.splits:
        try:
            n = len(registered.load(root, split))
        except DatasetNotFoundError as exc:
            missing = [r.filename for r in reports if r.status == "missing"]
            hint = f" (not downloaded: {', '.join(missing)})" if missing else ""
            raise DatasetNotFoundError(f"{exc}{hint}") from exc
        splits.add_row(split, str(n))
    console.print(splits)
    unchecked = [r.filename for r in reports if r.status == "unchecked"]
    if unchecked:
        console.print(
            f"cannot check {', '.join(unchecked)}: no checksum is published", highlight=False
        )
    console.print(f"{spec.name}: every split opens under {root}", highlight=False)
