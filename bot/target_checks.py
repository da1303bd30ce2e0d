"""Whether a digest's settings fit the channel an admin gives it: publishing needs an announcement channel,
forum tags a forum that has them, and a role ping a role both the admin and the bot could ping themselves
(it is mentionable, or they have Mention Everyone in the channel).

`target_problem` is the whole check, used by `/admin digest create|edit|resume` before anything is saved
or resumed: the bot's permissions there (and in the digest's log channel) and the fits above. Delivery
checks the ping again at each post (bot/delivery_targets.py).
"""

from __future__ import annotations

import discord

from bot.config import DigestSettings
from bot.delivery_targets import tag_ids
from bot.digest import edits
from bot.permissions import role_ping_problem
from bot.render.text import clean


def channel_kind_problem(
    channel: discord.TextChannel | discord.ForumChannel, settings: DigestSettings
) -> str | None:
    """Settings that only fit another kind of channel: publishing outside an announcement channel,
    forum tags outside a forum or that the forum does not have."""
    if settings.publish and not (isinstance(channel, discord.TextChannel) and channel.is_news()):
        return (f"`publish` works only in an announcement channel, and <#{channel.id}> is not one. "
                "Pick an announcement channel, or set `publish` to False.")
    if settings.forum_tags and not isinstance(channel, discord.ForumChannel):
        return f"`forum_tags` apply to forum channels only, and <#{channel.id}> is not a forum."
    if isinstance(channel, discord.ForumChannel) and settings.forum_tags:
        _found, unknown = tag_ids(settings.forum_tags, channel.available_tags)
        if unknown:
            names = ", ".join(f"'{clean(name)}'" for name in unknown)
            offered = ", ".join(clean(tag.name) for tag in channel.available_tags) or "none"
            return f"The forum <#{channel.id}> has no tag {names} (its tags: {offered})."
    return None


def ping_problem(
    guild: discord.Guild, channel: discord.abc.GuildChannel, role_id: int, admin: discord.Member
) -> str | None:
    """Why the digest may not ping the role: the admin could not ping it themselves, or the bot could
    not (both: the role is mentionable, or they have Mention Everyone in the channel)."""
    role = guild.get_role(role_id)
    for who, member in (("you", admin), ("I", guild.me)):
        problem = role_ping_problem(
            role_id, exists=role is not None, is_everyone=role is not None and role.is_default(),
            mentionable=role is not None and role.mentionable,
            may_mention_everyone=channel.permissions_for(member).mention_everyone, who=who,
        )
        if problem is not None:
            return f"The digest can't ping that role: {problem}."
    return None


def ping_role_name(guild: discord.Guild | None, settings: DigestSettings) -> str | None:
    """How the server calls the role the digest pings (None when it pings nobody), for message text where
    a mention would be shown inert."""
    if settings.ping_role is None:
        return None
    role = guild.get_role(settings.ping_role) if guild is not None else None
    return role.name if role is not None else f"deleted role {settings.ping_role}"


def target_problem(
    guild: discord.Guild, settings: DigestSettings, *, admin: discord.Member | None = None
) -> str | None:
    """Why the bot could not post this digest where it should, or None when it can. With `admin` (who
    set the digest's role ping), the ping is checked too: they and the bot must be able to ping it."""
    channel = guild.get_channel(settings.channel_id)
    if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
        return (
            f"I can't see the channel <#{settings.channel_id}> in this server any more (deleted, or "
            "hidden from me). Pick another channel, or let me view it."
        )
    forum = isinstance(channel, discord.ForumChannel)
    perms = channel.permissions_for(guild.me)
    missing = edits.missing_permissions(lambda name: getattr(perms, name),
                                        edits.required_permissions("forum" if forum else settings.mode))
    if missing:
        return edits.permissions_refusal(channel.id, missing)
    problem = channel_kind_problem(channel, settings)
    if problem is None and admin is not None and settings.ping_role is not None:
        problem = ping_problem(guild, channel, settings.ping_role, admin)
    if problem is not None:
        return problem
    if settings.log_channel_id is not None:
        log_channel = guild.get_channel(settings.log_channel_id)
        if isinstance(log_channel, discord.TextChannel):
            log_perms = log_channel.permissions_for(guild.me)
            missing = edits.missing_permissions(lambda name: getattr(log_perms, name),
                                                edits.LOG_CHANNEL_PERMISSIONS)
            if missing:
                return edits.permissions_refusal(log_channel.id, missing, what="announce problems")
    return None
