"""Peak resident memory of reading one embedding file of N × D floats (issue 8, "Memory").

Case: SYNTHETIC seeded embeddings, 50,000 rows × 1,024 dims (``--quick``: 5,000 × 256), written
once as CSV (NeuCo-Bench's submission format, ``%.7g``) and as Parquet (float32 columns). Each
reader runs in a fresh Python process that first imports NumPy, pandas and pyarrow (and
planetbench), records its resident size (``VmRSS``: the constant), reads the file, and reports
its peak resident size (``VmHWM`` of ``/proc/self/status``, Linux). Printed per reader: the
constant, the peak, the growth (peak − constant) and the growth in units of the float32 matrix
(N × D × 4 bytes). Goal: growth at most about 2 float32 matrices.

Readers measured side by side:

* ``planetbench``: :func:`planetbench.embedding.files.read_embeddings` of this source tree
  (it also hashes the file, as an evaluation needs);
* ``planetbench@DIR`` (with ``--compare-src DIR``): the same function from another source tree,
  e.g. ``--compare-src /work/main/src`` for the code before a change;
* ``pandas float64``: ``pd.read_csv(...)`` then ``to_numpy(float64)``, the plain way.

Usage: ``python benchmarks/bench_csv_memory.py [--quick] [--compare-src DIR]``.
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

MIB = 2**20

_PREAMBLE = """
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
import numpy, pandas, pyarrow, pyarrow.csv, pyarrow.parquet
def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'):
            return int(line.split()[1]) * 1024
"""

_PLANETBENCH = """
from planetbench.embedding.files import read_embeddings
base = status('VmRSS')
t0, c0 = time.perf_counter(), cpu()
table = read_embeddings(sys.argv[1])
seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
shape, dtype = table.matrix.shape, str(table.matrix.dtype)
"""

_PANDAS = """
base = status('VmRSS')
t0, c0 = time.perf_counter(), cpu()
path = sys.argv[1]
frame = pandas.read_csv(path) if path.endswith('.csv') else pandas.read_parquet(path)
matrix = frame.drop(columns=['id']).to_numpy(dtype=numpy.float64)
del frame
seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
shape, dtype = matrix.shape, str(matrix.dtype)
"""

_REPORT = """
print(json.dumps({'base': base, 'peak': status('VmHWM'), 'seconds': seconds, 'cpu': cpu_s,
                  'shape': list(shape), 'dtype': dtype}))
"""


def write_case(root: Path, *, n_rows: int, dim: int, seed: int = 0) -> tuple[Path, Path]:
    """SYNTHETIC embeddings as CSV and Parquet; returns (csv, parquet)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv
    from pyarrow import parquet as pq

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, dim)).astype(np.float32)
    ids = pa.array([f"cube_{i:06d}.zarr.zip" for i in range(n_rows)])
    columns = [pa.array(x[:, j]) for j in range(dim)]
    table = pa.Table.from_arrays([ids, *columns], names=["id", *[str(j) for j in range(dim)]])
    del columns
    csv, parquet = root / "embeddings.csv", root / "embeddings.parquet"
    pacsv.write_csv(table, csv)
    pq.write_table(table, parquet)
    return csv, parquet


def measure(code: str, path: Path, src: str | None) -> dict[str, float]:
    """Run one reader in a fresh process; its figures (bytes, seconds)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    done = subprocess.run(
        [sys.executable, "-c", _PREAMBLE + code + _REPORT, str(path)],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"reader failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Run the case; returns the figures per ``reader / format``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows × 256 dims")
    parser.add_argument("--rows", type=int, default=None, help="rows (default 50,000)")
    parser.add_argument("--dim", type=int, default=None, help="dimensions (default 1,024)")
    parser.add_argument("--compare-src", default=None,
                        help="another planetbench source tree to measure, e.g. /work/main/src")
    args = parser.parse_args(argv)
    n_rows = args.rows or (5_000 if args.quick else 50_000)
    dim = args.dim or (256 if args.quick else 1_024)
    here = str(Path(__file__).resolve().parents[1] / "src")
    readers = [("planetbench", _PLANETBENCH, here)]
    if args.compare_src:
        readers.append((f"planetbench@{args.compare_src}", _PLANETBENCH, args.compare_src))
    readers.append(("pandas float64", _PANDAS, here))
    f32 = n_rows * dim * 4
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        csv, parquet = write_case(Path(tmp), n_rows=n_rows, dim=dim)
        print(f"case: {n_rows:,} × {dim:,} SYNTHETIC float32 values (written in "
              f"{time.perf_counter() - t0:.0f} s): CSV {csv.stat().st_size / MIB:,.0f} MiB, "
              f"Parquet {parquet.stat().st_size / MIB:,.0f} MiB; float32 matrix "
              f"{f32 / MIB:,.0f} MiB, float64 {2 * f32 / MIB:,.0f} MiB")
        print(f"{'reader':<34} {'file':<8} {'dtype':<8} {'constant':>9} {'peak':>9} "
              f"{'growth':>9} {'growth / f32':>13} {'wall s':>7} {'CPU s':>6}")
        for path in (csv, parquet):
            for name, code, src in readers:
                r = measure(code, path, src)
                growth = r["peak"] - r["base"]
                figures[f"{name} / {path.suffix}"] = {**r, "growth": growth}
                print(f"{name:<34} {path.suffix:<8} {r['dtype']:<8} {r['base'] / MIB:>7.0f} M "
                      f"{r['peak'] / MIB:>7.0f} M {growth / MIB:>7.0f} M {growth / f32:>13.2f} "
                      f"{r['seconds']:>7.2f} {r['cpu']:>6.2f}")
    print("goal: growth ≤ about 2 float32 matrices (peak = constant + growth; VmHWM, fresh "
          "process per reader). CPU s = user + system time of the read (all threads): on a "
          "shared machine a steadier figure than wall time")
    return figures


if __name__ == "__main__":
    main()
    sys.exit(0)
