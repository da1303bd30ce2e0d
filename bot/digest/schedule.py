"""When digests run: cron expressions with cron's meaning, slot keys, and the slots due after downtime.

Operators write schedules as classic five-field cron, but APScheduler's `CronTrigger` numbers weekdays from
Monday = 0 and requires day-of-month AND day-of-week to match where cron accepts either. Expressions are
therefore parsed here into explicit value sets and handed to APScheduler in a form that means the same
thing; APScheduler is used only for the calendar and time-zone arithmetic.

A slot is identified by its local wall-clock minute in the digest's time zone (`YYYY-MM-DDTHH:MM`), so the
hour repeated when clocks go back is one slot, and instants are compared in UTC.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

#: cron day-of-week numbers (0 and 7 are Sunday) as APScheduler's day names.
_WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

#: How far back to look for a clock change (DST shifts are at most a couple of hours) that affects which
#: wall-clock minutes are still to come.
_CLOCK_CHANGE_LOOKBACK = timedelta(hours=3)


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; the message says what is wrong in the operator's terms."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    #: the number the first entry of `names` stands for
    names_start: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES, 1),
    _Field("day-of-week", 0, 7, _WEEKDAY_NAMES, 0),
)


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A validated cron expression, its fields normalised into APScheduler's syntax with cron's meaning.

    `expression` is what the operator wrote (whitespace collapsed), for display. `day_of_week` uses day
    names, so APScheduler's Monday = 0 numbering never comes into play.
    """

    expression: str
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled run: its key (local wall-clock minute) and the instant it fires (aware, UTC)."""

    key: str
    fire_time: datetime


@dataclass(frozen=True, slots=True)
class DueSlots:
    """The slots between two instants: the latest is due, the older ones were missed and are summarised."""

    latest: Slot | None
    skipped_first: Slot | None
    skipped_last: Slot | None
    skipped_count: int


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`, or a ScheduleError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(f"unknown time zone {name!r}") from None


def _parse_value(text: str, field: _Field) -> int:
    lowered = text.lower()
    if field.names and lowered in field.names:
        return field.names.index(lowered) + field.names_start
    if not text.isdigit():
        raise ScheduleError(f"{field.name}: {text!r} is not a number{_names_hint(field)}")
    value = int(text)
    if not field.low <= value <= field.high:
        raise ScheduleError(f"{field.name}: {value} is out of range {field.low}-{field.high}")
    return value


def _names_hint(field: _Field) -> str:
    if not field.names:
        return ""
    return f" or a name ({field.names[0]}…{field.names[-1]})"


def _parse_field(text: str, field: _Field) -> frozenset[int]:
    """The values a cron field selects: lists, ranges, `*`, steps (`*/15`, `1-30/2`, `5/10`) and names."""
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"{field.name}: empty item in {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{field.name}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            low, high = _parse_value(start_text, field), _parse_value(end_text, field)
            if low > high:
                raise ScheduleError(f"{field.name}: range {base!r} runs backwards")
        else:
            low = _parse_value(base, field)
            high = field.high if slash else low
        values.update(range(low, high + 1, step))
    return frozenset(values)


def _compact(values: frozenset[int], field: _Field) -> str:
    """Values as `*` when a field is unrestricted, else as a comma list of runs (`1-5,10`)."""
    if values == frozenset(range(field.low, field.high + 1)):
        return "*"
    runs: list[str] = []
    ordered = sorted(values)
    start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(runs)


def parse_cron(expr: str) -> CronSpec:
    """A five-field cron expression (minute hour day-of-month month day-of-week) with cron's meaning.

    Day-of-week 0 and 7 are Sunday, 1 is Monday; names (`mon-fri`, `sun`, `jan`) are accepted. Cron runs
    when day-of-month OR day-of-week matches but APScheduler needs both, so an expression restricting both
    is refused rather than silently meaning something else.
    """
    if not isinstance(expr, str):
        raise ScheduleError(f"a schedule must be a cron expression string, not {type(expr).__name__}")
    parts = expr.split()
    if len(parts) != 5:
        raise ScheduleError(
            f"cron expression {expr.strip()!r} has {len(parts)} field(s); expected 5: "
            "minute hour day-of-month month day-of-week (for example '0 8 * * mon-fri')"
        )
    minute, hour, day, month, weekday = (
        _parse_field(text, field) for text, field in zip(parts, _FIELDS, strict=True)
    )
    weekdays = frozenset(value % 7 for value in weekday)
    day_text = _compact(day, _FIELDS[2])
    weekday_text = _compact(weekdays, _Field("day-of-week", 0, 6))
    if day_text != "*" and weekday_text != "*":
        raise ScheduleError(
            f"cron expression {expr.strip()!r} restricts both day-of-month and day-of-week; "
            "use one of them and set the other to *"
        )
    if not any(min(day) <= _longest_month_days(m) for m in month):
        raise ScheduleError(f"cron expression {expr.strip()!r} never fires: no selected month has that day")
    return CronSpec(
        expression=" ".join(parts),
        minute=_compact(minute, _FIELDS[0]),
        hour=_compact(hour, _FIELDS[1]),
        day=day_text,
        month=_compact(month, _FIELDS[3]),
        day_of_week="*" if weekday_text == "*" else ",".join(_WEEKDAY_NAMES[d] for d in sorted(weekdays)),
    )


def _longest_month_days(month: int) -> int:
    return calendar.monthrange(2024, month)[1]  # a leap year: February can have 29 days


def cron_trigger(spec: CronSpec, tz: ZoneInfo) -> CronTrigger:
    """The APScheduler trigger that fires exactly when cron would for `spec` in time zone `tz`."""
    return CronTrigger(
        minute=spec.minute,
        hour=spec.hour,
        day=spec.day,
        month=spec.month,
        day_of_week=spec.day_of_week,
        timezone=tz,
    )


def _require_aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _fires_after(trigger: CronTrigger, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after `after`, in UTC, earliest first.

    APScheduler fires a wall-clock time that falls in a spring gap at the instant it names with the old
    offset, which lies after the gap — but only when its search starts before the gap. So when clocks
    changed shortly before `after`, the search starts before the change and earlier fires are dropped.
    """
    moment = after
    earlier = after - _CLOCK_CHANGE_LOOKBACK
    zone_of_trigger = trigger.timezone
    if earlier.astimezone(zone_of_trigger).utcoffset() != after.astimezone(zone_of_trigger).utcoffset():
        moment = earlier
    while True:
        fire = trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))
        if fire is None:
            return
        moment = fire.astimezone(UTC)
        if moment > after:
            yield moment


def next_fire(spec: CronSpec, tz: ZoneInfo, after: datetime) -> datetime:
    """The first fire time strictly after `after`, as an aware UTC datetime."""
    start = _require_aware(after, "after")
    for fire in _fires_after(cron_trigger(spec, tz), start):
        return fire
    raise ScheduleError(f"cron expression {spec.expression!r} never fires after {start.isoformat()}")


def slot_key(fire_time: datetime, tz: ZoneInfo) -> str:
    """The slot's key: its local wall-clock minute in `tz`, `YYYY-MM-DDTHH:MM`."""
    return _require_aware(fire_time, "fire_time").astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def manual_slot_key(now: datetime) -> str:
    """The key of a run started by hand: `manual-` and the UTC instant, e.g. `manual-20261122T101500Z`."""
    return "manual-" + _require_aware(now, "now").strftime("%Y%m%dT%H%M%SZ")


def _wall_clock_reached(moment: datetime, tz: ZoneInfo) -> str:
    """The latest local wall-clock minute shown at or before `moment`.

    Normally that is the minute at `moment`; while clocks repeat an hour after going back it is the last
    minute shown before the change, so slots in the repeated hour are recognised as already passed.
    """
    reached = slot_key(moment, tz)
    earlier = moment - _CLOCK_CHANGE_LOOKBACK
    earlier_offset = earlier.astimezone(tz).utcoffset()
    if earlier_offset is None or earlier_offset <= moment.astimezone(tz).utcoffset():
        return reached
    before, after = earlier, moment
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(tz).utcoffset() == earlier_offset:
            before = middle
        else:
            after = middle
    return max(reached, slot_key(before, tz))


def due_slots(spec: CronSpec, tz: ZoneInfo, *, after: datetime, until: datetime) -> DueSlots:
    """The slots with `after` < fire time ≤ `until`: the latest is due, the rest summarised as skipped.

    Slots are distinct by key, so the autumn repeat of a wall-clock minute counts once — also across
    calls, since minutes already shown before `after` are not offered again. A wall-clock time that does
    not exist (spring gap) is offered once, at the instant APScheduler picks just after the gap. Memory
    stays constant however many slots were missed.
    """
    start = _require_aware(after, "after")
    end = _require_aware(until, "until")
    newest_key = _wall_clock_reached(start, tz)
    latest: Slot | None = None
    skipped_first: Slot | None = None
    skipped_last: Slot | None = None
    skipped_count = 0
    for fire in _fires_after(cron_trigger(spec, tz), start):
        if fire > end:
            break
        key = slot_key(fire, tz)
        if key <= newest_key:
            continue
        newest_key = key
        if latest is not None:
            skipped_first = skipped_first or latest
            skipped_last = latest
            skipped_count += 1
        latest = Slot(key, fire)
    return DueSlots(latest, skipped_first, skipped_last, skipped_count)


def shortest_interval(spec: CronSpec) -> timedelta:
    """The shortest time between two runs of the schedule: the closest two times of day it fires at, or
    from its last time of day to its first on the next day (counted as if any two days could follow each
    other, so the answer never overstates the interval)."""
    minutes = sorted(_parse_field(spec.minute, _FIELDS[0]))
    hours = sorted(_parse_field(spec.hour, _FIELDS[1]))
    times = [hour * 60 + minute for hour in hours for minute in minutes]
    gaps = [later - earlier for earlier, later in pairwise(times)]
    gaps.append(24 * 60 - times[-1] + times[0])
    return timedelta(minutes=min(gaps))
