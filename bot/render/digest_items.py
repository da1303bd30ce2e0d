"""One digest story as an embed, in the digest's style, and the "+N" button that opens its full coverage.

`compact` is a newsletter item: the linked title, the outlet and a relative time, one or two lines of
excerpt, and one "More:" line naming the other outlets (`The Lens · Governing · +2`). `rich` is the full
article embed (image, fields, related coverage). Either way, coverage that is not listed sits behind a
button whose custom id names the lead article, so the bot answers a click on it after any restart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.corpus.model import Related
from bot.digest.model import Story
from bot.render.embeds import _ranked_related, article_embed, masked_link
from bot.render.text import (
    DESCRIPTION_LIMIT,
    TITLE_LIMIT,
    clean,
    discord_timestamp,
    plain,
    safe_url,
    truncate,
)

#: An excerpt of one or two lines on a phone or a desktop.
COMPACT_EXCERPT_LIMIT = 150
#: The "More:" line's length in raw characters, links included: outlets are named while they fit.
MORE_LINE_LIMIT = 230
OUTLET_NAME_LIMIT = 40
#: Rich digest items keep a short excerpt so a run reads as a digest, not a wall of text.
RICH_EXCERPT_LIMIT = 600
BUTTON_LABEL_LIMIT = 80
BUTTONS_PER_ROW = 5
COVERAGE_PREFIX = "digestbot:coverage:"
#: The custom id of a "+N" button: the prefix and the lead article's id (ids are short tokens).
COVERAGE_CUSTOM_ID = re.compile(rf"{COVERAGE_PREFIX}(?P<article_id>[A-Za-z0-9_-]{{1,64}})")

_SENTENCE_END = (".", "!", "?", "…", "\"", "”", "’", "'", ")")
_DANGLING = " ,;:-–—(\"“'‘"


@dataclass(frozen=True, slots=True)
class StoryItem:
    """A story as rendered: its embed, the canonical URLs it links, and how much coverage it leaves out."""

    embed: dict[str, Any]
    shown_urls: tuple[str, ...]
    hidden_coverage: int
    lead_id: str
    lead_title: str


def clean_excerpt(text: str | None, limit: int = COMPACT_EXCERPT_LIMIT) -> str:
    """The excerpt shortened to `limit` characters on a word boundary, ending in a full stop or "…"
    (sources cut sentences short; a reader should see that it goes on). Escaped for display."""
    words = " ".join((text or "").split())
    if not words:
        return ""
    if len(words) <= limit and words.endswith(_SENTENCE_END):
        return clean(words)
    cut = truncate(words, limit - 1, ellipsis="") if len(words) > limit - 1 else words
    return clean(cut.rstrip(_DANGLING)) + "…"


def outlet_name(provider_label: str | None, url: str) -> str:
    """Who published a piece: the provider's name, else the host of its URL (`www.` dropped)."""
    if provider_label:
        return provider_label
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _more_line(items: Sequence[Related], max_named: int) -> tuple[str, list[str]]:
    """`More: [The Lens](…) · [Governing](…) · +2`: outlets named (linked) while the line stays within
    MORE_LINE_LIMIT and `max_named`; the rest counted. Empty when there is no other coverage."""
    if not items:
        return "", []
    named: list[str] = []
    shown: list[str] = []
    used = len("More: ")
    for index, item in enumerate(items):
        if index >= max_named:
            break
        name = truncate(clean(outlet_name(item.provider.label if item.provider else None, item.url)),
                        OUTLET_NAME_LIMIT)
        link = masked_link(name, item.url)
        if link == name:
            break
        rest = len(items) - index - 1
        reserve = len(f" · +{rest}") if rest else 0
        cost = len(link) + (3 if named else 0)
        if used + cost + reserve > MORE_LINE_LIMIT:
            break
        named.append(link)
        shown.append(item.url)
        used += cost
    hidden = len(items) - len(named)
    if hidden:
        named.append(f"+{hidden}")
    return "More: " + " · ".join(named), shown


def compact_item(story: Story, *, max_related: int, color: int) -> StoryItem:
    """A story as a newsletter item (see the module docstring)."""
    lead = story.lead
    embed: dict[str, Any] = {"title": truncate(clean(lead.title) or clean(lead.url), TITLE_LIMIT),
                             "color": color}
    shown = []
    if safe_url(lead.url):
        embed["url"] = lead.url
        shown.append(lead.url)
    outlet = truncate(clean(outlet_name(lead.provider.label if lead.provider else None, lead.url)),
                      OUTLET_NAME_LIMIT)
    lines = [f"{outlet} · {discord_timestamp(lead.published_at, 'R')}"]
    excerpt = clean_excerpt(lead.excerpt)
    if excerpt:
        lines.append(excerpt)
    related = _ranked_related(lead, story.related)
    more, related_shown = _more_line(related, max(max_related, 0))
    if more:
        lines.append(more)
    embed["description"] = truncate("\n".join(lines), DESCRIPTION_LIMIT)
    shown.extend(related_shown)
    return StoryItem(embed, tuple(shown), len(related) - len(related_shown), lead.id, lead.title)


def rich_item(story: Story, *, max_related: int, color: int) -> StoryItem:
    """A story as the full article embed (image, topics, related coverage), in the digest's colour."""
    lead = story.lead
    rendered = article_embed(lead, related=story.related, max_related=max_related,
                             excerpt_limit=RICH_EXCERPT_LIMIT)
    related = _ranked_related(lead, story.related)
    listed = sum(1 for url in rendered.shown_urls if url != lead.url)
    embed = {**rendered.embed, "color": color}
    return StoryItem(embed, rendered.shown_urls, len(related) - listed, lead.id, lead.title)


def coverage_button(item: StoryItem) -> dict[str, Any] | None:
    """The "+N" button of a story that leaves coverage out (None when everything is listed)."""
    custom_id = f"{COVERAGE_PREFIX}{item.lead_id}"
    if item.hidden_coverage <= 0 or not COVERAGE_CUSTOM_ID.fullmatch(custom_id):
        return None
    label = truncate(f"+{item.hidden_coverage} · {plain(item.lead_title)}", BUTTON_LABEL_LIMIT)
    return {"type": 2, "style": 2, "label": label, "custom_id": custom_id}


def button_rows(items: Sequence[StoryItem]) -> list[dict[str, Any]]:
    """Action rows holding the stories' coverage buttons, five to a row (≤ 10 stories → ≤ 2 rows)."""
    buttons = [button for button in map(coverage_button, items) if button is not None]
    return [
        {"type": 1, "components": buttons[start : start + BUTTONS_PER_ROW]}
        for start in range(0, len(buttons), BUTTONS_PER_ROW)
    ]
