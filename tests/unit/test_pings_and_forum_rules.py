"""The per-digest settings server admins bring from other news bots, as pure rules: validation, the role
ping's payload and who may ping, the footer, forum post titles, and the emulator's mention oracle."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.config import FOOTER_MAX, ConfigError, DigestDefaults, digest_settings_from_mapping
from bot.digest.edits import DigestOptions, option_changes
from bot.permissions import role_ping_problem
from bot.render.digest import (
    DigestHeader,
    forum_post_name,
    header_line,
    parse_header,
    render_digest,
    role_ping,
    same_message,
)
from bot.render.message import message, message_problems
from tests.emulator import checks
from tests.emulator.state import MENTION_EVERYONE, Channel, Guild, Member, Role, User
from tests.unit.digest_builders import make_settings
from tests.unit.test_render_digest import make_story

ROLE = 424242424242424242


def settings_from(**values: Any) -> Any:
    data = {"name": "morning", "channel_id": 1, "schedule": "0 8 * * *", **values}
    return digest_settings_from_mapping(data, DigestDefaults(), where="digests[0]", file=None)


def config_error(**values: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        settings_from(**values)
    return str(caught.value)


# --- validation ---------------------------------------------------------------------------------------


def test_new_settings_default_to_off_and_round_trip_through_storage() -> None:
    settings = settings_from()
    assert (settings.exclude_topics, settings.exclude_providers, settings.exclude_keywords) == ((), (), ())
    off = (None, False, None, ())
    assert (settings.footer, settings.publish, settings.ping_role, settings.forum_tags) == off
    full = settings_from(exclude_topics=["Sport"], exclude_providers="tabloid.example",
                         exclude_keywords=["sponsored"], footer="  From   the desk ", publish=True,
                         ping_role=ROLE, forum_tags=["Daily"])
    assert full.footer == "From the desk" and full.exclude_providers == ("tabloid.example",)
    assert settings_from(**full.as_mapping()) == full


@pytest.mark.parametrize(("values", "words"), [
    ({"footer": "x" * (FOOTER_MAX + 1)}, f"201 characters, at most {FOOTER_MAX}"),
    ({"footer": 5}, "expected a non-empty string"),
    ({"ping_role": "everyone"}, "expected a Discord id"),
    ({"ping_role": 0}, "expected a Discord id"),
    ({"forum_tags": ["a", "b", "c", "d", "e", "f"]}, "6 tags, a forum post takes at most 5"),
    ({"forum_tags": ["x" * 21]}, "longer than a forum tag name can be (20)"),
    ({"publish": "yes"}, "expected true or false"),
    ({"exclude_keywords": [""]}, "exclude_keywords[0]: expected a non-empty string"),
])
def test_bad_values_are_refused_naming_the_setting(values: dict[str, Any], words: str) -> None:
    error = config_error(**values)
    assert f"digests.morning.{next(iter(values))}" in error and words in error


def test_discord_options_turn_the_ping_and_the_footer_off() -> None:
    assert option_changes(DigestOptions(ping_role=0, footer=" - ")) == {"ping_role": None, "footer": None}
    assert option_changes(DigestOptions(exclude_topics="Sport, sport ,News", forum_tags="-")) == {
        "exclude_topics": ["Sport", "News"], "forum_tags": []}


# --- the role ping ------------------------------------------------------------------------------------


def test_the_ping_line_follows_the_header_and_names_only_that_role() -> None:
    slot = datetime(2026, 6, 1, 8, tzinfo=UTC)
    header = header_line(DigestHeader("Morning", slot, 3))
    planned = message([{"title": "x"}], header)
    pinged = role_ping(planned, ROLE)
    assert pinged["content"] == f"{header}\n<@&{ROLE}>"
    assert pinged["allowed_mentions"] == {"parse": [], "roles": [str(ROLE)]}
    assert parse_header(pinged["content"]) == ("Morning", slot, "3 stories")
    assert same_message(planned, pinged), "a posted ping is still found as the planned message"
    assert message_problems(pinged) == []


@pytest.mark.parametrize("mentions", [
    {"parse": ["roles"]},
    {"parse": [], "roles": [str(ROLE), "5"]},
    {"parse": [], "roles": ["5"]},
    {"parse": ["everyone"], "roles": [str(ROLE)]},
    {"parse": [], "roles": [str(ROLE)], "users": ["7"]},
])
def test_any_other_allowed_mentions_are_a_rendering_bug(mentions: dict[str, Any]) -> None:
    payload = {"content": f"header\n<@&{ROLE}>", "embeds": [], "allowed_mentions": mentions}
    assert any("allowed_mentions" in problem for problem in message_problems(payload))


@pytest.mark.parametrize(("facts", "words"), [
    ({"exists": False}, "no longer exists"),
    ({"is_everyone": True}, "never pings @everyone"),
    ({"mentionable": False}, "is not mentionable and you lack Mention Everyone"),
])
def test_who_may_ping_a_role(facts: dict[str, bool], words: str) -> None:
    allowed = {"exists": True, "is_everyone": False, "mentionable": True, "may_mention_everyone": False}
    assert role_ping_problem(ROLE, **allowed, who="you") is None
    assert role_ping_problem(ROLE, **{**allowed, "mentionable": False, "may_mention_everyone": True},
                             who="you") is None
    assert words in (role_ping_problem(ROLE, **{**allowed, **facts}, who="you") or "")


# --- footer and forum post titles ---------------------------------------------------------------------


def test_the_footer_is_under_every_story_inert() -> None:
    messages = render_digest(_header(), [make_story(1), make_story(2)], max_related=3,
                             footer="Curated by @everyone at <@&5>")
    footers = [embed["footer"]["text"] for m in messages for embed in m.payload["embeds"]]
    assert len(footers) == 2
    assert footers == ["Curated by @\u200beveryone at <\u200b@&5>"] * 2
    assert all(message_problems(m.payload) == [] for m in messages)


def test_a_forum_post_is_titled_with_the_digests_title_and_date() -> None:
    settings = make_settings(name="morning")
    assert forum_post_name(settings, date(2026, 6, 1)) == "Morning · 2026-06-01"
    titled = make_settings(name="morning", title="The harbour brief")
    assert forum_post_name(titled, date(2026, 6, 1)) == "The harbour brief · 2026-06-01"


def _header() -> DigestHeader:
    return DigestHeader("morning", None, 2)


# --- the emulator's mention oracle --------------------------------------------------------------------


def _guild(*, mentionable: bool, bot_perms: int = 0) -> tuple[Guild, Member, Channel]:
    guild = Guild(id="1", name="g", owner_id="9")
    guild.roles["1"] = Role(id="1", guild_id="1", name="@everyone", permissions=0)
    guild.roles[str(ROLE)] = Role(id=str(ROLE), guild_id="1", name="readers", permissions=0,
                                  mentionable=mentionable)
    guild.roles["77"] = Role(id="77", guild_id="1", name="bot", permissions=bot_perms)
    bot = Member(user=User(id="2", username="bot", bot=True), guild_id="1", role_ids=["77"])
    guild.members["2"] = bot
    guild.members["3"] = Member(user=User(id="3", username="reader"), guild_id="1")
    return guild, bot, Channel(id="10", type=0, name="news", guild_id="1")


@pytest.mark.parametrize(("mentionable", "perms", "pinged"), [
    (True, 0, [str(ROLE)]), (False, 0, []), (False, MENTION_EVERYONE, [str(ROLE)]),
])
def test_the_emulator_pings_a_role_as_discord_does(mentionable: bool, perms: int, pinged: list[str]) -> None:
    guild, bot, channel = _guild(mentionable=mentionable, bot_perms=perms)
    content = f"header\n<@&{ROLE}> @everyone <@3>"
    allowed = {"parse": [], "roles": [str(ROLE)]}
    assert guild.triggered_mentions(bot, channel, content, allowed) == (False, pinged, [])
    assert guild.triggered_mentions(bot, channel, content, {"parse": []}) == (False, [], [])
    everything = guild.triggered_mentions(bot, channel, content, None)
    assert everything[2] == ["3"] and everything[0] is bool(perms)


def test_the_emulator_refuses_more_than_one_role_or_any_user() -> None:
    def problems(mentions: dict[str, Any]) -> list[str]:
        return checks.check_allowed_mentions({"allowed_mentions": mentions}, required=True)

    assert problems({"parse": [], "roles": ["1"]}) == []
    assert problems({"parse": [], "roles": ["1", "2"]}) == [
        "allowed_mentions.roles: allows 2 roles, a digest pings at most one"]
    assert problems({"parse": [], "users": ["1"]}) == ["allowed_mentions.users: allows ['1']"]
