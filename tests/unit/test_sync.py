"""The decision whether and where to sync application commands."""

from __future__ import annotations

from bot.discord.sync import SyncPlan, SyncState, fingerprint, plan_sync

ABOUT = {"name": "about", "description": "What this bot does", "type": 1}
ADMIN = {"name": "admin", "description": "Administer the bot", "type": 1, "options": []}
APP = 1000


def test_fingerprint_ignores_command_and_guild_order() -> None:
    assert fingerprint([ABOUT, ADMIN], APP, [1, 2]) == fingerprint([ADMIN, ABOUT], APP, [2, 1])


def test_fingerprint_changes_with_payload_application_and_guilds() -> None:
    base = fingerprint([ABOUT], APP, [1])
    assert fingerprint([{**ABOUT, "description": "changed"}], APP, [1]) != base
    assert fingerprint([ABOUT], APP + 1, [1]) != base
    assert fingerprint([ABOUT], APP, [1, 2]) != base


def test_first_start_in_guild_mode_pushes_every_guild_and_clears_global() -> None:
    plan = plan_sync(guild_ids=[1, 2], current="a", previous=None, failed_extensions={})
    assert plan == SyncPlan(reason="first sync", push_guilds=(1, 2), clear_global=True)


def test_first_start_in_global_mode_pushes_global_only() -> None:
    plan = plan_sync(guild_ids=[], current="a", previous=None, failed_extensions={})
    assert plan == SyncPlan(reason="first sync", push_global=True)


def test_unchanged_tree_does_not_sync() -> None:
    plan = plan_sync(guild_ids=[1], current="a", previous=SyncState("a", (1,)), failed_extensions={})
    assert not plan.needed
    assert plan.reason == "commands unchanged since the last sync"


def test_changed_commands_sync_the_same_guilds_without_touching_global() -> None:
    plan = plan_sync(guild_ids=[1], current="b", previous=SyncState("a", (1,)), failed_extensions={})
    assert (plan.push_guilds, plan.clear_global, plan.clear_guilds) == ((1,), False, ())


def test_changed_guild_list_syncs_and_clears_the_dropped_guild() -> None:
    plan = plan_sync(guild_ids=[2, 3], current="b", previous=SyncState("a", (1, 2)), failed_extensions={})
    assert plan.push_guilds == (2, 3)
    assert plan.clear_guilds == (1,)
    assert not plan.push_global and not plan.clear_global


def test_guild_to_global_clears_the_old_guilds() -> None:
    plan = plan_sync(guild_ids=[], current="b", previous=SyncState("a", (1, 2)), failed_extensions={})
    assert plan == SyncPlan(reason=plan.reason, push_global=True, clear_guilds=(1, 2))


def test_global_to_guild_clears_global() -> None:
    plan = plan_sync(guild_ids=[5], current="b", previous=SyncState("a", ()), failed_extensions={})
    assert plan == SyncPlan(reason=plan.reason, push_guilds=(5,), clear_global=True)


def test_failed_extension_blocks_the_sync_even_when_forced() -> None:
    for force in (False, True):
        plan = plan_sync(
            guild_ids=[1], current="b", previous=None, failed_extensions={"bot.discord.cogs.lookup": "boom"},
            force=force,
        )
        assert not plan.needed
        assert "bot.discord.cogs.lookup" in plan.reason


def test_force_syncs_an_unchanged_tree() -> None:
    previous = SyncState("a", (1,))
    plan = plan_sync(guild_ids=[1], current="a", previous=previous, failed_extensions={}, force=True)
    assert plan.push_guilds == (1,)
    assert plan.clear_global
    assert plan.reason == "sync forced"

    plan = plan_sync(guild_ids=[], current="a", previous=SyncState("a", ()), failed_extensions={}, force=True)
    assert plan == SyncPlan(reason="sync forced", push_global=True)


def test_duplicate_guild_ids_are_synced_once() -> None:
    plan = plan_sync(guild_ids=[1, 1, 2], current="a", previous=None, failed_extensions={})
    assert plan.push_guilds == (1, 2)


def test_state_round_trips_and_unreadable_state_means_none() -> None:
    state = SyncState("abc", (1, 2))
    assert SyncState.from_json(state.to_json()) == state
    assert SyncState.from_json(None) is None
    assert SyncState.from_json("not json") is None
    assert SyncState.from_json('{"fingerprint": "x"}') is None
