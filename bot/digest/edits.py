"""Digest settings as server admins give them from Discord: options in, a settings mapping out, and words
for what changed.

`/admin digest create` and `edit` take flat options (comma-separated lists, channel ids, a 0 that means
"off"); these functions turn them into the same plain mapping `config.yaml` gives, so
`bot.config.digest_settings_from_mapping` validates a digest made in Discord by exactly the rules a
configured one meets. Pure: no Discord, no database.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from bot.config import ConfigError, DigestSettings, LimitsConfig
from bot.digest.schedule import parse_cron, shortest_interval
from bot.store.fts import MAX_PREFIX_TERMS, MAX_TERMS, QueryTooBroad, build_match, prefix_terms

#: Typed as a list option's whole value, it empties the list (Discord does not send empty strings).
CLEAR_LIST = "-"
LIST_SETTINGS = ("topics", "providers", "keywords", "exclude_topics", "exclude_providers", "exclude_keywords",
                 "forum_tags")
#: Settings keys as they are named in the commands' options, where they differ.
OPTION_NAMES = {"channel_id": "channel", "log_channel_id": "log_channel"}
#: Text settings that `-` resets to their default.
RESETTABLE = ("title", "color", "footer")
#: A digest created from Discord skips articles older than this unless the admin says otherwise, so its
#: first run posts news rather than the corpus's best archive.
CREATED_MAX_AGE_DAYS = 7
CHOICES_LIMIT = 25

_INDEX_SUFFIX = re.compile(r"\[\d+\]$")


@dataclass(frozen=True, slots=True)
class DigestOptions:
    """The optional settings of `/admin digest create` / `edit`, as Discord sent them (None: not given).

    Lists are the raw comma-separated text; `max_age_days` 0 turns the age limit off and `ping_role` 0 the
    role ping; `title`, `color` or `footer` given as `-` go back to their defaults (the name, the bot's
    blue, no footer).
    """

    channel_id: int | None = None
    schedule: str | None = None
    timezone: str | None = None
    min_quality: int | None = None
    topics: str | None = None
    providers: str | None = None
    keywords: str | None = None
    max_articles: int | None = None
    max_related: int | None = None
    backlog: int | None = None
    mode: str | None = None
    published_only: bool | None = None
    max_age_days: int | None = None
    log_channel_id: int | None = None
    title: str | None = None
    style: str | None = None
    color: str | None = None
    exclude_topics: str | None = None
    exclude_providers: str | None = None
    exclude_keywords: str | None = None
    footer: str | None = None
    publish: bool | None = None
    ping_role: int | None = None
    forum_tags: str | None = None

    @property
    def given(self) -> bool:
        return any(getattr(self, item.name) is not None for item in fields(self))


@dataclass(frozen=True, slots=True)
class Permission:
    """A channel permission the bot needs: discord.py's attribute name and the name Discord's UI shows."""

    attribute: str
    label: str


CHANNEL_PERMISSIONS = (
    Permission("view_channel", "View Channel"),
    Permission("send_messages", "Send Messages"),
    Permission("embed_links", "Embed Links"),
    Permission("read_message_history", "Read Message History"),
)
THREAD_PERMISSIONS = (
    Permission("create_public_threads", "Create Public Threads"),
    Permission("send_messages_in_threads", "Send Messages in Threads"),
)
LOG_CHANNEL_PERMISSIONS = (
    Permission("view_channel", "View Channel"),
    Permission("send_messages", "Send Messages"),
    Permission("embed_links", "Embed Links"),
)


def parse_list(text: str) -> tuple[str, ...]:
    """`"Sport, world news ,sport"` → `("Sport", "world news")`: comma-separated, spaces collapsed, empty
    items dropped, repeats (ignoring case, as matching does) dropped. `-` alone is the empty list."""
    if text.strip() == CLEAR_LIST:
        return ()
    items: dict[str, str] = {}
    for part in text.split(","):
        item = " ".join(part.split())
        if item:
            items.setdefault(item.casefold(), item)
    return tuple(items.values())


def option_changes(options: DigestOptions) -> dict[str, Any]:
    """The settings the options set, keyed like `DigestSettings.as_mapping()` (lists as lists)."""
    changes: dict[str, Any] = {}
    for item in fields(options):
        value = getattr(options, item.name)
        if value is None:
            continue
        if item.name in LIST_SETTINGS:
            value = list(parse_list(value))
        elif (item.name in ("max_age_days", "ping_role") and value == 0) or (
            item.name in RESETTABLE and value.strip() == CLEAR_LIST
        ):
            value = None
        elif isinstance(value, str):
            value = value.strip()
        changes[item.name] = value
    return changes


def creation_mapping(name: str, channel_id: int, schedule: str, options: DigestOptions) -> dict[str, Any]:
    """A new digest's definition as config.yaml would hold it: what the admin gave, an age limit of
    CREATED_MAX_AGE_DAYS unless given; defaults fill the rest, except the log channel: the operator's
    default is a channel of the operator's, so a digest created from Discord announces in its own log
    channel if given one, else in its server's."""
    return {
        "max_age_days": CREATED_MAX_AGE_DAYS, "log_channel_id": None, **option_changes(options),
        "name": name.strip(), "channel_id": channel_id, "schedule": schedule,
    }


def edited_mapping(current: DigestSettings, options: DigestOptions) -> dict[str, Any]:
    """The digest's complete definition with the given options replacing its current settings."""
    return {**current.as_mapping(), **option_changes(options)}


def schedule_changed(before: DigestSettings, after: DigestSettings) -> bool:
    """A new cron or timezone counts slots from now on (the store restarts the schedule)."""
    return (before.schedule, before.timezone) != (after.schedule, after.timezone)


def _every(minutes: int) -> str:
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def limit_problem(settings: DigestSettings, limits: LimitsConfig, escape: Callable[[str], str]) -> str | None:
    """Why a digest made or edited in Discord exceeds the operator's limits (`option`: reason), or None.

    A schedule faster than `min_interval_minutes`, more keywords than `max_keywords`, a keyword longer than
    `max_keyword_chars` or broader than a search may be, or more prefix terms (`x*`) over all keywords
    than one search may have (each for `keywords` and `exclude_keywords` alike): each would make every
    run cost everyone."""
    fastest = int(shortest_interval(parse_cron(settings.schedule)).total_seconds() // 60)
    if fastest < limits.min_interval_minutes:
        # A validated schedule holds only digits, names and `*/,-`: safe inside a code span as it is.
        return (
            f"`schedule`: `{settings.schedule}` runs as often as every {_every(fastest)}; digests "
            f"made in Discord may run at most every {_every(limits.min_interval_minutes)}. Pick a slower "
            "schedule, for example `0 8 * * *` (daily at 08:00)."
        )
    for option, keywords in (("keywords", settings.keywords),
                             ("exclude_keywords", settings.exclude_keywords)):
        problem = _keywords_problem(option, keywords, limits, escape)
        if problem is not None:
            return problem
    return None


def _keywords_problem(
    option: str, keywords: tuple[str, ...], limits: LimitsConfig, escape: Callable[[str], str]
) -> str | None:
    """The operator's limits on one list of full-text keywords (`keywords` or `exclude_keywords`)."""
    if len(keywords) > limits.max_keywords:
        return f"`{option}`: {len(keywords)} given; a digest may have at most {limits.max_keywords}."
    for keyword in keywords:
        if len(keyword) > limits.max_keyword_chars:
            return (
                f"`{option}`: one keyword is {len(keyword)} characters long; each may have at most "
                f"{limits.max_keyword_chars}."
            )
        try:
            build_match(keyword)
        except QueryTooBroad:
            shown = escape(keyword if len(keyword) <= 40 else keyword[:39] + "…")
            return (
                f"`{option}`: “{shown}” is too broad: a keyword may have at most {MAX_TERMS} words, "
                f"{MAX_PREFIX_TERMS} of them ending in *."
            )
    prefixes = sum(prefix_terms(keyword) for keyword in keywords)
    if prefixes > MAX_PREFIX_TERMS:
        return (
            f"`{option}`: {prefixes} words end in * across the keywords; all keywords together may have at "
            f"most {MAX_PREFIX_TERMS}. Spell the others out in full."
        )
    return None


def settings_problem(error: ConfigError, escape: Callable[[str], str]) -> str:
    """A validation error in the admin's terms: the option it concerns (as the command names it) and why.

    The reason quotes what was typed, so it passes through `escape` (the renderer's `clean`)."""
    setting = _INDEX_SUFFIX.sub("", error.key.rsplit(".", 1)[-1])
    return f"`{OPTION_NAMES.get(setting, setting)}`: {escape(error.message)}"


# --- describing settings and changes -----------------------------------------------------------------

_LABELS = {
    "name": "Name",
    "channel_id": "Channel",
    "schedule": "Schedule",
    "timezone": "Timezone",
    "min_quality": "Minimum quality",
    "topics": "Topics",
    "providers": "Providers",
    "keywords": "Keywords",
    "published_only": "Published only",
    "max_age_days": "Maximum age",
    "max_articles": "Stories per run",
    "max_related": "Related links per story",
    "backlog": "Backlog on the first run",
    "mode": "Mode",
    "log_channel_id": "Log channel",
    "title": "Title",
    "style": "Style",
    "color": "Colour",
    "exclude_topics": "Excluded topics",
    "exclude_providers": "Excluded providers",
    "exclude_keywords": "Excluded keywords",
    "footer": "Footer",
    "publish": "Publish (announcement channels)",
    "ping_role": "Role ping",
    "forum_tags": "Forum tags",
}


_EMPTY_LIST = {"exclude_topics": "none", "exclude_providers": "none", "exclude_keywords": "none",
               "forum_tags": "none"}


def _shown(key: str, value: Any, escape: Callable[[str], str]) -> str:
    if key in ("channel_id", "log_channel_id"):
        return "the server's" if value is None else f"<#{int(value)}>"
    if key in LIST_SETTINGS:
        return ", ".join(escape(str(item)) for item in value) if value else _EMPTY_LIST.get(key, "any")
    if key == "ping_role":
        return "none" if value is None else f"<@&{int(value)}>"
    if key == "footer":
        return "none" if value is None else escape(str(value))
    if key == "max_age_days":
        return "off" if value is None else f"{value} day{'s' if value != 1 else ''}"
    if key in ("published_only", "publish"):
        return "yes" if value else "no"
    if key == "title" and value is None:
        return "from the name"
    if key == "color":
        return "the bot's blue" if value is None else f"#{int(value):06x}"
    if key == "schedule":
        # Validated cron (digits, names, `*/,-`): shown verbatim as code, where escapes would show.
        return f"`{str(value).replace('`', '')}`"
    return escape(str(value))


def settings_lines(settings: Mapping[str, Any], escape: Callable[[str], str]) -> list[str]:
    """One `Label: value` line per setting (but the name), for showing a digest's definition.

    `escape` makes admin-typed text safe to show (the renderer's `clean`)."""
    return [
        f"{label}: {_shown(key, settings[key], escape)}"
        for key, label in _LABELS.items()
        if key != "name" and key in settings
    ]


def describe_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, escape: Callable[[str], str]
) -> list[str]:
    """`Label: old → new` for each setting that differs; a whole definition when one side is missing
    (created: `→ new`, deleted: `old →`)."""
    keys = [key for key in _LABELS if key in (before or {}) or key in (after or {})]
    lines = []
    for key in keys:
        old = None if before is None else before.get(key)
        new = None if after is None else after.get(key)
        if before is not None and after is not None and old == new:
            continue
        left = "" if before is None else f" {_shown(key, old, escape)}"
        right = "" if after is None else f" {_shown(key, new, escape)}"
        lines.append(f"{_LABELS[key]}:{left} →{right}")
    return lines


# --- permissions -------------------------------------------------------------------------------------


FORUM_PERMISSIONS = (Permission("send_messages_in_threads", "Send Messages in Threads"),)


def required_permissions(mode: str) -> tuple[Permission, ...]:
    """What the bot needs in a digest's channel: posting embeds, reading back its own messages (to
    adopt one sent before an interruption), in thread mode opening threads and posting in them, in a forum
    (`mode` "forum") opening posts (Send Messages) and posting in them."""
    if mode == "forum":
        return CHANNEL_PERMISSIONS + FORUM_PERMISSIONS
    return CHANNEL_PERMISSIONS + (THREAD_PERMISSIONS if mode == "thread" else ())


def missing_permissions(has: Callable[[str], bool], needed: Sequence[Permission]) -> list[str]:
    """The labels of the `needed` permissions for which `has(attribute)` is false, in order."""
    return [permission.label for permission in needed if not has(permission.attribute)]


def permissions_refusal(channel_id: int, missing: Sequence[str], *, what: str = "post digests") -> str:
    """The refusal naming what the bot lacks in the channel, and how to fix it."""
    listed = ", ".join(f"**{label}**" for label in missing)
    return (
        f"I can't {what} in <#{channel_id}>: I'm missing {listed} there. "
        "Grant them to my role in that channel's permissions, then try again."
    )


# --- timezone autocomplete ---------------------------------------------------------------------------


@cache
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone_choices(typed: str, *, limit: int = CHOICES_LIMIT) -> list[str]:
    """IANA names containing the typed text (case-insensitive), those starting with it first; with
    nothing typed, the best-known names first."""
    wanted = typed.strip().casefold().replace(" ", "_")
    names = _timezones()
    if not wanted:
        common = [name for name in ("UTC", "Europe/London", "America/New_York") if name in names]
        return (common + [name for name in names if name not in common])[:limit]
    found = [name for name in names if wanted in name.casefold()]
    found.sort(key=lambda name: (not name.casefold().startswith(wanted), not _last_part_starts(name, wanted),
                                 name))
    return found[:limit]


def _last_part_starts(name: str, wanted: str) -> bool:
    return name.rsplit("/", 1)[-1].casefold().startswith(wanted)
