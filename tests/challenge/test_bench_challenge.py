"""The challenge benchmark script runs (quick scoring case) and prints its figures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_challenge.py"


def test_bench_challenge_quick_scoring(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_challenge", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--quick", "--only", "scoring"])
    assert figures["scoring"]["score_and_store_s"] > 0
    assert figures["scoring"]["cpu_s"] > 0
    assert "score+store" in capsys.readouterr().out
