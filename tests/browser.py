"""Headless Chromium for the preview page: what a browser really shows of it, and the README's picture.

`visible_text_and_links(page)` opens a copy of the page with a small probe appended (the page itself has no
script) and returns the text the browser renders and the links it lays out with a size. Run as
`python -m tests.browser docs/digest-preview.png` to write the README's screenshot of the seeds' digest,
drawn from the same page the test checks.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.digest.model import Plan
from bot.preview import plan_html, preview_plan
from bot.store.db import Database
from bot.store.loader import load_corpus

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
#: The moment the seeds' preview is drawn at, so the picture does not change from day to day.
PICTURE_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BROWSER_TIMEOUT = 120
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
)
_PROBE = """<script>
(() => {
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.opacity !== "0";
  };
  const links = [...document.querySelectorAll("a")].filter(shown)
    .map((a) => ({text: a.innerText, href: a.getAttribute("href")}));
  const report = document.createElement("pre");
  report.id = "probe-report";
  report.textContent = JSON.stringify({text: document.body.innerText, links});
  document.body.appendChild(report);
})();
</script>"""
_REPORT = re.compile(r'<pre id="probe-report">(.*?)</pre>', re.DOTALL)


def chromium() -> str | None:
    """The Chromium executable (Debian's `chromium`), or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    executable = chromium()
    if executable is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="digestbot-chromium-") as profile:
        return subprocess.run([executable, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=BROWSER_TIMEOUT, check=True)


def visible_text_and_links(page: Path) -> tuple[str, list[tuple[str, str]]]:
    """The text Chromium renders of `page` and its visible links as (text, href)."""
    with tempfile.TemporaryDirectory(prefix="digestbot-probe-") as folder:
        probed = Path(folder) / "probed.html"
        probed.write_text(page.read_text(encoding="utf-8").replace("</body>", f"{_PROBE}</body>"),
                          encoding="utf-8")
        dom = _run("--dump-dom", probed.as_uri()).stdout
    match = _REPORT.search(dom)
    if match is None:
        raise AssertionError("the probe did not run in the page")
    report = json.loads(html.unescape(match.group(1)))
    return report["text"], [(link["text"], link["href"]) for link in report["links"]]


def screenshot(page: Path, picture: Path, *, width: int = 900, height: int = 1120) -> None:
    """A PNG of `page` as Chromium draws it at `width`×`height`."""
    _run(f"--window-size={width},{height}", f"--screenshot={picture.resolve()}", page.as_uri())


async def seeds_preview_page(folder: Path, config: Config | None = None) -> tuple[Path, Plan]:
    """The preview page of the first digest of `config` (default: the built-in one) over the bundled
    seeds at PICTURE_NOW, and the plan it draws."""
    db = await Database.open(folder / "seeds.sqlite3", create=True)
    try:
        await load_corpus(db, SEEDS, max_file_bytes=1 << 20, now=PICTURE_NOW)
        settings, plan = await preview_plan(db, config or Config(), None, now=PICTURE_NOW)
    finally:
        await db.close()
    page = folder / "preview.html"
    page.write_text(plan_html(settings, plan, now=PICTURE_NOW), encoding="utf-8")
    return page, plan


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.browser PICTURE.png", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="digestbot-picture-") as folder:
        page, _plan = asyncio.run(seeds_preview_page(Path(folder)))
        screenshot(page, Path(argv[0]))
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
