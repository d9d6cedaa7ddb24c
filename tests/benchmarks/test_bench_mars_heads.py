"""Smoke test of benchmarks/bench_mars_heads.py (``--quick``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_mars_heads.py"


def test_quick_benchmark_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_mars_heads", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.main(["--quick", "--threads", "1"])
    out = capsys.readouterr().out
    assert figures["frozen"]["same_losses"] is True
    assert figures["frozen"]["speedup"] > 0
    # the protocol's own cache: same losses, one record per epoch in both modes
    assert figures["protocol"]["same_losses"] is True
    assert [len(v) for v in figures["protocol"]["epoch_s"].values()] == [2, 2]
    assert all(v > 0 for v in figures["classification"].values())
    assert set(figures["detection"]) == {"faster-rcnn", "retinanet", "fcos"}
    assert all(v > 0 for r in figures["detection"].values() for v in r.values())
    for text in ("classification images/s: inference", "detection images/s",
                 "identical losses in both modes: yes", "cached epochs (after the first)",
                 "frozen ClassificationProtocol", "same losses in both modes: yes"):
        assert text in out
    if importlib.util.find_spec("segmentation_models_pytorch") is not None:
        whole = figures["whole"]
        assert set(whole) == {"unet", "deeplabv3plus", "segformer", "dpt"}
        for r in whole.values():  # frozen trains fewer parameters than transfer learning
            assert r["trainable_m_feature_extraction"] < r["trainable_m_transfer_learning"]
            assert r["trainable_m_transfer_learning"] == pytest.approx(r["params_m"])
            assert r["inference"] > 0 and r["train_feature_extraction"] > 0
        assert "Mars-Bench's whole segmenters (tiny, 64 px" in out
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--epochs", "0"])
