"""Smoke test of benchmarks/bench_mars_stats.py (``--quick``, SYNTHETIC tables)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_mars_stats.py"


def test_quick_mars_stats_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_mars_stats", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.main(["--quick", "--data", str(tmp_path / "absent")])
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "model-4" in out
    assert figures["board_s"] > 0 and figures["pandas_per_round_s"] > 0
    assert 0.0 <= figures["top_iqm"] <= 1.0
