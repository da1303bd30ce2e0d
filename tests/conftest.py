"""Shared fixtures: the loopback Discord emulator (see tests/emulator/README.md) and a throwaway
PostgreSQL server for the shared-state tests (see tests/postgres.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.emulator import Emulator, openapi
from tests.postgres import PostgresServer, binaries

#: The engines that hold the shared state; store tests run once per engine.
STATE_ENGINES = ("sqlite", "postgresql")


def _openapi_state() -> tuple[bool, str]:
    """Whether the emulator validates payloads against Discord's OpenAPI spec, and a line saying so."""
    path = openapi.spec_path()
    if path.is_file():
        return True, f"Discord OpenAPI validation: on ({path})"
    return False, (
        f"Discord OpenAPI validation: OFF for every emulator test: no spec at {path} "
        "(put discord-openapi.json there or set DISCORD_OPENAPI_SPEC)"
    )


def pytest_configure(config: pytest.Config) -> None:
    """In CI (`CI=true`) a missing spec fails the run: payload validation must never be silently off."""
    validating, line = _openapi_state()
    if not validating and os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        raise pytest.UsageError(f"{line}; CI=true requires it")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say once, at the top of every run (quiet or not), whether payloads are checked against the spec."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        validating, line = _openapi_state()
        reporter.write_line(line, yellow=not validating)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    validating, line = _openapi_state()
    if not validating:
        terminalreporter.write_line(line, yellow=True)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A fresh emulator; the test fails if any payload broke Discord's rules (see `take_violations`) or
    any message pinged @everyone, @here or a member (a digest may ping only the one role it opted into)."""
    emu = await Emulator.start()
    try:
        yield emu
    finally:
        await emu.stop()
    assert emu.violations == [], "payloads broke Discord's rules:\n" + "\n".join(map(str, emu.violations))
    loud = [ping for ping in emu.pings if ping.everyone or ping.users]
    assert loud == [], f"messages pinged @everyone/@here or members: {loud}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run, started on first use. Without PostgreSQL's binaries the
    tests that need it are skipped, except in CI (CI=true), where they fail."""
    folder = binaries()
    if folder is None:
        reason = ("PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin); "
                  "install Debian's postgresql package to run these tests")
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer.start(folder)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty PostgreSQL database."""
    return postgres_server.new_database()


@pytest.fixture(params=STATE_ENGINES)
def state_url(request: pytest.FixtureRequest) -> str | None:
    """Where the shared state lives, once per engine: None (the SQLite file) or a fresh PostgreSQL URL."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
