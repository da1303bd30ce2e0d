"""The audit log: who changed what from Discord, with the state before and after, and how it ended."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.store.db import Database
from bot.store.rows import to_json, utc_text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    guild_id: int | None
    action: str
    target: str | None
    before: Any
    after: Any
    outcome: str


# --- the audit log ----------------------------------------------------------------------------------


async def record_audit(
    db: Database,
    *,
    actor_id: int | None,
    guild_id: int | None,
    action: str,
    target: str | None,
    before: Any,
    after: Any,
    outcome: str,
    now: datetime,
) -> int:
    """Remember who changed what (state before → after, as JSON-ready data) and how it ended."""
    async with db.state.write() as conn:
        row = await conn.fetchone(
            "INSERT INTO audit_log (at, actor_id, guild_id, action, target, before, after, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (utc_text(now), actor_id, guild_id, action, target,
             None if before is None else to_json(before), None if after is None else to_json(after), outcome),
        )
    assert row is not None
    return int(row[0])


async def prune_audit(db: Database, *, now: datetime, keep_days: int = 365) -> int:
    """Forget audit entries older than `keep_days`; returns how many went."""
    cutoff = utc_text(now - timedelta(days=keep_days))
    async with db.state.write() as conn:
        removed = await conn.execute("DELETE FROM audit_log WHERE at < ?", (cutoff,))
    if removed:
        log.info("audit log: %d entr%s older than %d days pruned", removed, "y" if removed == 1 else "ies",
                 keep_days)
    return removed


async def audit_entries(
    db: Database,
    *,
    guild_id: int | None = None,
    target: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEntry]:
    """Audit entries newest first, optionally of one guild and/or one target."""
    conditions: list[str] = []
    params: list[Any] = []
    for column, value in (("guild_id", guild_id), ("target", target)):
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    query = (
        "SELECT id, at, actor_id, guild_id, action, target, before, after, outcome FROM audit_log "
        f"{where} ORDER BY id DESC LIMIT ? OFFSET ?"
    )
    async with db.state.read() as conn:
        rows = await conn.fetch(query, [*params, limit, offset])
    return [
        AuditEntry(
            id=row[0], at=datetime.fromisoformat(row[1]), actor_id=row[2], guild_id=row[3], action=row[4],
            target=row[5], before=None if row[6] is None else json.loads(row[6]),
            after=None if row[7] is None else json.loads(row[7]), outcome=row[8],
        )
        for row in rows
    ]


