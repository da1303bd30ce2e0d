"""Which log channel an announcement goes to, so that no server ever sees another server's business.

A pure rule over plain values (the shell reads the server's own setting and posts):

- a digest with its own `log_channel_id` announces there;
- a digest from config.yaml is the operator's own: the bot-wide `discord.log_channel_id`;
- everything else about one server (its digests created from Discord, refusals of its admins' digest
  commands, its settings) goes to that server's own log channel (`/admin settings log-channel`), or, for a
  home server (`discord.guild_ids`) without one, to the bot-wide channel — never to another server's;
- bot-wide events (reloads, syncs, the corpus watcher) go to the bot-wide channel.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

CONFIG = "config"


@dataclass(frozen=True, slots=True)
class Subject:
    """What an announcement is about: the server it concerns (None: the bot as a whole), whether it is that
    server's business (rather than bot-wide), and the digest if it concerns one (its source and its own
    log channel)."""

    guild_id: int | None
    server_scoped: bool
    digest_source: str | None = None
    digest_log_channel_id: int | None = None


def log_channel_for(
    subject: Subject,
    *,
    bot_log_channel_id: int | None,
    home_guild_ids: Collection[int],
    guild_log_channel_id: int | None,
) -> int | None:
    """The channel to announce `subject` in, or None for nowhere (`guild_log_channel_id`: the subject's
    server's own choice)."""
    if subject.digest_log_channel_id is not None:
        return subject.digest_log_channel_id
    if subject.digest_source == CONFIG or not subject.server_scoped:
        return bot_log_channel_id
    if guild_log_channel_id is not None:
        return guild_log_channel_id
    if subject.guild_id is not None and subject.guild_id in home_guild_ids:
        return bot_log_channel_id
    return None
