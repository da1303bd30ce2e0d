"""A digest run's stories rendered as the exact messages it posts, packed within Discord's limits.

Each message's `content` is a one-line header that doubles as its marker: delivery finds a message it
already posted by parsing that line (`parse_marker`), so the line is deterministic for a given digest,
slot and part.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bot.config import DigestSettings
from bot.digest.model import Payload, PlannedMessage, Story
from bot.render.embeds import (
    BRAND_COLOR,
    RenderedEmbed,
    article_embed,
    embed_length,
    message,
    message_problems,
    role_mentions,
)
from bot.render.text import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FOOTER_LIMIT,
    ZERO_WIDTH_SPACE,
    clean,
    plain,
    truncate,
)

MARKER_ICON = "📰"
SEPARATOR = " · "
#: Digest excerpts are kept short so a run reads as a digest, not a wall of text.
DIGEST_EXCERPT_LIMIT = 600
THREAD_NAME_LIMIT = 100

_MARKER = re.compile(
    rf"^{MARKER_ICON} \*\*(?P<name>.+?)\*\*"
    r"(?: · (?P<slot>.+?))?"
    r" · (?P<count>\d+) stor(?:y|ies)"
    r"(?: · part (?P<part>\d+)/(?P<parts>\d+))?$"
)
_INERT_MENTION = re.compile(rf"(@){ZERO_WIDTH_SPACE}(?=everyone|here)|(<){ZERO_WIDTH_SPACE}", re.IGNORECASE)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class DigestHeader:
    """What the header line says: the digest, its slot in its timezone (None before a slot is claimed, as
    in previews) and how many stories the run posts."""

    digest: str
    slot_label: str | None
    story_count: int


def header_line(header: DigestHeader, part: int = 1, parts: int = 1) -> str:
    """`📰 **name** · slot · N stories · part n/N` (slot only when claimed, part only when split)."""
    if header.slot_label is not None and ("·" in header.slot_label or "\n" in header.slot_label):
        raise ValueError(f"slot label {header.slot_label!r} may not contain '·' or a line break")
    pieces = [f"{MARKER_ICON} **{clean(header.digest)}**"]
    if header.slot_label:
        pieces.append(clean(header.slot_label))
    noun = "story" if header.story_count == 1 else "stories"
    pieces.append(f"{header.story_count} {noun}")
    if parts > 1:
        pieces.append(f"part {part}/{parts}")
    return SEPARATOR.join(pieces)


def _unclean(text: str) -> str:
    """Undo `clean` on a name we rendered ourselves, so parsed markers compare equal to config names."""
    return _ESCAPED.sub(r"\1", _INERT_MENTION.sub(lambda m: m.group(1) or m.group(2), text))


def parse_marker(content: str | None) -> tuple[str, str | None, int, int] | None:
    """(digest, slot_label, part, parts) from a header line, or None when `content` is not one.

    An unsplit message reads as part 1 of 1. Only the first line is the header (a role ping follows it).
    """
    if not content:
        return None
    match = _MARKER.match(content.split("\n", 1)[0])
    if match is None:
        return None
    slot = match.group("slot")
    part = int(match.group("part") or 1)
    parts = int(match.group("parts") or 1)
    return _unclean(match.group("name")), _unclean(slot) if slot else None, part, parts


def marker_matches(content: str | None, digest: str, slot_label: str | None, part: int, parts: int) -> bool:
    """Whether `content` is the header line of that digest's slot and part."""
    return parse_marker(content) == (digest, slot_label, part, parts)


def thread_name(header: DigestHeader) -> str:
    """The name of the thread a thread-mode digest opens under its header (plain text, ≤ 100)."""
    name = f"{header.digest} · {header.slot_label}" if header.slot_label else header.digest
    return truncate(plain(name), THREAD_NAME_LIMIT)


def pack_embeds(rendered: Sequence[RenderedEmbed]) -> list[list[int]]:
    """Indexes of embeds grouped into messages in order: ≤ 10 embeds and ≤ 6000 characters each."""
    groups: list[list[int]] = []
    used = 0
    for index, item in enumerate(rendered):
        size = embed_length(item.embed)
        if size > EMBED_TOTAL_LIMIT:
            raise ValueError(f"story embed {index + 1} has {size} characters, over {EMBED_TOTAL_LIMIT}")
        if not groups or len(groups[-1]) >= EMBEDS_PER_MESSAGE or used + size > EMBED_TOTAL_LIMIT:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += size
    return groups


def _summary_embed(stories: Sequence[Story]) -> dict[str, Any]:
    """The thread-mode header's embed: the run's story titles, numbered (no links: it delivers nothing)."""
    lines = []
    for number, story in enumerate(stories, start=1):
        provider = story.lead.provider.label if story.lead.provider else None
        suffix = f" — {truncate(clean(provider), 80)}" if provider else ""
        lines.append(f"{number}. {truncate(clean(story.lead.title), 200)}{suffix}")
    description = ""
    for index, line in enumerate(lines):
        rest = len(lines) - index
        candidate = f"{description}\n{line}" if description else line
        if len(candidate) + len(f"\n+{rest} more") > DESCRIPTION_LIMIT and rest > 1:
            description += f"\n+{rest} more"
            break
        description = candidate
    return {"title": "In this digest", "color": BRAND_COLOR, "description": description}


def render_digest(
    header: DigestHeader,
    stories: Sequence[Story],
    *,
    max_related: int,
    mode: str = "channel",
    excerpt_limit: int = DIGEST_EXCERPT_LIMIT,
    footer: str | None = None,
) -> list[PlannedMessage]:
    """The messages a run posts: one embed per story, packed under Discord's limits, each headed by the
    marker line. Thread mode adds a header message first and marks the rest as thread items. The digest's
    `footer` (plain text, mentions inert) leads every story's footer.

    No stories → no messages (the run posts nothing).
    """
    if mode not in ("channel", "thread"):
        raise ValueError(f"digest mode must be 'channel' or 'thread', got {mode!r}")
    if not stories:
        return []
    rendered = [
        _with_footer(
            article_embed(story.lead, related=story.related, max_related=max_related,
                          excerpt_limit=excerpt_limit),
            footer,
        )
        for story in stories
    ]
    groups = pack_embeds(rendered)
    offset = 1 if mode == "thread" else 0
    parts = len(groups) + offset
    planned: list[PlannedMessage] = []
    if mode == "thread":
        planned.append(
            PlannedMessage(payload=message([_summary_embed(stories)], header_line(header, 1, parts)))
        )
    for number, group in enumerate(groups, start=1 + offset):
        planned.append(
            PlannedMessage(
                payload=message([rendered[i].embed for i in group], header_line(header, number, parts)),
                article_ids=tuple(stories[i].lead.id for i in group),
                delivered_urls=tuple(url for i in group for url in rendered[i].shown_urls),
                in_thread=mode == "thread",
            )
        )
    return planned


def _with_footer(item: RenderedEmbed, footer: str | None) -> RenderedEmbed:
    """The story embed with the digest's footer text in front of its own (`footer · ID … · /article`)."""
    text = plain(footer)
    if not text:
        return item
    own = (item.embed.get("footer") or {}).get("text")
    combined = f"{text}{SEPARATOR}{own}" if own else text
    return replace(item, embed={**item.embed, "footer": {"text": truncate(combined, FOOTER_LIMIT)}})


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


def digest_title(settings: DigestSettings) -> str:
    """What a digest is called where members read it (its name)."""
    return settings.name


def forum_post_name(settings: DigestSettings, slot_date: date) -> str:
    """A forum digest's post title: the digest's title and the run's date (plain text, ≤ 100)."""
    return truncate(plain(f"{digest_title(settings)}{SEPARATOR}{slot_date.isoformat()}"), THREAD_NAME_LIMIT)
