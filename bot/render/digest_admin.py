"""Replies of `/admin digest …`: plain payloads in the admin's terms, built with the renderer's limits.

Names typed by an admin are shown cut short and escaped until validated; the audit trail gets the same
wording as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.config import DigestSettings
from bot.digest import edits
from bot.digest.model import REFUSED, RunOutcome
from bot.digest.schedule import describe, parse_cron, zone
from bot.render.embeds import NOTICE_COLORS
from bot.render.message import message
from bot.render.text import DESCRIPTION_LIMIT, FOOTER_LIMIT, TITLE_LIMIT, clean, discord_timestamp, truncate
from bot.store.digests import DigestRecord
from bot.store.runs import LogEntry

#: Delivery-log rows per page.
LOG_PAGE_SIZE = 10
#: How much of a typed digest name a reply shows.
NAME_SHOWN = 60


def reply(text: str, *, kind: str = "info", title: str | None = None, footer: str | None = None
          ) -> dict[str, Any]:
    """One embed of the bot's own wording. Unlike `notice`, channel and user mentions stay live so they
    show as links (embeds never ping, and every payload allows no mentions); pass typed text through
    `clean` first."""
    embed: dict[str, Any] = {"color": NOTICE_COLORS[kind], "description": truncate(text, DESCRIPTION_LIMIT)}
    if title is not None:
        embed["title"] = truncate(title, TITLE_LIMIT)
    if footer is not None:
        embed["footer"] = {"text": truncate(footer, FOOTER_LIMIT)}
    return message([embed])


def typed_name(name: str) -> str:
    """A digest name as typed, on one line and cut short: it may be anything until validated."""
    return truncate(" ".join(name.split()), NAME_SHOWN)


def shown_name(name: str) -> str:
    return clean(typed_name(name))


def unknown_text(name: str) -> str:
    return f"There is no digest named **{shown_name(name)}** in this server. See `/digest list`."


_MARKDOWN_OR_ESCAPE = re.compile(r"\\(.)|\*\*")


def plain_reason(text: str) -> str:
    """A reply of the bot's own wording as plain text for the audit trail: bold markers and the escapes
    `clean` added dropped (the announcement escapes it again)."""
    return _MARKDOWN_OR_ESCAPE.sub(lambda match: match.group(1) or "", text)


def next_run_text(settings: DigestSettings, moment: datetime | None) -> str:
    """The next slot (`moment`, None if the schedule never fires again) as a Discord timestamp (each
    reader's own time) and on the digest's own clock."""
    if moment is None:
        return "never (the schedule does not fire again)"
    local = moment.astimezone(zone(settings.timezone))
    return (
        f"{discord_timestamp(moment, 'F')} ({discord_timestamp(moment, 'R')}) · "
        f"{local:%Y-%m-%d %H:%M} {clean(settings.timezone)}"
    )


def schedule_words(settings: DigestSettings) -> str:
    """When the digest posts, in words ("at 08:00, Monday to Friday, Europe/London")."""
    return clean(describe(parse_cron(settings.schedule), settings.timezone))


def plain_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """The changes as one plain line for the audit trail (which escapes it when announcing)."""
    return "; ".join(edits.describe_changes(before, after, str))


def created_reply(record: DigestRecord, next_moment: datetime | None) -> dict[str, Any]:
    settings = record.settings
    lines = [
        f"Created digest **{clean(record.name)}**.",
        f"**Posts:** {schedule_words(settings)}",
        f"**Next run:** {next_run_text(settings, next_moment)}",
        "",
        *edits.settings_lines(settings.as_mapping(), clean),
    ]
    return reply("\n".join(lines), title="Digest created")


def outcome_reply(name: str, channel_id: int, outcome: RunOutcome) -> dict[str, Any]:
    """What a manual run did, in the admin's terms."""
    shown = f"**{clean(name)}**"
    detail = clean(outcome.detail or "")
    if outcome.status == "posted":
        count = outcome.messages_sent
        return reply(f"Ran {shown}: posted {count} message{'s' if count != 1 else ''} in <#{channel_id}>.")
    if outcome.status == "empty":
        return reply(f"Ran {shown}: nothing new to post in <#{channel_id}>, so nothing was posted.")
    if outcome.status == REFUSED:
        return reply(f"Did not run {shown}: {detail}.", kind="warning")
    if outcome.status == "paused":
        return reply(f"Ran {shown}, but Discord refused it and the digest is now paused: {detail}.",
                     kind="error")
    sent = f"{outcome.messages_sent} of {outcome.messages_planned} message(s) posted"
    return reply(f"Ran {shown}: {outcome.status}, {sent}. {detail}".rstrip(), kind="error")


def log_line(entry: LogEntry) -> str:
    """One delivery-log row: when, which slot, how it ended, what it posted."""
    when = discord_timestamp(entry.claimed_at, "f")
    if entry.status == "skipped":
        count = entry.skipped_count or 0
        span = clean(entry.skipped_first or "")
        if entry.skipped_last and entry.skipped_last != entry.skipped_first:
            span += f" … {clean(entry.skipped_last)}"
        reason = clean(entry.error or "")
        return f"{when} · **skipped** ({reason}): {count} slot{'s' if count != 1 else ''}, {span}"
    parts = [f"{when} · `{clean(entry.slot_key)}` · **{entry.status}**"]
    if entry.messages_planned:
        parts.append(f"{entry.messages_sent}/{entry.messages_planned} message(s)")
    parts.append(f"{entry.article_count} article{'s' if entry.article_count != 1 else ''}")
    if entry.published or entry.publish_pending:
        parts.append(f"published {entry.published}/{entry.published + entry.publish_pending}")
    line = " · ".join(parts)
    if entry.error:
        line += f"\n  ↳ {truncate(clean(entry.error), 300)}"
    if entry.publish_pending:
        when = (f" from {discord_timestamp(entry.publish_after, 'f')}" if entry.publish_after is not None
                else " at the next check")
        line += (f"\n  ↳ publishing delayed by Discord's rate limit (10 an hour per channel): "
                 f"{entry.publish_pending} message(s) wait, tried again{when}")
    return line


def log_page(name: str, entries: Sequence[LogEntry], *, page: int, pages: int, total: int
             ) -> dict[str, Any]:
    """A page of a digest's delivery log, newest first."""
    start = (page - 1) * LOG_PAGE_SIZE
    rows = entries[start : start + LOG_PAGE_SIZE]
    footer = f"Page {page}/{pages} · newest first"
    if total > len(entries):
        footer += f" · the newest {len(entries)} runs shown"
    return reply("\n".join(log_line(entry) for entry in rows), title=f"Delivery log of {name}", footer=footer)
