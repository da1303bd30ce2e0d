"""Shared builders for the digest core's unit tests: a digest's settings, its run context, article URLs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.config import DigestSettings
from bot.digest.select import Delivered, DigestContext

SLOT = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
WATERMARK = 3


def make_settings(**changes: Any) -> DigestSettings:
    values: dict[str, Any] = {
        "name": "daily",
        "channel_id": 100,
        "schedule": "0 8 * * *",
        "timezone": "UTC",
        "min_quality": 0,
        "topics": (),
        "providers": (),
        "keywords": (),
        "published_only": False,
        "max_age_days": None,
        "max_articles": 10,
        "max_related": 5,
        "backlog": 5,
        "mode": "channel",
        "log_channel_id": None,
    }
    values.update(changes)
    return DigestSettings(**values)


def url_of(key: str) -> str:
    return f"https://news.example/{key}"


def make_ctx(
    settings: DigestSettings | None = None,
    *,
    first_run: bool = False,
    delivered: Iterable[Delivered] = (),
    keyword_hits: frozenset[str] | None = None,
    excluded_keyword_hits: dict[str, frozenset[str]] | None = None,
) -> DigestContext:
    return DigestContext(
        settings=settings or make_settings(),
        watermark=WATERMARK,
        first_run=first_run,
        delivered={record.url: record for record in delivered},
        keyword_hits=keyword_hits,
        slot_time=SLOT,
        excluded_keyword_hits=excluded_keyword_hits or {},
    )
