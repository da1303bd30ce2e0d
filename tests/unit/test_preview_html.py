"""`digestbot preview --html`: the page draws the very payloads a run posts, and a real headless Chromium
shows every story title, link and "More:" entry of it."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config, DigestSettings
from bot.digest.model import Plan
from bot.render.html_preview import markdown_html
from tests.browser import chromium, seeds_preview_page, visible_text_and_links

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^()\s]+)\)")
_ESCAPE = re.compile(r"\\(.)")


def test_markdown_is_drawn_and_corpus_text_cannot_inject_markup() -> None:
    assert markdown_html(r"**Morning** \*not bold\* [The Lens](https://x.example/a)", UTC_ZONE, NOW) == (
        '<strong>Morning</strong> *not bold* <a href="https://x.example/a">The Lens</a>'
    )
    assert markdown_html("<img src=x onerror=alert(1)>", UTC_ZONE, NOW) == (
        "&lt;img src=x onerror=alert(1)&gt;"
    )
    assert markdown_html("[x](javascript:alert(1))", UTC_ZONE, NOW) == "[x](javascript:alert(1))"
    unix = int(NOW.timestamp())
    assert markdown_html(f"<t:{unix}:f> · <t:{unix - 7200}:R>", UTC_ZONE, NOW) == (
        '<span class="timestamp">2 March 2026 09:00</span> · <span class="timestamp">2 hours ago</span>'
    )


def _expected(plan: Plan) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Titles, links (text, href) and rendered "More:" lines the page must show, from the payloads."""
    titles, links, more = [], [], []
    for message in plan.messages:
        for embed in message.payload["embeds"]:
            if embed.get("url"):
                title = _ESCAPE.sub(r"\1", embed["title"])
                titles.append(title)
                links.append((title, embed["url"]))
            for line in (embed.get("description") or "").splitlines():
                if line.startswith("More: "):
                    links += [(_ESCAPE.sub(r"\1", name), url) for name, url in _LINK.findall(line)]
                    more.append(_ESCAPE.sub(r"\1", _LINK.sub(r"\1", line)))
    return titles, links, more


def _need_chromium() -> None:
    if chromium() is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium) to open the preview page")


def rich_thread_digest() -> Config:
    settings = DigestSettings(
        name="weekly", channel_id=1, schedule="0 8 * * mon", timezone="Europe/London", min_quality=0,
        topics=(), providers=(), keywords=(), published_only=False, max_age_days=None, max_articles=5,
        max_related=3, backlog=5, mode="thread", log_channel_id=None, style="rich", title="Weekly review",
    )
    return Config(digests=(settings,))


@pytest.mark.parametrize("config", [None, rich_thread_digest()], ids=["seeds-compact", "rich-thread"])
async def test_chromium_shows_every_title_link_and_more_entry(tmp_path: Path, config: Config | None) -> None:
    _need_chromium()
    page, plan = await seeds_preview_page(tmp_path, config)
    titles, links, more = _expected(plan)
    assert len(titles) >= 2 and links, "the seeds preview a digest of several stories"

    text, shown_links = visible_text_and_links(page)

    lines = text.splitlines()
    for title in titles:
        assert title in text
    for entry in links:
        assert entry in shown_links, f"link {entry} is not visible"
    for line in more:
        assert line in lines, f"{line!r} is not shown"
    header = plan.messages[0].payload["content"]
    assert header.split(" · ")[0].replace("**", "") in text
    assert "<t:" not in text and "\\" not in text, "timestamps and escapes are drawn, not shown raw"
