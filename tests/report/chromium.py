"""Open an HTML file in headless Chromium and read back what rendered (test helper)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

_PROBE = """
<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const out = {
    sections: Array.from(document.querySelectorAll('section.report-section h2')).map(h => h.textContent),
    images: imgs.length,
    images_ok: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    tables: document.querySelectorAll('table').length,
    synthetic_banner: !!document.querySelector('.synthetic'),
  };
  const pre = document.createElement('pre');
  pre.id = 'render-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def chromium_path() -> str:
    """Path of Debian's chromium, or skip the test saying how to get it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (apt-get install chromium)")


def render(page: Path, tmp_path: Path) -> dict[str, object]:
    """Load ``page`` (with a probe script appended) in headless Chromium; return what rendered."""
    probed = tmp_path / "probed.html"
    probed.write_text(
        page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8"
    )
    cmd = [
        chromium_path(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        probed.as_uri(),
    ]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False).stdout
    match = re.search(r'<pre id="render-probe">(.*?)</pre>', dom, re.S)
    if match is None:
        raise AssertionError(f"Chromium did not render the page; DOM was: {dom[:500]!r}")
    import html

    return json.loads(html.unescape(match.group(1)))
