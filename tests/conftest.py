"""Shared fixtures: the loopback Discord emulator (see tests/emulator/README.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.emulator import Emulator


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
