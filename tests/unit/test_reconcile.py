"""The pure decisions behind scheduled delivery: due slots, skipped ranges, pauses, DST, nonces, statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.reconcile import (
    NONCE_LENGTH,
    SKIPPED_DOWNTIME,
    SKIPPED_PAUSED,
    Decision,
    decide,
    final_status,
    first_unsent,
    is_channel_unusable,
    is_transient,
    message_nonce,
    pause_reason,
)
from bot.digest.schedule import CronSpec, parse_cron

LONDON = ZoneInfo("Europe/London")
UTC_ZONE = ZoneInfo("UTC")
HOURLY = parse_cron("0 * * * *")
DAILY_0130 = parse_cron("30 1 * * *")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def decide_at(
    now: datetime,
    *,
    spec: CronSpec = HOURLY,
    tz: ZoneInfo = UTC_ZONE,
    schedule_from: datetime,
    last_checked: datetime | None = None,
    paused: bool = False,
) -> Decision:
    return decide(
        spec,
        tz,
        schedule_from=schedule_from,
        last_checked=last_checked or schedule_from,
        paused=paused,
        now=now,
    )


def sweep(
    spec: CronSpec, tz: ZoneInfo, *, start: datetime, end: datetime, step: timedelta = timedelta(minutes=1)
) -> list[Decision]:
    """Every decision a once-a-minute sweep makes between two instants, feeding each result back."""
    decisions = []
    checked = start
    now = start
    while now <= end:
        decision = decide(spec, tz, schedule_from=start, last_checked=checked, paused=False, now=now)
        decisions.append(decision)
        checked = decision.checked_until
        now += step
    return decisions


def test_nothing_is_due_before_the_first_slot() -> None:
    decision = decide_at(utc(2026, 6, 1, 9, 59), schedule_from=utc(2026, 6, 1, 9, 1))
    assert decision == Decision(claim=None, skipped=None, checked_until=utc(2026, 6, 1, 9, 59))


def test_the_slot_is_claimed_at_its_fire_time() -> None:
    decision = decide_at(utc(2026, 6, 1, 10, 0), schedule_from=utc(2026, 6, 1, 9, 1))
    assert decision.claim is not None
    assert (decision.claim.key, decision.claim.fire_time) == ("2026-06-01T10:00", utc(2026, 6, 1, 10))
    assert decision.skipped is None
    assert decision.checked_until == utc(2026, 6, 1, 10, 0)


def test_asking_again_with_the_returned_checkpoint_finds_nothing() -> None:
    first = decide_at(utc(2026, 6, 1, 10, 0, 5), schedule_from=utc(2026, 6, 1, 9, 1))
    again = decide_at(
        utc(2026, 6, 1, 10, 0, 5), schedule_from=utc(2026, 6, 1, 9, 1), last_checked=first.checked_until
    )
    later = decide_at(
        utc(2026, 6, 1, 10, 30), schedule_from=utc(2026, 6, 1, 9, 1), last_checked=first.checked_until
    )
    assert first.claim is not None
    assert again.claim is None and again.skipped is None
    assert later.claim is None and later.skipped is None


def test_a_digest_created_after_a_slot_never_posts_for_it() -> None:
    created = utc(2026, 6, 1, 10, 0, 30)
    decision = decide_at(utc(2026, 6, 1, 10, 59), schedule_from=created)
    assert decision.claim is None
    assert decision.skipped is None


def test_a_digest_created_exactly_at_a_slot_does_not_post_for_it() -> None:
    decision = decide_at(utc(2026, 6, 1, 10, 0), schedule_from=utc(2026, 6, 1, 10, 0))
    assert decision.claim is None


def test_a_reschedule_moves_the_start_past_an_older_checkpoint() -> None:
    rescheduled = utc(2026, 6, 1, 12, 10)
    decision = decide_at(
        utc(2026, 6, 1, 12, 30), schedule_from=rescheduled, last_checked=utc(2026, 6, 1, 9, 0)
    )
    assert decision.claim is None
    assert decision.skipped is None
    assert decision.checked_until == utc(2026, 6, 1, 12, 30)


def test_a_checkpoint_in_the_future_is_kept() -> None:
    decision = decide_at(
        utc(2026, 6, 1, 10, 0), schedule_from=utc(2026, 6, 1, 9, 0), last_checked=utc(2026, 6, 1, 11, 0)
    )
    assert decision == Decision(claim=None, skipped=None, checked_until=utc(2026, 6, 1, 11, 0))


def test_downtime_across_three_slots_claims_the_latest_and_skips_two_in_one_range() -> None:
    decision = decide_at(utc(2026, 6, 1, 12, 20), schedule_from=utc(2026, 6, 1, 9, 30))
    assert decision.claim is not None and decision.claim.key == "2026-06-01T12:00"
    assert decision.skipped is not None
    assert decision.skipped.reason == SKIPPED_DOWNTIME
    assert decision.skipped.count == 2
    assert decision.skipped.first.key == "2026-06-01T10:00"
    assert decision.skipped.last.key == "2026-06-01T11:00"


def test_a_week_of_a_per_minute_schedule_is_one_skipped_range() -> None:
    start = utc(2026, 6, 1, 0, 0, 30)
    decision = decide_at(start + timedelta(days=7), spec=parse_cron("* * * * *"), schedule_from=start)
    assert decision.claim is not None and decision.claim.key == "2026-06-08T00:00"
    assert decision.skipped is not None
    assert decision.skipped.count == 7 * 24 * 60 - 1
    assert decision.skipped.first.key == "2026-06-01T00:01"
    assert decision.skipped.last.key == "2026-06-07T23:59"


def test_a_paused_digest_skips_every_due_slot_as_paused() -> None:
    decision = decide_at(utc(2026, 6, 1, 12, 20), schedule_from=utc(2026, 6, 1, 9, 30), paused=True)
    assert decision.claim is None
    assert decision.skipped is not None
    assert decision.skipped.reason == SKIPPED_PAUSED
    assert (decision.skipped.first.key, decision.skipped.last.key, decision.skipped.count) == (
        "2026-06-01T10:00",
        "2026-06-01T12:00",
        3,
    )


def test_a_paused_digest_with_one_due_slot_skips_exactly_it() -> None:
    decision = decide_at(utc(2026, 6, 1, 10, 5), schedule_from=utc(2026, 6, 1, 9, 30), paused=True)
    assert decision.skipped is not None
    assert decision.skipped.first == decision.skipped.last
    assert decision.skipped.count == 1


def test_a_paused_digest_with_nothing_due_records_nothing() -> None:
    decision = decide_at(utc(2026, 6, 1, 9, 50), schedule_from=utc(2026, 6, 1, 9, 30), paused=True)
    assert decision == Decision(claim=None, skipped=None, checked_until=utc(2026, 6, 1, 9, 50))


def test_resuming_does_not_catch_up_on_slots_skipped_while_paused() -> None:
    paused = decide_at(utc(2026, 6, 1, 12, 20), schedule_from=utc(2026, 6, 1, 9, 30), paused=True)
    resumed = decide_at(
        utc(2026, 6, 1, 12, 40), schedule_from=utc(2026, 6, 1, 9, 30), last_checked=paused.checked_until
    )
    assert resumed.claim is None and resumed.skipped is None
    next_slot = decide_at(
        utc(2026, 6, 1, 13, 0), schedule_from=utc(2026, 6, 1, 9, 30), last_checked=resumed.checked_until
    )
    assert next_slot.claim is not None and next_slot.claim.key == "2026-06-01T13:00"


def test_slots_are_found_in_the_digests_time_zone() -> None:
    decision = decide_at(
        utc(2026, 6, 1, 0, 30), spec=DAILY_0130, tz=LONDON, schedule_from=utc(2026, 5, 31, 12)
    )
    assert decision.claim is not None
    assert decision.claim.key == "2026-06-01T01:30"
    assert decision.claim.fire_time == utc(2026, 6, 1, 0, 30)


def test_autumn_clock_change_runs_the_repeated_wall_clock_slot_once() -> None:
    # 2026-10-25: 01:30 London happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT).
    decisions = sweep(DAILY_0130, LONDON, start=utc(2026, 10, 24, 22), end=utc(2026, 10, 25, 4))
    claims = [d.claim for d in decisions if d.claim is not None]
    assert [(c.key, c.fire_time) for c in claims] == [("2026-10-25T01:30", utc(2026, 10, 25, 0, 30))]
    assert all(d.skipped is None for d in decisions)


def test_autumn_clock_change_after_downtime_through_both_occurrences_runs_once() -> None:
    first = decide_at(utc(2026, 10, 25, 2), spec=DAILY_0130, tz=LONDON, schedule_from=utc(2026, 10, 24, 22))
    again = decide_at(
        utc(2026, 10, 25, 3),
        spec=DAILY_0130,
        tz=LONDON,
        schedule_from=utc(2026, 10, 24, 22),
        last_checked=first.checked_until,
    )
    assert first.claim is not None and first.claim.key == "2026-10-25T01:30"
    assert first.skipped is None
    assert again.claim is None and again.skipped is None


def test_autumn_checkpoint_between_the_two_occurrences_does_not_offer_the_repeat() -> None:
    decision = decide_at(
        utc(2026, 10, 25, 1, 45),
        spec=DAILY_0130,
        tz=LONDON,
        schedule_from=utc(2026, 10, 24, 22),
        last_checked=utc(2026, 10, 25, 0, 40),
    )
    assert decision.claim is None and decision.skipped is None


def test_spring_gap_slot_runs_once_after_the_gap() -> None:
    # 2026-03-29: London jumps from 01:00 GMT to 02:00 BST, so 01:30 never shows on the wall clock.
    decisions = sweep(DAILY_0130, LONDON, start=utc(2026, 3, 28, 22), end=utc(2026, 3, 29, 4))
    claims = [d.claim for d in decisions if d.claim is not None]
    assert len(claims) == 1
    assert claims[0].fire_time >= utc(2026, 3, 29, 1, 0)
    assert claims[0].key.startswith("2026-03-29T")
    assert all(d.skipped is None for d in decisions)


def test_spring_gap_next_day_runs_normally() -> None:
    decisions = sweep(DAILY_0130, LONDON, start=utc(2026, 3, 28, 22), end=utc(2026, 3, 30, 4))
    claims = [d.claim for d in decisions if d.claim is not None]
    assert len(claims) == 2
    assert (claims[1].key, claims[1].fire_time) == ("2026-03-30T01:30", utc(2026, 3, 30, 0, 30))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        decide(HOURLY, UTC_ZONE, schedule_from=utc(2026, 1, 1), last_checked=utc(2026, 1, 1), paused=False,
               now=datetime(2026, 1, 1, 12))


def test_nonces_are_deterministic_short_and_distinct() -> None:
    nonce = message_nonce("morning", "2026-06-01T08:00", 1)
    assert nonce == message_nonce("morning", "2026-06-01T08:00", 1)
    assert len(nonce) <= NONCE_LENGTH
    others = {
        message_nonce("morning", "2026-06-01T08:00", 2),
        message_nonce("morning", "2026-06-02T08:00", 1),
        message_nonce("evening", "2026-06-01T08:00", 1),
        message_nonce("morning-2026-06-01T08:00", "", 1),
    }
    assert nonce not in others
    assert len(others) == 4


def test_the_first_unsent_part_is_where_a_run_resumes() -> None:
    assert first_unsent([True, True, False, False]) == 2
    assert first_unsent([False]) == 0
    assert first_unsent([True, True]) is None
    assert first_unsent([]) is None


@pytest.mark.parametrize(
    ("sent", "status"),
    [([], "empty"), ([True, True], "posted"), ([True, False], "partial"), ([False, False], "failed")],
)
def test_final_status_follows_what_went_out(sent: list[bool], status: str) -> None:
    assert final_status(sent) == status


@pytest.mark.parametrize(
    ("status", "code", "unusable"),
    [
        (403, 50001, True),
        (403, 50013, True),
        (404, 10003, True),
        (404, 10004, True),
        (404, 10008, False),
        (400, 50035, False),
        (503, 0, False),
        (429, 0, False),
    ],
)
def test_which_errors_pause_a_digest(status: int, code: int, unusable: bool) -> None:
    assert is_channel_unusable(status, code) is unusable


def test_pause_reasons_name_the_channel_and_the_cause() -> None:
    assert "50013" in pause_reason(403, 50013, 42) and "42" in pause_reason(403, 50013, 42)
    assert "no access" in pause_reason(403, 50001, 42)
    assert "no longer exists" in pause_reason(404, 10003, 42)
    assert "server" in pause_reason(404, 10004, 42)


@pytest.mark.parametrize(
    ("status", "transient"), [(503, True), (500, True), (408, True), (429, True), (400, False), (403, False)]
)
def test_transient_statuses(status: int, transient: bool) -> None:
    assert is_transient(status) is transient
