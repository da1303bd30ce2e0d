"""Conversions shared by the digest, ledger and audit tables: UTC timestamps as sortable ISO 8601 text,
compact JSON, and parameter lists cut to a size every engine accepts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

#: SQLite's default limit on bound parameters is 32766; stay well below it per statement.
PARAMETER_CHUNK = 900


def utc_text(moment: datetime) -> str:
    """A timezone-aware moment as UTC ISO 8601 text with microseconds (text order is time order)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamps must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def utc_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def chunked(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), PARAMETER_CHUNK):
        yield items[start : start + PARAMETER_CHUNK]


def placeholders(count: int) -> str:
    return ",".join("?" * count)
