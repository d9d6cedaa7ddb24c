"""Challenge definitions: the validated YAML an organiser writes (``planetbench challenge create``).

A challenge scores files of embeddings of public sample ids on hidden NeuCo-Bench label tasks
(Vinge et al. 2025, "NeuCo-Bench"; the Embed2Scale 2025 challenge). It runs in phases, each with
its own time window, task subset, share of each task's samples, K random splits, split-seed
policy, quota and what it reveals. Example::

    name: e2s-mini
    labels: hidden/labels          # NeuCo-layout label folder; never served
    ids: public/ids.txt            # the ids participants embed, one per line
    embedding_dim: 1024
    probe: neuco
    phases:
      - name: dev
        start: 2026-01-01T00:00:00Z
        end: 2026-01-22T00:00:00Z
        tasks: [biomass_mean, crops]
        sample_fraction: 0.5
        k: 40
        seed: fixed
        quota: {per_day: 10}
        reveal: mean_q

Relative paths are read relative to the YAML file. Everything is checked before anything is
stored: the label folder, every task name (with "did you mean"), that every phase's tasks can be
split K times, that the probe handles every task kind, and that every scored id is public.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from planetbench.config import FrozenModel, ProbeName, validate_config
from planetbench.errors import ConfigError, LabelFileError, UnknownNameError

if TYPE_CHECKING:
    from planetbench.embedding.labels import LabelTask

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SLUG_RULE = "1-64 characters: lower-case letters, digits, '-' and '_', starting with a letter/digit"

SeedPolicy = Literal["fixed", "random"]
Reveal = Literal["mean_q", "per_task", "none"]
Counts = Literal["latest", "best"]


def check_slug(value: str, what: str) -> str:
    """Return ``value`` if it is a valid challenge/phase/team id, else raise :class:`ConfigError`."""
    if not isinstance(value, str) or not _SLUG.match(value):
        raise ConfigError(f"{what} {value!r} is not allowed; use {SLUG_RULE}")
    return value


class Quota(FrozenModel):
    """Submissions a team may make in a phase: per UTC day and/or in total (rejected files and
    submissions that failed on our side do not count)."""

    per_day: int | None = Field(None, ge=1, description="submissions per UTC day")
    total: int | None = Field(None, ge=1, description="submissions in the whole phase")

    @model_validator(mode="after")
    def _one_limit(self) -> Quota:
        if self.per_day is None and self.total is None:
            raise ValueError("give per_day and/or total (e.g. quota: {per_day: 10})")
        return self


class PhaseDefinition(FrozenModel):
    """One phase: its window and how it scores.

    Attributes:
        name: phase id (slug).
        start: opening time (timezone-aware; ``Z`` for UTC).
        end: closing time, after ``start``.
        tasks: task names of the label folder scored in this phase, or ``"all"``.
        sample_fraction: share in (0, 1] of each task's labelled ids scored in this phase (the
            same subset for every submission of the phase).
        k: number of random train/test splits K.
        seed: ``fixed`` (``fixed_seed`` for every submission) or ``random`` (drawn per
            submission and recorded).
        fixed_seed: the split seed of a ``fixed`` phase (NeuCo-Bench uses 42).
        quota: submissions allowed per team.
        reveal: what a team sees of its own scores while the phase is open: ``mean_q``,
            ``per_task`` (Q per task) or ``none`` (nothing until the phase ends).
        show_task_names: name the tasks in per-task scores; otherwise they are ``task-1`` …
            in an order that does not follow the names.
        counts: which submission of a team enters the leaderboard: its ``latest`` scored one,
            or its ``best`` by mean Q.
    """

    name: str
    start: datetime
    end: datetime
    tasks: list[str] | Literal["all"] = "all"
    sample_fraction: float = Field(1.0, gt=0.0, le=1.0)
    k: int = Field(10, ge=2, le=10_000)
    seed: SeedPolicy = "fixed"
    fixed_seed: int = Field(42, ge=0, lt=2**31)
    quota: Quota
    reveal: Reveal = "mean_q"
    show_task_names: bool = False
    counts: Counts = "latest"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"phase name must be {SLUG_RULE}")
        return value

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a timezone, e.g. 2026-01-01T00:00:00Z for UTC")
        return value.astimezone(timezone.utc)

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list):
            if not value:
                raise ValueError("list at least one task, or write tasks: all")
            dup = sorted({t for t in value if value.count(t) > 1})
            if dup:
                raise ValueError(f"tasks listed twice: {dup}")
        return value

    @model_validator(mode="after")
    def _window(self) -> PhaseDefinition:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end.isoformat()}) must be after start "
                             f"({self.start.isoformat()})")
        return self

    def is_open(self, now: datetime) -> bool:
        """Whether submissions are accepted at ``now`` (start ≤ now < end)."""
        return self.start <= now < self.end

    def has_ended(self, now: datetime) -> bool:
        """Whether the phase is closed for good at ``now``."""
        return now >= self.end


class ChallengeDefinition(FrozenModel):
    """A whole challenge (see the module docstring for an example).

    Attributes:
        name: challenge id (slug); also the suite of its results in the store.
        title: display title (default: the name).
        description: one paragraph shown on the challenge page.
        labels: NeuCo-layout label folder (``<task>__<type>.csv``); copied into the store at
            creation and never served.
        ids: text file of the public sample ids participants embed, one per line.
        embedding_dim: the embedding dimension d (files with more columns are refused).
        probe: ``neuco`` (NeuCo-Bench v1.1 reproduction, binary and regression tasks only) or
            ``auto`` (ridge / logistic), or ``ridge`` / ``logistic``.
        test_size: test share of each split (default 0.1 for ``neuco``, else 0.2).
        epsilon: ε of the Q score.
        neuco_epochs: training epochs of the ``neuco`` probe.
        max_upload_mb: largest accepted upload in MiB.
        phases: the phases, in order.
    """

    name: str
    title: str = ""
    description: str = ""
    labels: str
    ids: str
    embedding_dim: int = Field(..., ge=1, le=1_000_000)
    probe: ProbeName = "auto"
    test_size: float | None = Field(None, gt=0.0, lt=1.0)
    epsilon: float = Field(0.02, gt=0.0)
    neuco_epochs: int = Field(20, ge=1, le=10_000)
    max_upload_mb: float = Field(512.0, gt=0.0)
    phases: list[PhaseDefinition] = Field(..., min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"challenge name must be {SLUG_RULE}")
        return value

    @model_validator(mode="after")
    def _unique_phases(self) -> ChallengeDefinition:
        names = [p.name for p in self.phases]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"phase names must be unique; repeated: {dup}")
        return self

    @property
    def split_test_size(self) -> float:
        """The test share of each split actually used."""
        if self.test_size is not None:
            return self.test_size
        return 0.1 if self.probe == "neuco" else 0.2

    @property
    def display_title(self) -> str:
        """The title, or the name when no title is given."""
        return self.title or self.name

    @property
    def max_upload_bytes(self) -> int:
        """Largest accepted upload in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    def current_phase(self, now: datetime) -> PhaseDefinition:
        """The open phase at ``now``, else the last one that has started, else the first."""
        started = [p for p in self.phases if p.start <= now]
        for p in started:
            if p.is_open(now):
                return p
        return started[-1] if started else self.phases[0]

    def phase(self, name: str) -> PhaseDefinition:
        """The phase called ``name`` (did-you-mean error otherwise)."""
        for p in self.phases:
            if p.name == name:
                return p
        names = [p.name for p in self.phases]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(
            f"challenge {self.name!r} has no phase {name!r}{hint} Phases: {', '.join(names)}"
        )


@dataclass(frozen=True)
class PhaseTask:
    """One hidden task as a phase scores it.

    Attributes:
        task: the label task restricted to the phase's samples.
        label: the name shown to teams (the task name, or ``task-<i>`` when names are hidden).
    """

    task: LabelTask
    label: str


def load_definition(path: str | Path) -> ChallengeDefinition:
    """Read and validate a challenge YAML file; relative paths become absolute (next to the file).

    Raises:
        ConfigError: unreadable YAML, unknown keys, bad values (every problem listed).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"challenge definition {str(path)!r} does not exist; write the YAML "
                          "file first (see `planetbench challenge create --help`)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"challenge definition {str(path)!r} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(
            f"challenge definition {str(path)!r} must be a mapping with keys name, labels, ids, "
            "embedding_dim, probe, phases"
        )
    for key in ("labels", "ids"):
        value = raw.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            raw[key] = str((path.parent / value).resolve())
    definition: ChallengeDefinition = validate_config(
        ChallengeDefinition, raw, source=str(path)
    )
    return definition


def read_public_ids(path: str | Path) -> list[str]:
    """The public ids file: one id per line (blank lines and ``.zarr(.zip)`` suffixes dropped).

    Raises:
        ConfigError: missing file, no ids, or duplicate ids.
    """
    from planetbench.embedding.files import strip_id_suffix

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"public ids file {str(path)!r} does not exist; set `ids:` to a text "
                          "file with one sample id per line")
    ids = [strip_id_suffix(line) for line in path.read_text(encoding="utf-8").splitlines()]
    ids = [i for i in ids if i]
    if not ids:
        raise ConfigError(f"public ids file {str(path)!r} holds no ids")
    seen: set[str] = set()
    dup = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if dup:
        raise ConfigError(f"public ids file {str(path)!r} repeats {len(dup)} id(s): "
                          f"{', '.join(repr(d) for d in dup[:10])}")
    return ids


def _subset_seed(challenge: str, phase: str, task: str) -> int:
    digest = hashlib.sha256(f"{challenge}|{phase}|{task}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def task_labels(
    definition: ChallengeDefinition, phase: PhaseDefinition, names: list[str]
) -> dict[str, str]:
    """The tasks a phase scores (real name → the label teams see).

    With ``show_task_names`` the label is the name; otherwise ``task-<i>``, numbered in an order
    drawn from hashes of the names, so the labels say nothing about the names.

    Raises:
        UnknownNameError: the phase names a task that is not in the label folder.
    """
    wanted = sorted(names) if phase.tasks == "all" else list(phase.tasks)
    unknown = [t for t in wanted if t not in names]
    if unknown:
        hints = "; ".join(
            f"{u!r}" + (f" (did you mean {c[0]!r}?)" if (c := difflib.get_close_matches(
                u, names, n=1)) else "")
            for u in unknown
        )
        raise UnknownNameError(
            f"phase {phase.name!r} names task(s) not in the label folder: {hints}. Tasks: "
            f"{', '.join(sorted(names))}"
        )
    order = sorted(wanted, key=lambda n: hashlib.sha256(
        f"{definition.name}|{phase.name}|{n}".encode()).hexdigest())
    return {n: (n if phase.show_task_names else f"task-{order.index(n) + 1}")
            for n in sorted(wanted)}


def phase_tasks(
    definition: ChallengeDefinition, phase: PhaseDefinition, tasks: list[LabelTask]
) -> list[PhaseTask]:
    """The tasks a phase scores, each restricted to the phase's share of its samples.

    The subset of a task is drawn once per (challenge, phase, task) from a seed derived from those
    names, so every submission of a phase is scored on the same samples. Classification subsets
    are drawn per class (stratified, at least 2 per class) so that no class disappears.

    Args:
        definition: the challenge.
        phase: one of its phases.
        tasks: every task of the label folder.

    Returns:
        The phase's tasks in name order, with the label teams see.

    Raises:
        UnknownNameError: the phase names a task that is not in the label folder.
    """
    by_name = {t.name: t for t in tasks}
    labels = task_labels(definition, phase, list(by_name))
    out = []
    for name in sorted(labels):
        task = by_name[name]
        if phase.sample_fraction < 1.0:
            task = task.subset(_sample_mask(task, phase.sample_fraction,
                                            _subset_seed(definition.name, phase.name, name)))
        out.append(PhaseTask(task=task, label=labels[name]))
    return out


def _sample_mask(task: LabelTask, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask (n,) keeping ``fraction`` of the samples (per class for class tasks)."""
    rng = np.random.default_rng(seed)
    n = task.n_samples
    mask = np.zeros(n, dtype=bool)
    if task.kind in ("classification", "multiclass"):
        for c in np.unique(task.y):
            rows = np.flatnonzero(task.y == c)
            take = min(len(rows), max(2, math.ceil(fraction * len(rows))))
            mask[rng.choice(rows, size=take, replace=False)] = True
    else:
        take = max(2, math.ceil(fraction * n))
        mask[rng.choice(n, size=min(take, n), replace=False)] = True
    return mask


def check_definition(definition: ChallengeDefinition) -> tuple[list[LabelTask], list[str]]:
    """Check a definition against its files; return (label tasks, public ids).

    Raises:
        ConfigError: the ids file is unusable, a scored id is not public, a phase's tasks cannot
            be split K times (or, with a fixed seed, a regression test fold holds one label
            value), or the probe does not handle a task's kind.
        LabelFileError: the label folder is missing or invalid.
        UnknownNameError: a phase names an unknown task.
    """
    from planetbench.embedding.labels import check_splittable, check_test_folds, load_label_tasks
    from planetbench.errors import InvalidInputError
    from planetbench.protocols.probes.base import resolve_probe

    public = read_public_ids(definition.ids)
    tasks = load_label_tasks(definition.labels)
    public_set = set(public)
    for task in tasks:
        hidden = [str(i) for i in task.ids if str(i) not in public_set]
        if hidden:
            raise ConfigError(
                f"label file {task.path.name!r}: {len(hidden)} labelled id(s) are not in the public "
                f"ids file {definition.ids!r} (e.g. {', '.join(repr(h) for h in hidden[:5])}); "
                "teams could not embed them. Add them to the ids file or drop those rows"
            )
        try:
            resolve_probe(definition.probe, task.kind)
        except InvalidInputError as exc:
            raise ConfigError(f"label file {task.path.name!r} ({task.kind}): {exc}") from None
    for phase in definition.phases:
        for pt in phase_tasks(definition, phase, tasks):
            try:
                check_splittable(pt.task, n_splits=phase.k,
                                 test_size=definition.split_test_size)
                if phase.seed == "fixed":  # random seeds are drawn per submission, later
                    check_test_folds(pt.task, n_splits=phase.k,
                                     test_size=definition.split_test_size, seed=phase.fixed_seed)
            except LabelFileError as exc:
                raise ConfigError(
                    f"phase {phase.name!r} (k={phase.k}, sample_fraction="
                    f"{phase.sample_fraction}): {exc}"
                ) from None
    return tasks, public


def as_json(definition: ChallengeDefinition) -> dict[str, Any]:
    """The definition as plain JSON values (stored with the challenge)."""
    return definition.model_dump(mode="json")


__all__ = [
    "ChallengeDefinition",
    "PhaseDefinition",
    "PhaseTask",
    "Quota",
    "as_json",
    "check_definition",
    "check_slug",
    "load_definition",
    "phase_tasks",
    "read_public_ids",
    "task_labels",
]
