"""The heartbeat file: how a running bot tells `digestbot health` (and Docker's HEALTHCHECK) that it is well.

The bot rewrites a small JSON file every `HEARTBEAT_INTERVAL_SECONDS` while it runs; the health command
only reads it. A file is used rather than a socket or an HTTP port because the check runs as a separate
process in the same container, needs no open port, and a bot that hangs stops refreshing the file, which
the age check catches just like a crash.

File shape (UTF-8 JSON object)::

    {"written_at": "2025-01-31T12:00:00+00:00", "gateway_connected": true,
     "latency_ms": 41.5, "database_ok": true, "pid": 7, "stopped": false}

A clean shutdown writes a last beat with `"stopped": true`, so the check turns unhealthy at once rather than
when the beat goes stale. The file is readable by its owner only (0600).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: How often the running bot rewrites the heartbeat; `check_health` allows three missed beats.
HEARTBEAT_INTERVAL_SECONDS = 30.0
DEFAULT_MAX_AGE_SECONDS = 3 * HEARTBEAT_INTERVAL_SECONDS
#: A beat dated further ahead than this was not written by this machine's clock as it is now.
FUTURE_TOLERANCE_SECONDS = 2.0

#: The heartbeat's file name when DIGESTBOT_HEARTBEAT is unset: it sits next to the database file.
HEARTBEAT_FILE_NAME = "heartbeat.json"


class HeartbeatError(ValueError):
    """The heartbeat file exists but does not hold a valid heartbeat."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One beat: when it was written (aware UTC), and what the bot knew about its connections then."""

    written_at: datetime
    gateway_connected: bool
    latency_ms: float | None
    database_ok: bool
    pid: int
    stopped: bool = False


def heartbeat_path(database_path: Path, env: Mapping[str, str]) -> Path:
    """Where the heartbeat lives: `$DIGESTBOT_HEARTBEAT`, else `heartbeat.json` beside the database."""
    configured = env.get("DIGESTBOT_HEARTBEAT")
    if configured:
        return Path(configured)
    return Path(database_path).parent / HEARTBEAT_FILE_NAME


def _to_json(beat: Heartbeat) -> str:
    if beat.written_at.tzinfo is None:
        raise ValueError("Heartbeat.written_at must be timezone-aware")
    return json.dumps(
        {
            "written_at": beat.written_at.astimezone(UTC).isoformat(),
            "gateway_connected": beat.gateway_connected,
            "latency_ms": beat.latency_ms,
            "database_ok": beat.database_ok,
            "pid": beat.pid,
            "stopped": beat.stopped,
        }
    )


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Write the heartbeat atomically (temporary file + rename), so a reader never sees half a file; the
    temporary file, hence the heartbeat, is created 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = _to_json(beat)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _field(data: dict[str, object], name: str, kinds: tuple[type, ...], path: Path) -> object:
    if name not in data:
        raise HeartbeatError(f"{path}: missing field {name!r}")
    value = data[name]
    # bool is an int subclass: a `true` pid or latency is as wrong as a string.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise HeartbeatError(f"{path}: field {name!r} has the wrong type ({type(value).__name__})")
    return value


def read_heartbeat(path: Path) -> Heartbeat:
    """Read a heartbeat file.

    Raises FileNotFoundError when it is missing and HeartbeatError when its content is not a heartbeat.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HeartbeatError(f"{path}: not a JSON heartbeat ({error})") from None
    if not isinstance(data, dict):
        raise HeartbeatError(f"{path}: expected a JSON object, got {type(data).__name__}")
    written_text = _field(data, "written_at", (str,), path)
    try:
        written_at = datetime.fromisoformat(str(written_text))
    except ValueError:
        raise HeartbeatError(f"{path}: written_at is not an ISO 8601 timestamp: {written_text!r}") from None
    if written_at.tzinfo is None:
        written_at = written_at.replace(tzinfo=UTC)
    latency = _field(data, "latency_ms", (int, float, type(None)), path)
    return Heartbeat(
        written_at=written_at.astimezone(UTC),
        gateway_connected=bool(_field(data, "gateway_connected", (bool,), path)),
        latency_ms=None if latency is None else float(latency),  # type: ignore[arg-type]
        database_ok=bool(_field(data, "database_ok", (bool,), path)),
        pid=int(_field(data, "pid", (int,), path)),  # type: ignore[call-overload]
        stopped=bool(_field(data, "stopped", (bool,), path)) if "stopped" in data else False,
    )


def check_health(
    path: Path, *, now: datetime, max_age_s: float = DEFAULT_MAX_AGE_SECONDS
) -> tuple[bool, str]:
    """Judge the running bot by its heartbeat: healthy only when the beat is fresh, the gateway is
    connected and the database answered. The message says what is wrong (or, when healthy, the latency)."""
    try:
        beat = read_heartbeat(path)
    except FileNotFoundError:
        return False, f"no heartbeat file at {path} (the bot is not running or has not connected yet)"
    except OSError as error:
        return False, f"cannot read heartbeat file {path}: {error.strerror or error}"
    except HeartbeatError as error:
        return False, f"invalid heartbeat: {error}"
    age = (now - beat.written_at).total_seconds()
    if beat.stopped:
        return False, f"the bot stopped {max(age, 0):.0f} s ago (pid {beat.pid}, clean shutdown)"
    if age < -FUTURE_TOLERANCE_SECONDS:
        return False, (
            f"heartbeat is dated {-age:.0f} s in the future (pid {beat.pid}): the clock was set back or the "
            "file was not written by the bot; it is trusted again once the bot rewrites it"
        )
    if age > max_age_s:
        return False, (
            f"heartbeat is stale by {age - max_age_s:.0f} s (last written {age:.0f} s ago by pid {beat.pid}, "
            f"limit {max_age_s:.0f} s): the bot is stuck or has stopped"
        )
    if not beat.gateway_connected:
        return False, f"gateway disconnected (pid {beat.pid}, heartbeat {max(age, 0):.0f} s old)"
    if not beat.database_ok:
        return False, f"database error (pid {beat.pid}): the bot's last database check failed"
    latency = "unknown" if beat.latency_ms is None else f"{beat.latency_ms:.0f} ms"
    return True, (
        f"healthy: gateway connected (latency {latency}), database ok, heartbeat {max(age, 0):.0f} s old"
    )
