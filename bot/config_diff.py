"""What a configuration reload changes, and which of those changes can apply while the bot runs.

Pure: two `Config`s in, a `ConfigDiff` out. Most settings are read from `bot.config` each time they are
used, so replacing the config applies them at once (digest schedules, thresholds, cooldowns, admin lists,
the log channel, the log level). Some cannot: the database stays open where the bot started with it,
discord.py's REST base and the shards it runs are fixed at login, and the delivery pace at start. A changed
`discord.guild_ids` applies to the permission rule at once, but the slash commands only move to the new
guilds with `/admin sync`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from bot.config import Config, DigestSettings, redact_url

#: Settings that only take effect after a restart.
RESTART_KEYS = frozenset({
    "database.path", "database.url", "discord.api_base", "discord.shard_ids", "discord.shard_count",
    "delivery.messages_per_second",
})
#: Settings whose values are shown redacted (a database URL may hold a password).
_REDACTED_KEYS = frozenset({"database.url"})
#: Settings that apply at once but also need a command sync to reach Discord.
SYNC_KEYS = frozenset({"discord.guild_ids"})
#: The sections compared setting by setting (digests are compared by name).
SECTIONS = (
    "corpus", "database", "discord", "logging", "lookups", "limits", "delivery", "digest_defaults",
)


class Applies(Enum):
    """When a changed setting takes effect."""

    LIVE = "live"
    SYNC = "sync"
    RESTART = "restart"


@dataclass(frozen=True)
class SettingChange:
    """One changed setting: its dotted key, the old and new values, and when it takes effect."""

    key: str
    before: Any
    after: Any
    applies: Applies


@dataclass(frozen=True)
class DigestChange:
    """A configured digest added, removed, or changed (then `keys` names the settings that changed)."""

    name: str
    kind: str
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigDiff:
    settings: tuple[SettingChange, ...] = ()
    digests: tuple[DigestChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.settings and not self.digests

    @property
    def live(self) -> tuple[SettingChange, ...]:
        return tuple(change for change in self.settings if change.applies is not Applies.RESTART)

    @property
    def needs_restart(self) -> tuple[SettingChange, ...]:
        return tuple(change for change in self.settings if change.applies is Applies.RESTART)

    @property
    def needs_sync(self) -> bool:
        return any(change.applies is Applies.SYNC for change in self.settings)


def _applies(key: str) -> Applies:
    if key in RESTART_KEYS:
        return Applies.RESTART
    if key in SYNC_KEYS:
        return Applies.SYNC
    return Applies.LIVE


def _section_changes(name: str, old: Any, new: Any) -> list[SettingChange]:
    changes = []
    for field in dataclasses.fields(old):
        before, after = getattr(old, field.name), getattr(new, field.name)
        if before != after:
            key = f"{name}.{field.name}"
            if key in _REDACTED_KEYS:
                before, after = (None if value is None else redact_url(value) for value in (before, after))
            changes.append(SettingChange(key, before, after, _applies(key)))
    return changes


def _digest_changes(old: tuple[DigestSettings, ...], new: tuple[DigestSettings, ...]) -> list[DigestChange]:
    before = {digest.name: digest for digest in old}
    after = {digest.name: digest for digest in new}
    changes = [DigestChange(name, "added") for name in after if name not in before]
    for name, digest in after.items():
        previous = before.get(name)
        if previous is not None and previous != digest:
            keys = tuple(
                field.name
                for field in dataclasses.fields(digest)
                if getattr(previous, field.name) != getattr(digest, field.name)
            )
            changes.append(DigestChange(name, "changed", keys))
    changes += [DigestChange(name, "removed") for name in before if name not in after]
    return changes


def config_changes(old: Config, new: Config) -> ConfigDiff:
    """Every setting that differs between `old` and `new`, and every configured digest added, changed or
    removed (the file the config came from is not a setting)."""
    settings = [
        change
        for section in SECTIONS
        for change in _section_changes(section, getattr(old, section), getattr(new, section))
    ]
    return ConfigDiff(tuple(settings), tuple(_digest_changes(old.digests, new.digests)))


def applicable_config(old: Config, new: Config) -> Config:
    """`new` with the restart-only settings kept as they are in `old`, so the running bot's config keeps
    describing the database and REST base it actually uses."""
    return replace(
        new,
        database=old.database,
        discord=replace(
            new.discord, api_base=old.discord.api_base, shard_ids=old.discord.shard_ids,
            shard_count=old.discord.shard_count,
        ),
        delivery=old.delivery,
    )


def format_value(value: Any) -> str:
    """A setting's value as an operator reads it (plain text: the caller escapes it for Discord)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ", ".join(format_value(item) for item in value) if value else "none"
    if isinstance(value, Path):
        return str(value)
    return str(value)


def change_record(diff: ConfigDiff) -> dict[str, Any]:
    """The diff as JSON-ready data for the audit log."""
    return {
        "settings": {
            change.key: {
                "before": format_value(change.before),
                "after": format_value(change.after),
                "applies": change.applies.value,
            }
            for change in diff.settings
        },
        "digests": [
            {"name": change.name, "change": change.kind, "keys": list(change.keys)} for change in diff.digests
        ],
    }
