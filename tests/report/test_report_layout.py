"""The report of real imports plus one demo run, laid out by headless Chromium.

It must tell the truth (SYNTHETIC only on the demo's sections) and read well: every figure at
its natural size within the page, tables scrolling inside their own box, no ``<NA>`` or ``nan``
cells, a reason on every empty cell, warnings in the Notes section and never on the terminal.
The page's screenshot is written next to the report (``report.png``) to be looked at.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from planetbench.report.build import build_report
from planetbench.store import Result, ResultStore
from planetbench.store.importers import detect_and_read, import_results
from tests.report.chromium import WINDOW_WIDTH, render, screenshot

CRYO = "cryobench-published-results/cryobench_frozen_upernet_100pct_miou.csv"
GEOBENCH2_FROZEN = "geobench2-leaderboard-results/submissions/80100fc6-dc1a-4514-b946-341157eaf816"


def _demo_run(store: ResultStore) -> None:
    """One demo run's results (suite demo: generated data), with an LR sweep and GFLOPs."""
    rng = np.random.default_rng(0)
    store.add_many([
        Result(model=model, task=task, protocol="frozen", metric="miou", suite="demo",
               score=base + 0.05 * np.log10(lr / 1e-4) + rng.normal(0, 0.01), seed=seed,
               fraction=1.0, lr=lr, efficiency={"gflops": gflops},
               metrics={"val_miou": base - abs(np.log10(lr / 1e-4)) * 0.05})
        for model, base, gflops in (("unet (tiny)", 0.6, 2.0), ("vit (tiny)", 0.5, 8.0),
                                    ("mosaiks", 0.4, 0.5))
        for task in ("demo-lakes", "demo-seaice", "demo-debris")
        for lr in (1e-5, 1e-4, 1e-3)
        for seed in (0, 1)
    ])


def test_real_imports_and_a_demo_run_read_well_and_truthfully(
    shared_data: Path, store_url: str, tmp_path: Path
) -> None:
    store = ResultStore(store_url)
    for path in (CRYO, GEOBENCH2_FROZEN):
        import_results(detect_and_read(shared_data / path), store)
    _demo_run(store)
    out = tmp_path / "report.html"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # building the report raises no warning to the caller
        build_report(store, out, reps=200)
    seen = render(out, tmp_path)
    sections: list[str] = seen["sections"]  # type: ignore[assignment]
    synthetic: list[str] = seen["synthetic_sections"]  # type: ignore[assignment]

    # Truthful labelling: the banner on the demo sections only, never on the page.
    assert synthetic and all("demo" in title for title in synthetic)
    assert [t for t in sections if "demo" in t] == synthetic
    assert seen["synthetic_banner"] is False
    assert any("cryo" in t for t in sections) and any("geobench2" in t for t in sections)
    assert "Published aggregates beside ours: geobench2" in sections
    assert "Learning-rate sweep: demo · frozen" in sections
    assert "Leaderboard: demo · frozen (training fraction 1.0)" in sections  # rate chosen on val

    # Reads well: figures unscaled and within the page; tables scroll in their own box.
    assert seen["images"] == seen["images_ok"] and seen["images"] >= 8
    for image in seen["image_boxes"]:  # type: ignore[attr-defined]
        assert image["natural"] <= image["container"], image  # shown at its natural size
        assert image["right"] <= WINDOW_WIDTH, image
    for box in seen["table_boxes"]:  # type: ignore[attr-defined]
        assert box["right"] <= WINDOW_WIDTH, box
    assert seen["page_width"] <= seen["viewport"]  # the page never scrolls sideways
    assert seen["bad_cells"] == 0  # no <NA>, nan or None
    assert seen["na_cells"] == seen["na_titles"] > 0  # every dash says why

    png = screenshot(out, tmp_path / "report.png", tmp_path,
                     height=min(int(seen["page_height"]), 30_000))  # type: ignore[call-overload]
    assert png.stat().st_size > 10_000


def test_report_warnings_go_to_notes_not_the_terminal(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Warnings raised while the report is built (here by a plot) land in its Notes, as one
    sentence without a source path; what a board left out is said there too."""
    from planetbench.report import plots

    store = ResultStore(store_url)
    store.add_many([
        Result(model=m, task=t, protocol="frozen", metric="miou", suite="s", score=0.5 + 0.1 * i,
               seed=s, fraction=1.0)
        for i, m in enumerate(("a", "b", "c")) for t in ("x", "y", "z")
        for s in range(3 if (m, t) != ("a", "x") else 2)  # a has one run fewer on x
    ])
    heatmap = plots.per_task_heatmap

    def noisy(*args: object, **kwargs: object) -> object:
        warnings.warn("a library complains", UserWarning, stacklevel=1)
        return heatmap(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(plots, "per_task_heatmap", noisy)
    out = build_report(store, tmp_path / "r.html", reps=100)
    captured = capsys.readouterr()
    assert "Warning" not in captured.err + captured.out
    text = out.read_text()
    notes = text[text.index("<h2>Notes</h2>"):]
    assert "UserWarning: a library complains" in notes and ".py" not in notes
    assert "a: 2 per task (2 left out)" in text  # y and z each lose their third run
