"""Shared builders for the digest core's unit tests: one digest's settings and article URLs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.config import DigestSettings

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
