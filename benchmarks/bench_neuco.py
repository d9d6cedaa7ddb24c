"""``planetbench neuco`` against NeuCo-Bench v1.1's own code on the same SYNTHETIC submission.

Case: a SYNTHETIC NeuCo-style submission (seeded): ``--tasks`` tasks (regression and binary, in
turn) over ``--rows`` shared ids, ``--dim``-dimensional embeddings, written as NeuCo's CSV with a
label folder. Both programs run the same configuration — NeuCo-Bench v1.1's
``sample_config_linear.yaml`` with ``k_folds: 20`` and ``epochs: 10`` (the issue's case) — each
in a fresh process, and the script prints their wall times (process start to exit, imports
included), peak resident memory, the ratio, and per task NeuCo's and our mean fold score and Q
with the difference in standard errors (the linear probe's random streams differ: its numbers
agree statistically, not float for float).

``--svm`` adds the SVM probe (``probe_type: svm``; NeuCo's sample SVM search with ``n_iter``
``--svm-iter``) on a smaller case: our search with the Gram matrix computed once per task (all
splits and settings take their kernel from it) side by side with the same search fitting
scikit-learn's polynomial kernel on the raw embeddings for every split and setting (what
NeuCo-Bench's ``BayesSearchCV`` does), and NeuCo-Bench's own run when given; the SVM fold scores
must agree with NeuCo's to rounding (same settings, same splits, same standardisation).

NeuCo-Bench is not a dependency: pass ``--neuco-src`` (its ``benchmark/`` folder, e.g. a checkout
of github.com/embed2scale/NeuCo-Bench at a89ba06) and ``--neuco-python`` (a Python with its
pinned packages: numpy 2.2.5, pandas 2.2.3, scikit-learn <= 1.8, scikit-optimize 0.10.2,
torch, torchmetrics 1.7.1, matplotlib, tqdm). Without them only our side runs and the figures of
the issue are printed for reference (NeuCo-Bench 104 s, planetbench 3.8 s at the issue's time).

Usage: ``python benchmarks/bench_neuco.py [--neuco-src DIR --neuco-python PY] [--rows N]
[--dim D] [--tasks T] [--svm] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LINEAR = """k_folds: {k}
probe_type: "linear"
probe_params:
  batch_size: 64
  epochs: {epochs}
  learning_rate: 0.001
  device: "auto"
embedding_dim: null
standardize_embeddings: true
normalize_labels: true
enable_plots: false
update_leaderboard: false
store_probes: false
task_filter: null
output_fold_results: true
"""

SVM = """k_folds: {k}
probe_type: "svm"
probe_params:
  C_start_end: [0.001, 1000]
  epsilon_list: [0.01, 0.05, 0.1, 0.5]
  kernel_degree_list: [2, 3]
  kernel_gamma_start_end: [0.0001, 10]
  kernel_coef0_start_end: [-1, 2]
  opt_params:
    n_iter: {n_iter}
    n_jobs: 1
    n_points: 1
    optimizer_kwargs:
      base_estimator: "RF"
      n_initial_points: 5
    verbose: 0
embedding_dim: null
standardize_embeddings: true
normalize_labels: true
enable_plots: false
update_leaderboard: false
store_probes: false
task_filter: null
output_fold_results: true
"""

_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL,"
    " stderr=subprocess.PIPE, text=True)\n"
    "wall = time.perf_counter() - t\n"
    "if rc.returncode: sys.stderr.write(rc.stderr[-4000:])\n"
    "print(rc.returncode, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def write_case(root: Path, *, rows: int, dim: int, tasks: int, seed: int = 0) -> tuple[Path, Path]:
    """SYNTHETIC submission and label folder (seeded); returns (labels folder, CSV)."""
    rng = np.random.default_rng(seed)
    ids = [f"tile{i:06d}" for i in range(rows)]
    latent = rng.normal(size=(rows, 8))
    mix = rng.normal(size=(8, dim)) / np.sqrt(8)
    X = (latent @ mix + 0.5 * rng.normal(size=(rows, dim))).astype(np.float32)
    labels = root / "labels"
    labels.mkdir(parents=True)
    for t in range(tasks):
        signal = latent @ rng.normal(size=8) + rng.normal(size=rows)
        if t % 2 == 0:
            pd.DataFrame({"id": ids, "label": 10 + 3 * signal}).to_csv(
                labels / f"task{t}__regr.csv", index=False)
        else:
            pd.DataFrame({"id": ids, "label": (signal > 0.5).astype(int)}).to_csv(
                labels / f"task{t}__cls.csv", index=False)
    frame = pd.DataFrame(X, columns=[str(j) for j in range(dim)])
    frame.insert(0, "id", ids)
    csv = root / "submission.csv"
    frame.to_csv(csv, index=False, float_format="%.7g")
    return labels, csv


def measure(cwd: Path, command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one command in a fresh process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(cwd), *command],
                         capture_output=True, text=True, check=True)
    code, wall, rss_kib = out.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"{command[:3]} failed:\n{out.stderr}")
    return float(wall), float(rss_kib) / 1024


def task_results(run_dir: Path) -> dict[str, dict[str, float | list[float]]]:
    """``<task>/<task>_result.json`` of a run folder (NeuCo's layout, written by either)."""
    return {p.parent.name: json.loads(p.read_text()) for p in run_dir.glob("*/*_result.json")}


def run_dir(out: Path, phase: str) -> Path:
    (found,) = [p for p in (out / phase).iterdir() if p.is_dir()]
    return found


def compare(ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, Any]]) -> None:
    """Per task: NeuCo's and our mean and Q, and the mean difference in standard errors."""
    print(f"{'task':<8}{'NeuCo mean':>12}{'ours mean':>12}{'NeuCo Q':>10}{'ours Q':>10}"
          f"{'diff/SE':>9}")
    for task in sorted(ours):
        a, b = theirs[task], ours[task]
        fa, fb = np.asarray(a["q_t"], float), np.asarray(b["q_t"], float)
        se = math.sqrt(np.var(fa, ddof=1) / fa.size + np.var(fb, ddof=1) / fb.size)
        print(f"{task:<8}{a['mean_score']:>12.4f}{b['mean_score']:>12.4f}{a['q_stat']:>10.2f}"
              f"{b['q_stat']:>10.2f}{(b['mean_score'] - a['mean_score']) / se:>9.2f}")


def bench_linear(args: argparse.Namespace, root: Path) -> None:
    labels, csv = write_case(root / "case", rows=args.rows, dim=args.dim, tasks=args.tasks)
    cfg = root / "linear.yaml"
    cfg.write_text(LINEAR.format(k=args.k, epochs=args.epochs))
    common = ["--submission_file", str(csv), "--annotation_path", str(labels),
              "--config", str(cfg), "--phase", "bench", "--method_name", "synthetic"]
    print(f"case (SYNTHETIC): {args.tasks} tasks x {args.rows} rows, {args.dim}-d, "
          f"K={args.k}, {args.epochs} epochs, probe_type linear")
    ours_wall, ours_rss = measure(root, [
        sys.executable, "-m", "planetbench", "neuco", *common, "--output_dir",
        str(root / "ours"), "--store", f"sqlite:///{root / 'ours.sqlite'}"])
    print(f"planetbench neuco : {ours_wall:7.1f} s wall, {ours_rss:7.0f} MiB peak")
    if not args.neuco_src:
        print("NeuCo-Bench       : not run (pass --neuco-src and --neuco-python); the issue's "
              "figures on its case: NeuCo-Bench 104 s, planetbench 3.8 s (27x)")
        return
    neuco_wall, neuco_rss = measure(Path(args.neuco_src), [
        args.neuco_python, "main.py", *common, "--output_dir", str(root / "neuco")])
    print(f"NeuCo-Bench v1.1  : {neuco_wall:7.1f} s wall, {neuco_rss:7.0f} MiB peak")
    print(f"ratio             : {neuco_wall / ours_wall:7.1f}x faster (goal >= 20x), "
          f"{neuco_rss / ours_rss:.1f}x less memory")
    compare(task_results(run_dir(root / "ours", "bench")),
            task_results(run_dir(root / "neuco", "bench")))


def bench_svm(args: argparse.Namespace, root: Path) -> None:
    from sklearn.model_selection import ShuffleSplit

    from planetbench.protocols.probes.neuco import minmax_labels
    from planetbench.protocols.probes.neuco_svm import fit_neuco_svm, svm_search_from_params

    rows, dim = args.svm_rows, args.dim
    labels, csv = write_case(root / "svmcase", rows=rows, dim=dim, tasks=2, seed=1)
    print(f"\nSVM case (SYNTHETIC): 2 tasks x {rows} rows, {dim}-d, K={args.k}, "
          f"n_iter={args.svm_iter}")
    import yaml

    params = yaml.safe_load(SVM.format(k=args.k, n_iter=args.svm_iter))["probe_params"]
    search = svm_search_from_params(params)
    X = pd.read_csv(csv).drop(columns="id").to_numpy(np.float32)
    X = (X - X.mean()) / X.std()
    for path in sorted(labels.glob("*.csv")):
        kind = "regression" if path.stem.endswith("regr") else "classification"
        y = pd.read_csv(path)["label"].to_numpy(float)
        y = minmax_labels(y)[0]
        sp = list(ShuffleSplit(args.k, test_size=0.1, random_state=42).split(X))
        tr, te = np.stack([a for a, _ in sp]), np.stack([b for _, b in sp])
        times = {}
        for gram in (True, False):
            t0 = time.perf_counter()
            _, opts = fit_neuco_svm(X, y, tr, te, kind=kind, search=search, use_gram=gram)
            times[gram] = time.perf_counter() - t0
            folds = opts["fold_scores"]
        print(f"  {path.stem:<14} Gram once per task {times[True]:6.1f} s | libsvm kernel per fit "
              f"{times[False]:6.1f} s | {times[False] / times[True]:.1f}x; mean fold score "
              f"{np.mean(folds):.4f}")
    cfg = root / "svm.yaml"
    cfg.write_text(SVM.format(k=args.k, n_iter=args.svm_iter))
    common = ["--submission_file", str(csv), "--annotation_path", str(labels),
              "--config", str(cfg), "--phase", "svm", "--method_name", "synthetic"]
    ours_wall, _ = measure(root, [sys.executable, "-m", "planetbench", "neuco", *common,
                                  "--output_dir", str(root / "ours"),
                                  "--store", f"sqlite:///{root / 'ours.sqlite'}"])
    print(f"planetbench neuco (svm): {ours_wall:7.1f} s wall")
    if args.neuco_src:
        neuco_wall, _ = measure(Path(args.neuco_src), [
            args.neuco_python, "main.py", *common, "--output_dir", str(root / "neuco")])
        print(f"NeuCo-Bench v1.1 (svm) : {neuco_wall:7.1f} s wall; ratio "
              f"{neuco_wall / ours_wall:.1f}x")
        ours = task_results(run_dir(root / "ours", "svm"))
        theirs = task_results(run_dir(root / "neuco", "svm"))
        for task in sorted(ours):
            diff = np.max(np.abs(np.subtract(ours[task]["q_t"], theirs[task]["q_t"])))
            same = ours[task]["hyperparamaters"] == theirs[task]["hyperparamaters"]
            print(f"  {task}: fold scores max |ours - NeuCo| = {diff:.2e}; "
                  f"hyperparamaters identical: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neuco-src", default=None, help="NeuCo-Bench's benchmark/ folder")
    parser.add_argument("--neuco-python", default=None, help="Python with NeuCo's packages")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--svm", action="store_true", help="also the SVM probe")
    parser.add_argument("--svm-rows", type=int, default=600)
    parser.add_argument("--svm-iter", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a small case (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.dim, args.tasks, args.k, args.svm_rows, args.svm_iter = (
            300, 16, 2, 4, 120, 3)
    if bool(args.neuco_src) != bool(args.neuco_python):
        parser.error("give --neuco-src and --neuco-python together")
    root = Path(tempfile.mkdtemp(prefix="bench_neuco_"))
    try:
        os.environ.setdefault("MPLBACKEND", "Agg")
        bench_linear(args, root)
        if args.svm:
            bench_svm(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
