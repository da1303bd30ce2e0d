"""The corpus gate: deliveries share it, a reload has it alone and is not starved by deliveries."""

from __future__ import annotations

import asyncio

import pytest

from bot.gate import CorpusGate


async def settle() -> None:
    """Let every task that can make progress do so (the gate never sleeps, it only waits on others)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_deliveries_hold_the_gate_together() -> None:
    gate = CorpusGate()
    release = asyncio.Event()
    inside: list[int] = []

    async def deliver(number: int) -> None:
        async with gate.delivering():
            inside.append(number)
            await release.wait()

    tasks = [asyncio.create_task(deliver(number)) for number in range(3)]
    await settle()
    assert sorted(inside) == [0, 1, 2]
    assert gate.deliveries_in_progress == 3 and not gate.reloading_now
    release.set()
    await asyncio.gather(*tasks)
    assert gate.deliveries_in_progress == 0


async def test_a_reload_waits_for_the_deliveries_in_progress_and_then_has_the_gate_alone() -> None:
    gate = CorpusGate()
    finish_delivery = asyncio.Event()
    finish_reload = asyncio.Event()
    events: list[str] = []

    async def deliver(name: str, done: asyncio.Event) -> None:
        async with gate.delivering():
            events.append(f"{name} in")
            await done.wait()
            events.append(f"{name} out")

    async def reload() -> None:
        async with gate.reloading():
            events.append("reload in")
            await finish_reload.wait()
            events.append("reload out")

    first = asyncio.create_task(deliver("first", finish_delivery))
    await settle()
    reloading = asyncio.create_task(reload())
    await settle()
    assert events == ["first in"] and not gate.reloading_now and gate.reloads_waiting == 1

    finish_delivery.set()
    await settle()
    assert events == ["first in", "first out", "reload in"] and gate.reloading_now

    second = asyncio.create_task(deliver("second", asyncio.Event()))
    await settle()
    assert "second in" not in events and gate.deliveries_in_progress == 0
    finish_reload.set()
    await reloading
    await settle()
    assert events[-2:] == ["reload out", "second in"]
    second.cancel()
    await asyncio.gather(first, second, return_exceptions=True)


async def test_a_waiting_reload_goes_before_deliveries_that_arrive_after_it() -> None:
    gate = CorpusGate()
    finish_first = asyncio.Event()
    order: list[str] = []

    async def deliver(name: str, done: asyncio.Event | None = None) -> None:
        async with gate.delivering():
            order.append(name)
            if done is not None:
                await done.wait()

    async def reload() -> None:
        async with gate.reloading():
            order.append("reload")

    first = asyncio.create_task(deliver("first", finish_first))
    await settle()
    reloading = asyncio.create_task(reload())
    await settle()
    late = asyncio.create_task(deliver("late"))
    await settle()
    assert order == ["first"], "a delivery arriving after a waiting reload must not overtake it"
    finish_first.set()
    await asyncio.gather(first, reloading, late)
    assert order == ["first", "reload", "late"]


async def test_reloads_exclude_each_other() -> None:
    gate = CorpusGate()
    finish = asyncio.Event()
    order: list[str] = []

    async def reload(name: str, done: asyncio.Event | None) -> None:
        async with gate.reloading():
            order.append(f"{name} in")
            if done is not None:
                await done.wait()
            order.append(f"{name} out")

    first = asyncio.create_task(reload("first", finish))
    await settle()
    second = asyncio.create_task(reload("second", None))
    await settle()
    assert order == ["first in"]
    finish.set()
    await asyncio.gather(first, second)
    assert order == ["first in", "first out", "second in", "second out"]


async def test_a_cancelled_waiting_reload_no_longer_holds_deliveries_back() -> None:
    gate = CorpusGate()
    finish_first = asyncio.Event()
    order: list[str] = []

    async def deliver(name: str, done: asyncio.Event | None = None) -> None:
        async with gate.delivering():
            order.append(name)
            if done is not None:
                await done.wait()

    async def reload() -> None:
        async with gate.reloading():
            order.append("reload")

    first = asyncio.create_task(deliver("first", finish_first))
    await settle()
    reloading = asyncio.create_task(reload())
    await settle()
    late = asyncio.create_task(deliver("late"))
    await settle()
    reloading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reloading
    await late
    assert order == ["first", "late"] and gate.reloads_waiting == 0
    finish_first.set()
    await first


async def test_a_failing_holder_releases_the_gate() -> None:
    gate = CorpusGate()
    with pytest.raises(RuntimeError):
        async with gate.reloading():
            raise RuntimeError("load failed")
    with pytest.raises(RuntimeError):
        async with gate.delivering():
            raise RuntimeError("send failed")
    async with gate.reloading():
        assert gate.reloading_now and gate.deliveries_in_progress == 0
    assert not gate.reloading_now
