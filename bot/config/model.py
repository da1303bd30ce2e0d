"""The configuration's shape: frozen dataclasses, their limits, and ConfigError.

Everything here is plain data; `bot.config.sections` fills it from a document and `bot.config.files`
reads the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.corpus.parse import MAX_FILE_BYTES

#: A configuration file larger than this is refused unread (the corpus files' limit; real ones are ~5 KiB).
MAX_CONFIG_BYTES = MAX_FILE_BYTES

#: Where the configuration is looked for when neither a path nor DIGESTBOT_CONFIG is given.
DEFAULT_CONFIG_PATH = Path("config/config.yaml")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DIGEST_MODES = ("channel", "thread")
DIGEST_STYLES = ("compact", "rich")
DIGEST_TITLE_LIMIT = 80
HEX_COLOR = re.compile(r"#?([0-9A-Fa-f]{6})")
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


def database_url(value: str, problem: Callable[[str], Exception]) -> str:
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
