"""When digests run: cron expressions with cron's meaning, slot keys, and the slots due after downtime.

Operators write schedules as classic five-field cron or as a plain preset (`daily 08:00`, `weekdays
08:00`, `mondays 09:30`, `hourly`, `every 6 hours`), which `parse_cron` translates to cron; `describe`
says any schedule back in words ("at 08:00, Monday to Friday"). APScheduler's `CronTrigger` numbers
weekdays from Monday = 0 and requires day-of-month AND day-of-week to match where cron accepts either.
Expressions are therefore parsed here into explicit value sets and handed to APScheduler in a form that
means the same thing; APScheduler is used only for the calendar and time-zone arithmetic.

A slot is identified by its local wall-clock minute in the digest's time zone (`YYYY-MM-DDTHH:MM`), so the
hour repeated when clocks go back is one slot, and instants are compared in UTC.
"""

from __future__ import annotations

import calendar
import difflib
import itertools
import re
import zoneinfo
from collections.abc import Iterator, Sequence
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
    """The IANA time zone called `name`, or a ScheduleError naming it and the closest real names."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        pass
    suggestions = closest_zones(name) if isinstance(name, str) else []
    if not suggestions:
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name such as Europe/London)")
    raise ScheduleError(f"unknown time zone {name!r} — did you mean {_either(suggestions)}?")


def _either(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


_ZONE_NAMES: tuple[str, ...] = ()


def _zone_names() -> tuple[str, ...]:
    """Every IANA zone name with a region (`Europe/London`, not the legacy `GB`) and UTC, read once."""
    global _ZONE_NAMES
    if not _ZONE_NAMES:
        names = {name for name in zoneinfo.available_timezones() if "/" in name} | {"UTC"}
        _ZONE_NAMES = tuple(sorted(names))
    return _ZONE_NAMES


def _zone_key(text: str) -> str:
    return re.sub(r"[\s_-]+", "_", text.strip()).casefold()


def closest_zones(typed: str, *, limit: int = 3) -> list[str]:
    """The IANA names someone typing `typed` most likely meant: the same name in other letter case, a
    zone whose city is `typed` ("London" → Europe/London, "new york" → America/New_York), else the names
    and cities spelled most alike."""
    key = _zone_key(typed)
    if not key:
        return []
    names = _zone_names()
    by_key = {_zone_key(name): name for name in names}
    if key in by_key:
        return [by_key[key]]
    cities: dict[str, list[str]] = {}
    for name in names:
        cities.setdefault(_zone_key(name.rsplit("/", 1)[-1]), []).append(name)
    if key in cities:
        return cities[key][:limit]
    found: list[str] = []
    for close in difflib.get_close_matches(key, list(cities), n=limit, cutoff=0.75):
        found += cities[close]
    for close in difflib.get_close_matches(key, list(by_key), n=limit, cutoff=0.75):
        found.append(by_key[close])
    return list(dict.fromkeys(found))[:limit]


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


# --- presets ----------------------------------------------------------------------------------------

PRESET_EXAMPLES = "daily 08:00, weekdays 08:00, mondays 09:30, hourly, every 6 hours"
_DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_CLOCK = re.compile(r"(?:at\s+)?(\d{1,2}):(\d{2})")
_DAY_WORDS: dict[str, str] = {
    "daily": "*", "every day": "*", "weekdays": "mon-fri", "weekends": "sat,sun",
    **{f"{day}s": day[:3] for day in _DAY_NAMES},
    **{day: day[:3] for day in _DAY_NAMES},
}
_EVERY_HOURS = re.compile(r"every\s+(\d{1,2})\s+hours?")


def _clock_time(text: str, preset: str) -> tuple[int, int]:
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise ScheduleError(f"schedule {preset!r}: {text!r} is not a time; write it as HH:MM, e.g. 08:00")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleError(f"schedule {preset!r}: {text!r} is not a time of day (00:00 to 23:59)")
    return hour, minute


def preset_cron(text: str) -> str | None:
    """The cron expression a plain preset stands for, or None when `text` is not one.

    `daily HH:MM`, `weekdays HH:MM`, `weekends HH:MM`, `mondays HH:MM` (any day), `hourly`,
    `every N hours` (1–23, from midnight). A preset with a bad time raises ScheduleError.
    """
    preset = " ".join(text.split()).lower()
    if preset in ("hourly", "every hour"):
        return "0 * * * *"
    every = _EVERY_HOURS.fullmatch(preset)
    if every is not None:
        hours = int(every.group(1))
        if not 1 <= hours <= 23:
            raise ScheduleError(
                f"schedule {text.strip()!r}: every 1 to 23 hours (for once a day use daily 08:00)"
            )
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    for words, weekdays in _DAY_WORDS.items():
        if preset.startswith(words + " "):
            hour, minute = _clock_time(preset[len(words) + 1 :], text.strip())
            return f"{minute} {hour} * * {weekdays}"
    return None


def parse_cron(expr: str) -> CronSpec:
    """A five-field cron expression (minute hour day-of-month month day-of-week) with cron's meaning, or a
    preset (`preset_cron`), which becomes the cron expression it stands for.

    Day-of-week 0 and 7 are Sunday, 1 is Monday; names (`mon-fri`, `sun`, `jan`) are accepted. Cron runs
    when day-of-month OR day-of-week matches but APScheduler needs both, so an expression restricting both
    is refused rather than silently meaning something else.
    """
    if not isinstance(expr, str):
        raise ScheduleError(f"a schedule must be a cron expression string, not {type(expr).__name__}")
    parts = expr.split()
    if len(parts) != 5:
        translated = preset_cron(expr)
        if translated is not None:
            return parse_cron(translated)
        raise ScheduleError(
            f"cron expression {expr.strip()!r} has {len(parts)} field(s); expected 5: "
            "minute hour day-of-month month day-of-week (for example '0 8 * * mon-fri'), "
            f"or a preset: {PRESET_EXAMPLES}"
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


# --- in words -----------------------------------------------------------------------------------------

_WEEKDAY_WORDS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
#: Listing more times of day than this reads worse than the cron expression.
_TIMES_LISTED = 6


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _step(values: Sequence[int]) -> int | None:
    """The common difference of evenly spaced `values` (at least three of them), else None."""
    if len(values) < 3:
        return None
    steps = {later - earlier for earlier, later in itertools.pairwise(values)}
    return steps.pop() if len(steps) == 1 else None


def _time_words(minutes: list[int], hours: list[int]) -> str | None:
    every_hour = len(hours) == 24
    if len(minutes) == 1:
        minute = minutes[0]
        if every_hour:
            return "every hour, on the hour" if minute == 0 else f"every hour at :{minute:02d}"
        step = _step(hours)
        if step is not None and step * len(hours) == 24:
            return f"every {step} hours from {hours[0]:02d}:{minute:02d}"
        if step == 1:
            return f"every hour from {hours[0]:02d}:{minute:02d} to {hours[-1]:02d}:{minute:02d}"
        if len(hours) <= _TIMES_LISTED:
            return "at " + _and([f"{hour:02d}:{minute:02d}" for hour in hours])
        return None
    step = _step(minutes)
    if every_hour and step is not None and 60 % step == 0 and minutes[0] == 0:
        return f"every {step} minutes"
    return None


def _weekday_words(weekdays: list[int]) -> str:
    ordered = sorted(weekdays, key=lambda day: (day - 1) % 7)  # Monday first
    if ordered == [6, 0]:
        return "Saturday and Sunday"
    monday_based = [(day - 1) % 7 for day in ordered]
    if len(ordered) >= 3 and monday_based == list(range(monday_based[0], monday_based[-1] + 1)):
        return f"{_WEEKDAY_WORDS[ordered[0]]} to {_WEEKDAY_WORDS[ordered[-1]]}"
    if len(ordered) == 1:
        return f"on {_WEEKDAY_WORDS[ordered[0]]}s"
    return "on " + _and([_WEEKDAY_WORDS[day] for day in ordered])


def describe(spec: CronSpec, timezone: str | None = None) -> str:
    """The schedule in words, e.g. "at 08:00, Monday to Friday, Europe/London"; an expression words
    would not make clearer is quoted as cron ("cron 5,17 */3 * * *, UTC")."""
    minute, hour, day, month, weekday = (
        sorted(_parse_field(text, field))
        for text, field in zip(spec.expression.split(), _FIELDS, strict=True)
    )
    weekdays = sorted({value % 7 for value in weekday})
    when = _time_words(minute, hour)
    if when is None:
        parts = [f"cron {spec.expression}"]
    else:
        parts = [when]
        if spec.day != "*":
            parts.append(f"on day{'s' if len(day) > 1 else ''} {_and([str(d) for d in day])} of the month")
        elif spec.day_of_week != "*":
            parts.append(_weekday_words(weekdays))
        elif when.startswith("at "):
            parts.append("every day")
        if spec.month != "*":
            parts.append("in " + _and([calendar.month_name[m] for m in month]))
    if timezone:
        parts.append(timezone)
    return ", ".join(parts)
