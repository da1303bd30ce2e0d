"""The log-channel routing rule: each server's business stays in that server."""

from __future__ import annotations

import pytest

from bot.log_routing import Subject, log_channel_for

BOT_LOG = 1
HOME, OTHER = 10, 20
OWN_CHANNEL, DIGEST_CHANNEL = 11, 12


def route(subject: Subject, *, guild_log: int | None = None, bot_log: int | None = BOT_LOG) -> int | None:
    return log_channel_for(subject, bot_log_channel_id=bot_log, home_guild_ids={HOME},
                           guild_log_channel_id=guild_log)


@pytest.mark.parametrize("guild", [HOME, OTHER, None])
def test_a_digest_with_its_own_log_channel_announces_there(guild: int | None) -> None:
    for source in ("config", "runtime"):
        subject = Subject(guild, True, source, DIGEST_CHANNEL)
        assert route(subject, guild_log=OWN_CHANNEL) == DIGEST_CHANNEL


@pytest.mark.parametrize("guild", [HOME, OTHER, None])
def test_config_digests_are_the_operators_own(guild: int | None) -> None:
    assert route(Subject(guild, True, "config"), guild_log=OWN_CHANNEL) == BOT_LOG


def test_a_servers_digests_and_refusals_go_to_its_own_log_channel() -> None:
    assert route(Subject(OTHER, True, "runtime"), guild_log=OWN_CHANNEL) == OWN_CHANNEL
    assert route(Subject(OTHER, True), guild_log=OWN_CHANNEL) == OWN_CHANNEL
    assert route(Subject(HOME, True, "runtime"), guild_log=OWN_CHANNEL) == OWN_CHANNEL


def test_a_home_server_without_its_own_channel_uses_the_bot_wide_one() -> None:
    assert route(Subject(HOME, True, "runtime")) == BOT_LOG
    assert route(Subject(HOME, True)) == BOT_LOG


def test_another_server_without_its_own_channel_is_announced_nowhere() -> None:
    assert route(Subject(OTHER, True, "runtime")) is None
    assert route(Subject(OTHER, True)) is None
    assert route(Subject(None, True, "runtime")) is None


def test_bot_wide_events_go_to_the_bot_wide_channel_wherever_they_were_asked_for() -> None:
    for guild in (HOME, OTHER, None):
        assert route(Subject(guild, False), guild_log=OWN_CHANNEL) == BOT_LOG
    assert route(Subject(OTHER, False), bot_log=None) is None
