"""The run-time permission rule, with members of every kind (a real client hides `/admin` before it runs)."""

from __future__ import annotations

import pytest

from bot.config import Config, DiscordConfig
from bot.permissions import (
    Access,
    AccessRules,
    Actor,
    is_operator,
    is_server_admin,
    may,
    may_act_bot_wide,
    may_act_in_guild,
    refusal,
    rules_from,
)

HOME = 100
OTHER = 200
OWNER = 1
CONFIGURED_USER = 2
ADMIN_ROLE = 900


def rules(*, home: tuple[int, ...] = (HOME,)) -> AccessRules:
    config = Config(
        discord=DiscordConfig(guild_ids=home, admin_role_ids=(ADMIN_ROLE,), admin_user_ids=(CONFIGURED_USER,))
    )
    return rules_from(config, [OWNER])


def member(guild: int | None, *, user: int = 50, roles: tuple[int, ...] = (), manage: bool = False) -> Actor:
    return Actor(user_id=user, guild_id=guild, role_ids=frozenset(roles), manage_guild=manage)


def test_rules_merge_application_operators_with_configured_users() -> None:
    assert rules().operator_ids == {OWNER, CONFIGURED_USER}
    assert rules().home_guild_ids == {HOME}


@pytest.mark.parametrize("user", [OWNER, CONFIGURED_USER])
@pytest.mark.parametrize("guild", [HOME, OTHER, None])
def test_operators_may_do_everything_everywhere(user: int, guild: int | None) -> None:
    actor = member(guild, user=user)
    assert is_operator(actor, rules())
    assert may_act_bot_wide(actor, rules())
    assert may_act_bot_wide(actor, rules(home=()))
    assert may_act_in_guild(actor, rules(), OTHER)
    assert may(actor, rules(), Access.OPERATOR)


@pytest.mark.parametrize(
    "actor",
    [member(HOME, manage=True), member(HOME, roles=(ADMIN_ROLE,))],
    ids=["manage-server", "configured-role-without-manage-server"],
)
def test_server_admins_of_a_home_guild_may_act_bot_wide_but_are_not_operators(actor: Actor) -> None:
    assert is_server_admin(actor, rules())
    assert may_act_in_guild(actor, rules())
    assert may_act_bot_wide(actor, rules())
    assert not may(actor, rules(), Access.OPERATOR)


@pytest.mark.parametrize(
    "actor",
    [member(OTHER, manage=True), member(OTHER, roles=(ADMIN_ROLE,))],
    ids=["manage-server", "configured-role"],
)
def test_server_admins_elsewhere_manage_only_their_own_guild(actor: Actor) -> None:
    assert may_act_in_guild(actor, rules())
    assert not may_act_in_guild(actor, rules(), HOME)
    assert not may_act_bot_wide(actor, rules())


def test_in_global_mode_only_operators_act_bot_wide() -> None:
    server_admin = member(HOME, manage=True)
    assert may_act_in_guild(server_admin, rules(home=()))
    assert not may_act_bot_wide(server_admin, rules(home=()))
    assert may_act_bot_wide(member(HOME, user=OWNER), rules(home=()))


@pytest.mark.parametrize("guild", [HOME, OTHER])
def test_plain_member_may_do_nothing(guild: int) -> None:
    actor = member(guild, roles=(12345,))
    assert not is_server_admin(actor, rules())
    assert not may_act_bot_wide(actor, rules())
    assert not may_act_in_guild(actor, rules())
    assert not any(may(actor, rules(), access) for access in Access)


def test_in_dms_roles_and_manage_server_mean_nothing() -> None:
    actor = member(None, roles=(ADMIN_ROLE,), manage=True)
    assert not is_server_admin(actor, rules())
    assert not may_act_bot_wide(actor, rules())
    assert not may_act_in_guild(actor, rules(), HOME)
    assert may_act_bot_wide(member(None, user=OWNER), rules())


def test_refusals_say_who_may_act() -> None:
    assert refusal(Access.BOT_WIDE, "reload the corpus") == (
        "Only operators or server admins of the bot's home servers can reload the corpus."
    )
    assert refusal(Access.GUILD, "pause a digest") == "Only server admins of this server can pause a digest."
    assert refusal(Access.OPERATOR, "reload code") == "Only the bot's operators can reload code."
