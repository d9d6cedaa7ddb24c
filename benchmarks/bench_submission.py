"""End-to-end time of scoring one NeuCo-style submission: file → validation → probes → store.

Case (issue 2): 5 tasks (3 regression, 2 binary), 15,000 labelled rows in all, 1,024-dimensional
embeddings, K = 40 splits, default probes (ridge / logistic) or ``--probe neuco``. The same
SYNTHETIC embeddings are written as CSV (NeuCo-Bench's submission format) and as Parquet; each is
scored with :func:`planetbench.evaluate_embeddings` into a fresh SQLite store, in a fresh Python
process (imports paid before the clock starts), and the script prints the wall time of each stage
(read + validate, probes, store), the CPU time (user + system, all threads and worker
processes) and the process's peak resident memory (``VmHWM``, Linux). Goal: under 5 s per
submission on 2 cores.

``--compare-src DIR`` scores the same files with another planetbench source tree (e.g.
``/work/main/src``, the code before a change) in the same run, alternating the two
``--repeat`` times so both see the same machine load; the best of the repeats is printed.

Usage: ``python benchmarks/bench_submission.py [--quick] [--probe auto|neuco]
[--compare-src DIR] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

_CHILD = """
import json, resource, sys, time
import planetbench, planetbench.embedding.evaluate, planetbench.protocols.probes.base
import planetbench.stats.qscore
def cpu():
    self, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                   resource.RUSAGE_CHILDREN))
    return self.ru_utime + self.ru_stime + kids.ru_utime + kids.ru_stime
path, labels, store, k, probe = sys.argv[1:6]
t0, c0 = time.perf_counter(), cpu()
summary = planetbench.evaluate_embeddings(path, labels, name=path.rsplit('.', 1)[-1],
                                          store=store, n_splits=int(k), probe=probe)
total, cpu_s = time.perf_counter() - t0, cpu() - c0
rows = summary.results
peak = [int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:')]
print(json.dumps({'total_s': total, 'cpu_s': cpu_s,
                  'read_validate_s': rows[0].timings['read_s'] if rows else float('nan'),
                  'probes_s': sum(r.timings['probe_s'] for r in rows),
                  'mean_q': summary.mean_q, 'peak': peak[0]}))
"""


def write_case(root: Path, *, n_rows: int, dim: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """SYNTHETIC embeddings with signal for 5 tasks; returns (csv, parquet, label folder)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"cube_{i:06d}.zarr.zip" for i in range(n_rows)])
    x = rng.normal(size=(n_rows, dim)).astype(np.float32)
    labels = root / "labels"
    labels.mkdir(parents=True)
    per_task = n_rows // 5
    for t in range(5):
        rows = np.arange(t * per_task, (t + 1) * per_task)
        signal = x[rows, :16] @ rng.normal(size=16)
        noisy = signal + rng.normal(scale=2.0, size=len(rows))
        if t < 3:
            name, label = f"task{t}__regr.csv", noisy
        else:
            name, label = f"task{t}__cls.csv", (noisy > np.median(noisy)).astype(int)
        stem = np.char.replace(ids[rows], ".zarr.zip", "")
        pd.DataFrame({"id": stem, "label": label}).to_csv(labels / name, index=False)
    frame = pd.DataFrame(x, columns=[str(i) for i in range(dim)])
    frame.insert(0, "id", ids)
    csv, parquet = root / "submission.csv", root / "submission.parquet"
    frame.to_csv(csv, index=False, float_format="%.6g")
    frame.to_parquet(parquet, index=False)
    return csv, parquet, labels


def score(path: Path, labels: Path, store: str, *, k: int, probe: str, src: str
          ) -> dict[str, float]:
    """Score one file in a fresh process with the planetbench of ``src``; its figures."""
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(labels), store, str(k), probe],
        capture_output=True, text=True, env=env, timeout=3600, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scoring with {src} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Run the case; the best figures per file type (``.csv``, ``.parquet``) of this source
    tree, and per ``DIR / .csv`` etc. of ``--compare-src DIR``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows × 64 dims, K = 5")
    parser.add_argument("--probe", default="auto", help="auto (ridge/logistic) or neuco")
    parser.add_argument("--compare-src", default=None,
                        help="another planetbench source tree scored side by side")
    parser.add_argument("--repeat", type=int, default=1, help="alternating repeats (best kept)")
    args = parser.parse_args(argv)
    n_rows, dim, k = (1_000, 64, 5) if args.quick else (15_000, 1_024, 40)
    here = str(Path(__file__).resolve().parents[1] / "src")
    sources = [("", here)]
    if args.compare_src:
        sources.append((f"{args.compare_src} / ", args.compare_src))
    best: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        csv, parquet, labels = write_case(root, n_rows=n_rows, dim=dim)
        print(f"case: 5 tasks, {n_rows:,} labelled rows, {dim} dims, K = {k}, probe "
              f"{args.probe} (SYNTHETIC data, written in {time.perf_counter() - t0:.1f} s; "
              f"CSV {csv.stat().st_size / 2**20:.0f} MiB); fresh process per scoring, "
              f"best of {args.repeat}")
        run = 0
        for _ in range(args.repeat):
            for label, src in sources:
                for path in (csv, parquet):
                    run += 1
                    store = f"sqlite:///{root / f'{run}.sqlite'}"
                    r = score(path, labels, store, k=k, probe=args.probe, src=src)
                    key = f"{label}{path.suffix}"
                    if key not in best or r["total_s"] < best[key]["total_s"]:
                        best[key] = r
    print(f"{'[source /] file':<30} {'wall s':>7} {'CPU s':>7} {'read+validate s':>16} "
          f"{'probe s (sum)':>14} {'peak MiB':>9} {'mean Q':>7}")
    for key, r in best.items():
        print(f"{key:<30} {r['total_s']:>7.2f} {r['cpu_s']:>7.2f} {r['read_validate_s']:>16.2f} "
              f"{r['probes_s']:>14.2f} {r['peak'] / 2**20:>9.0f} {r['mean_q']:>7.2f}")
    print("peak resident memory: VmHWM of each scoring process (goal < 1.5 GB); goal: total "
          "< 5 s per submission on 2 cores")
    return best


if __name__ == "__main__":
    main()
    sys.exit(0)
