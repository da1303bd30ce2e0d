"""Who may do what: the one rule every admin command applies at run time.

Discord hides `/admin` from members without Manage Server (the group's default permissions), but servers can
override that in Server Settings → Integrations, and that setting is the only way a role listed in
`discord.admin_role_ids` without Manage Server gets to see the commands. So the visibility is a convenience;
this rule is the guarantee, checked again on every invocation.

- Operators: the application's owner, or its team's owner and accepted members with the admin or developer
  role, plus `discord.admin_user_ids`. Discord is asked again on `/admin sync` and every hour, so a member
  removed from the team loses the rights without a restart.
- Server admins of a guild: members with Manage Server there, members holding a role in
  `discord.admin_role_ids`, and operators.
- Bot-wide actions need an operator or a server admin of a home guild (`discord.guild_ids`); in global mode
  (no home guild) only operators. Guild-scoped actions need a server admin of that guild.

The rule itself is pure (plain `Actor` and `AccessRules`); the app_commands checks at the bottom adapt an
interaction to it and refuse with an `AdminOnly` error whose message says who may do the action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.config import Config

T = TypeVar("T")


class Access(Enum):
    """How much trust a command needs; cogs tag admin commands with one through the check decorators."""

    BOT_WIDE = "bot_wide"
    GUILD = "guild"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Actor:
    """The person asking: their id, the guild they ask from (None in DMs), their roles there and whether
    their permissions there include Manage Server (Administrator implies it)."""

    user_id: int
    guild_id: int | None
    role_ids: frozenset[int] = frozenset()
    manage_guild: bool = False


@dataclass(frozen=True)
class AccessRules:
    """Who the operators are, which roles make server admins, and the bot's home guilds."""

    operator_ids: frozenset[int]
    admin_role_ids: frozenset[int]
    home_guild_ids: frozenset[int]


def rules_from(config: Config, application_operator_ids: Iterable[int]) -> AccessRules:
    """The rules for `config`, with the operators Discord reports for the application added."""
    return AccessRules(
        operator_ids=frozenset(application_operator_ids) | frozenset(config.discord.admin_user_ids),
        admin_role_ids=frozenset(config.discord.admin_role_ids),
        home_guild_ids=frozenset(config.discord.guild_ids),
    )


def application_operator_ids(application: discord.AppInfo) -> frozenset[int]:
    """The owner, or for a team-owned application its owner and the members who accepted the invitation
    with the admin or developer role (read-only members and pending invitations are not trusted with the
    bot; discord.py's `Bot.is_owner` checks neither)."""
    team = application.team
    if team is None:
        return frozenset({application.owner.id})
    trusted = {discord.TeamMemberRole.admin, discord.TeamMemberRole.developer}
    members = {
        member.id
        for member in team.members
        if member.role in trusted and member.membership_state is discord.TeamMembershipState.accepted
    }
    if team.owner_id is not None:
        members.add(team.owner_id)
    return frozenset(members)


def is_operator(actor: Actor, rules: AccessRules) -> bool:
    return actor.user_id in rules.operator_ids


def is_server_admin(actor: Actor, rules: AccessRules, guild_id: int | None = None) -> bool:
    """Whether `actor` administers `guild_id` (default: the guild they ask from). Roles and Manage Server
    only count in the guild they were seen in; operators administer every guild."""
    if is_operator(actor, rules):
        return True
    target = actor.guild_id if guild_id is None else guild_id
    if actor.guild_id is None or target != actor.guild_id:
        return False
    return actor.manage_guild or bool(actor.role_ids & rules.admin_role_ids)


def may_act_bot_wide(actor: Actor, rules: AccessRules) -> bool:
    """Reloading the corpus, config or code, forcing a sync: operators, or server admins of a home guild."""
    if is_operator(actor, rules):
        return True
    return actor.guild_id in rules.home_guild_ids and is_server_admin(actor, rules)


def may_act_in_guild(actor: Actor, rules: AccessRules, guild_id: int | None = None) -> bool:
    """That guild's digests and status: its server admins (and operators)."""
    return is_server_admin(actor, rules, guild_id)


def may(actor: Actor, rules: AccessRules, access: Access) -> bool:
    """The rule for one access level."""
    if access is Access.OPERATOR:
        return is_operator(actor, rules)
    if access is Access.BOT_WIDE:
        return may_act_bot_wide(actor, rules)
    return may_act_in_guild(actor, rules)


def refusal(access: Access, action: str) -> str:
    """Who may do `action`, said to someone who may not."""
    if access is Access.OPERATOR:
        return f"Only the bot's operators can {action}."
    if access is Access.BOT_WIDE:
        return f"Only operators or server admins of the bot's home servers can {action}."
    return f"Only server admins of this server can {action}."


# --- the Discord adapter ------------------------------------------------------------------------------


class AdminOnly(app_commands.CheckFailure):
    """A refused admin action; the message (shown to the user) says who may do it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def actor_from_interaction(interaction: discord.Interaction[Any]) -> Actor:
    """The rule's view of whoever sent `interaction`: roles and Manage Server as Discord resolved them."""
    user = interaction.user
    role_ids = frozenset(role.id for role in user.roles) if isinstance(user, discord.Member) else frozenset()
    in_guild = interaction.guild_id is not None
    return Actor(
        user_id=user.id,
        guild_id=interaction.guild_id,
        role_ids=role_ids,
        manage_guild=in_guild and interaction.permissions.manage_guild,
    )


def rules_for(client: discord.Client) -> AccessRules:
    """The rules of a running DigestBot (its current config and the operators it last read from Discord)."""
    config: Config = client.config  # type: ignore[attr-defined]
    return rules_from(config, client.application_operator_ids)  # type: ignore[attr-defined]


ACCESS_ATTRIBUTE = "__digestbot_access__"


def access_of(command: app_commands.Command[Any, ..., Any]) -> Access | None:
    """The access level a command was tagged with by one of the check decorators below, if any."""
    return getattr(command.callback, ACCESS_ATTRIBUTE, None)


def _access_check(access: Access, action: str) -> Callable[[T], T]:
    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        if may(actor_from_interaction(interaction), rules_for(interaction.client), access):
            return True
        raise AdminOnly(refusal(access, action))

    check = app_commands.check(predicate)

    def decorator(func: T) -> T:
        callback = func.callback if isinstance(func, app_commands.Command) else func
        setattr(callback, ACCESS_ATTRIBUTE, access)
        return check(func)

    return decorator


def bot_wide_admin(action: str) -> Callable[[T], T]:
    """Check: operators, or server admins of a home guild. `action` completes "Only … can <action>"."""
    return _access_check(Access.BOT_WIDE, action)


def guild_admin(action: str) -> Callable[[T], T]:
    """Check: server admins of the guild the command is used in."""
    return _access_check(Access.GUILD, action)


def operator_only(action: str) -> Callable[[T], T]:
    """Check: operators only."""
    return _access_check(Access.OPERATOR, action)


# --- role pings ----------------------------------------------------------------------------------------


def role_ping_problem(
    role_id: int, *, exists: bool, is_everyone: bool, mentionable: bool, may_mention_everyone: bool, who: str
) -> str | None:
    """Why `who` ("you", "I") could not ping role `role_id`, or None when they could: Discord lets a role
    be pinged when it is mentionable or the author has Mention Everyone; @everyone is never a digest's
    ping."""
    if not exists:
        return f"the role {role_id} no longer exists in this server"
    if is_everyone:
        return "a digest never pings @everyone"
    if not (mentionable or may_mention_everyone):
        return (f"<@&{role_id}> is not mentionable and {who} lack Mention Everyone "
                "(make the role mentionable in Server Settings → Roles)")
    return None
