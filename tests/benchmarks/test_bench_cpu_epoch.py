"""Smoke test of benchmarks/bench_cpu_epoch.py (``--quick``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cpu_epoch.py"


def test_quick_benchmark_prints_seconds_per_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_cpu_epoch", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    (row,) = bench.main(["--quick"])
    assert row["encoder"] == "unet" and row["protocol"] == "finetune" and row["size"] == 32
    assert 0 < row["first_train_s"] <= row["first_s"]
    assert row["later_s"] is None  # one epoch: nothing after the first
    out = capsys.readouterr().out
    assert "seconds per epoch" in out and "SYNTHETIC demo-lakes" in out
