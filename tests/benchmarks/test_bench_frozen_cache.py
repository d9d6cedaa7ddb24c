"""Smoke test of benchmarks/bench_frozen_cache.py (``--quick``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_frozen_cache.py"


def test_quick_benchmark_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_frozen_cache", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.main(["--quick"])
    out = capsys.readouterr().out
    assert figures["same_val_miou"] is True
    assert figures["speedup_after_first"] > 0
    assert all(v > 0 for v in figures["images_per_s"].values())
    assert figures["gflops"]["encoder"] > 0 and figures["gflops"]["head"] > 0
    for text in ("epochs after the first", "same validation mIoU every epoch: yes",
                 "training images/s: frozen with cache", "GFLOPs per image"):
        assert text in out
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--epochs", "1"])
