"""Smoke test of benchmarks/bench_submission.py (``--quick``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_submission.py"


def test_quick_submission_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_submission", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.main(["--quick"])
    out = capsys.readouterr().out
    assert set(figures) == {".csv", ".parquet"}
    # the same embeddings in both formats (CSV rounded to 6 digits) give the same scores
    assert figures[".csv"]["mean_q"] == pytest.approx(figures[".parquet"]["mean_q"], abs=1e-3)
    assert figures[".csv"]["mean_q"] > 5  # the planted signal is found
    for r in figures.values():
        assert r["total_s"] > r["read_validate_s"] > 0 and r["probes_s"] > 0
    assert "peak resident memory" in out and "SYNTHETIC" in out
