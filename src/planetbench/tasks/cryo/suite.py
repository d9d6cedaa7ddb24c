"""What the five Cryo-Bench tasks share: suite facts, missing-data errors and mask checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks.bands import Band, get_band
from planetbench.tasks.spec import TaskSpec

SUITE = "cryo"

CRYOBENCH_CITATION = (
    "Kaushik, S. et al. Cryo-Bench: a benchmark for evaluating geospatial foundation models on "
    "cryosphere applications. https://github.com/Sk-2103/Cryo-Bench"
)

ZENODO_ARCHIVE = "https://zenodo.org/api/records/{}/files-archive"
"""URL of the whole-record zip of a Zenodo record (format with the record id)."""

ZENODO_CHECKSUM_NOTE = (
    "not published: Zenodo lists an MD5 per file on the record page, but the whole-record "
    "files-archive zip is assembled on request and has no published checksum, so planetbench "
    "checks only its integrity: its size against the server's and the CRC of every zip member"
)


def s2_bands(*names: str) -> tuple[Band, ...]:
    """The named bands of the band table (``"B02"``, ``"red"`` …), in order."""
    return tuple(get_band(n) for n in names)


def suggest_root(root: Path, relative: str) -> str:
    """A hint naming sub-folders of ``root`` (depth <= 3) that hold ``relative``, if any."""
    if not root.is_dir():
        return ""
    found: list[Path] = []
    for depth in range(1, 4):
        pattern = "/".join(["*"] * depth)
        found.extend(p for p in root.glob(pattern) if p.is_dir() and (p / relative).is_dir())
        if found:
            break
    if not found:
        return ""
    return f" Found {relative!r} under {str(found[0])!r}: did you mean --root {found[0]}?"


def missing_data(
    spec: TaskSpec, root: Path, expected: str, relative: str = ""
) -> DatasetNotFoundError:
    """The error for data not found under ``root``: what, how to get it, the layout(s) to use.

    Args:
        spec: the task.
        root: the folder given as ``--root``.
        expected: what was looked for, in words.
        relative: a folder, relative to ``root``, to look for deeper down (a "did you mean
            --root" hint names the first sub-folder that holds it).
    """
    return DatasetNotFoundError(
        f"task {spec.name!r}: expected {expected} under --root {str(root)!r}, but it is not "
        f"there. Get the data with `planetbench data download {spec.name} --root {root}` "
        f"or from {spec.url}, then put the files in this layout under the root: "
        f"{spec.layout_description or expected}."
        + (suggest_root(root, relative) if relative else "")
    )


def check_mask(spec: TaskSpec, mask: np.ndarray, source: str) -> np.ndarray:
    """Return ``mask`` after checking that it holds only class indices and the ignore index.

    Raises:
        LabelFileError: naming ``source``, the bad values and the allowed ones.
    """
    allowed = set(range(spec.n_classes))
    if spec.ignore_index is not None:
        allowed.add(spec.ignore_index)
    bad = sorted(set(np.unique(mask).tolist()) - allowed)
    if bad:
        raise LabelFileError(
            f"task {spec.name!r}: mask {source} holds value(s) {bad[:10]}; allowed are class "
            f"indices 0..{spec.n_classes - 1}"
            + (f" and ignore index {spec.ignore_index}" if spec.ignore_index is not None else "")
        )
    return mask


def no_options(spec: TaskSpec, options: dict[str, Any]) -> None:
    """Refuse reader options for a reader that takes none."""
    if options:
        raise InvalidInputError(
            f"task {spec.name!r} reader takes no options; got {', '.join(sorted(options))}"
        )


__all__ = [
    "CRYOBENCH_CITATION",
    "SUITE",
    "ZENODO_ARCHIVE",
    "ZENODO_CHECKSUM_NOTE",
    "check_mask",
    "missing_data",
    "no_options",
    "s2_bands",
    "suggest_root",
]
