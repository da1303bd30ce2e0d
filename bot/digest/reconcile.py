"""What a digest should do now: the pure decisions behind scheduled delivery.

The database is the source of truth and every caller (the scheduler's alarm, start-up, the minute sweep,
a manual run) asks the same question — given where the digest's ledger stands and the time now, which slot
is due and which were missed? — so the answer must not depend on who asks or how often. Deciding is kept
apart from doing: these functions take plain values and return plain values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.digest.schedule import CronSpec, DueSlots, Slot, due_slots

SKIPPED_DOWNTIME = "downtime"
SKIPPED_PAUSED = "paused"

#: Discord accepts a nonce of at most 25 characters.
NONCE_LENGTH = 25

#: Waits between attempts at a message Discord could not take (503, exhausted 5xx retries, timeouts,
#: dropped connections); after the last one the run is given up as failed (or partial).
RETRY_DELAYS: tuple[float, ...] = (2.0, 5.0, 15.0, 30.0, 60.0)

#: Discord JSON error codes that mean the bot cannot post to the channel until someone acts.
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
THREAD_ALREADY_EXISTS = 160004


@dataclass(frozen=True, slots=True)
class SkippedRange:
    """Missed slots summarised as one ledger row: the first and last of them and how many."""

    first: Slot
    last: Slot
    count: int
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What reconcile does for a digest now: claim one slot (or none), record one skipped range (or none),
    and move the digest's `last_checked` to `checked_until` so the same slots are never offered again."""

    claim: Slot | None
    skipped: SkippedRange | None
    checked_until: datetime


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def decide(
    spec: CronSpec,
    tz: ZoneInfo,
    *,
    schedule_from: datetime,
    last_checked: datetime,
    paused: bool,
    now: datetime,
) -> Decision:
    """Which slot to claim and which to record as skipped, for slots after both `schedule_from` (creation
    or the last schedule change: earlier slots never post) and `last_checked` (already handled), up to `now`.

    Running: the latest due slot is claimed and the older ones (downtime) become one skipped range.
    Paused: every due slot is skipped as paused, so resuming never catches up. Calling again with the
    returned `checked_until` finds nothing new: the decision is idempotent.
    """
    current = _utc(now, "now")
    after = max(_utc(schedule_from, "schedule_from"), _utc(last_checked, "last_checked"))
    if after >= current:
        return Decision(claim=None, skipped=None, checked_until=after)
    due = due_slots(spec, tz, after=after, until=current)
    if paused:
        return Decision(claim=None, skipped=_all_skipped(due, SKIPPED_PAUSED), checked_until=current)
    skipped = None
    if due.skipped_first is not None and due.skipped_last is not None:
        skipped = SkippedRange(due.skipped_first, due.skipped_last, due.skipped_count, SKIPPED_DOWNTIME)
    return Decision(claim=due.latest, skipped=skipped, checked_until=current)


def _all_skipped(due: DueSlots, reason: str) -> SkippedRange | None:
    if due.latest is None:
        return None
    first = due.skipped_first or due.latest
    return SkippedRange(first, due.latest, due.skipped_count + 1, reason)


def message_nonce(digest: str, slot: str, part: int) -> str:
    """The nonce of one planned message: the same for the same (digest, slot, part) on every attempt, so
    Discord answers a repeat within its nonce window with the message it already created."""
    digest_bytes = hashlib.blake2b(f"{digest}\x00{slot}\x00{part}".encode(), digest_size=16).hexdigest()
    return digest_bytes[:NONCE_LENGTH]


def first_unsent(sent: Sequence[bool]) -> int | None:
    """The index of the first part not yet confirmed by Discord, or None when every part was sent.

    Parts go out in order, so everything before this index was confirmed; this part's outcome is unknown
    when a previous attempt may have reached Discord before a crash."""
    for index, done in enumerate(sent):
        if not done:
            return index
    return None


def final_status(sent: Sequence[bool]) -> str:
    """The ledger status of a finished run from which of its parts went out."""
    if not sent:
        return "empty"
    if all(sent):
        return "posted"
    return "partial" if any(sent) else "failed"


def is_channel_unusable(status: int, code: int) -> bool:
    """Whether a Discord error means the bot cannot post there until someone acts (pause, don't retry)."""
    return status == 403 or (status == 404 and code in (UNKNOWN_CHANNEL, UNKNOWN_GUILD))


def pause_reason(status: int, code: int, channel_id: int) -> str:
    """The operator-facing reason a digest was paused after a Discord error on its channel."""
    if code == MISSING_PERMISSIONS:
        return f"missing permissions in channel {channel_id} (Discord error 50013): grant Send Messages"
    if code == MISSING_ACCESS or status == 403:
        return f"no access to channel {channel_id} (Discord error {code or status}): let the bot view it"
    if code == UNKNOWN_GUILD:
        return f"the server of channel {channel_id} is gone (Discord error 10004)"
    return f"channel {channel_id} no longer exists (Discord error 10003)"


def is_transient(status: int) -> bool:
    """Whether an HTTP status is worth retrying later in the same slot: server trouble, or a 429 that
    outlasted discord.py's own rate-limit retries."""
    return status >= 500 or status in (408, 429)
