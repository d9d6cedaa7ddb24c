"""Open an HTML file in headless Chromium and read back what rendered (test helper).

:func:`render` loads the page at a fixed window width and returns what the browser laid out:
section titles, images (natural and displayed size, right edge), tables (their scrolling box's
right edge), the page's scroll width, which sections carry the SYNTHETIC banner, and any cell
text such as ``<NA>`` or ``nan``. :func:`screenshot` saves a PNG of the whole page, to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

#: Window width the pages are laid out at (a laptop screen).
WINDOW_WIDTH = 1280

_PROBE = """
<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.right, r.width]; };
  const sections = Array.from(document.querySelectorAll('section.report-section'));
  const cells = Array.from(document.querySelectorAll('td, th')).map(c => c.textContent.trim());
  const out = {
    sections: sections.map(s => s.querySelector('h2').firstChild.textContent),
    synthetic_sections: sections.filter(s => s.querySelector('p.synthetic'))
      .map(s => s.querySelector('h2').firstChild.textContent),
    images: imgs.length,
    images_ok: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    image_boxes: imgs.map(i => ({alt: i.alt, natural: i.naturalWidth, shown: box(i)[2],
                                 right: box(i)[1], container: i.parentElement.clientWidth})),
    tables: document.querySelectorAll('table').length,
    table_boxes: Array.from(document.querySelectorAll('.table-scroll')).map(d => ({
      right: box(d)[1], inner: d.scrollWidth, outer: d.clientWidth})),
    page_width: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    page_height: document.documentElement.scrollHeight,
    synthetic_banner: !!document.querySelector('body > p.synthetic'),
    any_synthetic: !!document.querySelector('.synthetic'),
    bad_cells: cells.filter(t => ['<NA>', 'nan', 'NaN', 'None', '<NA>'].includes(t)).length,
    na_titles: Array.from(document.querySelectorAll('td.na')).filter(c => c.title).length,
    na_cells: document.querySelectorAll('td.na').length,
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


def _command(tmp_path: Path, *extra: str) -> list[str]:
    return [
        chromium_path(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--virtual-time-budget=10000",
        *extra,
    ]


def render(page: Path, tmp_path: Path, *, width: int = WINDOW_WIDTH) -> dict[str, object]:
    """Load ``page`` (with a probe script appended) in headless Chromium; return what rendered."""
    probed = tmp_path / "probed.html"
    probed.write_text(
        page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8"
    )
    cmd = _command(tmp_path, f"--window-size={width},900", "--dump-dom", probed.as_uri())
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False).stdout
    match = re.search(r'<pre id="render-probe">(.*?)</pre>', dom, re.S)
    if match is None:
        raise AssertionError(f"Chromium did not render the page; DOM was: {dom[:500]!r}")
    import html

    return json.loads(html.unescape(match.group(1)))  # type: ignore[no-any-return]


def screenshot(page: Path, png: Path, tmp_path: Path, *, height: int,
               width: int = WINDOW_WIDTH) -> Path:
    """Save a PNG of ``page`` laid out ``width`` pixels wide, ``height`` pixels of it."""
    cmd = _command(tmp_path, f"--window-size={width},{height}", f"--screenshot={png}",
                   page.as_uri())
    subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    if not png.is_file():
        raise AssertionError(f"Chromium wrote no screenshot of {page}")
    return png
