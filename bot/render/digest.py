"""A digest run's stories rendered as the exact messages it posts, packed within Discord's limits.

The first message opens with a header readers understand — `📰 **Morning brief** · <t:…:f> · 5 stories`,
the slot as a Discord timestamp each reader sees in their own zone — and a message that continues a split
run says so (`… · continued`). Delivery finds a message it already posted by its `message_key`: the header
line (title and slot instant to the second) plus each embed's title and text, link targets left out (so
neither the thread header's later jump links nor the way Discord writes a URL back change it). A channel
never gets the same story twice, so two runs never share a key, even for two digests with the same title
and slot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import DIGEST_STYLES, DigestSettings
from bot.digest.model import Payload, PlannedMessage, Story
from bot.render.digest_items import StoryItem, button_rows, compact_item, outlet_name, rich_item
from bot.render.embeds import BRAND_COLOR
from bot.render.message import embed_length, message, message_problems, role_mentions
from bot.render.text import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FOOTER_LIMIT,
    ZERO_WIDTH_SPACE,
    clean,
    discord_timestamp,
    link_target,
    plain,
    safe_url,
    truncate,
)

MARKER_ICON = "📰"
SEPARATOR = " · "
CONTINUED = "continued"
THREAD_NAME_LIMIT = 100
SUMMARY_TITLE = "In this digest"

_HEADER = re.compile(
    rf"^{MARKER_ICON} \*\*(?P<title>.+?)\*\*"
    r"(?: · <t:(?P<unix>-?\d+):f>)?"
    rf" · (?P<tail>\d+ stor(?:y|ies)|{CONTINUED})$"
)
_INERT_MENTION = re.compile(rf"(@){ZERO_WIDTH_SPACE}(?=everyone|here)|(<){ZERO_WIDTH_SPACE}", re.IGNORECASE)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
# In text we escaped, "](" only ever opens one of our own link targets.
_LINK_TARGET = re.compile(r"\]\((?:[^()\s]*)\)")


@dataclass(frozen=True, slots=True)
class DigestHeader:
    """What the header says: the digest's title, its slot (None before a slot is known) and how many
    stories the run posts."""

    title: str
    slot: datetime | None
    story_count: int


def header_line(header: DigestHeader, *, continued: bool = False) -> str:
    """`📰 **title** · <t:…:f> · N stories`, or `… · continued` on the later messages of a split run."""
    if "\n" in header.title or "\r" in header.title:
        raise ValueError(f"digest title {header.title!r} may not contain a line break")
    pieces = [f"{MARKER_ICON} **{clean(header.title)}**"]
    if header.slot is not None:
        pieces.append(discord_timestamp(header.slot, "f"))
    if continued:
        pieces.append(CONTINUED)
    else:
        noun = "story" if header.story_count == 1 else "stories"
        pieces.append(f"{header.story_count} {noun}")
    return SEPARATOR.join(pieces)


def _unclean(text: str) -> str:
    """Undo `clean` on a title we rendered ourselves."""
    return _ESCAPED.sub(r"\1", _INERT_MENTION.sub(lambda m: m.group(1) or m.group(2), text))


def parse_header(content: str | None) -> tuple[str, datetime | None, str] | None:
    """(title, slot, `N stories` or `continued`) from a header line, or None when `content` is not one.
    Only the first line is the header (a role ping may follow it)."""
    match = _HEADER.match((content or "").split("\n", 1)[0])
    if match is None:
        return None
    unix = match.group("unix")
    slot = datetime.fromtimestamp(int(unix), UTC) if unix is not None else None
    return _unclean(match.group("title")), slot, match.group("tail")


def message_key(payload: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What identifies a digest message among the bot's messages in a channel (see the module docstring);
    None when the payload has neither a header line nor embeds."""
    header = parse_header(payload.get("content"))
    embeds = tuple(
        ((embed.get("title") or "").strip(), _LINK_TARGET.sub("]", embed.get("description") or "").strip())
        for embed in payload.get("embeds") or ()
    )
    if header is None and not embeds:
        return None
    return header, embeds


def same_message(planned: Mapping[str, Any], posted: Mapping[str, Any]) -> bool:
    """Whether `posted` (a message read back from Discord) is the planned message."""
    key = message_key(planned)
    return key is not None and key == message_key(posted)


def thread_name(title: str, slot: datetime | None, tz: ZoneInfo) -> str:
    """The thread a thread-mode digest opens under its header: `Morning brief · Tue 2 Jan 08:00` in the
    digest's time zone (plain text, ≤ 100 characters)."""
    name = title
    if slot is not None:
        local = slot.astimezone(tz)
        name = f"{title} · {local:%a} {local.day} {local:%b %H:%M}"
    return truncate(plain(name), THREAD_NAME_LIMIT)


def pack_embeds(rendered: Sequence[dict[str, Any]]) -> list[list[int]]:
    """Indexes of embeds grouped into messages in order: ≤ 10 embeds and ≤ 6000 characters each."""
    groups: list[list[int]] = []
    used = 0
    for index, embed in enumerate(rendered):
        size = embed_length(embed)
        if size > EMBED_TOTAL_LIMIT:
            raise ValueError(f"story embed {index + 1} has {size} characters, over {EMBED_TOTAL_LIMIT}")
        if not groups or len(groups[-1]) >= EMBEDS_PER_MESSAGE or used + size > EMBED_TOTAL_LIMIT:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += size
    return groups


def _summary_embed(stories: Sequence[Story], color: int) -> dict[str, Any]:
    """The thread-mode header's embed: the run's stories, numbered, each linked to its article until
    delivery points the links at the story's message in the thread (`link_summary`)."""
    lines = []
    for number, story in enumerate(stories, start=1):
        lead = story.lead
        title = truncate(clean(lead.title) or clean(lead.url), 200)
        url = safe_url(lead.url)
        linked = f"[{title}]({link_target(url)})" if url else title
        outlet = truncate(clean(outlet_name(lead.provider.label if lead.provider else None, lead.url)), 60)
        lines.append(f"{number}. {linked} — {outlet}")
    description = ""
    for index, line in enumerate(lines):
        rest = len(lines) - index
        candidate = f"{description}\n{line}" if description else line
        if len(candidate) + len(f"\n+{rest} more") > DESCRIPTION_LIMIT and rest > 1:
            description += f"\n+{rest} more"
            break
        description = candidate
    return {"title": SUMMARY_TITLE, "color": color, "description": description}


def link_summary(header: Mapping[str, Any], jump_urls: Sequence[str]) -> dict[str, Any]:
    """The thread header's payload with story n linked to `jump_urls[n - 1]` (its message in the thread).

    Only the link targets change: the text, and so the header's `message_key`, stays the same.
    """
    embeds = [dict(embed) for embed in header.get("embeds") or ()]
    if not embeds or embeds[0].get("title") != SUMMARY_TITLE:
        raise ValueError("not a thread-mode digest header")
    lines = (embeds[0].get("description") or "").split("\n")
    for index, url in enumerate(jump_urls[: len(lines)]):
        if safe_url(url):
            lines[index] = _LINK_TARGET.sub(f"]({link_target(url)})", lines[index], count=1)
    embeds[0]["description"] = "\n".join(lines)
    return message(embeds, header.get("content"))


def render_items(
    stories: Sequence[Story], *, style: str, max_related: int, color: int, footer: str | None = None
) -> list[StoryItem]:
    """Every story as an item in the digest's style, with the digest's `footer` (plain text, mentions
    inert) under each."""
    if style not in DIGEST_STYLES:
        raise ValueError(f"digest style must be one of {', '.join(DIGEST_STYLES)}, got {style!r}")
    build = compact_item if style == "compact" else rich_item
    return [_with_footer(build(story, max_related=max_related, color=color), footer) for story in stories]


def _with_footer(item: StoryItem, footer: str | None) -> StoryItem:
    """The story's embed with the digest's footer line under it."""
    text = plain(footer)
    if not text:
        return item
    return replace(item, embed={**item.embed, "footer": {"text": truncate(text, FOOTER_LIMIT)}})


def render_digest(
    header: DigestHeader,
    stories: Sequence[Story],
    *,
    max_related: int,
    mode: str = "channel",
    style: str = "compact",
    color: int | None = None,
    footer: str | None = None,
) -> list[PlannedMessage]:
    """The messages a run posts: one embed per story, packed under Discord's limits, with a "+N" button
    per story whose coverage is not all listed. The first channel message carries the header line; thread
    mode posts a header with the story list first and the stories in the thread under it. The digest's
    `footer` is shown under every story.

    No stories → no messages (the run posts nothing).
    """
    if mode not in ("channel", "thread"):
        raise ValueError(f"digest mode must be 'channel' or 'thread', got {mode!r}")
    if not stories:
        return []
    shade = BRAND_COLOR if color is None else color
    items = render_items(stories, style=style, max_related=max_related, color=shade, footer=footer)
    groups = pack_embeds([item.embed for item in items])
    planned: list[PlannedMessage] = []
    if mode == "thread":
        planned.append(PlannedMessage(payload=message([_summary_embed(stories, shade)], header_line(header))))
    for number, group in enumerate(groups):
        content = None if mode == "thread" else header_line(header, continued=number > 0)
        payload = message([items[i].embed for i in group], content)
        rows = button_rows([items[i] for i in group])
        if rows:
            payload["components"] = rows
        planned.append(
            PlannedMessage(
                payload=payload,
                article_ids=tuple(stories[i].lead.id for i in group),
                delivered_urls=tuple(url for i in group for url in items[i].shown_urls),
                in_thread=mode == "thread",
            )
        )
    return planned


# --- role pings --------------------------------------------------------------------------------------


def role_ping(payload: Payload, role_id: int) -> Payload:
    """The message pinging exactly one role: its mention on a line under the header, and allowed_mentions
    naming that role alone (everything else the message says stays inert)."""
    pinged = {**payload, "content": f"{payload.get('content') or ''}\n<@&{int(role_id)}>".lstrip("\n"),
              "allowed_mentions": role_mentions(role_id)}
    problems = message_problems(pinged)
    if problems:
        raise ValueError("the pinged message breaks Discord limits: " + "; ".join(problems))
    return pinged


# --- forum posts -------------------------------------------------------------------------------------


def forum_post_name(settings: DigestSettings, slot_date: date) -> str:
    """A forum digest's post title: the digest's title and the run's date (plain text, ≤ 100)."""
    return truncate(plain(f"{settings.display_title}{SEPARATOR}{slot_date.isoformat()}"), THREAD_NAME_LIMIT)
