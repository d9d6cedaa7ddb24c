"""Benchmark: embedding probes over K random splits (issue 2, "Performance").

Case A (SYNTHETIC, seeded): 5,000 samples x 1,024 dims, one regression and one binary task, K = 40.
It compares in one run

* our ``ridge`` and ``logistic`` probes (all K splits at once) with a fold-by-fold scikit-learn loop
  that makes the same choice: per split ``GridSearchCV(StandardScaler + Ridge | LogisticRegression)``
  over the same grid with the same inner-validation rows (``PredefinedSplit``), refit on the whole
  training split. scikit-learn is timed on ``--sk-splits`` splits and scaled to K (printed as such);
  its fold scores are compared with ours on those splits;
* the ``neuco`` protocol (20 epochs) batched over the K splits against (a) the same NumPy code run
  fold by fold and (b) a straightforward fold-by-fold torch implementation (``nn.Linear`` +
  ``torch.optim.AdamW``, one fold after the other, as NeuCo-Bench runs it) following the same
  initial weights and batch orders, with the largest fold-score difference.

Case B (SYNTHETIC): a whole NeuCo-style submission, 5 tasks (3 regression, 2 binary) with 3,000
labelled rows each (15,000 rows) x 1,024 dims at K = 40: the probes of every task, and the whole
``evaluate_embeddings`` run from a Parquet file into a fresh SQLite store.

Peak memory: the largest Python/NumPy heap seen by ``tracemalloc`` while a probe runs (NumPy
reports its buffers to tracemalloc), and the peak resident size (``VmHWM`` of ``/proc/self/status``,
Linux: interpreter, libraries and data) of a fresh process that runs only one case-B evaluation;
the goal is judged on the largest. The benchmark process's own ``ru_maxrss`` (it also holds torch, scikit-learn and every
case) is printed for reference.

BLAS runs on one thread for ours and for the baselines alike (``threadpoolctl``; torch:
``set_num_threads(1)``): on a shared 2-core machine more threads only wait for busy cores.

Run ``python benchmarks/bench_probes.py`` (``--quick`` for tiny sizes, ``--repeat N`` keeps the best
of N timings of our probes, ``--sk-splits K`` times scikit-learn on K splits).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from planetbench.metrics import tabular
from planetbench.protocols.probes import ProbeResult, run_probe
from planetbench.protocols.probes import neuco as pn
from planetbench.protocols.probes.logistic import CS
from planetbench.protocols.probes.ridge import ALPHAS
from planetbench.protocols.probes.splits import inner_splits, make_splits

GB = 1024**3


class Sizes(NamedTuple):
    """Sizes of one benchmark run."""

    n: int
    dim: int
    n_splits: int
    epochs: int
    n_tasks: int
    rows_per_task: int
    sk_splits: int


FULL = Sizes(5_000, 1_024, 40, 20, 5, 3_000, 4)
QUICK = Sizes(240, 16, 4, 2, 5, 120, 2)


class Row(NamedTuple):
    """One line of the result table."""

    case: str
    model: str
    seconds: float
    note: str = ""


def _make_case(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYNTHETIC embeddings with a latent-factor structure and two targets.

    Returns:
        ``(X (n, dim) float32, y_regression (n,), y_binary (n,))``.
    """
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 32))
    loadings = rng.normal(size=(32, dim))
    X = factors @ loadings + rng.normal(size=(n, dim))
    X = X * rng.uniform(0.5, 2.0, dim) + rng.normal(size=dim)
    y_reg = factors[:, :4] @ np.array([1.0, -0.5, 0.3, 0.2]) + rng.normal(scale=0.5, size=n)
    y_bin = (factors[:, 4] + 0.5 * factors[:, 5] + rng.normal(scale=0.7, size=n) > 0).astype(int)
    return X.astype(np.float32), y_reg, y_bin


def _best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls and the last result."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def _peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak traced heap (tracemalloc) while ``fn`` runs, above the heap before it."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def _stack_splits(splits: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([tr for tr, _ in splits]), np.stack([te for _, te in splits])


def _sklearn_loop(
    X: np.ndarray,
    y: np.ndarray,
    kind: str,
    splits: list[tuple[np.ndarray, np.ndarray]],
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold-by-fold scikit-learn with our inner-validation choice; fold scores and chosen α/C."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, _ = _stack_splits(splits)
    _, inner_val = inner_splits(y, train, kind=kind, val_size=0.2, seed=seed)
    scores, chosen = [], []
    for k, (tr, te) in enumerate(splits):
        fold = PredefinedSplit(np.where(np.isin(tr, inner_val[k]), 0, -1))
        if kind == "regression":
            model = make_pipeline(StandardScaler(), Ridge())
            grid = {"ridge__alpha": list(ALPHAS)}
            search = GridSearchCV(model, grid, cv=fold, scoring="neg_mean_squared_error")
            search.fit(X[tr], y[tr])
            scores.append(tabular.r2(y[te], search.predict(X[te]))[0])
            chosen.append(search.best_params_["ridge__alpha"])
        else:
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5_000))
            grid = {"logisticregression__C": list(CS)}
            search = GridSearchCV(model, grid, cv=fold, scoring="neg_log_loss")
            search.fit(X[tr], y[tr])
            pred = (search.predict_proba(X[te])[:, 1] > 0.5).astype(int)
            scores.append(tabular.f1(y[te], pred)[0])
            chosen.append(search.best_params_["logisticregression__C"])
    return np.array(scores), np.array(chosen)


def _torch_fold_by_fold(
    Xs: np.ndarray,
    ys: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    perms: np.ndarray,
    kind: str,
    seed: int,
) -> np.ndarray:
    """Straightforward NeuCo-style training, one fold after the other; epoch scores (K, epochs)."""
    import torch

    torch.set_num_threads(1)
    n_splits, epochs = train.shape[0], perms.shape[0]
    w0, b0 = pn.initial_weights(seed, n_splits, Xs.shape[1])
    X_t, y_t = torch.from_numpy(Xs), torch.from_numpy(ys)
    scores = np.empty((n_splits, epochs))
    for k in range(n_splits):
        layer = torch.nn.Linear(Xs.shape[1], 1)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w0[k][None]))
            layer.bias.copy_(torch.from_numpy(b0[k : k + 1]))
        opt = torch.optim.AdamW(layer.parameters(), lr=pn.LR, weight_decay=pn.WEIGHT_DECAY)
        loss_fn = torch.nn.MSELoss() if kind == "regression" else torch.nn.BCEWithLogitsLoss()
        in_train = np.zeros(Xs.shape[0], dtype=bool)
        in_train[train[k]] = True
        x_test, y_test = X_t[torch.from_numpy(test[k])], ys[test[k]]
        for e in range(epochs):
            rows = torch.from_numpy(perms[e][in_train[perms[e]]])
            for start in range(0, rows.numel(), pn.BATCH_SIZE):
                idx = rows[start : start + pn.BATCH_SIZE]
                loss = loss_fn(layer(X_t[idx]).view(-1), y_t[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                z = layer(x_test).view(-1).numpy().astype(np.float64)
            if kind == "regression":
                scores[k, e] = tabular.r2(y_test.astype(np.float64), z)[0]
            else:
                scores[k, e] = tabular.f1(y_test.astype(np.int64), (z > 0).astype(np.int64))[0]
    return scores


def _case_a(sizes: Sizes, repeat: int, use_torch: bool) -> tuple[list[Row], dict[str, Any]]:
    X, y_reg, y_bin = _make_case(sizes.n, sizes.dim, seed=0)
    K = sizes.n_splits
    case = f"A {sizes.n}x{sizes.dim} K={K}"
    rows: list[Row] = []
    facts: dict[str, Any] = {}
    for probe, kind, y in (("ridge", "regression", y_reg), ("logistic", "classification", y_bin)):

        def ours(probe: str = probe, kind: str = kind, y: np.ndarray = y) -> ProbeResult:
            return run_probe(X, y, kind=kind, probe=probe, n_splits=K, seed=0)

        t_ours, res = _best_time(ours, repeat)
        facts[f"{probe}_s"] = t_ours
        facts[f"{probe}_peak"] = _peak_bytes(ours)
        rows.append(
            Row(case, f"ours {probe} ({res.metric} {res.fold_scores.mean():.3f})", t_ours, "")
        )
        k_sk = min(sizes.sk_splits, K)
        with threadpool_limits(limits=1, user_api="blas"):
            start = time.perf_counter()
            sk_scores, sk_choice = _sklearn_loop(X, y, kind, res.splits[:k_sk], seed=0)
            t_sk = (time.perf_counter() - start) * K / k_sk
        param = "alpha" if probe == "ridge" else "C"
        same = float(np.mean(sk_choice == res.options[param][:k_sk]))
        diff = float(np.max(np.abs(sk_scores - res.fold_scores[:k_sk])))
        facts[f"{probe}_sk_diff"] = diff
        rows.append(
            Row(
                case,
                f"scikit-learn {probe} fold by fold",
                t_sk,
                f"timed on {k_sk}/{K} splits x{K / k_sk:g}; same {param} {same:.0%}; "
                f"max |score difference| {diff:.1e}; ours {t_sk / t_ours:.1f}x faster",
            )
        )

    for kind, y in (("regression", y_reg), ("classification", y_bin)):
        splits = make_splits(y, kind=kind, n_splits=K, test_size=pn.TEST_SIZE, seed=pn.SEED)
        train, test = _stack_splits(splits)

        def fit(
            batched: bool,
            kind: str = kind,
            y: np.ndarray = y,
            train: np.ndarray = train,
            test: np.ndarray = test,
        ) -> Any:
            return pn.fit_neuco(
                X, y, train, test, kind=kind, seed=pn.SEED, epochs=sizes.epochs, batched=batched
            )

        t_batched, (_, opts) = _best_time(lambda: fit(True), repeat)
        facts[f"neuco_{kind}_peak"] = _peak_bytes(lambda: fit(True))
        t_loop, (_, opts_loop) = _best_time(lambda: fit(False), 1)
        best = opts["epoch_scores"].max(axis=1)
        diff_loop = float(np.max(np.abs(best - opts_loop["epoch_scores"].max(axis=1))))
        rows.append(Row(case, f"ours neuco batched, {kind}", t_batched, f"{sizes.epochs} epochs"))
        rows.append(
            Row(
                case,
                f"ours neuco fold by fold, {kind}",
                t_loop,
                f"max |score difference| {diff_loop:.1e}; batched {t_loop / t_batched:.1f}x faster",
            )
        )
        facts[f"neuco_{kind}_loop_ratio"] = t_loop / t_batched
        facts[f"neuco_{kind}_loop_diff"] = diff_loop
        if use_torch:
            Xs = pn.scalar_zscore(X)
            ys = pn.minmax_labels(y)[0].astype(np.float32)
            perms = pn.epoch_permutations(pn.SEED, X.shape[0], sizes.epochs)
            start = time.perf_counter()
            ref = _torch_fold_by_fold(Xs, ys, train, test, perms, kind, pn.SEED)
            t_torch = time.perf_counter() - start
            diff = float(np.max(np.abs(best - ref.max(axis=1))))
            rows.append(
                Row(
                    case,
                    f"torch neuco fold by fold, {kind}",
                    t_torch,
                    f"max |score difference| {diff:.1e}; batched {t_torch / t_batched:.1f}x faster",
                )
            )
            facts[f"neuco_{kind}_torch_ratio"] = t_torch / t_batched
            facts[f"neuco_{kind}_torch_diff"] = diff
    return rows, facts


def _case_b(
    sizes: Sizes, repeat: int, tmp: Path, fresh_process: bool
) -> tuple[list[Row], dict[str, Any]]:
    """A whole NeuCo-style submission: 5 tasks on one embedding file."""
    import pandas as pd

    from planetbench.embedding.evaluate import evaluate_embeddings

    n_total = sizes.n_tasks * sizes.rows_per_task
    X, _, _ = _make_case(n_total, sizes.dim, seed=1)
    rng = np.random.default_rng(1)
    order = rng.permutation(n_total)
    tasks = []
    labels = tmp / "labels"
    labels.mkdir()
    ids = np.array([f"s{i:05d}" for i in range(n_total)])
    for t in range(sizes.n_tasks):
        rows = np.sort(order[t * sizes.rows_per_task : (t + 1) * sizes.rows_per_task])
        direction = rng.normal(size=sizes.dim) / np.sqrt(sizes.dim)
        signal = X[rows] @ direction
        signal = (signal - signal.mean()) / signal.std() + rng.normal(scale=0.7, size=len(rows))
        kind = "regression" if t < 3 else "classification"
        y = signal if kind == "regression" else (signal > 0).astype(int)
        tasks.append((f"task{t}", kind, rows, y))
        suffix = "regr" if kind == "regression" else "cls"
        pd.DataFrame({"id": ids[rows], "label": y}).to_csv(
            labels / f"task{t}__{suffix}.csv", index=False
        )
    frame = pd.DataFrame(X, columns=[str(c) for c in range(sizes.dim)])
    frame.insert(0, "id", ids)
    emb = tmp / "submission.parquet"
    frame.to_parquet(emb)
    K = sizes.n_splits
    case = f"B {sizes.n_tasks} tasks x {sizes.rows_per_task} x {sizes.dim} K={K}"
    rows_out: list[Row] = []
    facts: dict[str, Any] = {}
    for probe in ("neuco", "auto"):
        test_size = pn.TEST_SIZE if probe == "neuco" else 0.2
        seed = pn.SEED if probe == "neuco" else 0

        def probes(probe: str = probe, test_size: float = test_size, seed: int = seed) -> None:
            for _, kind, rows, y in tasks:
                run_probe(
                    X[rows],
                    y,
                    kind=kind,
                    probe=probe,
                    n_splits=K,
                    test_size=test_size,
                    seed=seed,
                    epochs=sizes.epochs,
                )

        t_probe, _ = _best_time(probes, repeat)
        facts[f"whole_{probe}_s"] = t_probe
        facts[f"whole_{probe}_peak"] = _peak_bytes(probes)
        rows_out.append(Row(case, f"ours {probe}: probes of 5 tasks", t_probe))
        runs = iter(range(repeat))

        def end_to_end(probe: str = probe, runs: Any = runs) -> None:
            i = next(runs)  # a fresh store each time: a reused one would skip finished runs
            evaluate_embeddings(
                emb,
                labels,
                name=f"bench-{probe}-{i}",
                store=f"sqlite:///{tmp / f'store-{probe}-{i}.db'}",
                probe=probe,
                n_splits=K,
                neuco_epochs=sizes.epochs,
            )

        t_e2e, _ = _best_time(end_to_end, repeat)
        if fresh_process:  # the whole evaluation alone in a new process: its peak resident size
            code = (
                "import sys; from planetbench.embedding.evaluate import evaluate_embeddings as e; "
                "e(sys.argv[1], sys.argv[2], name='rss', store=sys.argv[3], probe=sys.argv[4], "
                "n_splits=int(sys.argv[5]), neuco_epochs=int(sys.argv[6])); "
                "print(open('/proc/self/status').read())"
            )
            store = f"sqlite:///{tmp / f'store-{probe}-rss.db'}"
            args = [str(emb), str(labels), store, probe, str(K), str(sizes.epochs)]
            out = subprocess.run(
                [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
            ).stdout
            # VmHWM: the child's own peak resident size. (Its ru_maxrss would also count the
            # parent's pages at fork: Linux folds the old address space's peak in at exec.)
            hwm = [line.split()[1] for line in out.splitlines() if line.startswith("VmHWM:")]
            facts[f"whole_{probe}_rss"] = int(hwm[0]) * 1024
        facts[f"whole_{probe}_e2e_s"] = t_e2e
        rows_out.append(
            Row(
                case,
                f"ours {probe}: evaluate_embeddings end to end",
                t_e2e,
                "read Parquet, validate, probe, Q, store",
            )
        )
    return rows_out, facts


def _goal(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table and the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--repeat", type=int, default=3, help="timings of ours (best is kept)")
    parser.add_argument("--sk-splits", type=int, default=None, help="splits timed in sklearn")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch reference")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.sk_splits is not None:
        sizes = sizes._replace(sk_splits=args.sk_splits)
    repeat = 1 if args.quick else args.repeat
    use_torch = not (args.quick or args.no_torch)
    print(
        f"SYNTHETIC data; cpu_count={os.cpu_count()}, load average "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; BLAS 1 thread"
    )
    rows_a, facts = _case_a(sizes, repeat, use_torch)
    with tempfile.TemporaryDirectory() as tmp:
        rows_b, facts_b = _case_b(sizes, repeat, Path(tmp), fresh_process=not args.quick)
    facts.update(facts_b)
    width = max(len(r.model) for r in rows_a + rows_b)
    print(f"\n{'case':<28} {'model':<{width}} {'seconds':>8}  note")
    for r in rows_a + rows_b:
        print(f"{r.case:<28} {r.model:<{width}} {r.seconds:8.3f}  {r.note}")
    peak = max(v for k, v in facts.items() if k.endswith("_peak"))
    print("\npeak memory (tracemalloc, heap during one probe run):")
    for key in sorted(k for k in facts if k.endswith("_peak")):
        print(f"  {key[:-5]:<28} {facts[key] / GB:.3f} GB")
    for probe in ("neuco", "auto"):
        if f"whole_{probe}_rss" in facts:
            print(
                f"  fresh process running evaluate_embeddings on case B ({probe}; VmHWM, peak "
                f"resident size): {facts[f'whole_{probe}_rss'] / GB:.3f} GB"
            )
    print(
        f"  this benchmark process (ru_maxrss; also holds torch, scikit-learn and every case): "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GB"
    )
    print("\ngoals:")
    print(f"  ridge K={sizes.n_splits} < 2 s: {facts['ridge_s']:.2f} s  {_goal(facts['ridge_s'] < 2)}")
    for kind in ("regression", "classification"):
        key = "torch" if use_torch else "loop"
        ratio, diff = facts[f"neuco_{kind}_{key}_ratio"], facts[f"neuco_{kind}_{key}_diff"]
        what = "straightforward torch" if use_torch else "our NumPy"
        print(
            f"  neuco {kind}: batched >= 10x faster than {what} fold by fold: {ratio:.1f}x "
            f"{_goal(ratio >= 10)}; max |score difference| {diff:.1e} <= 1e-4 "
            f"{_goal(diff <= 1e-4)}"
        )
    for probe in ("neuco", "auto"):
        t = facts[f"whole_{probe}_s"]
        e2e = facts[f"whole_{probe}_e2e_s"]
        print(
            f"  whole case ({probe}) < 5 s per submission: probes {t:.2f} s {_goal(t < 5)}, "
            f"end to end {e2e:.2f} s {_goal(e2e < 5)}"
        )
    peak = max([peak] + [v for k, v in facts.items() if k.endswith("_rss")])
    print(f"  peak memory < 1.5 GB: {peak / GB:.3f} GB {_goal(peak < 1.5 * GB)}")


if __name__ == "__main__":
    main()
