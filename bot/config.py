"""The bot's configuration: `config.yaml` validated into frozen dataclasses.

Every problem — unknown key, wrong type, bad value, broken YAML — is a ConfigError naming the file and the
dotted key, so an operator can fix it without reading code. The Discord token is deliberately not a
setting: it comes from the environment (`DISCORD_TOKEN`) so the file can be committed and shared.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from bot.corpus.parse import MAX_FILE_BYTES, unsafe_yaml
from bot.digest.schedule import ScheduleError, parse_cron, zone
from bot.shards import MAX_SHARD_COUNT, ShardSlice, parse_shard_ids

log = logging.getLogger(__name__)

#: A configuration file larger than this is refused unread (the corpus files' limit; real ones are ~5 KiB).
MAX_CONFIG_BYTES = MAX_FILE_BYTES

#: Where the configuration is looked for when neither a path nor DIGESTBOT_CONFIG is given.
DEFAULT_CONFIG_PATH = Path("config/config.yaml")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DIGEST_MODES = ("channel", "thread")
DIGEST_STYLES = ("compact", "rich")
DIGEST_TITLE_LIMIT = 80
_HEX_COLOR = re.compile(r"#?([0-9A-Fa-f]{6})")
DIGEST_NAME_PATTERN = re.compile(r"[a-z0-9_-]{1,32}")
#: Discord's global rate limit per bot token; one process's delivery pace can never usefully exceed it.
MAX_MESSAGES_PER_SECOND = 50.0
#: A digest's footer line, shown under every story (Discord allows 2048 in a footer; the story's own
#: reference shares it).
FOOTER_MAX = 200
#: Discord applies at most 5 tags to a forum post, each tag name at most 20 characters.
FORUM_TAGS_MAX = 5
FORUM_TAG_NAME_MAX = 20


class ConfigError(Exception):
    """A configuration problem: which file, which key (dotted, e.g. `digests.morning.timezone`), and why."""

    def __init__(self, key: str, message: str, *, file: str | None = None) -> None:
        self.file = file
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [part for part in (self.file, self.key) if part]
        return ": ".join([*parts, self.message])


@dataclass(frozen=True)
class CorpusConfig:
    """The folder of article files, and whether to reload it automatically when files change."""

    path: Path = Path("seeds")
    watch: bool = False
    max_file_bytes: int = 1 << 20
    watch_debounce_seconds: float = 2.0


@dataclass(frozen=True)
class DatabaseConfig:
    """`path` is the SQLite file (the corpus, and the shared state unless `url` is set); `url`
    (postgresql://…) puts digests, runs, delivered URLs and the audit log in PostgreSQL, shared by every
    process of a cluster."""

    path: Path = Path("data/digestbot.sqlite3")
    url: str | None = None


_POSTGRES_SCHEMES = ("postgresql", "postgres")


def redact_url(url: str) -> str:
    """A database URL without its password, fit for logs, replies and error messages."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _database_url(value: str, problem: Callable[[str], Exception]) -> str:
    """A PostgreSQL URL as given, or `problem(reason)` raised."""
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in _POSTGRES_SCHEMES:
        raise problem(f"{redact_url(value)!r} is not a postgresql://user:password@host:port/database URL")
    try:
        port = urlsplit(value).port
    except ValueError as error:
        raise problem(f"{redact_url(value)!r} has a bad port: {error}") from None
    if port == 0:
        raise problem(f"{redact_url(value)!r} has port 0; give PostgreSQL's port (usually 5432)")
    return value


@dataclass(frozen=True)
class DiscordConfig:
    """Where the bot works and who may administer it. `api_base` points the REST client elsewhere
    (an `http(s)` URL without a trailing slash; requests go to `{api_base}/api/v10`)."""

    guild_ids: tuple[int, ...] = ()
    admin_role_ids: tuple[int, ...] = ()
    admin_user_ids: tuple[int, ...] = ()
    log_channel_id: int | None = None
    api_base: str | None = None
    shard_ids: tuple[int, ...] | None = None
    shard_count: int | None = None


@dataclass(frozen=True)
class DeliveryConfig:
    """How fast this process posts digest messages. Discord's global rate limit (50 requests per second)
    is per bot token, shared by every process of a cluster: give each process its share."""

    messages_per_second: float = 45.0


@dataclass(frozen=True)
class LoggingConfig:
    """`level` for digestbot's own loggers; `libraries` for discord.py, aiosqlite, asyncio and APScheduler,
    whose DEBUG output holds raw gateway payloads and SQL parameters (never below `level` either)."""

    level: str = "INFO"
    libraries: str = "INFO"


@dataclass(frozen=True)
class LookupsConfig:
    """One cooldown bucket per member for every lookup (`cooldown_uses` 0 disables it), results per page."""

    cooldown_uses: int = 5
    cooldown_seconds: float = 10.0
    page_size: int = 5


@dataclass(frozen=True)
class LimitsConfig:
    """What one server or member may ask of the bot. The caps on digests apply to digests created or
    edited from Discord; digests in config.yaml are the operator's own."""

    digests_per_server: int = 10
    min_interval_minutes: int = 15
    max_keywords: int = 10
    max_keyword_chars: int = 100
    manual_runs_per_hour: int = 12
    audit_coalesce_minutes: int = 10
    delivery_log_days: int = 90
    audit_log_days: int = 365


@dataclass(frozen=True)
class DigestDefaults:
    """Settings every digest inherits unless it sets its own (all but name, channel and schedule)."""

    timezone: str = "UTC"
    min_quality: int = 40
    max_articles: int = 5
    max_related: int = 3
    backlog: int = 5
    published_only: bool = False
    max_age_days: int | None = None
    mode: str = "channel"
    style: str = "compact"
    color: int | None = None
    topics: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    log_channel_id: int | None = None
    exclude_topics: tuple[str, ...] = ()
    exclude_providers: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    footer: str | None = None
    publish: bool = False


@dataclass(frozen=True)
class DigestSettings:
    """One digest: where it posts, when (cron in `timezone`), and which articles qualify."""

    name: str
    channel_id: int
    schedule: str
    timezone: str
    min_quality: int
    topics: tuple[str, ...]
    providers: tuple[str, ...]
    keywords: tuple[str, ...]
    published_only: bool
    max_age_days: int | None
    max_articles: int
    max_related: int
    backlog: int
    mode: str
    log_channel_id: int | None
    style: str = "compact"
    color: int | None = None
    title: str | None = None
    exclude_topics: tuple[str, ...] = ()
    exclude_providers: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    footer: str | None = None
    publish: bool = False
    ping_role: int | None = None
    forum_tags: tuple[str, ...] = ()

    @property
    def display_title(self) -> str:
        """The title readers see: the `title` setting, else the name made readable (`morning-ai` →
        `Morning ai`)."""
        if self.title:
            return self.title
        words = self.name.replace("-", " ").replace("_", " ").strip() or self.name
        return words[0].upper() + words[1:]

    def as_mapping(self) -> dict[str, Any]:
        """Plain JSON-ready data for storage; `digest_settings_from_mapping` reads it back unchanged."""
        return {
            "name": self.name,
            "channel_id": self.channel_id,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "min_quality": self.min_quality,
            "topics": list(self.topics),
            "providers": list(self.providers),
            "keywords": list(self.keywords),
            "published_only": self.published_only,
            "max_age_days": self.max_age_days,
            "max_articles": self.max_articles,
            "max_related": self.max_related,
            "backlog": self.backlog,
            "mode": self.mode,
            "log_channel_id": self.log_channel_id,
            "style": self.style,
            "color": self.color,
            "title": self.title,
            "exclude_topics": list(self.exclude_topics),
            "exclude_providers": list(self.exclude_providers),
            "exclude_keywords": list(self.exclude_keywords),
            "footer": self.footer,
            "publish": self.publish,
            "ping_role": self.ping_role,
            "forum_tags": list(self.forum_tags),
        }


@dataclass(frozen=True)
class Config:
    """The whole configuration; `source` is the file it came from (None when only defaults apply)."""

    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    lookups: LookupsConfig = field(default_factory=LookupsConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    digest_defaults: DigestDefaults = field(default_factory=DigestDefaults)
    digests: tuple[DigestSettings, ...] = ()
    source: Path | None = None


# --- reading typed values ---------------------------------------------------------------------------

_MISSING: Any = object()


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


class _Section:
    """One mapping of the file, read key by key; keys never read are reported as unknown by `finish`."""

    def __init__(self, data: object, where: str, file: str | None) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(where, f"expected a mapping of settings, got {_type_name(data)}", file=file)
        self.data = data
        self.where = where
        self.file = file
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.key(name), message, file=self.file)

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        self.read.add(name)
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise self.error(name, "missing required setting")
        return default

    def integer(
        self, name: str, default: Any = _MISSING, *, low: int, high: int | None = None, optional: bool = False
    ) -> Any:
        value = self.raw(name, default)
        if value is None and optional:
            return None
        bounds = f"{low}-{high}" if high is not None else f"≥ {low}"
        if type(value) is not int:
            nullable = " or null" if optional else ""
            raise self.error(name, f"expected an integer {bounds}{nullable}, got {_type_name(value)}")
        if value < low or (high is not None and value > high):
            raise self.error(name, f"{value} is out of range (allowed: {bounds})")
        return value

    def number(self, name: str, default: float, *, above: float) -> float:
        value = self.raw(name, default)
        if type(value) not in (int, float):
            raise self.error(name, f"expected a number, got {_type_name(value)}")
        if not value > above:
            raise self.error(name, f"must be greater than {above:g}, got {value}")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if type(value) is not bool:
            raise self.error(name, f"expected true or false, got {_type_name(value)}")
        return value

    def text(self, name: str, default: Any = _MISSING, *, optional: bool = False) -> Any:
        value = self.raw(name, default)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, f"expected a non-empty string, got {_type_name(value)}")
        return value.strip()

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value.lower() not in {choice.lower() for choice in choices}:
            raise self.error(name, f"{value!r} is not one of: {', '.join(choices)}")
        return value.lower()

    def path(self, name: str, default: Path, base: Path) -> Path:
        return _resolve(Path(self.text(name, str(default))), base)

    def snowflake(self, name: str, default: Any = _MISSING, *, optional: bool = False) -> Any:
        """A Discord id (a positive integer)."""
        value = self.raw(name, default)
        if value is None and optional:
            return None
        if type(value) is not int or value <= 0:
            nullable = " or null" if optional else ""
            raise self.error(
                name, f"expected a Discord id (positive integer){nullable}, got {_type_name(value)}"
            )
        return value

    def snowflakes(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        value = self.raw(name, default)
        items = [value] if type(value) is int else value
        if not isinstance(items, list | tuple):
            raise self.error(name, f"expected a list of Discord ids, got {_type_name(value)}")
        for index, item in enumerate(items):
            if type(item) is not int or item <= 0:
                raise self.error(
                    f"{name}[{index}]", f"expected a Discord id (positive integer), got {_type_name(item)}"
                )
        return tuple(dict.fromkeys(items))

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A list of non-empty strings; a single string is a one-item list. Duplicates are dropped."""
        value = self.raw(name, default)
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise self.error(name, f"expected a list of strings, got {_type_name(value)}")
        cleaned: list[str] = []
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise self.error(f"{name}[{index}]", f"expected a non-empty string, got {_type_name(item)}")
            cleaned.append(" ".join(item.split()))
        return tuple(dict.fromkeys(cleaned))

    def finish(self) -> None:
        """Reject keys this section does not know, listing the ones it does."""
        for name in self.data:
            if name not in self.read:
                known = ", ".join(sorted(self.read))
                raise self.error(str(name), f"unknown setting (known here: {known})")


def _resolve(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else base / path


# --- sections ---------------------------------------------------------------------------------------


def _read_timezone(section: _Section, default: str) -> str:
    name = section.text("timezone", default)
    try:
        zone(name)
    except ScheduleError as error:
        raise section.error("timezone", str(error)) from None
    return name


def _read_api_base(section: _Section) -> str | None:
    value = section.text("api_base", None, optional=True)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise section.error("api_base", f"{value!r} is not an http(s) URL such as 'http://127.0.0.1:8080'")
    if parts.query or parts.fragment:
        raise section.error("api_base", f"{value!r} must not have a query or fragment")
    if value.endswith("/"):
        raise section.error(
            "api_base", f"{value!r} must not end with '/' (requests go to {{api_base}}/api/v10)"
        )
    return value


def _read_color(section: _Section, default: int | None) -> int | None:
    """An embed colour: `"#1f8b4c"` (or an integer 0-16777215); null for the bot's own blue."""
    value = section.raw("color", default)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= 0xFFFFFF:
        return value
    if isinstance(value, str) and (match := _HEX_COLOR.fullmatch(value.strip())):
        return int(match.group(1), 16)
    raise section.error("color", f"expected a colour such as '#1f8b4c' or null, got {value!r}")


def _read_title(section: _Section) -> str | None:
    """A digest's title: one line of at most DIGEST_TITLE_LIMIT characters; null derives it from the name."""
    value = section.text("title", None, optional=True)
    if value is None:
        return None
    if "\n" in value or "\r" in value:
        raise section.error("title", "must be a single line")
    title = " ".join(value.split())
    if len(title) > DIGEST_TITLE_LIMIT:
        raise section.error("title", f"has {len(title)} characters (limit {DIGEST_TITLE_LIMIT})")
    return title


def _digest_filters(section: _Section, defaults: DigestDefaults) -> dict[str, Any]:
    """The settings a digest shares with `digest_defaults`, each falling back to `defaults`."""
    return {
        "timezone": _read_timezone(section, defaults.timezone),
        "min_quality": section.integer("min_quality", defaults.min_quality, low=0, high=100),
        "max_articles": section.integer("max_articles", defaults.max_articles, low=1, high=10),
        "max_related": section.integer("max_related", defaults.max_related, low=0, high=10),
        "backlog": section.integer("backlog", defaults.backlog, low=0, high=50),
        "published_only": section.boolean("published_only", defaults.published_only),
        "max_age_days": section.integer("max_age_days", defaults.max_age_days, low=1, optional=True),
        "mode": section.choice("mode", defaults.mode, DIGEST_MODES),
        "style": section.choice("style", defaults.style, DIGEST_STYLES),
        "color": _read_color(section, defaults.color),
        "topics": section.strings("topics", defaults.topics),
        "providers": section.strings("providers", defaults.providers),
        "keywords": section.strings("keywords", defaults.keywords),
        "log_channel_id": section.snowflake("log_channel_id", defaults.log_channel_id, optional=True),
        "exclude_topics": section.strings("exclude_topics", defaults.exclude_topics),
        "exclude_providers": section.strings("exclude_providers", defaults.exclude_providers),
        "exclude_keywords": section.strings("exclude_keywords", defaults.exclude_keywords),
        "footer": _read_footer(section, defaults.footer),
        "publish": section.boolean("publish", defaults.publish),
    }


def _read_footer(section: _Section, default: str | None) -> str | None:
    """One line of at most FOOTER_MAX characters (whitespace collapsed), or null for none."""
    value = section.text("footer", default, optional=True)
    if value is None:
        return None
    line = " ".join(value.split())
    if len(line) > FOOTER_MAX:
        raise section.error("footer", f"{len(line)} characters, at most {FOOTER_MAX} allowed")
    return line


def _read_forum_tags(section: _Section) -> tuple[str, ...]:
    """Forum tag names (as the forum shows them): at most 5, each at most 20 characters."""
    tags = section.strings("forum_tags", ())
    if len(tags) > FORUM_TAGS_MAX:
        raise section.error("forum_tags", f"{len(tags)} tags, a forum post takes at most {FORUM_TAGS_MAX}")
    for index, tag in enumerate(tags):
        if len(tag) > FORUM_TAG_NAME_MAX:
            raise section.error(f"forum_tags[{index}]",
                                f"{tag!r} is longer than a forum tag name can be ({FORUM_TAG_NAME_MAX})")
    return tags


def digest_settings_from_mapping(
    data: Mapping[str, Any], defaults: DigestDefaults, *, where: str, file: str | None
) -> DigestSettings:
    """Validate one digest definition (from the file, from storage or from Discord) against `defaults`.

    Errors name `{where}.name` until the name is known (`where` is e.g. `digests[2]`), then
    `digests.<name>.<key>`, so an operator finds the digest by the name they gave it.
    """
    _reject_token_keys(data, where, file)
    section = _Section(data, where, file)
    name = section.text("name")
    if not DIGEST_NAME_PATTERN.fullmatch(name):
        raise section.error(
            "name", f"{name!r} is not a valid digest name: use 1-32 lower-case letters, digits, '-' or '_'"
        )
    section.where = f"digests.{name}"
    channel_id = section.snowflake("channel_id")
    schedule = section.text("schedule")
    try:
        spec = parse_cron(schedule)
    except ScheduleError as error:
        raise section.error("schedule", str(error)) from None
    filters = _digest_filters(section, defaults)
    settings = DigestSettings(
        name=name, channel_id=channel_id, schedule=spec.expression, title=_read_title(section), **filters,
        ping_role=section.snowflake("ping_role", None, optional=True), forum_tags=_read_forum_tags(section),
    )
    section.finish()
    return settings


def _read_digests(data: object, defaults: DigestDefaults, file: str | None) -> tuple[DigestSettings, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ConfigError("digests", f"expected a list of digests, got {_type_name(data)}", file=file)
    digests: list[DigestSettings] = []
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(data):
        digest = digest_settings_from_mapping(entry, defaults, where=f"digests[{index}]", file=file)
        if digest.name in first_seen:
            raise ConfigError(
                f"digests[{index}].name",
                f"duplicate digest name {digest.name!r} (already used by digests[{first_seen[digest.name]}])",
                file=file,
            )
        first_seen[digest.name] = index
        digests.append(digest)
    return tuple(digests)


def _read_corpus(section: _Section, base: Path) -> CorpusConfig:
    defaults = CorpusConfig()
    return CorpusConfig(
        path=section.path("path", defaults.path, base),
        watch=section.boolean("watch", defaults.watch),
        max_file_bytes=section.integer("max_file_bytes", defaults.max_file_bytes, low=1),
        watch_debounce_seconds=section.number(
            "watch_debounce_seconds", defaults.watch_debounce_seconds, above=0
        ),
    )


def _read_database(section: _Section, base: Path) -> DatabaseConfig:
    url = section.text("url", None, optional=True)
    if url is not None:
        url = _database_url(url, lambda reason: section.error("url", reason))
    return DatabaseConfig(path=section.path("path", DatabaseConfig().path, base), url=url)


def _read_shards(section: _Section) -> tuple[tuple[int, ...] | None, int | None]:
    """`shard_ids` (a list of ids, or a string such as "0-3") needs `shard_count`; both null: all the
    shards Discord recommends, in this process."""
    count = section.integer("shard_count", None, low=1, high=MAX_SHARD_COUNT, optional=True)
    raw = section.raw("shard_ids", None)
    if raw is None:
        return None, count
    if isinstance(raw, str):
        try:
            ids = parse_shard_ids(raw)
        except ValueError as error:
            raise section.error("shard_ids", str(error)) from None
    elif isinstance(raw, list) and raw and all(type(item) is int and item >= 0 for item in raw):
        ids = tuple(sorted(set(raw)))
    else:
        expected = "a non-empty list of shard ids or a range such as '0-3'"
        raise section.error("shard_ids", f"expected {expected}, got {_type_name(raw)}")
    if count is None:
        raise section.error("shard_ids", "needs discord.shard_count (the shard count of the whole cluster)")
    try:
        ShardSlice(ids, count)
    except ValueError as error:
        raise section.error("shard_ids", str(error)) from None
    return ids, count


def _read_discord(section: _Section, base: Path) -> DiscordConfig:
    defaults = DiscordConfig()
    shard_ids, shard_count = _read_shards(section)
    return DiscordConfig(
        guild_ids=section.snowflakes("guild_ids", defaults.guild_ids),
        admin_role_ids=section.snowflakes("admin_role_ids", defaults.admin_role_ids),
        admin_user_ids=section.snowflakes("admin_user_ids", defaults.admin_user_ids),
        log_channel_id=section.snowflake("log_channel_id", defaults.log_channel_id, optional=True),
        api_base=_read_api_base(section),
        shard_ids=shard_ids,
        shard_count=shard_count,
    )


def _read_delivery(section: _Section, base: Path) -> DeliveryConfig:
    rate = section.number("messages_per_second", DeliveryConfig().messages_per_second, above=0)
    if rate > MAX_MESSAGES_PER_SECOND:
        raise section.error(
            "messages_per_second",
            f"{rate:g} is above Discord's global limit of {MAX_MESSAGES_PER_SECOND:g} requests per second",
        )
    return DeliveryConfig(messages_per_second=rate)


def _read_logging(section: _Section, base: Path) -> LoggingConfig:
    defaults = LoggingConfig()
    return LoggingConfig(
        level=section.choice("level", defaults.level, LOG_LEVELS).upper(),
        libraries=section.choice("libraries", defaults.libraries, LOG_LEVELS).upper(),
    )


def _read_lookups(section: _Section, base: Path) -> LookupsConfig:
    defaults = LookupsConfig()
    return LookupsConfig(
        cooldown_uses=section.integer("cooldown_uses", defaults.cooldown_uses, low=0),
        cooldown_seconds=section.number("cooldown_seconds", defaults.cooldown_seconds, above=0),
        page_size=section.integer("page_size", defaults.page_size, low=1, high=10),
    )


def _read_limits(section: _Section, base: Path) -> LimitsConfig:
    defaults = LimitsConfig()
    return LimitsConfig(
        digests_per_server=section.integer("digests_per_server", defaults.digests_per_server, low=0),
        min_interval_minutes=section.integer("min_interval_minutes", defaults.min_interval_minutes, low=1),
        max_keywords=section.integer("max_keywords", defaults.max_keywords, low=0),
        max_keyword_chars=section.integer("max_keyword_chars", defaults.max_keyword_chars, low=1, high=200),
        manual_runs_per_hour=section.integer("manual_runs_per_hour", defaults.manual_runs_per_hour, low=0),
        audit_coalesce_minutes=section.integer(
            "audit_coalesce_minutes", defaults.audit_coalesce_minutes, low=0
        ),
        delivery_log_days=section.integer("delivery_log_days", defaults.delivery_log_days, low=1),
        audit_log_days=section.integer("audit_log_days", defaults.audit_log_days, low=1),
    )


def _read_defaults(section: _Section, base: Path) -> DigestDefaults:
    return DigestDefaults(**_digest_filters(section, DigestDefaults()))


def _read_section(top: _Section, name: str, base: Path, build: Callable[[_Section, Path], Any]) -> Any:
    section = _Section(top.raw(name, None), name, top.file)
    result = build(section, base)
    section.finish()
    return result


def _config_from_document(document: object, *, file: str | None, source: Path | None, base: Path) -> Config:
    top = _Section(document, "", file)
    corpus = _read_section(top, "corpus", base, _read_corpus)
    database = _read_section(top, "database", base, _read_database)
    discord = _read_section(top, "discord", base, _read_discord)
    logging_config = _read_section(top, "logging", base, _read_logging)
    lookups = _read_section(top, "lookups", base, _read_lookups)
    limits = _read_section(top, "limits", base, _read_limits)
    digest_defaults = _read_section(top, "digest_defaults", base, _read_defaults)
    delivery = _read_section(top, "delivery", base, _read_delivery)
    digests = _read_digests(top.raw("digests", None), digest_defaults, file)
    top.finish()
    return Config(
        corpus=corpus, database=database, discord=discord, logging=logging_config, lookups=lookups,
        limits=limits, delivery=delivery, digest_defaults=digest_defaults, digests=digests, source=source,
    )


# --- the file ---------------------------------------------------------------------------------------


def _reject_token_keys(data: object, where: str, file: str | None) -> None:
    """The token must never be written into a file that gets committed or shared: refuse it anywhere."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and (key.lower() == "token" or key.lower().endswith("_token")):
                raise ConfigError(
                    path,
                    "the Discord token does not belong in the config file; "
                    "set the DISCORD_TOKEN environment variable instead",
                    file=file,
                )
            _reject_token_keys(value, path, file)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            _reject_token_keys(item, f"{where}[{index}]", file)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _ConfigLoader(yaml.CSafeLoader):
    """libyaml's safe loader, refusing a key repeated in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise _DuplicateKey(key_node.value, key_node.start_mark.line + 1)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, file: str) -> object:
    unsafe = unsafe_yaml(text)
    if unsafe is not None:
        line, problem = unsafe
        raise ConfigError("", f"refused YAML at line {line}: {problem}", file=file)
    try:
        return yaml.load(text, Loader=_ConfigLoader)  # a CSafeLoader subclass: plain data only
    except _DuplicateKey as error:
        raise ConfigError("", f"line {error.line}: key {error.key!r} appears twice in the same mapping",
                          file=file) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or "unreadable"
        raise ConfigError("", f"invalid YAML at {where}{problem}", file=file) from None
    except yaml.YAMLError as error:
        raise ConfigError("", f"invalid YAML: {error}", file=file) from None


class ConfigTooLarge(OSError):
    """The configuration file is over MAX_CONFIG_BYTES."""


def _read_text(path: Path) -> str:
    """The file's text; a file over MAX_CONFIG_BYTES is refused without being read whole."""
    with path.open("rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigTooLarge(f"larger than the {MAX_CONFIG_BYTES}-byte limit for a configuration file")
    return data.decode("utf-8-sig")



def _choose_file(path: Path | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The file to read and whether it was asked for (an asked-for file must exist)."""
    if path is not None:
        return Path(path), True
    if env.get("DIGESTBOT_CONFIG"):
        return Path(env["DIGESTBOT_CONFIG"]), True
    if DEFAULT_CONFIG_PATH.is_file():
        return DEFAULT_CONFIG_PATH, False
    return None, False


def load_config(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the configuration.

    The file is `path`, else `$DIGESTBOT_CONFIG`, else `config/config.yaml` when it exists; with none of
    these every default applies. Relative paths inside resolve against the working directory, and
    `$DIGESTBOT_DB` overrides `database.path`, `$DIGESTBOT_DATABASE_URL` `database.url` and
    `$DIGESTBOT_MESSAGES_PER_SECOND` `delivery.messages_per_second` (a cluster process's share).
    """
    env = os.environ if env is None else env
    base = Path.cwd()
    chosen, required = _choose_file(path, env)
    document: object = None
    file: str | None = None
    source: Path | None = None
    if chosen is not None:
        file = str(chosen)
        try:
            text = _read_text(chosen.expanduser())
        except FileNotFoundError:
            if required:
                raise ConfigError("", "config file not found", file=file) from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError("", f"cannot read config file: {error}", file=file) from None
        else:
            source = _resolve(chosen, base)
            document = _parse_yaml(text, file)
            _reject_token_keys(document, "", file)
    config = _config_from_document(document, file=file, source=source, base=base)
    if env.get("DIGESTBOT_DB"):
        database_path = _resolve(Path(env["DIGESTBOT_DB"]), base)
        config = replace(config, database=replace(config.database, path=database_path))
    if env.get("DIGESTBOT_DATABASE_URL"):
        url = _database_url(
            env["DIGESTBOT_DATABASE_URL"].strip(),
            lambda reason: ConfigError("", f"environment variable DIGESTBOT_DATABASE_URL: {reason}"),
        )
        config = replace(config, database=replace(config.database, url=url))
    if env.get("DIGESTBOT_MESSAGES_PER_SECOND"):
        raw = env["DIGESTBOT_MESSAGES_PER_SECOND"].strip()
        try:
            rate: object = float(raw)
        except ValueError:
            rate = raw
        where = "environment variable DIGESTBOT_MESSAGES_PER_SECOND"
        section = _Section({"messages_per_second": rate}, where, None)
        config = replace(config, delivery=_read_delivery(section, base))
    log.debug(
        "configuration from %s: %d digest(s), database %s%s",
        source or "built-in defaults", len(config.digests), config.database.path,
        "" if config.database.url is None else f", shared state {redact_url(config.database.url)}",
    )
    return config
