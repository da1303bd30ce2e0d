"""What the `digestbot preview` and `digestbot digests` commands show, as data plus plain-text formatters.

No Discord here: the preview is the plan of the digest's next run from the current database, and the
schedule table lists every digest (configured or created from Discord) with its next run time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.compose import compose_next, default_digest, next_run, without_filters
from bot.config import Config, DigestSettings
from bot.digest.model import Payload, Plan
from bot.digest.schedule import describe, parse_cron, zone
from bot.render.digest import parse_header, role_ping, thread_name
from bot.render.html_preview import PreviewMessage, preview_page
from bot.render.text import iso_utc, markdown_to_plain
from bot.store import digests as store
from bot.store.db import Database

_DISCORD_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::[tTdDfFR])?>")


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One digest in `digestbot digests`: its next run in UTC and in its own timezone (None if it never
    fires again). `state` is `active`, `paused: <reason>` or `not created yet` (configured, but the bot
    has not run since it was added)."""

    name: str
    source: str
    channel_id: int
    schedule: str
    timezone: str
    next_run_utc: datetime | None
    next_run_local: datetime | None
    state: str


def _find_digest(
    config: Config, records: Sequence[store.DigestRecord], name: str
) -> DigestSettings | store.DigestRecord:
    """A config digest by name, else a stored one by key (`<server id>/<name>`) or by a name only one
    server uses."""
    for settings in config.digests:
        if settings.name == name:
            return settings
    by_key = [record for record in records if record.key == name]
    named = by_key or [record for record in records if record.name == name]
    if len(named) == 1:
        return named[0]
    if named:
        keys = ", ".join(record.key for record in named)
        raise store.DigestNotFound(f"several servers have a digest called {name!r}; name one of: {keys}")
    known = sorted({settings.name for settings in config.digests} | {record.key for record in records})
    listing = ", ".join(known) if known else "none are configured"
    raise store.DigestNotFound(f"there is no digest called {name!r} (digests: {listing})")


async def preview_plan(
    db: Database, config: Config, name: str | None, *, now: datetime, everything: bool = False
) -> tuple[DigestSettings, Plan]:
    """The digest and the plan of its next run. Without `name`: the first configured digest, else a new
    digest with the configured `digest_defaults`. `everything` lifts the digest's article filters. Raises
    DigestNotFound for an unknown name."""
    if name is None:
        settings = config.digests[0] if config.digests else default_digest(config)
    else:
        found = _find_digest(config, await store.list_digests(db), name)
        if isinstance(found, store.DigestRecord):
            if everything:
                found = replace(found, settings=without_filters(found.settings))
            plan, _ = await compose_next(db, found, now=now, slot_time=next_run(found.settings, now))
            return found.settings, plan
        settings = found
    if everything:
        settings = without_filters(settings)
    plan, _ = await compose_next(db, settings, now=now, slot_time=next_run(settings, now))
    return settings, plan


def plan_html(settings: DigestSettings, plan: Plan, *, now: datetime) -> str:
    """The plan as a self-contained HTML page drawn like Discord (what `preview --html` writes)."""
    tz = zone(settings.timezone)
    header = parse_header(plan.messages[0].payload.get("content")) if plan.messages else None
    channel = f"channel {settings.channel_id}" if settings.channel_id else "the digest's channel"
    return preview_page(
        settings.name,
        [PreviewMessage(payload, message.in_thread)
         for payload, message in zip(plan_payloads(plan, ping_role=settings.ping_role), plan.messages,
                                     strict=True)],
        channel=channel,
        thread_name=thread_name(settings.display_title, header[1] if header else None, tz),
        tz=tz,
        now=now,
    )


def _settings_summary(settings: DigestSettings) -> str:
    """The settings that decide which articles a run posts, as one phrase."""
    parts = [f"min_quality {settings.min_quality}", f"up to {settings.max_articles} stories"]
    if settings.published_only:
        parts.append("published only")
    if settings.max_age_days is not None:
        parts.append(f"at most {settings.max_age_days} days old")
    for label, values in (("topics", settings.topics), ("providers", settings.providers),
                          ("keywords", settings.keywords), ("excluding topics", settings.exclude_topics),
                          ("excluding providers", settings.exclude_providers),
                          ("excluding keywords", settings.exclude_keywords)):
        if values:
            parts.append(f"{label} {', '.join(values)}")
    return ", ".join(parts)


def preview_basis(config: Config, settings: DigestSettings, name: str | None, *, everything: bool) -> str:
    """The preview's first line: which digest and which settings it used, and how to see more or less."""
    summary = _settings_summary(settings)
    if everything:
        return f"Every filter lifted (--all): {summary}; without --all the digest's own settings apply."
    if name is None and not config.digests:
        where = f"digest_defaults in {config.source}" if config.source else "the built-in digest_defaults"
        return f"A new digest with {where}: {summary}; --all shows every article."
    return f"Digest {settings.name!r} as configured: {summary}; --all shows every article."


def plan_payloads(plan: Plan, *, ping_role: int | None = None) -> list[Payload]:
    """The plan's messages exactly as they would be sent (what `preview --json` prints): the first one
    pings `ping_role` when the digest has one (and the bot may still ping it when the run posts)."""
    payloads = [dict(message.payload) for message in plan.messages]
    if payloads and ping_role is not None:
        payloads[0] = role_ping(payloads[0], ping_role)
    return payloads


def _terminal(text: str) -> str:
    """Discord timestamps (`<t:unix:style>`) as UTC dates and Discord markdown as plain text, since a
    terminal renders neither."""
    return markdown_to_plain(_DISCORD_TIMESTAMP.sub(
        lambda match: datetime.fromtimestamp(int(match.group(1)), UTC).strftime("%Y-%m-%d %H:%M UTC"), text
    ))


def _embed_text(embed: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    title = embed.get("title")
    if title:
        lines.append(f"  ## {title}")
    if embed.get("url"):
        lines.append(f"     {embed['url']}")
    for text in (embed.get("description"), (embed.get("author") or {}).get("name")):
        if text:
            lines.extend(f"     {line}" for line in str(text).splitlines())
    for field in embed.get("fields") or ():
        lines.append(f"     {field.get('name')}:")
        lines.extend(f"       {line}" for line in str(field.get("value") or "").splitlines())
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(f"     — {footer}")
    return lines


def format_plan(settings: DigestSettings, plan: Plan, *, basis: str | None = None) -> str:
    """The plan as terminal text: `basis` (which settings), each message's header line, then its embeds
    (markdown left as is)."""
    first = [basis] if basis else []
    if plan.is_empty:
        empty = f"Digest {settings.name!r}: nothing new to post; its next run would post nothing."
        return "\n".join([*first, empty])
    lines = [*first, f"Digest {settings.name!r}: the next run posts {len(plan.messages)} message(s)."]
    if settings.ping_role is not None:
        lines.append(f"Its first message pings role {settings.ping_role} (once per run).")
    for number, payload in enumerate(plan_payloads(plan, ping_role=settings.ping_role), start=1):
        where = " (in the thread)" if plan.messages[number - 1].in_thread else ""
        content = str(payload.get("content") or "").replace("\n", " ")
        lines.append("")
        lines.append(f"Message {number}{where}: {content}")
        for embed in payload.get("embeds") or ():
            lines.extend(_embed_text(embed))
    return _terminal("\n".join(lines))


def _state(record: store.DigestRecord | None) -> str:
    if record is None:
        return "not created yet"
    if record.paused_reason is not None:
        return f"paused: {record.paused_reason}"
    return "active"


async def digest_schedule_table(db: Database, config: Config, *, now: datetime) -> list[ScheduleRow]:
    """Every digest — configured ones in file order, then those created from Discord by name, each shown
    with its key (`<server id>/<name>`) — with its next run after `now` (or after the point its schedule
    was last checked, if that is later)."""
    records = {record.key: record for record in await store.list_digests(db)}
    entries: list[tuple[str, DigestSettings, store.DigestRecord | None, str]] = [
        (settings.name, settings, records.get(settings.name), "config") for settings in config.digests
    ]
    configured = {settings.name for settings in config.digests}
    entries += [
        (key, record.settings, record, record.source)
        for key, record in records.items()
        if key not in configured
    ]
    rows = []
    for shown, settings, record, source in entries:
        after = max(now, record.last_checked) if record is not None else now
        utc = next_run(settings, after)
        local = None if utc is None else utc.astimezone(zone(settings.timezone))
        rows.append(
            ScheduleRow(
                name=shown,
                source=source,
                channel_id=settings.channel_id,
                schedule=settings.schedule,
                timezone=settings.timezone,
                next_run_utc=utc,
                next_run_local=local,
                state=_state(record),
            )
        )
    return rows


def schedule_row_json(row: ScheduleRow) -> dict[str, Any]:
    """A row as JSON-ready data (times as ISO 8601; UTC ends in `Z`)."""
    return {
        "name": row.name,
        "source": row.source,
        "channel_id": row.channel_id,
        "schedule": row.schedule,
        "timezone": row.timezone,
        "when": describe(parse_cron(row.schedule), row.timezone),
        "next_run_utc": iso_utc(row.next_run_utc) if row.next_run_utc else None,
        "next_run_local": row.next_run_local.isoformat() if row.next_run_local else None,
        "state": row.state,
    }


def format_schedule_table(rows: Sequence[ScheduleRow]) -> str:
    """The rows as an aligned text table for the terminal."""
    if not rows:
        return "No digests are configured or created."
    header = ("NAME", "WHEN", "SCHEDULE", "NEXT RUN (LOCAL)", "NEXT RUN (UTC)", "CHANNEL", "STATE")
    table = [header]
    for row in rows:
        local = row.next_run_local.strftime("%Y-%m-%d %H:%M %Z") if row.next_run_local else "never"
        utc = row.next_run_utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if row.next_run_utc else "never"
        when = describe(parse_cron(row.schedule), row.timezone)
        table.append((row.name, when, row.schedule, local, utc, str(row.channel_id), row.state))
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )
