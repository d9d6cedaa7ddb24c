"""HTML pages render in a real browser with every section and inline image."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from planetbench.report import plots
from planetbench.report.html import Section, render_page
from tests.report.chromium import render


def test_page_renders_sections_tables_and_images(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b"],
            "task": ["t1", "t2", "t1", "t2"],
            "score": [0.1, 0.2, 0.3, 0.4],
        }
    )
    sections = [
        Section("Leaderboard", tables=[("scores", df)]),
        Section("Radar", figures=[("radar", plots.radar(df))], paragraphs=["a <note>"]),
    ]
    page = tmp_path / "report.html"
    page.write_text(render_page("t", sections, synthetic=True), encoding="utf-8")
    text = page.read_text()
    assert 'src="data:image/png;base64,' in text and "http" not in text.split("<body>")[1]
    seen = render(page, tmp_path)
    assert seen["sections"] == ["Leaderboard", "Radar"]
    assert seen["images"] == seen["images_ok"] == 1
    assert seen["tables"] == 1
    assert seen["synthetic_banner"] is True
