"""Frozen normaliser files given on the command line (``--normaliser FILE``).

Two kinds of file are read:

* planetbench's own (``Normaliser.to_json``; schema ``planetbench.normaliser/1``), with the
  metric and direction of every anchor;
* a published ``normalizer.json`` (GEO-Bench-2, Mars-Bench): ``{task: [low, high]}``. Its
  anchors get their metric, and so their direction, from the runs they normalise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.stats.normalise import JSON_SCHEMA, Normaliser


@dataclass(frozen=True)
class PublishedRanges:
    """Published per-task anchors ``{task: (low, high)}`` without metrics (a ``normalizer.json``).

    Attributes:
        name: where they come from (the file), for notes and messages.
        ranges: task → (low, high).
    """

    name: str
    ranges: Mapping[str, tuple[float, float]]

    def normaliser(self, runs: pd.DataFrame) -> Normaliser:
        """The frozen normaliser of these anchors for the tasks (and metrics) of ``runs``."""
        metrics = runs.groupby("task")["metric"].agg(lambda m: sorted(set(map(str, m))))
        mixed = {t: m for t, m in metrics.items() if len(m) > 1}
        if mixed:
            raise InvalidInputError(
                f"{self.name}: task(s) {sorted(mixed)} are scored with several metrics "
                f"({mixed}); a [low, high] range fits one metric: select one with --metric"
            )
        return Normaliser.from_ranges(
            dict(self.ranges), {str(t): m[0] for t, m in metrics.items()}, version=self.name
        )


NormaliserChoice = Normaliser | PublishedRanges


def read_normaliser(path: str | Path, *, option: str = "--normaliser") -> NormaliserChoice:
    """Read a frozen normaliser file of either kind.

    Raises:
        InvalidInputError: missing, unreadable or malformed file (the message names ``option``).
    """
    path = Path(path)
    given = f"{option} {str(path)!r}"
    if not path.is_file():
        raise InvalidInputError(
            f"{given}: no such file; give a normaliser JSON written by `planetbench normaliser` "
            "(Normaliser.to_json) or a published normalizer.json ({task: [low, high]})"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{given} cannot be read as JSON: {exc}") from exc
    if isinstance(data, dict) and data.get("schema") == JSON_SCHEMA:
        try:
            return Normaliser.from_json(json.dumps(data))
        except InvalidInputError as exc:
            raise InvalidInputError(f"{given}: {exc}") from exc
    if isinstance(data, dict) and data and all(
        isinstance(v, list) and len(v) == 2 for v in data.values()
    ):
        try:
            ranges = {str(t): (float(v[0]), float(v[1])) for t, v in data.items()}
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{given}: a [low, high] range is not numeric: {exc}") from exc
        return PublishedRanges(f"{path.name} ({path})", ranges)
    raise InvalidInputError(
        f"{given} is neither a planetbench normaliser (schema {JSON_SCHEMA!r}) nor a published "
        "normalizer.json of {task: [low, high]} ranges"
    )


def resolve_normaliser(choice: NormaliserChoice | None, runs: pd.DataFrame) -> Normaliser | None:
    """``choice`` as a :class:`Normaliser` for ``runs`` (None stays None)."""
    if isinstance(choice, PublishedRanges):
        return choice.normaliser(runs)
    return choice


__all__ = ["NormaliserChoice", "PublishedRanges", "read_normaliser", "resolve_normaliser"]
