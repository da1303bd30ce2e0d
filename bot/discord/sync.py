"""Deciding whether and where to sync application commands: plain data in, a plan out.

Syncing on every start wastes Discord's command rate limits and, worse, a sync while a cog failed to load
would delete that cog's commands from every server. So the bot remembers what it last synced (a fingerprint
of the command payloads, the application id and the target guilds, plus the guild list) and syncs only
when that changed, or when an operator forces it.

Guild mode (`discord.guild_ids` set) puts the commands in each listed guild, where changes show at once,
and keeps the global command list empty; global mode (no guilds) registers them globally. Guilds dropped
from the list get an empty sync so no stale commands remain, and switching modes clears the commands of the
mode left behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SyncState:
    """What the bot synced last time: the fingerprint and the guilds it targeted (empty: global mode)."""

    fingerprint: str
    guild_ids: tuple[int, ...]

    def to_json(self) -> str:
        return json.dumps({"fingerprint": self.fingerprint, "guild_ids": list(self.guild_ids)})

    @classmethod
    def from_json(cls, text: str | None) -> SyncState | None:
        """The stored state, or None when there is none or it cannot be read (then everything syncs)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(str(data["fingerprint"]), tuple(int(guild) for guild in data["guild_ids"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class SyncPlan:
    """The requests a sync makes: the commands to `global` and/or to `guilds`, empty lists to
    `clear_global` and/or `clear_guilds`. `reason` says why, for the log and `/admin sync`."""

    reason: str
    push_global: bool = False
    push_guilds: tuple[int, ...] = ()
    clear_global: bool = False
    clear_guilds: tuple[int, ...] = ()

    @property
    def needed(self) -> bool:
        return self.push_global or self.clear_global or bool(self.push_guilds or self.clear_guilds)


def fingerprint(commands: Sequence[Mapping[str, Any]], application_id: int, guild_ids: Sequence[int]) -> str:
    """A stable hash of everything that makes a sync different: payloads, application and targets."""
    document = {
        "application_id": application_id,
        "guild_ids": sorted(guild_ids),
        "commands": sorted(commands, key=lambda command: (command.get("type", 1), command.get("name", ""))),
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def plan_sync(
    *,
    guild_ids: Sequence[int],
    current: str,
    previous: SyncState | None,
    failed_extensions: Mapping[str, str],
    force: bool = False,
) -> SyncPlan:
    """What to sync, given the configured guilds, the current fingerprint and the last synced state.

    A failed extension always blocks the sync (even a forced one): its commands would be deleted.
    """
    if failed_extensions:
        names = ", ".join(sorted(failed_extensions))
        return SyncPlan(reason=f"not syncing: extension(s) failed to load ({names}); fix them first")
    targets = tuple(dict.fromkeys(guild_ids))
    if previous is not None and previous.fingerprint == current and not force:
        return SyncPlan(reason="commands unchanged since the last sync")
    if previous is None:
        reason = "first sync"
    elif force:
        reason = "sync forced"
    else:
        reason = "commands, application or guilds changed"
    left_behind = () if previous is None else previous.guild_ids
    dropped = tuple(guild for guild in left_behind if guild not in targets)
    if not targets:
        return SyncPlan(reason=reason, push_global=True, clear_guilds=dropped)
    was_global = previous is None or not previous.guild_ids
    return SyncPlan(
        reason=reason, push_guilds=targets, clear_global=was_global or force, clear_guilds=dropped
    )
