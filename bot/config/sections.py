"""Reading a configuration document, section by section, key by key, into the dataclasses.

Every problem — unknown key, wrong type, bad value — is a ConfigError naming the file and the dotted key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.config.model import (
    DIGEST_MODES,
    DIGEST_NAME_PATTERN,
    DIGEST_STYLES,
    DIGEST_TITLE_LIMIT,
    FOOTER_MAX,
    FORUM_TAG_NAME_MAX,
    FORUM_TAGS_MAX,
    HEX_COLOR,
    LOG_LEVELS,
    MAX_MESSAGES_PER_SECOND,
    Config,
    ConfigError,
    CorpusConfig,
    DatabaseConfig,
    DeliveryConfig,
    DigestDefaults,
    DigestSettings,
    DiscordConfig,
    LimitsConfig,
    LoggingConfig,
    LookupsConfig,
    database_url,
)
from bot.digest.schedule import ScheduleError, parse_cron, zone
from bot.shards import MAX_SHARD_COUNT, ShardSlice, parse_shard_ids

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


class Section:
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
        return resolve_path(Path(self.text(name, str(default))), base)

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


def resolve_path(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else base / path


# --- sections ---------------------------------------------------------------------------------------


def _read_timezone(section: Section, default: str) -> str:
    name = section.text("timezone", default)
    try:
        zone(name)
    except ScheduleError as error:
        raise section.error("timezone", str(error)) from None
    return name


def _read_api_base(section: Section) -> str | None:
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


def _read_color(section: Section, default: int | None) -> int | None:
    """An embed colour: `"#1f8b4c"` (or an integer 0-16777215); null for the bot's own blue."""
    value = section.raw("color", default)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= 0xFFFFFF:
        return value
    if isinstance(value, str) and (match := HEX_COLOR.fullmatch(value.strip())):
        return int(match.group(1), 16)
    raise section.error("color", f"expected a colour such as '#1f8b4c' or null, got {value!r}")


def _read_title(section: Section) -> str | None:
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


def _digest_filters(section: Section, defaults: DigestDefaults) -> dict[str, Any]:
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


def _read_footer(section: Section, default: str | None) -> str | None:
    """One line of at most FOOTER_MAX characters (whitespace collapsed), or null for none."""
    value = section.text("footer", default, optional=True)
    if value is None:
        return None
    line = " ".join(value.split())
    if len(line) > FOOTER_MAX:
        raise section.error("footer", f"{len(line)} characters, at most {FOOTER_MAX} allowed")
    return line


def _read_forum_tags(section: Section) -> tuple[str, ...]:
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
    reject_token_keys(data, where, file)
    section = Section(data, where, file)
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


def _read_corpus(section: Section, base: Path) -> CorpusConfig:
    defaults = CorpusConfig()
    return CorpusConfig(
        path=section.path("path", defaults.path, base),
        watch=section.boolean("watch", defaults.watch),
        max_file_bytes=section.integer("max_file_bytes", defaults.max_file_bytes, low=1),
        watch_debounce_seconds=section.number(
            "watch_debounce_seconds", defaults.watch_debounce_seconds, above=0
        ),
    )


def _read_database(section: Section, base: Path) -> DatabaseConfig:
    url = section.text("url", None, optional=True)
    if url is not None:
        url = database_url(url, lambda reason: section.error("url", reason))
    return DatabaseConfig(path=section.path("path", DatabaseConfig().path, base), url=url)


def _read_shards(section: Section) -> tuple[tuple[int, ...] | None, int | None]:
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


def _read_discord(section: Section, base: Path) -> DiscordConfig:
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


def read_delivery(section: Section, base: Path) -> DeliveryConfig:
    rate = section.number("messages_per_second", DeliveryConfig().messages_per_second, above=0)
    if rate > MAX_MESSAGES_PER_SECOND:
        raise section.error(
            "messages_per_second",
            f"{rate:g} is above Discord's global limit of {MAX_MESSAGES_PER_SECOND:g} requests per second",
        )
    return DeliveryConfig(messages_per_second=rate)


def _read_logging(section: Section, base: Path) -> LoggingConfig:
    defaults = LoggingConfig()
    return LoggingConfig(
        level=section.choice("level", defaults.level, LOG_LEVELS).upper(),
        libraries=section.choice("libraries", defaults.libraries, LOG_LEVELS).upper(),
    )


def _read_lookups(section: Section, base: Path) -> LookupsConfig:
    defaults = LookupsConfig()
    return LookupsConfig(
        cooldown_uses=section.integer("cooldown_uses", defaults.cooldown_uses, low=0),
        cooldown_seconds=section.number("cooldown_seconds", defaults.cooldown_seconds, above=0),
        page_size=section.integer("page_size", defaults.page_size, low=1, high=10),
    )


def _read_limits(section: Section, base: Path) -> LimitsConfig:
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


def _read_defaults(section: Section, base: Path) -> DigestDefaults:
    return DigestDefaults(**_digest_filters(section, DigestDefaults()))


def _read_section(top: Section, name: str, base: Path, build: Callable[[Section, Path], Any]) -> Any:
    section = Section(top.raw(name, None), name, top.file)
    result = build(section, base)
    section.finish()
    return result


def config_from_document(document: object, *, file: str | None, source: Path | None, base: Path) -> Config:
    top = Section(document, "", file)
    corpus = _read_section(top, "corpus", base, _read_corpus)
    database = _read_section(top, "database", base, _read_database)
    discord = _read_section(top, "discord", base, _read_discord)
    logging_config = _read_section(top, "logging", base, _read_logging)
    lookups = _read_section(top, "lookups", base, _read_lookups)
    limits = _read_section(top, "limits", base, _read_limits)
    digest_defaults = _read_section(top, "digest_defaults", base, _read_defaults)
    delivery = _read_section(top, "delivery", base, read_delivery)
    digests = _read_digests(top.raw("digests", None), digest_defaults, file)
    top.finish()
    return Config(
        corpus=corpus, database=database, discord=discord, logging=logging_config, lookups=lookups,
        limits=limits, delivery=delivery, digest_defaults=digest_defaults, digests=digests, source=source,
    )


def reject_token_keys(data: object, where: str, file: str | None) -> None:
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
            reject_token_keys(value, path, file)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            reject_token_keys(item, f"{where}[{index}]", file)
