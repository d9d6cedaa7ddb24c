"""Smoke test of benchmarks/bench_capability.py --quick on the real GEO-Bench-2 table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_capability.py"


def test_bench_quick_prints_capability_and_baselines(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("bench_capability", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(sys, "argv", ["bench_capability.py", "--quick", "--data", str(shared_data)])
    bench.main()
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "task-mean MAE" in lines[0]
    fields = lines[1].split()
    assert fields[:3] == ["finetune", "default", "(d=5,l2)"] and fields[3] == "326"
    mae, task_mean = float(fields[6]), float(fields[8])
    # The encoding beats the task-mean baseline on held-out cells of the real table.
    assert 0.0 < mae < task_mean
