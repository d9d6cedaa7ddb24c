"""The files of one ``planetbench neuco`` run, in NeuCo-Bench v1.1's layout and schema.

NeuCo-Bench v1.1 (a89ba06: ``benchmark/evaluation/evaluation.py``, ``results.py``,
``visualisations.py``, ``probes/linear.py``, ``probes/svm.py``) writes, for a run of method ``M``
in phase ``P`` under output folder ``D``::

    D/P/M_<YYYYmmdd_HHMMSS>/                      one folder per run (local time)
        results_summary.json                      experiment, overall_q_score, overall_acc_score,
                                                  task_q_scores, task_acc_scores, config
        <task>/<task>_result.json                 q_stat, mean_score, std_dev, hyperparamaters
                                                  (sic), and q_t (fold scores) with
                                                  output_fold_results
        <task>/loss_curves/<task>_train_loss_curves.png       one curve per split
        <task>/loss_curves/<task>_validation_loss_curves.png
        <task>/confusion_matrices/<stem>_<task>_cm_fold<k>.png        enable_plots, binary
        <task>/regression_scatter/<stem>_<task>_scatter_fold<k>.png   enable_plots, regression
        <task>/probe/probe.pth + load_probe.py                store_probes, linear probe
        <task>/probe/probe.pkl + metadata.json + load_probe.py  store_probes, SVM probe

(``<stem>`` is the submission file's stem; the SVM's plots have no ``_fold<k>``). We write the
same names, keys and columns, plus our own richer ``summary.json`` in the run folder. Two
differences, both deliberate: JSON files are strict JSON (a NaN is written as ``null``, where
NeuCo writes the non-standard token ``NaN``), and the PNGs are drawn at 100 dpi (NeuCo: 300).
A second run of the same method within the same second waits for the next second rather than
writing into the first run's folder.

The linear probe's loss curves: per split, the mean of the batch losses of each epoch (train) and
the mean over batches of ``batch_size`` test rows after each epoch (validation), as NeuCo-Bench
averages them. The SVM's curves are its search's objective (accuracy or negative MSE) per
setting tried, on the training and the test fold.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.embedding.names import output_path
from planetbench.embedding.summary import json_safe, write_json

#: Resolution of the PNGs written.
DPI = 100

_LINEAR_LOADER = '''"""Load the linear probe kept by planetbench neuco (NeuCo-Bench v1.1's store_probes layout).

Usage: python load_probe.py --checkpoint THIS_FOLDER, or load_probe(folder) -> (model, task_type).
The model maps an embedding (as the evaluation saw it: padded and standardised) to one output:
a regression prediction (in min-max scaled units when normalize_labels was true) or a logit.
"""
import argparse
from pathlib import Path

import torch
from torch import nn


class LinearProbe(nn.Module):
    """One linear layer from the embedding to a single output."""

    def __init__(self, input_dim):
        super().__init__()
        self.linear = nn.Linear(input_dim, 1)

    def forward(self, features):
        return self.linear(features).view(-1)


def load_probe(checkpoint_path, device=None):
    """(model, task_type) from the folder holding probe.pth."""
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    saved = torch.load(Path(checkpoint_path) / "probe.pth", map_location=device)
    model = LinearProbe(saved["input_dim"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), saved["task_type"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True)
    probe, task_type = load_probe(parser.parse_args().checkpoint.resolve())
    print(f"Model loaded. Task type: {task_type}")
    print(f"Model device: {next(probe.parameters()).device}")
'''

_SVM_LOADER = '''"""Load the SVM probe kept by planetbench neuco (NeuCo-Bench v1.1's store_probes layout).

load_probe(folder) -> (model, task_type): a fitted scikit-learn SVC (labels -1/1) or SVR.
"""
import json
import pickle
from pathlib import Path


def load_probe(checkpoint_path):
    """(model, task_type) from the folder holding probe.pkl and metadata.json."""
    folder = Path(checkpoint_path)
    with open(folder / "probe.pkl", "rb") as fh:
        model = pickle.load(fh)
    with open(folder / "metadata.json") as fh:
        task_type = json.load(fh)["task_type"]
    return model, task_type
'''


def new_run_folder(output_dir: str | Path, phase: str, method: str) -> tuple[str, Path]:
    """Create ``output_dir/phase/<method>_<YYYYmmdd_HHMMSS>`` (local time); (experiment, path).

    When a folder of that second exists already, waits for the next second.
    """
    while True:
        stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
        experiment = f"{method}_{stamp}"
        path = output_path(output_dir, phase, experiment)
        try:
            path.mkdir(parents=True, exist_ok=False)
            return experiment, path
        except FileExistsError:
            time.sleep(1.0 - (time.time() % 1.0) + 0.01)


def timestamped_file(folder: Path, prefix: str, suffix: str) -> Path:
    """``folder/<prefix><YYYYmmdd_HHMMSS><suffix>`` not yet existing (waits for a free second)."""
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        path = folder / f"{prefix}{datetime.now().strftime('%Y%m%d_%H%M%S')}{suffix}"
        try:
            with path.open("x"):
                return path
        except FileExistsError:
            time.sleep(1.0 - (time.time() % 1.0) + 0.01)


def task_result(q: float, mean: float, std: float, hyperparameters: dict[str, Any],
                folds: list[float] | None) -> dict[str, Any]:
    """The content of ``<task>_result.json`` (NeuCo's keys, ``hyperparamaters`` spelt as there)."""
    out: dict[str, Any] = {"q_stat": q, "mean_score": mean, "std_dev": std,
                           "hyperparamaters": hyperparameters}
    if folds is not None:
        out["q_t"] = list(folds)
    return out


def results_summary(experiment: str, q: dict[str, float], acc: dict[str, float],
                    config: dict[str, Any] | None) -> dict[str, Any]:
    """The content of ``results_summary.json`` (overall scores are means over tasks)."""
    with np.errstate(all="ignore"):
        overall_q = float(np.mean(list(q.values()))) if q else float("nan")
        overall_acc = float(np.mean(list(acc.values()))) if acc else float("nan")
    out: dict[str, Any] = {
        "experiment": experiment,
        "overall_q_score": overall_q,
        "overall_acc_score": overall_acc,
        "task_q_scores": dict(q),
        "task_acc_scores": dict(acc),
    }
    if config:
        out["config"] = config
    return out


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.style.context("ggplot"):
        fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


class LossCurveWriter:
    """Writes NeuCo's loss-curve PNGs, reusing one figure for every plot of a run.

    Drawing a fresh figure per plot costs most of the time of a quick NeuCo run; the curves of
    every plot share the axes, labels and style, so one figure is kept and only its lines,
    limits and title change.
    """

    def __init__(self) -> None:
        self._fig: Any = None
        self._ax: Any = None
        self._lines: list[Any] = []

    def _axes(self, n: int) -> tuple[Any, Any, list[Any]]:
        if self._fig is None:
            import matplotlib.style
            from matplotlib.figure import Figure

            with matplotlib.style.context("ggplot"):
                self._fig = Figure(figsize=(6, 4))
                self._ax = self._fig.subplots()
                self._ax.set_ylabel("Loss")
                self._ax.grid(True)
        while len(self._lines) < n:
            self._lines.append(self._ax.plot([], [], label=f"Curve {len(self._lines) + 1}")[0])
        return self._fig, self._ax, self._lines

    def write(self, task_dir: Path, task: str, train: np.ndarray, val: np.ndarray,
              xlabel: str) -> list[Path]:
        """``loss_curves/<task>_{train,validation}_loss_curves.png``: one curve per split."""
        paths = []
        for kind, curves in (("train", train), ("validation", val)):
            curves = np.asarray(curves, dtype=float)
            fig, ax, lines = self._axes(len(curves))
            for i, line in enumerate(lines):
                data = curves[i] if i < len(curves) else np.empty(0)
                line.set_data(np.arange(data.size), data)
                line.set_visible(i < len(curves))
            ax.relim(visible_only=True)
            ax.autoscale_view()
            ax.set_title(f"Loss Curves - {task} ({kind})")
            ax.set_xlabel(xlabel)
            path = task_dir / "loss_curves" / f"{task}_{kind}_loss_curves.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})
            paths.append(path)
        return paths


def write_loss_curves(task_dir: Path, task: str, train: np.ndarray, val: np.ndarray,
                      xlabel: str) -> list[Path]:
    """``loss_curves/<task>_{train,validation}_loss_curves.png``: one curve per split."""
    return LossCurveWriter().write(task_dir, task, train, val, xlabel)


def _confusion(path: Path, cm: np.ndarray, title: str) -> Path:
    fig, ax = _figure(title, "Predicted label", "True label")
    image = ax.imshow(cm, interpolation="nearest", cmap="Blues")
    fig.colorbar(image, ax=ax)
    ticks = np.arange(cm.shape[0])
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    for i in ticks:
        for j in ticks:
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    return _save(fig, path)


def _scatter(path: Path, truth: np.ndarray, pred: np.ndarray, title: str,
             val: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    fig, ax = _figure(title, "True values", "Predicted values")
    ax.scatter(truth, pred, alpha=0.3, label="Train")
    lo, hi = float(np.min(truth)), float(np.max(truth))
    if val is not None:
        ax.scatter(val[0], val[1], alpha=0.6, label="Validation")
        lo, hi = min(lo, float(np.min(val[0]))), max(hi, float(np.max(val[0])))
    ax.plot([lo, hi], [lo, hi], linestyle="--", linewidth=3, color="green")
    ax.legend(loc="best")
    return _save(fig, path)


def _cm(truth: np.ndarray, positive: np.ndarray) -> np.ndarray:
    from planetbench.metrics.tabular import confusion_matrix

    t = np.rint(truth).astype(np.int64)
    return np.asarray(confusion_matrix(t[None], positive.astype(np.int64)[None], 2)[0])


def write_linear_plots(task_dir: Path, task: str, stem: str, kind: str,
                       details: dict[str, Any]) -> list[Path]:
    """NeuCo's per-split plots of the linear probe, from its best epoch's training outputs."""
    opts = details["options"]
    outputs, targets = opts.get("train_outputs"), opts.get("train_targets")
    if outputs is None or targets is None:
        return []
    lo, span = float(opts.get("label_min", 0.0)), float(opts.get("label_range", 1.0))
    y = np.asarray(details["y"], dtype=float)
    paths = []
    for k in range(outputs.shape[0]):
        if kind == "regression":
            _, test = details["splits"][k]
            val_pred = (np.asarray(details["test_predictions"][k]) - lo) / span
            paths.append(_scatter(
                task_dir / "regression_scatter" / f"{stem}_{task}_scatter_fold{k + 1}.png",
                targets[k], outputs[k], f"Regression Scatter: {task}, Fold {k + 1}",
                val=((y[test] - lo) / span, val_pred),
            ))
        else:
            paths.append(_confusion(
                task_dir / "confusion_matrices" / f"{stem}_{task}_cm_fold{k + 1}.png",
                _cm(targets[k], outputs[k] > 0), f"Confusion Matrix: {task}, Fold {k + 1}",
            ))
    return paths


def write_svm_plots(task_dir: Path, task: str, stem: str, kind: str,
                    details: dict[str, Any], X_all: np.ndarray | None = None) -> list[Path]:
    """NeuCo's one plot per task of the SVM probe, from the refitted model on every row."""
    model = details["options"].get("model")
    predicted = details["options"].get("all_predictions")
    if model is None or predicted is None:
        return []
    y = np.asarray(details["y"], dtype=float)
    if kind == "regression":
        return [_scatter(task_dir / "regression_scatter" / f"{stem}_{task}_scatter.png",
                         y, predicted, f"Regression Scatter: {task}")]
    return [_confusion(task_dir / "confusion_matrices" / f"{stem}_{task}_cm.png",
                       _cm(y, predicted > 0), f"Confusion Matrix: {task}")]


def write_linear_probe(folder: Path, weight: np.ndarray, bias: float, task_type: str) -> list[Path]:
    """``probe.pth`` (NeuCo's checkpoint keys) and ``load_probe.py``.

    Raises:
        InvalidInputError: torch is not installed (checked before a run by ``run_neuco``).
    """
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    state = {"linear.weight": torch.from_numpy(np.asarray(weight, np.float32)[None, :].copy()),
             "linear.bias": torch.tensor([bias], dtype=torch.float32)}
    torch.save({"state_dict": state, "input_dim": int(weight.shape[0]), "output_dim": 1,
                "task_type": task_type}, folder / "probe.pth")
    loader = folder / "load_probe.py"
    loader.write_text(_LINEAR_LOADER)
    return [folder / "probe.pth", loader]


def write_svm_probe(folder: Path, model: Any, task_type: str) -> list[Path]:
    """``probe.pkl`` (the fitted scikit-learn model), ``metadata.json`` and ``load_probe.py``."""
    import pickle

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "probe.pkl").open("wb") as fh:
        pickle.dump(model, fh)
    write_json(folder / "metadata.json",
               {"task_type": task_type, "model_type": type(model).__name__})
    loader = folder / "load_probe.py"
    loader.write_text(_SVM_LOADER)
    return [folder / "probe.pkl", folder / "metadata.json", loader]


def svm_hyperparameters(details: dict[str, Any]) -> dict[str, Any]:
    """The best SVM's ``get_params`` as NeuCo writes them (JSON values)."""
    return dict(json_safe(details["options"].get("best_params", {})))


__all__ = [
    "DPI",
    "LossCurveWriter",
    "new_run_folder",
    "results_summary",
    "task_result",
    "timestamped_file",
    "write_linear_plots",
    "write_linear_probe",
    "write_loss_curves",
    "write_svm_plots",
    "write_svm_probe",
]
