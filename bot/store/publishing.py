"""Publishing (crossposting) digest messages in announcement channels: which messages wait to be
published, which were, and until when Discord's rate limit holds a run's publishing back.

The state lives in the run's plan summary (`digest_runs.plan`, JSON) under `publishing`:
`{"pending": [parts], "published": [parts], "refused": [parts], "after": ISO time or null}`. A message
enters `pending` in the same transaction that records it as sent, so a crash can never lose it: a
pending message is published later, however many restarts come between. Like the rest of the ledger it
is shared state (`db.state`), read and written with portable SQL; the JSON is read in Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.store.db import Database
from bot.store.engine import StateConnection
from bot.store.rows import to_json, utc_text

PUBLISHED = "published"
REFUSED = "refused"
#: Messages older than this are no longer published (following servers would get stale news).
PUBLISH_HORIZON = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class PendingPublish:
    """A sent message still to be published: where it is, and which run and part it belongs to."""

    run_id: int
    part: int
    message_id: int
    channel_id: int


def _state(plan: str | None) -> dict[str, Any]:
    summary = json.loads(plan) if plan else {}
    state = summary.get("publishing") or {}
    return {"pending": list(state.get("pending", [])), "published": list(state.get("published", [])),
            "refused": list(state.get("refused", [])), "after": state.get("after")}


async def _update(
    conn: StateConnection, run_id: int, change: Callable[[dict[str, Any]], None]
) -> None:
    """Read-modify-write the run's publishing state inside the caller's write transaction (the run's row
    locked where writers run at once)."""
    row = await conn.fetchone("SELECT plan FROM digest_runs WHERE id = ?" + conn.row_lock, (run_id,))
    if row is None:
        raise LookupError(f"there is no digest run {run_id}")
    summary = json.loads(row[0]) if row[0] else {}
    state = _state(row[0])
    change(state)
    summary["publishing"] = state
    await conn.execute("UPDATE digest_runs SET plan = ? WHERE id = ?", (to_json(summary), run_id))


async def mark_pending(conn: StateConnection, run_id: int, part: int) -> None:
    """The part was sent to an announcement channel and is to be published (call inside the transaction
    that records it as sent)."""

    def add(state: dict[str, Any]) -> None:
        if part not in state["pending"] and part not in state["published"] and part not in state["refused"]:
            state["pending"].append(part)

    await _update(conn, run_id, add)


async def set_result(db: Database, run_id: int, part: int, result: str) -> None:
    """Discord published the part (or refused to for good): it is no longer pending."""
    if result not in (PUBLISHED, REFUSED):
        raise ValueError(f"a publish ends as {PUBLISHED!r} or {REFUSED!r}, got {result!r}")

    def settle(state: dict[str, Any]) -> None:
        state["pending"] = [item for item in state["pending"] if item != part]
        if part not in state[result]:
            state[result].append(part)

    async with db.state.write() as conn:
        await _update(conn, run_id, settle)


async def delay(db: Database, run_id: int, until: datetime) -> None:
    """Discord's rate limit holds the run's publishing back until `until`."""

    def hold(state: dict[str, Any]) -> None:
        state["after"] = utc_text(until)

    async with db.state.write() as conn:
        await _update(conn, run_id, hold)


async def due(db: Database, digest: str, *, now: datetime) -> list[PendingPublish]:
    """The digest's messages waiting to be published whose wait is over, oldest run and part first
    (runs claimed within PUBLISH_HORIZON)."""
    query = (
        "SELECT r.id, r.plan FROM digest_runs r WHERE r.digest = ? AND r.claimed_at >= ? "
        "AND r.plan LIKE '%\"publishing\"%' ORDER BY r.id"
    )
    since = utc_text(now - PUBLISH_HORIZON)
    found: list[PendingPublish] = []
    async with db.state.read() as conn:
        runs = await conn.fetch(query, (digest, since))
        for run_id, plan in runs:
            state = _state(plan)
            if not state["pending"]:
                continue
            if state["after"] is not None and datetime.fromisoformat(state["after"]) > now:
                continue
            sent = {
                row[0]: (row[1], row[2])
                for row in await conn.fetch(
                    "SELECT part, message_id, channel_id FROM run_messages WHERE run_id = ? "
                    "AND message_id IS NOT NULL ORDER BY part", (run_id,)
                )
            }
            found.extend(PendingPublish(run_id, part, *sent[part]) for part in sorted(state["pending"])
                         if part in sent)
    return found


def counts(plan: str | None) -> tuple[int, int, datetime | None]:
    """(published, pending, held back until) of a run's plan summary, for the delivery log."""
    state = _state(plan)
    after = datetime.fromisoformat(state["after"]) if state["after"] and state["pending"] else None
    return len(state["published"]), len(state["pending"]), after
