"""The one source of "now" for our own logic, so tests can move time by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current instant as an aware UTC datetime."""
    return _now()


def set_source(source: Callable[[], datetime]) -> None:
    """Replace the time source (tests use a `FakeClock`)."""
    global _now
    _now = source


def reset() -> None:
    """Back to the system clock."""
    set_source(lambda: datetime.now(UTC))


class FakeClock:
    """A controllable clock: `clock.advance(minutes=5)` moves time forward without waiting."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.current = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment.astimezone(UTC)
