"""The heartbeat file and `check_health`: fresh, stale, missing, disconnected, database error, malformed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.ops.health import (
    Heartbeat,
    HeartbeatError,
    check_health,
    heartbeat_path,
    read_heartbeat,
    write_heartbeat,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def beat(
    *, age_s: float = 5, gateway: bool = True, database: bool = True, latency: float | None = 42.0,
    stopped: bool = False,
) -> Heartbeat:
    return Heartbeat(
        written_at=NOW - timedelta(seconds=age_s),
        gateway_connected=gateway,
        latency_ms=latency,
        database_ok=database,
        pid=1234,
        stopped=stopped,
    )


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    original = beat(latency=None)
    write_heartbeat(path, original)
    assert read_heartbeat(path) == original
    assert list(tmp_path.iterdir()) == [path], "the temporary file is renamed, not left behind"


def test_write_replaces_the_previous_beat_and_creates_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "data" / "heartbeat.json"
    write_heartbeat(path, beat(age_s=60))
    write_heartbeat(path, beat(age_s=1, gateway=False))
    assert read_heartbeat(path) == beat(age_s=1, gateway=False)


def test_written_at_is_stored_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    plus_two = timezone(timedelta(hours=2))
    write_heartbeat(path, Heartbeat(NOW.astimezone(plus_two), True, 10.0, True, 1))
    assert json.loads(path.read_text())["written_at"] == "2025-03-01T12:00:00+00:00"
    assert read_heartbeat(path).written_at == NOW


def test_naive_written_at_is_refused_when_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        write_heartbeat(tmp_path / "hb.json", Heartbeat(datetime(2025, 1, 1), True, None, True, 1))


def test_fresh_connected_heartbeat_is_healthy(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, beat(age_s=5))
    healthy, message = check_health(path, now=NOW)
    assert healthy
    assert "latency 42 ms" in message


def test_stale_heartbeat_says_by_how_much(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, beat(age_s=150))
    healthy, message = check_health(path, now=NOW, max_age_s=90)
    assert not healthy
    assert "stale by 60 s" in message


def test_a_stopped_bot_is_unhealthy_at_once(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, beat(age_s=6, stopped=True))
    assert check_health(path, now=NOW) == (False, "the bot stopped 6 s ago (pid 1234, clean shutdown)")


def test_a_heartbeat_from_the_future_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, beat(age_s=-60))
    assert check_health(path, now=NOW) == (
        False,
        "heartbeat is dated 60 s in the future (pid 1234): the clock was set back or the file was not "
        "written by the bot; it is trusted again once the bot rewrites it",
    )
    write_heartbeat(path, beat(age_s=-1))
    assert check_health(path, now=NOW)[0], "a second ahead is clock granularity, not a problem"


def test_the_heartbeat_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, beat())
    write_heartbeat(path, beat(age_s=1))
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_heartbeat_without_the_stopped_field_is_a_running_bot(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    path.write_text(
        '{"written_at": "2025-03-01T11:59:55+00:00", "gateway_connected": true, "latency_ms": 1,'
        ' "database_ok": true, "pid": 1}', encoding="utf-8",
    )
    assert check_health(path, now=NOW)[0]


def test_missing_heartbeat_file_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    healthy, message = check_health(path, now=NOW)
    assert not healthy
    assert "no heartbeat file" in message and str(path) in message


def test_disconnected_gateway_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, beat(gateway=False))
    healthy, message = check_health(path, now=NOW)
    assert not healthy
    assert "gateway disconnected" in message


def test_database_error_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, beat(database=False))
    healthy, message = check_health(path, now=NOW)
    assert not healthy
    assert "database error" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not a JSON heartbeat"),
        ("[1, 2]", "expected a JSON object"),
        ('{"gateway_connected": true, "latency_ms": 1, "database_ok": true, "pid": 1}', "written_at"),
        (
            '{"written_at": "yesterday", "gateway_connected": true, "latency_ms": 1,'
            ' "database_ok": true, "pid": 1}',
            "not an ISO 8601 timestamp",
        ),
        (
            '{"written_at": "2025-03-01T12:00:00+00:00", "gateway_connected": "yes", "latency_ms": 1,'
            ' "database_ok": true, "pid": 1}',
            "'gateway_connected' has the wrong type",
        ),
    ],
)
def test_malformed_heartbeat_is_unhealthy_with_the_reason(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "heartbeat.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HeartbeatError, match=expected):
        read_heartbeat(path)
    healthy, message = check_health(path, now=NOW)
    assert not healthy
    assert "invalid heartbeat" in message and expected in message


def test_heartbeat_path_prefers_the_environment(tmp_path: Path) -> None:
    database = tmp_path / "data" / "digestbot.sqlite3"
    assert heartbeat_path(database, {}) == tmp_path / "data" / "heartbeat.json"
    assert heartbeat_path(database, {"DIGESTBOT_HEARTBEAT": "/data/hb.json"}) == Path("/data/hb.json")
