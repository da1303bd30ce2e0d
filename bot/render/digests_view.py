"""Digests as people see them in `/digest`: the server's digest list, a run's preview, an explanation.

Plain data in, payloads out (via `message.message`, which checks every Discord limit). Digest names,
schedules and reasons are our own or validated data but still pass through `clean`; a channel is shown as
a mention, which Discord renders as a link and never as a ping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.digest.explain import Explanation
from bot.digest.model import Plan
from bot.digest.schedule import describe, parse_cron
from bot.render.embeds import BRAND_COLOR, NOTICE_COLORS, notice
from bot.render.message import embed_length, message
from bot.render.text import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    clean,
    discord_timestamp,
    link_urls,
    truncate,
)

#: How many digests one list embed shows (one field each; Discord allows 25 fields).
DIGESTS_PER_PAGE = 10
DETAIL_LINES_SHOWN = 8


@dataclass(frozen=True, slots=True)
class DigestListItem:
    """One digest in `/digest list`. `next_run` is None when the schedule never fires again."""

    name: str
    schedule: str
    timezone: str
    channel_id: int
    next_run: datetime | None
    paused_reason: str | None
    source: str
    mode: str


def _code(text: str) -> str:
    """Inline code, where markdown escapes would show literally: backticks are the only thing to keep out."""
    return "`" + text.replace("`", "'") + "`"


def _state(item: DigestListItem) -> str:
    if item.paused_reason is not None:
        return f"⏸️ Paused: {truncate(clean(item.paused_reason), 300)}"
    return "▶️ Active"


def _digest_field(item: DigestListItem) -> dict[str, Any]:
    if item.next_run is None:
        next_run = "never (the schedule does not fire again)"
    else:
        next_run = f"{discord_timestamp(item.next_run, 'f')} ({discord_timestamp(item.next_run, 'R')})"
    origin = "config file" if item.source == "config" else "created in Discord"
    lines = [
        f"Posts: {clean(describe(parse_cron(item.schedule), item.timezone))} ({_code(item.schedule)})",
        f"Next run: {next_run}" if item.paused_reason is None else f"Next slot: {next_run}",
        f"Channel: <#{item.channel_id}>" + (" · in a thread" if item.mode == "thread" else ""),
        f"{_state(item)} · {origin}",
    ]
    return {
        "name": truncate(clean(item.name), 256),
        "value": truncate("\n".join(lines), FIELD_VALUE_LIMIT),
        "inline": False,
    }


def digest_list_payload(items: Sequence[DigestListItem], *, guild_name: str | None = None) -> dict[str, Any]:
    """This server's digests, one field each; more than fit on one embed are counted in the footer."""
    if not items:
        return message([notice(
            "This server has no digests yet. Server admins can create one with `/admin digest create`."
        )])
    shown = items[:DIGESTS_PER_PAGE]
    title = f"Digests in {clean(guild_name)}" if guild_name else "Digests in this server"
    embed: dict[str, Any] = {
        "title": truncate(title, TITLE_LIMIT),
        "color": BRAND_COLOR,
        "fields": [_digest_field(item) for item in shown],
    }
    footer = "Preview one with /digest preview"
    if len(items) > len(shown):
        footer = f"{len(shown)} of {len(items)} digests shown · {footer}"
    embed["footer"] = {"text": footer}
    return message([embed])


def ping_line(role: str) -> str:
    """What a digest's role ping does; `role` is how the role is shown (a mention inside an embed, which
    never pings, or its name in message text)."""
    return f"Pings {role} once per run, on its first message."


def preview_payload(name: str, plan: Plan, *, ping_role_name: str | None = None) -> dict[str, Any]:
    """A run's first message(s) as one ephemeral reply: its embeds in order, as many as one message holds,
    with a first line saying what is shown (and, by name, the role the run pings, if any)."""
    if plan.is_empty:
        return message([notice(
            f"The next run of **{clean(name)}** would post nothing: no new articles match it."
        )])
    embeds: list[dict[str, Any]] = []
    used = 0
    total = sum(len(item.payload.get("embeds") or ()) for item in plan.messages)
    for item in plan.messages:
        for embed in item.payload.get("embeds") or ():
            size = embed_length(embed)
            if len(embeds) >= EMBEDS_PER_MESSAGE or used + size > EMBED_TOTAL_LIMIT:
                break
            embeds.append(embed)
            used += size
        else:
            continue
        break
    header = plan.messages[0].payload.get("content") or ""
    parts = len(plan.messages)
    summary = f"Preview of the next run: {parts} message{'s' if parts != 1 else ''}"
    if len(embeds) < total:
        summary += f", showing the first {len(embeds)} of {total} embeds"
    summary += "." if ping_role_name is None else f". {ping_line('@' + clean(ping_role_name))}"
    content = truncate(f"{summary}\n{header}", CONTENT_LIMIT)
    return message(embeds, content)


def explanation_payload(
    name: str, article_id: str, explanation: Explanation, *, channel_id: int | None = None,
    ping_role: int | None = None,
) -> dict[str, Any]:
    """Why an article would or would not be in a digest's next run: the verdict, the reason, the facts.

    URLs in the facts are working links; the digest's channel and the role it pings are mentions (an
    embed never pings)."""
    verdict = "In the next run" if explanation.included else "Not in the next run"
    icon = "✅" if explanation.included else "❌"
    reason = link_urls(explanation.reason, text_limit=DESCRIPTION_LIMIT - 200)
    if channel_id is not None:
        reason = f"{reason}\nDigest **{clean(name)}** posts to <#{int(channel_id)}>."
    if ping_role is not None:
        reason = f"{reason}\n{ping_line(f'<@&{int(ping_role)}>')}"
    embed: dict[str, Any] = {
        "title": truncate(f"{icon} {verdict} of {clean(name)}", TITLE_LIMIT),
        "color": BRAND_COLOR if explanation.included else NOTICE_COLORS["warning"],
        "description": truncate(reason, DESCRIPTION_LIMIT),
    }
    if explanation.detail:
        shown = [f"• {link_urls(line)}" for line in explanation.detail[:DETAIL_LINES_SHOWN]]
        embed["fields"] = [{"name": "Details", "value": truncate("\n".join(shown), FIELD_VALUE_LIMIT),
                            "inline": False}]
    embed["footer"] = {"text": truncate(f"Article {article_id}", 2048)}
    return message([embed])
