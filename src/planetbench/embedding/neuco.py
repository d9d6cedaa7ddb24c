"""Run planetbench with NeuCo-Bench v1.1's own command line, configuration and outputs.

``planetbench neuco --annotation_path DIR --submission_file CSV [--config YAML] [--method_name M]
[--phase P] [--output_dir D] [--exclude_file F]`` mirrors ``python benchmark/main.py`` of
NeuCo-Bench v1.1 (github.com/embed2scale/NeuCo-Bench at a89ba06), flags and defaults included
(``--config config.yaml``, ``--method_name`` the submission file's stem, ``--phase results``,
``--output_dir results``; a ``--exclude_file`` that does not exist is ignored, as there, with a
warning). The configuration is read by :mod:`planetbench.embedding.neuco_config`; the outputs are
written in NeuCo's layout by :mod:`planetbench.embedding.neuco_outputs` (a timestamped run folder
``D/P/M_<YYYYmmdd_HHMMSS>/``); results also go to the planetbench store (one run per NeuCo run:
never resumed, as NeuCo always computes afresh).

What changes NeuCo's numbers is reproduced: zero-padding to ``embedding_dim`` before the
file-wide standardisation, plain ``ShuffleSplit(test_size=0.1, random_state=42)`` splits for
binary tasks too, the best-epoch (linear) or best-setting (SVM) fold scores, ``nanmean`` and
``nanstd`` over the folds and ``Q = mean / (0.02 + std) · 2``.

Lenient where NeuCo-Bench is, and said out loud: ids of a label file without an embedding and
label cells left empty are scored around, and each is listed in a warning (set
``require_complete: true`` in the YAML or pass ``--require_complete`` to make them errors).
Stricter where NeuCo-Bench would silently change the numbers: a NaN or non-numeric embedding cell
is an error (NeuCo fills it with 0, which shifts the file-wide mean and standard deviation for
every task and feeds the probe a value the model never produced), as is a ``NaN`` label (NeuCo
would train on it and report NaN); so are duplicate ids, unknown configuration keys and a task
filter naming no task of the folder.

The phase leaderboard (:func:`write_neuco_leaderboard`) ranks every run folder of the phase as
NeuCo-Bench's ``summarize_runs`` does, v1.1 and 2025 layouts together.

Names are never paths: ``--method_name`` and ``--phase`` must be plain names and every output
stays under ``--output_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planetbench.embedding.evaluate import (
    EvaluationConfig,
    EvaluationSummary,
    NeucoRules,
    run_evaluation,
)
from planetbench.embedding.names import check_name, check_output_folder, output_path
from planetbench.embedding.neuco_config import (
    KNOWN_KEYS,
    LINEAR_PARAM_KEYS,
    PROBE_PARAM_KEYS,
    SVM_PARAM_KEYS,
    LinearParams,
    NeucoConfig,
    NeucoYaml,
    SvmParams,
    load_neuco_config,
    parse_neuco_config,
)
from planetbench.embedding.neuco_outputs import (
    LossCurveWriter,
    new_run_folder,
    results_summary,
    svm_hyperparameters,
    task_result,
    timestamped_file,
    write_linear_plots,
    write_linear_probe,
    write_svm_plots,
    write_svm_probe,
)
from planetbench.embedding.summary import write_json
from planetbench.errors import ConfigError, InvalidInputError
from planetbench.store import ResultStore
from planetbench.store.importers.neuco import PhaseRun, read_phase_runs

#: How to make NeuCo's leniency an error, or accept it, named in every such message.
MISSING_FIX = ("set require_complete: true in the YAML or pass --require_complete to make this "
               "an error")
STRICT_FIX = ("add the missing embeddings or labels, or remove require_complete / "
              "--require_complete to score around them as NeuCo-Bench does")


def _read_exclude(path: Path) -> tuple[list[str], str]:
    """(ids to exclude, warning): a missing file excludes nothing, as in NeuCo-Bench."""
    if not path.exists():
        return [], (f"exclude file {str(path)!r} does not exist: nothing excluded (NeuCo-Bench "
                    "ignores a missing --exclude_file too); check the path given to "
                    "--exclude_file")
    if not path.is_file():
        raise InvalidInputError(f"--exclude_file {str(path)!r} is a folder; give a text file "
                                "of sample ids, one per line")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"--exclude_file {str(path)!r} is not UTF-8 text; give one sample id per line"
        ) from None
    return [line.strip() for line in text.splitlines() if line.strip()], ""


# ----------------------------------------------------------------------------- leaderboard


@dataclass(frozen=True)
class PhaseLeaderboard:
    """NeuCo-Bench's leaderboard of one phase.

    Attributes:
        path: the CSV written, or None when no run could be ranked.
        skipped: ``results_summary.json`` files left out, each with the reason.
        table: the leaderboard written (best first).
    """

    path: Path | None
    skipped: list[str] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def _first_seen(keys: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(k for row in keys for k in row))


def rank_phase(runs: list[PhaseRun]) -> pd.DataFrame:
    """NeuCo-Bench v1.1's leaderboard of ``runs`` (``evaluation/results.py``, ``summarize_runs``).

    One row per run; the Q columns ``q::<task>`` of every task seen (first-seen order); runs
    lacking any of them are left out; ``mean_score`` = mean Q; per task, ranks by Q (highest
    first, ties share the lowest rank); task weights = standard deviation (ddof 1) of the task's
    Q over the runs ranked, divided by their sum (equal weights for a single run);
    ``weighted_score`` = Σ rank · weight; ``aggregated_rank`` = rank of ``weighted_score``
    (ties share the lowest); sorted by ``weighted_score``. Then ``acc::<task>`` columns,
    ``overall_q_score`` and ``overall_acc_score`` of each run (empty for the 2025 layout).

    Returns:
        The leaderboard, columns ``experiment, mean_score, weighted_score, aggregated_rank,
        q::…, acc::…, overall_q_score, overall_acc_score``; empty when no run has every task.
    """
    from scipy.stats import rankdata

    q_cols = [f"q::{t}" for t in _first_seen([list(r.q) for r in runs])]
    acc_cols = [f"acc::{t}" for t in _first_seen([list(r.acc) for r in runs])]
    frame = pd.DataFrame(
        [{"experiment": r.experiment,
          **{f"q::{t}": v for t, v in r.q.items()},
          **{f"acc::{t}": v for t, v in r.acc.items()},
          "overall_q_score": r.overall_q, "overall_acc_score": r.overall_acc} for r in runs],
        columns=["experiment", *q_cols, *acc_cols, "overall_q_score", "overall_acc_score"],
    )
    head = ["experiment", "mean_score", "weighted_score", "aggregated_rank"]
    complete = frame[q_cols].notna().all(axis=1) if q_cols else pd.Series(True, frame.index)
    frame = frame.loc[complete].reset_index(drop=True)
    if frame.empty:
        return pd.DataFrame(columns=[*head, *q_cols, *acc_cols, "overall_q_score",
                                     "overall_acc_score"])
    scores = frame[q_cols].to_numpy(dtype=float)
    frame["mean_score"] = frame[q_cols].mean(axis=1) if q_cols else np.nan
    ranks = rankdata(-scores, axis=0, method="min") if q_cols else np.zeros((len(frame), 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        if len(frame) > 1:
            stds = np.std(scores, axis=0, ddof=1)
            weights = stds / stds.sum()
        else:
            weights = np.ones(len(q_cols)) / max(len(q_cols), 1)
    frame["weighted_score"] = (ranks * weights).sum(axis=1)
    frame["aggregated_rank"] = rankdata(frame["weighted_score"].to_numpy(), method="min")
    frame = frame.sort_values("weighted_score", kind="mergesort").reset_index(drop=True)
    return frame[[*head, *q_cols, *acc_cols, "overall_q_score", "overall_acc_score"]]


def write_neuco_leaderboard(output_dir: str | Path, phase: str) -> PhaseLeaderboard:
    """Rank every run folder of ``output_dir/phase`` as NeuCo-Bench does (:func:`rank_phase`).

    Reads the ``results_summary.json`` of every run folder, v1.1 and 2025 layouts alike (see
    :mod:`planetbench.store.importers.neuco`), and writes
    ``output_dir/leaderboards/phase/leaderboard_<YYYYmmdd_HHMMSS>.csv`` (local time, NeuCo's
    name). A summary that cannot be read is skipped and named in the result.

    Raises:
        InvalidInputError: no readable ``results_summary.json`` under the phase folder.
    """
    check_name(phase, what="--phase")
    phase_dir = output_path(output_dir, phase)
    runs, skipped = read_phase_runs(phase_dir)
    if not runs:
        also = f" (skipped: {'; '.join(skipped)})" if skipped else ""
        raise InvalidInputError(
            f"no readable results_summary.json files under {str(phase_dir)!r}{also}"
        )
    board = rank_phase(runs)
    if board.empty:
        return PhaseLeaderboard(None, skipped, board)
    path = timestamped_file(output_path(output_dir, "leaderboards", phase), "leaderboard_",
                            ".csv")
    board.to_csv(path, index=False)
    return PhaseLeaderboard(path, skipped, board)


# ----------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class NeucoRun:
    """What :func:`run_neuco` did.

    Attributes:
        summary: the evaluation (our richer summary; also written as ``summary.json``).
        run_dir: the run folder ``D/P/<method>_<YYYYmmdd_HHMMSS>``.
        experiment: NeuCo's experiment name (the run folder's name).
        results_path: ``results_summary.json``.
        files: every file written in the run folder.
        warnings: what was scored around or ignored, one message each.
        leaderboard: the phase's leaderboard, when ``update_leaderboard`` is set.
    """

    summary: EvaluationSummary
    run_dir: Path
    experiment: str
    results_path: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    leaderboard: PhaseLeaderboard | None = None


def _check_extras(cfg: NeucoConfig) -> None:
    """Refuse, before any work, a configuration whose outputs need a package that is missing."""
    if cfg.probe_type == "svm":
        from planetbench.protocols.probes.neuco_svm import check_skopt

        check_skopt()
    if cfg.store_probes and cfg.probe_type == "linear":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ConfigError(
                "store_probes: true writes NeuCo-Bench's probe.pth with torch: pip install "
                "'planetbench[dense]', or set store_probes: false"
            ) from None
    if cfg.plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:  # pragma: no cover - matplotlib is a core dependency
            raise ConfigError("enable_plots needs matplotlib; set enable_plots: false") from None


def _task_files(run_dir: Path, cfg: NeucoConfig, summary: EvaluationSummary, name: str,
                stem: str, type_suffix: str, curves: LossCurveWriter) -> list[Path]:
    """NeuCo's files of one task: result JSON, loss curves, plots, probe."""
    task = summary.tasks[name]
    details = summary.details.get(name, {})
    opts = details.get("options", {})
    task_dir = output_path(run_dir, name)
    task_dir.mkdir(parents=True, exist_ok=True)
    linear = cfg.probe_type == "linear"
    hyper = dict(cfg.hyperparameters) if linear else svm_hyperparameters(details)
    files = [write_json(task_dir / f"{name}_result.json", task_result(
        task.q, task.mean, task.std, hyper,
        list(task.fold_scores) if cfg.output_fold_results else None))]
    if linear:
        files += curves.write(task_dir, name, opts["train_loss"], opts["val_loss"], "Epoch")
    else:
        # NeuCo plots its search's objective (accuracy, or negative MSE) under "Loss".
        files += curves.write(task_dir, name, opts["train_scoring"], opts["test_scoring"],
                              "Hyperparameter setting")
    if cfg.plots:
        files += (write_linear_plots(task_dir, name, stem, task.kind, details) if linear
                  else write_svm_plots(task_dir, name, stem, task.kind, details))
    if cfg.store_probes:
        if linear:
            files += write_linear_probe(task_dir / "probe", opts["probe_weight"],
                                        opts["probe_bias"], type_suffix)
        else:
            files += write_svm_probe(task_dir / "probe", opts["model"], type_suffix)
    return files


def run_neuco(
    *,
    submission_file: str | Path,
    annotation_path: str | Path,
    config: str | Path | NeucoConfig = "config.yaml",
    method_name: str | None = None,
    phase: str = "results",
    output_dir: str | Path = "results",
    exclude_file: str | Path | None = None,
    require_complete: bool | None = None,
    store: str | ResultStore | None = None,
    progress: bool = False,
) -> NeucoRun:
    """NeuCo-Bench's ``main.py`` on planetbench (see the module docstring).

    Args:
        submission_file: the embedding file (``--submission_file``).
        annotation_path: the label folder (``--annotation_path``).
        config: the YAML configuration or a parsed one (``--config``).
        method_name: the method (``--method_name``; default: the submission file's stem).
        phase: the phase folder name (``--phase``).
        output_dir: the output folder (``--output_dir``).
        exclude_file: ids to leave out, one per line (``--exclude_file``; ignored when missing).
        require_complete: make ids without an embedding and empty labels errors (overrides the
            YAML's ``require_complete`` when given).
        store: the results store.
        progress: show a progress bar.

    Raises:
        InvalidInputError: a ``method_name`` or ``phase`` that is not a plain name, an
            ``output_dir`` that cannot be a folder, an unreadable exclude file.
        ConfigError, LabelFileError, EmbeddingFileError: invalid configuration or inputs; all
            found before any probe runs.
    """
    submission = Path(submission_file)
    method = method_name if method_name is not None else submission.stem
    check_name(method, what="--method_name")
    check_name(phase, what="--phase")
    check_output_folder(output_dir, flag="--output_dir")
    cfg = config if isinstance(config, NeucoConfig) else load_neuco_config(config)
    _check_extras(cfg)
    strict = cfg.require_complete if require_complete is None else require_complete
    warnings: list[str] = []
    exclude: list[str] = []
    if exclude_file is not None:
        exclude, note = _read_exclude(Path(exclude_file))
        warnings += [note] if note else []
    evaluation = EvaluationConfig.build(
        submission, annotation_path, name=method, config=cfg.probe, out=None, plots=False,
        task_filter=cfg.task_filter, exclude_ids=exclude, standardize=cfg.standardize,
        normalize_labels=cfg.normalize_labels, progress=progress,
        neuco=NeucoRules(pad_to_dim=True, score_around_missing=not strict,
                         missing_fix=STRICT_FIX if strict else MISSING_FIX,
                         keep_train_outputs=cfg.plots and cfg.probe_type == "linear",
                         refit=cfg.store_probes or (cfg.plots and cfg.probe_type == "svm")),
        probe_options=cfg.probe_options,
    )
    experiment, run_dir = new_run_folder(output_dir, phase, method)
    evaluation = _tagged(evaluation, experiment)
    summary = run_evaluation(evaluation, store)
    warnings += summary.warnings
    files: list[Path] = []
    stems = _type_suffixes(summary)
    curves = LossCurveWriter()
    for name in summary.tasks:
        files += _task_files(run_dir, cfg, summary, name, submission.stem, stems.get(name, ""),
                             curves)
    q = {n: t.q for n, t in summary.tasks.items()}
    acc = {n: t.mean for n, t in summary.tasks.items()}
    results = write_json(run_dir / "results_summary.json",
                         results_summary(experiment, q, acc, cfg.written(n_tasks=len(q))))
    ours = write_json(run_dir / "summary.json", summary.to_dict())
    summary.summary_path = ours
    board = write_neuco_leaderboard(output_dir, phase) if cfg.update_leaderboard else None
    return NeucoRun(summary, run_dir, experiment, results, [results, ours, *files], warnings,
                    board)


def _tagged(evaluation: EvaluationConfig, experiment: str) -> EvaluationConfig:
    """``evaluation`` whose run identity names NeuCo's experiment (never resumed)."""
    from dataclasses import replace

    rules = evaluation.neuco if evaluation.neuco is not None else NeucoRules()
    return replace(evaluation, neuco=replace(rules, run_tag=experiment))


def _type_suffixes(summary: EvaluationSummary) -> dict[str, str]:
    """Task name → the type as its label file spells it (NeuCo's ``task_type``)."""
    from planetbench.embedding.labels import load_label_tasks

    if summary.labels is None:
        return {}
    try:
        return {t.name: t.type_suffix for t in load_label_tasks(summary.labels, skip_empty=True)}
    except (OSError, ValueError):
        return {}


__all__ = [
    "KNOWN_KEYS",
    "LINEAR_PARAM_KEYS",
    "MISSING_FIX",
    "PROBE_PARAM_KEYS",
    "STRICT_FIX",
    "SVM_PARAM_KEYS",
    "LinearParams",
    "NeucoConfig",
    "NeucoRun",
    "NeucoYaml",
    "PhaseLeaderboard",
    "SvmParams",
    "load_neuco_config",
    "parse_neuco_config",
    "rank_phase",
    "run_neuco",
    "write_neuco_leaderboard",
]
