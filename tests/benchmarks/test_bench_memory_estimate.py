"""Smoke test of benchmarks/bench_memory_estimate.py (``--quick``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_memory_estimate.py"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)")
def test_quick_benchmark_prints_estimate_and_measured(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_memory_estimate", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    (row,) = bench.main(["--quick"])
    assert row["estimate"] > 0 and row["measured"] > 0
    assert row["estimate"] == row["activations"] + row["transient"] + row["weights"]
    out = capsys.readouterr().out
    assert "estimated before the run vs measured" in out and "unet + upernet" in out
