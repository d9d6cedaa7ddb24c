"""Challenge mode's performance goals (issue 11), measured on SYNTHETIC data.

1. Scoring: an evaluation-phase submission of the 5-task / 15,000-row / 1,024-d case at K = 200
   with the ``neuco`` probe, from the queue to the stored results (one worker, one process).
   Goal: under 30 s on 2 cores (NeuCo-Bench's reference takes 330-350 s at K = 200).
2. Leaderboard latency: ``GET /api/v1/challenges/<c>/leaderboard`` from 50 concurrent clients
   against a real server while a worker process scores a submission. Goal: p95 under 100 ms.
3. Upload memory: a ~150 MB CSV uploaded to a real server; the server process's peak resident
   memory (``VmHWM``) before and after. Goal: it grows by less than 50 MB.

Usage: ``python benchmarks/bench_challenge.py [--quick] [--only scoring|latency|upload]``.
``--quick`` shrinks every case (for the test that runs this script).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd


def write_case(root: Path, *, n_rows: int, dim: int, k: int, n_tasks: int = 5,
               epochs: int = 20, seed: int = 0, name: str = "bench",
               probe: str = "neuco") -> tuple[Path, Path]:
    """SYNTHETIC labels (3 regression, 2 binary), public ids, a definition with one open
    evaluation phase (K, random seed); returns (YAML, Parquet embeddings)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"cube_{i:06d}" for i in range(n_rows)])
    x = rng.normal(size=(n_rows, dim)).astype(np.float32)
    labels = root / "hidden" / "labels"
    labels.mkdir(parents=True)
    per_task = n_rows // n_tasks
    for t in range(n_tasks):
        rows = np.arange(t * per_task, (t + 1) * per_task)
        noisy = x[rows, :16] @ rng.normal(size=16) + rng.normal(scale=2.0, size=len(rows))
        kind, label = ("regr", noisy) if t < 3 else ("cls", (noisy > np.median(noisy)).astype(int))
        pd.DataFrame({"id": ids[rows], "label": label}).to_csv(labels / f"task{t}__{kind}.csv",
                                                               index=False)
    (root / "ids.txt").write_text("\n".join(ids) + "\n")
    now = datetime.now(timezone.utc)
    (root / "challenge.yaml").write_text(f"""\
name: {name}
labels: hidden/labels
ids: ids.txt
embedding_dim: {dim}
probe: {probe}
neuco_epochs: {epochs}
max_upload_mb: 400
phases:
  - name: final
    start: {(now - timedelta(days=1)).isoformat()}
    end: {(now + timedelta(days=1)).isoformat()}
    tasks: all
    k: {k}
    seed: random
    quota: {{total: 1000}}
    reveal: none
""")
    frame = pd.DataFrame(x, columns=[str(i) for i in range(dim)])
    frame.insert(0, "id", ids)
    parquet = root / "submission.parquet"
    frame.to_parquet(parquet, index=False)
    return root / "challenge.yaml", parquet


def bench_scoring(root: Path, *, n_rows: int, dim: int, k: int) -> dict[str, float]:
    """Seconds to validate+queue and to score one submission (one worker)."""
    from planetbench.challenge import ChallengeDB, Worker, load_definition, queue
    from planetbench.challenge.local import submit_local

    yaml_path, parquet = write_case(root, n_rows=n_rows, dim=dim, k=k)
    url = f"sqlite:///{root / 'store.sqlite'}"
    db = ChallengeDB(url)
    db.create(load_definition(yaml_path))
    team, _ = db.add_team("bench", "team")
    t0 = time.perf_counter()
    sub = submit_local(db, root / "uploads", team, "final", parquet)
    queued = time.perf_counter() - t0
    worker = Worker(url, root / "uploads")
    worker._challenge("bench")  # labels cached, as in a running worker
    import resource

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    t0, c0 = time.perf_counter(), cpu()
    worker.run_once()
    scored, cpu_s = time.perf_counter() - t0, cpu() - c0
    row = queue.get(db.engine, sub)
    assert row is not None and row["status"] == "scored", row
    return {"validate_and_queue_s": queued, "score_and_store_s": scored, "cpu_s": cpu_s,
            "load_average": os.getloadavg()[0], "mean_q": float(row["mean_q"])}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "planetbench", "challenge", *args],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _serve(url: str, uploads: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = _free_port()
    proc = _start(["serve", "--store", url, "--uploads", str(uploads), "--port", str(port),
                   "--workers", "0", "--log-level", "warning"], log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    _stop(proc)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def bench_latency(root: Path, *, n_rows: int, dim: int, k: int, clients: int,
                  requests_per_client: int) -> dict[str, float]:
    """Leaderboard GET latencies (ms) from concurrent clients while a worker process scores.

    The board read is a challenge with 8 scored teams (small case, ``auto`` probe); the worker
    meanwhile scores the large case (``n_rows`` × ``dim``, K, ``neuco``) of a second challenge in
    the same store, using the CPU and the database as a real evaluation phase would.
    """
    import httpx

    from planetbench.challenge import ChallengeDB, Worker, load_definition
    from planetbench.challenge.local import submit_local

    url = f"sqlite:///{root / 'store.sqlite'}"
    db = ChallengeDB(url)
    (root / "board").mkdir()
    yaml_path, small = write_case(root / "board", n_rows=1_000, dim=32, k=10, name="board",
                                  probe="auto")
    db.create(load_definition(yaml_path))
    for i in range(8):  # a board of 8 scored teams
        team = db.add_team("board", f"team-{i}")[0]
        submit_local(db, root / "uploads", team, "final", small)
    Worker(url, root / "uploads").run(idle_exit=True)
    (root / "load").mkdir()
    yaml_path, big = write_case(root / "load", n_rows=n_rows, dim=dim, k=k, name="bench")
    db.create(load_definition(yaml_path))
    submit_local(db, root / "uploads", db.add_team("bench", "busy")[0], "final", big)
    server, base = _serve(url, root / "uploads", root / "server.log")
    # As `serve --workers N` starts them: niced, so that scoring yields to requests.
    worker = _start(["worker", "--store", url, "--uploads", str(root / "uploads"), "--once",
                     "--nice", "10"], root / "worker.log")
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client() -> None:
        # The standard library's keep-alive client: the clients share the 2 cores with the
        # server and the worker (real clients are elsewhere), so a light client keeps their own
        # CPU out of the figure as far as it can (httpx costs several times more per request).
        import http.client

        mine = []
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/api/v1/health")  # connect before the clock starts
        conn.getresponse().read()
        barrier.wait()
        for _ in range(requests_per_client):
            t0 = time.perf_counter()
            conn.request("GET", "/api/v1/challenges/board/leaderboard?phase=final")
            r = conn.getresponse()
            r.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                raise RuntimeError(f"leaderboard GET answered {r.status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    try:
        httpx.get(f"{base}/api/v1/challenges/board/leaderboard", params={"phase": "final"},
                  timeout=60)  # warm up: the first request imports the ranking code
        time.sleep(1.0)  # let the worker start scoring
        threads = [threading.Thread(target=client) for _ in range(clients)]
        cpu0 = _cpu_s(server.pid)
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        server_cpu = _cpu_s(server.pid) - cpu0
        scoring_during = worker.poll() is None
    finally:
        _stop(worker)
        _stop(server)
    arr = np.array(latencies)
    return {"requests": float(arr.size), "p50_ms": float(np.percentile(arr, 50)),
            "p95_ms": float(np.percentile(arr, 95)), "max_ms": float(arr.max()),
            "requests_per_s": arr.size / wall, "server_cpu_ms_per_request":
                1000 * server_cpu / arr.size, "load_average": os.getloadavg()[0],
            "worker_still_scoring_at_end": float(scoring_during)}


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _vm(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024  # kB → MiB
    return float("nan")


def bench_upload(root: Path, *, n_rows: int, dim: int) -> dict[str, float]:
    """Server peak RSS before/after one large CSV upload (MiB) and the upload's wall time."""
    import httpx

    from planetbench.challenge import ChallengeDB, load_definition

    yaml_path, parquet = write_case(root, n_rows=n_rows, dim=dim, k=5)
    csv = root / "submission.csv"
    pd.read_parquet(parquet).to_csv(csv, index=False, float_format="%.7g")
    url = f"sqlite:///{root / 'store.sqlite'}"
    db = ChallengeDB(url)
    db.create(load_definition(yaml_path))
    _, token = db.add_team("bench", "team")
    server, base = _serve(url, root / "uploads", root / "server.log")
    try:
        httpx.get(f"{base}/api/v1/challenges/bench/leaderboard")  # warm up every import
        before = _vm(server.pid, "VmHWM")
        t0 = time.perf_counter()
        with csv.open("rb") as fh:
            r = httpx.post(f"{base}/api/v1/challenges/bench/phases/final/submissions",
                           headers={"Authorization": f"Bearer {token}"},
                           files={"file": (csv.name, fh)}, timeout=600)
        seconds = time.perf_counter() - t0
        r.raise_for_status()
        after = _vm(server.pid, "VmHWM")
    finally:
        _stop(server)
    return {"upload_mb": csv.stat().st_size / 1e6, "seconds": seconds,
            "server_peak_rss_before_mib": before, "server_peak_rss_after_mib": after,
            "growth_mib": after - before}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Run the cases; returns their figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny cases (for tests)")
    parser.add_argument("--only", choices=("scoring", "latency", "upload"), default=None)
    args = parser.parse_args(argv)
    q = args.quick
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.only in (None, "scoring"):
            (root / "s").mkdir()
            figures["scoring"] = bench_scoring(root / "s", n_rows=500 if q else 15_000,
                                               dim=16 if q else 1_024, k=5 if q else 200)
            f = figures["scoring"]
            print(f"scoring ({'quick' if q else '5 tasks, 15,000 rows, 1,024-d, K=200, neuco'}): "
                  f"validate+queue {f['validate_and_queue_s']:.1f} s, score+store "
                  f"{f['score_and_store_s']:.1f} s wall, {f['cpu_s']:.1f} CPU-s in all processes "
                  f"(goal < 30 s; NeuCo-Bench reference 330-350 s); machine load average "
                  f"{f['load_average']:.1f} on {os.cpu_count()} cores", flush=True)
        if args.only in (None, "latency"):
            (root / "l").mkdir()
            figures["latency"] = bench_latency(
                root / "l", n_rows=500 if q else 15_000, dim=16 if q else 1_024,
                k=5 if q else 200, clients=5 if q else 50,
                requests_per_client=4 if q else 20)
            f = figures["latency"]
            print(f"leaderboard GET ({int(f['requests'])} requests, "
                  f"{5 if q else 50} concurrent clients, worker scoring: "
                  f"{'yes' if f['worker_still_scoring_at_end'] else 'finished during'}): "
                  f"p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms, max {f['max_ms']:.0f} ms, "
                  f"{f['requests_per_s']:.0f} req/s, server CPU {f['server_cpu_ms_per_request']:.1f} "
                  "ms/request, clients (stdlib keep-alive, no pause between requests) in this "
                  f"process, machine load average {f['load_average']:.1f} (goal p95 < 100 ms)",
                  flush=True)
        if args.only in (None, "upload"):
            (root / "u").mkdir()
            figures["upload"] = bench_upload(root / "u", n_rows=400 if q else 15_000,
                                             dim=16 if q else 1_024)
            f = figures["upload"]
            print(f"upload of a {f['upload_mb']:.0f} MB CSV in {f['seconds']:.1f} s: server peak "
                  f"RSS {f['server_peak_rss_before_mib']:.0f} → "
                  f"{f['server_peak_rss_after_mib']:.0f} MiB (+{f['growth_mib']:.1f} MiB; "
                  "goal < 50 MiB)", flush=True)
    return figures


if __name__ == "__main__":
    main()
