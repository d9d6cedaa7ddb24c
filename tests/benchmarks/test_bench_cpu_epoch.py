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
    assert row["n_train"] == 18 and row["wall_s"] == row["first_wall_s"] > 0  # one epoch
    assert row["train_cpu_s"] > 0 and row["val_cpu_s"] > 0
    out = capsys.readouterr().out
    assert "seconds per epoch" in out and "SYNTHETIC demo-lakes" in out
