"""Cron with cron's meaning on top of APScheduler, slot keys, DST and the downtime summary."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.schedule import (
    ScheduleError,
    Slot,
    closest_zones,
    cron_trigger,
    describe,
    due_slots,
    manual_slot_key,
    next_fire,
    parse_cron,
    shortest_interval,
    slot_key,
    zone,
)

LONDON = ZoneInfo("Europe/London")
UTC_ZONE = ZoneInfo("UTC")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# 2026-06-01 is a Monday; 2026-06-07 is a Sunday.
@pytest.mark.parametrize(
    ("weekday_field", "apscheduler_field", "first_fire"),
    [
        ("0", "sun", utc(2026, 6, 7, 9)),
        ("7", "sun", utc(2026, 6, 7, 9)),
        ("1", "mon", utc(2026, 6, 1, 9)),
        ("sun", "sun", utc(2026, 6, 7, 9)),
        ("mon-fri", "mon,tue,wed,thu,fri", utc(2026, 6, 1, 9)),
        ("1-5", "mon,tue,wed,thu,fri", utc(2026, 6, 1, 9)),
        ("5-7", "sun,fri,sat", utc(2026, 6, 5, 9)),
        ("0,6", "sun,sat", utc(2026, 6, 6, 9)),
        ("SAT", "sat", utc(2026, 6, 6, 9)),
        ("*/2", "sun,tue,thu,sat", utc(2026, 6, 2, 9)),
        ("0-7", "*", utc(2026, 6, 1, 9)),
    ],
)
def test_day_of_week_has_crons_meaning(
    weekday_field: str, apscheduler_field: str, first_fire: datetime
) -> None:
    spec = parse_cron(f"0 9 * * {weekday_field}")
    assert spec.day_of_week == apscheduler_field
    assert next_fire(spec, UTC_ZONE, utc(2026, 5, 31, 23, 59)) == first_fire


def test_fields_are_normalised() -> None:
    spec = parse_cron("  */15   1,2,3 * jan-mar,dec   * ")
    assert spec.expression == "*/15 1,2,3 * jan-mar,dec *"
    assert (spec.minute, spec.hour, spec.day, spec.month, spec.day_of_week) == (
        "0,15,30,45",
        "1-3",
        "*",
        "1-3,12",
        "*",
    )


def test_steps_and_single_value_steps() -> None:
    assert parse_cron("5/20 * * * *").minute == "5,25,45"
    assert parse_cron("0 0-12/6 * * *").hour == "0,6,12"


def test_every_fifteen_minutes_fires_on_quarter_hours() -> None:
    spec = parse_cron("*/15 * * * *")
    assert next_fire(spec, UTC_ZONE, utc(2026, 1, 1, 10, 0)) == utc(2026, 1, 1, 10, 15)
    assert next_fire(spec, UTC_ZONE, utc(2026, 1, 1, 10, 14, 59)) == utc(2026, 1, 1, 10, 15)


def test_next_fire_in_a_non_utc_zone_is_strictly_after_and_in_utc() -> None:
    spec = parse_cron("0 8 * * mon-fri")
    new_york = zone("America/New_York")
    # Friday 2026-07-03 08:00 EDT = 12:00 UTC; exactly then, the next is Monday 2026-07-06 08:00 EDT.
    assert next_fire(spec, new_york, utc(2026, 7, 3, 11, 0)) == utc(2026, 7, 3, 12, 0)
    fire = next_fire(spec, new_york, utc(2026, 7, 3, 12, 0))
    assert fire == utc(2026, 7, 6, 12, 0)
    assert fire.tzinfo is UTC


def test_trigger_fires_on_the_same_instants() -> None:
    spec = parse_cron("30 7 * * 0")
    trigger = cron_trigger(spec, LONDON)
    fire = trigger.get_next_fire_time(None, utc(2026, 6, 1))
    assert fire.astimezone(UTC) == next_fire(spec, LONDON, utc(2026, 6, 1)) == utc(2026, 6, 7, 6, 30)


def test_restricting_both_day_fields_is_refused() -> None:
    with pytest.raises(ScheduleError, match="both day-of-month and day-of-week; use one of them"):
        parse_cron("0 9 1 * mon")


def test_a_stepped_day_of_month_counts_as_a_restriction() -> None:
    with pytest.raises(ScheduleError, match="use one of them"):
        parse_cron("0 9 */2 * 1-5")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 4 field"),
        ("* * * * * *", "has 6 field"),
        ("", "has 0 field"),
        ("60 * * * *", "minute: 60 is out of range 0-59"),
        ("0 24 * * *", "hour: 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month: 0 is out of range 1-31"),
        ("0 0 * 13 *", "month: 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week: 8 is out of range 0-7"),
        ("0 0 * * funday", "day-of-week: 'funday' is not a number"),
        ("every day at 9", "'at 9' is not a time; write it as HH:MM"),
        ("daily 25:00", "'25:00' is not a time of day"),
        ("every 24 hours", "every 1 to 23 hours"),
        ("fortnightly 08:00", "or a preset: daily 08:00, weekdays 08:00"),
        ("x y z w v", "minute: 'x' is not a number"),
        ("*/0 * * * *", "step '0' must be a positive number"),
        ("1,,2 * * * *", "empty item"),
        ("0 9 * * fri-mon", "range 'fri-mon' runs backwards"),
        ("0 0 ? * *", "day-of-month: '?' is not a number"),
        ("0 0 30 feb *", "never fires"),
    ],
)
def test_bad_expressions_are_explained(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse_cron(expression)


def test_february_29th_is_accepted() -> None:
    spec = parse_cron("0 0 29 2 *")
    assert next_fire(spec, UTC_ZONE, utc(2026, 1, 1)) == utc(2028, 2, 29)


@pytest.mark.parametrize(
    ("preset", "cron"),
    [
        ("daily 08:00", "0 8 * * *"),
        ("Daily at 8:05", "5 8 * * *"),
        ("weekdays 08:00", "0 8 * * mon-fri"),
        ("weekends 10:30", "30 10 * * sat,sun"),
        ("mondays 09:30", "30 9 * * mon"),
        ("sunday 18:00", "0 18 * * sun"),
        ("hourly", "0 * * * *"),
        ("every 6 hours", "0 */6 * * *"),
        ("every 1 hour", "0 * * * *"),
    ],
)
def test_presets_become_cron(preset: str, cron: str) -> None:
    assert parse_cron(preset) == parse_cron(cron)
    assert parse_cron(preset).expression == cron


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("weekdays 08:00", "at 08:00, Monday to Friday, Europe/London"),
        ("daily 08:00", "at 08:00, every day, Europe/London"),
        ("mondays 09:30", "at 09:30, on Mondays, Europe/London"),
        ("hourly", "every hour, on the hour, Europe/London"),
        ("every 6 hours", "every 6 hours from 00:00, Europe/London"),
        ("0 8,18 * * 0,6", "at 08:00 and 18:00, Saturday and Sunday, Europe/London"),
        ("0 8 * * mon,wed,fri", "at 08:00, on Monday, Wednesday and Friday, Europe/London"),
        ("30 7 1,15 * *", "at 07:30, on days 1 and 15 of the month, Europe/London"),
        ("0 9 * 1,7 *", "at 09:00, every day, in January and July, Europe/London"),
        ("*/15 * * * *", "every 15 minutes, Europe/London"),
        ("0 8-18 * * *", "every hour from 08:00 to 18:00, Europe/London"),
        ("5,17 */3 * * *", "cron 5,17 */3 * * *, Europe/London"),
    ],
)
def test_every_schedule_is_said_back_in_words(schedule: str, words: str) -> None:
    assert describe(parse_cron(schedule), "Europe/London") == words


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("London", ["Europe/London"]),
        ("new york", ["America/New_York"]),
        ("europe/london", ["Europe/London"]),
        ("Londn", ["Europe/London"]),
        ("utc", ["UTC"]),
        ("Mars/Base", []),
    ],
)
def test_closest_zones(typed: str, suggested: list[str]) -> None:
    assert closest_zones(typed) == suggested


def test_unknown_time_zone() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'London' — did you mean Europe/London\\?"):
        zone("London")
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Base'"):
        zone("Mars/Base")
    with pytest.raises(ScheduleError, match="unknown time zone"):
        zone("../etc/passwd")
    assert zone("Europe/London") == LONDON


def test_slot_key_is_local_wall_clock_minute() -> None:
    assert slot_key(utc(2026, 7, 1, 7, 30, 12), LONDON) == "2026-07-01T08:30"
    assert slot_key(utc(2026, 1, 1, 7, 30), LONDON) == "2026-01-01T07:30"


def test_autumn_repeat_shares_one_slot_key() -> None:
    first, second = utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)  # 01:30 BST, then 01:30 GMT
    assert slot_key(first, LONDON) == slot_key(second, LONDON) == "2026-10-25T01:30"


def test_manual_slot_key() -> None:
    assert manual_slot_key(datetime(2026, 11, 22, 10, 15, 0, 999, tzinfo=UTC)) == "manual-20261122T101500Z"
    paris = datetime(2026, 11, 22, 11, 15, tzinfo=ZoneInfo("Europe/Paris"))
    assert manual_slot_key(paris) == "manual-20261122T101500Z"


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        slot_key(datetime(2026, 1, 1), LONDON)


def test_downtime_runs_the_latest_slot_and_summarises_the_rest() -> None:
    spec = parse_cron("0 * * * *")
    due = due_slots(spec, UTC_ZONE, after=utc(2026, 5, 1, 9, 30), until=utc(2026, 5, 1, 12, 10))
    assert due.latest == Slot("2026-05-01T12:00", utc(2026, 5, 1, 12))
    assert due.skipped_first == Slot("2026-05-01T10:00", utc(2026, 5, 1, 10))
    assert due.skipped_last == Slot("2026-05-01T11:00", utc(2026, 5, 1, 11))
    assert due.skipped_count == 2


def test_window_is_open_at_the_start_and_closed_at_the_end() -> None:
    spec = parse_cron("0 * * * *")
    due = due_slots(spec, UTC_ZONE, after=utc(2026, 5, 1, 10), until=utc(2026, 5, 1, 11))
    assert due.latest == Slot("2026-05-01T11:00", utc(2026, 5, 1, 11))
    assert due.skipped_count == 0
    assert due.skipped_first is None
    assert due.skipped_last is None


def test_nothing_due() -> None:
    spec = parse_cron("0 9 * * *")
    due = due_slots(spec, UTC_ZONE, after=utc(2026, 5, 1, 9, 1), until=utc(2026, 5, 1, 20))
    assert (due.latest, due.skipped_first, due.skipped_last, due.skipped_count) == (None, None, None, 0)


def test_a_week_of_per_minute_slots_is_summarised() -> None:
    spec = parse_cron("* * * * *")
    due = due_slots(spec, LONDON, after=utc(2026, 3, 26), until=utc(2026, 4, 2))
    assert due.latest == Slot("2026-04-02T01:00", utc(2026, 4, 2))
    assert due.skipped_first == Slot("2026-03-26T00:01", utc(2026, 3, 26, 0, 1))
    assert due.skipped_count == 7 * 24 * 60 - 1


DAILY_0130 = parse_cron("30 1 * * *")


def test_autumn_change_gives_one_0130_slot() -> None:
    due = due_slots(DAILY_0130, LONDON, after=utc(2026, 10, 24, 12), until=utc(2026, 10, 25, 12))
    assert due.latest == Slot("2026-10-25T01:30", utc(2026, 10, 25, 0, 30))
    assert due.skipped_count == 0


def test_autumn_repeat_is_not_offered_again_by_a_later_sweep() -> None:
    # The first 01:30 (BST) ran; a sweep starting after it must not offer the second 01:30 (GMT).
    due = due_slots(DAILY_0130, LONDON, after=utc(2026, 10, 25, 0, 31), until=utc(2026, 10, 25, 12))
    assert due.latest is None
    assert next_fire(DAILY_0130, LONDON, utc(2026, 10, 25, 1, 31)) == utc(2026, 10, 26, 1, 30)


def test_autumn_repeated_hour_counts_each_minute_once() -> None:
    quarter_hours = parse_cron("*/15 * * * *")
    due = due_slots(quarter_hours, LONDON, after=utc(2026, 10, 24, 23, 50), until=utc(2026, 10, 25, 2, 0))
    # 01:00, 01:15, 01:30, 01:45 (BST), then the repeat is skipped, then 02:00 … 03:00 GMT.
    assert due.latest == Slot("2026-10-25T02:00", utc(2026, 10, 25, 2, 0))
    assert due.skipped_first == Slot("2026-10-25T01:00", utc(2026, 10, 25, 0, 0))
    assert due.skipped_count == 4


def test_sweeps_through_the_repeated_hour_offer_nothing_new() -> None:
    quarter_hours = parse_cron("*/15 * * * *")
    due = due_slots(quarter_hours, LONDON, after=utc(2026, 10, 25, 0, 50), until=utc(2026, 10, 25, 1, 50))
    assert due.latest is None


def test_spring_gap_slot_runs_once_just_after_the_gap() -> None:
    # 01:30 does not exist in London on 2026-03-29 (01:00 GMT jumps to 02:00 BST).
    due = due_slots(DAILY_0130, LONDON, after=utc(2026, 3, 28, 12), until=utc(2026, 3, 29, 12))
    assert due.latest is not None
    assert due.skipped_count == 0
    assert utc(2026, 3, 29, 1, 0) <= due.latest.fire_time <= utc(2026, 3, 29, 2, 0)
    assert due.latest.key == slot_key(due.latest.fire_time, LONDON)
    assert due.latest.key.startswith("2026-03-29T")


@pytest.mark.parametrize("minutes_after_gap", [0, 1, 10, 29])
def test_spring_gap_slot_is_not_lost_by_a_sweep_that_starts_after_the_gap(minutes_after_gap: int) -> None:
    after = utc(2026, 3, 29, 1, 0) + timedelta(minutes=minutes_after_gap)
    gap_fire = next_fire(DAILY_0130, LONDON, utc(2026, 3, 29, 0, 59))
    assert next_fire(DAILY_0130, LONDON, after) == gap_fire
    due = due_slots(DAILY_0130, LONDON, after=after, until=utc(2026, 3, 29, 12))
    assert due.latest is not None
    assert due.latest.fire_time == gap_fire


def test_spring_gap_then_next_day_normal() -> None:
    gap_fire = next_fire(DAILY_0130, LONDON, utc(2026, 3, 28, 12))
    assert next_fire(DAILY_0130, LONDON, gap_fire) == utc(2026, 3, 30, 0, 30)  # 01:30 BST


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [("* * * * *", 1), ("*/15 * * * *", 15), ("0,10 8 * * *", 10), ("0 8 * * *", 1440),
     ("30 8,20 * * mon-fri", 720), ("0 0,23 * * *", 60), ("59 23 * * *", 1440)],
)
def test_shortest_interval_is_the_closest_two_runs(expression: str, minutes: int) -> None:
    assert shortest_interval(parse_cron(expression)) == timedelta(minutes=minutes)
