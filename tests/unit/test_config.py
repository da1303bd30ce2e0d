"""Loading and validating config.yaml: defaults, the shipped file, and errors that name file and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config import (
    Config,
    ConfigError,
    CorpusConfig,
    DatabaseConfig,
    DigestDefaults,
    DiscordConfig,
    LoggingConfig,
    LookupsConfig,
    digest_settings_from_mapping,
    load_config,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "config.yaml"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, so the repository's own config/config.yaml is not picked up."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(directory: Path, text: str, name: str = "bot.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return caught.value


DIGEST = """\
digests:
  - name: morning
    channel_id: 111
    schedule: "0 8 * * mon-fri"
"""


def test_no_file_gives_the_defaults(workdir: Path) -> None:
    config = load_config(env={})
    assert config.source is None
    assert config.corpus == CorpusConfig(path=workdir / "seeds")
    assert config.database == DatabaseConfig(path=workdir / "data" / "digestbot.sqlite3")
    assert config.discord == DiscordConfig()
    assert config.logging == LoggingConfig()
    assert config.lookups == LookupsConfig()
    assert config.digest_defaults == DigestDefaults()
    assert config.digests == ()


def test_empty_file_gives_the_defaults(workdir: Path) -> None:
    config = load_config(write(workdir, ""), env={})
    assert config.source == workdir / "bot.yaml"
    assert config.digest_defaults == DigestDefaults()


def test_shipped_config_equals_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    from_file = load_config(SHIPPED, env={})
    assert from_file.source == SHIPPED
    defaults = Config(
        corpus=CorpusConfig(path=REPO / "seeds"),
        database=DatabaseConfig(path=REPO / "data" / "digestbot.sqlite3"),
        source=SHIPPED,
    )
    assert from_file == defaults


def test_shipped_example_digest_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commented-out example digest, uncommented, loads and shows every digest setting."""
    monkeypatch.chdir(tmp_path)
    text = SHIPPED.read_text(encoding="utf-8")
    head, example = text.split("digests: []\n", 1)
    uncommented = "\n".join(line[1:] for line in example.splitlines() if line.startswith("#"))
    config = load_config(write(tmp_path, head + "digests:\n" + uncommented + "\n"), env={})
    (digest,) = config.digests
    assert set(digest.as_mapping()) == {
        "name", "channel_id", "schedule", "timezone", "min_quality", "topics", "providers", "keywords",
        "published_only", "max_age_days", "max_articles", "max_related", "backlog", "mode", "log_channel_id",
        "style", "color", "title", "exclude_topics", "exclude_providers", "exclude_keywords", "footer",
        "publish", "ping_role", "forum_tags",
    }
    assert digest.schedule == "0 8 * * mon-fri"
    assert (digest.title, digest.style, digest.color) == ("Morning brief", "rich", 0x1F8B4C)
    assert digest.mode == "thread"


def test_default_location_is_used_when_present(workdir: Path) -> None:
    (workdir / "config").mkdir()
    write(workdir / "config", "logging: {level: debug}\n", name="config.yaml")
    config = load_config(env={})
    assert config.logging.level == "DEBUG"
    assert config.source == workdir / "config" / "config.yaml"


def test_environment_picks_the_file(workdir: Path) -> None:
    write(workdir, "lookups: {page_size: 8}\n", name="other.yaml")
    config = load_config(env={"DIGESTBOT_CONFIG": "other.yaml"})
    assert config.lookups.page_size == 8
    assert config.source == workdir / "other.yaml"


def test_explicit_path_wins_over_environment(workdir: Path) -> None:
    write(workdir, "lookups: {page_size: 8}\n", name="other.yaml")
    explicit = write(workdir, "lookups: {page_size: 2}\n", name="explicit.yaml")
    assert load_config(explicit, env={"DIGESTBOT_CONFIG": "other.yaml"}).lookups.page_size == 2


def test_a_named_file_that_does_not_exist_is_an_error(workdir: Path) -> None:
    error = load_error(Path("nowhere.yaml"))
    assert error.file == "nowhere.yaml"
    assert "not found" in str(error)
    with pytest.raises(ConfigError, match="not found"):
        load_config(env={"DIGESTBOT_CONFIG": "gone.yaml"})


def test_environment_overrides_the_database(workdir: Path) -> None:
    path = write(workdir, "database: {path: from-file.sqlite3}\n")
    assert load_config(path, env={}).database.path == workdir / "from-file.sqlite3"
    assert load_config(path, env={"DIGESTBOT_DB": "/data/bot.sqlite3"}).database.path == Path(
        "/data/bot.sqlite3"
    )
    assert load_config(path, env={"DIGESTBOT_DB": "rel/bot.db"}).database.path == workdir / "rel" / "bot.db"


def test_a_postgresql_url_for_the_shared_state_comes_from_file_or_environment(workdir: Path) -> None:
    path = write(workdir, "database: {url: 'postgresql://bot:pw@db:5432/digestbot'}\n")
    assert load_config(path, env={}).database.url == "postgresql://bot:pw@db:5432/digestbot"
    assert load_config(env={}).database.url is None
    override = {"DIGESTBOT_DATABASE_URL": "postgres://other@db2/x", "DIGESTBOT_DB": "/data/local.sqlite3"}
    config = load_config(path, env=override)
    assert config.database.url == "postgres://other@db2/x"
    assert config.database.path == Path("/data/local.sqlite3")


@pytest.mark.parametrize("url", ["mysql://bot:secret@db/x", "db:5432", "postgresql://bot:secret@db:99999/x"])
def test_a_database_url_that_is_not_postgresql_is_refused_without_its_password(
    workdir: Path, url: str
) -> None:
    error = load_error(write(workdir, f"database: {{url: '{url}'}}\n"))
    assert error.key == "database.url" and "secret" not in str(error)
    with pytest.raises(ConfigError, match="DIGESTBOT_DATABASE_URL") as from_env:
        load_config(env={"DIGESTBOT_DATABASE_URL": url})
    assert "secret" not in str(from_env.value)


def test_relative_paths_resolve_against_the_working_directory(workdir: Path) -> None:
    (workdir / "elsewhere").mkdir()
    path = write(workdir / "elsewhere", "corpus: {path: articles}\ndatabase: {path: /abs/db.sqlite3}\n")
    config = load_config(path, env={})
    assert config.corpus.path == workdir / "articles"
    assert config.database.path == Path("/abs/db.sqlite3")


def test_full_file_is_read(workdir: Path) -> None:
    path = write(
        workdir,
        """\
        corpus: {path: corpus, watch: true, max_file_bytes: 2048, watch_debounce_seconds: 1}
        discord:
          guild_ids: [1, 2, 2]
          admin_role_ids: 3
          admin_user_ids: []
          log_channel_id: 4
          api_base: http://127.0.0.1:8080
        logging: {level: warning}
        lookups: {cooldown_uses: 0, cooldown_seconds: 2.5, page_size: 10}
        digest_defaults: {timezone: Europe/London, min_quality: 0, topics: Science, mode: thread}
        digests:
          - name: morning
            channel_id: 111
            schedule: "0  8 * * mon-fri"
          - name: evening_2
            channel_id: 222
            schedule: "30 18 * * 0"
            timezone: America/New_York
            min_quality: 70
            providers: [BBC, "  reuters.com "]
            keywords: "open source"
            max_age_days: 3
            mode: channel
            log_channel_id: 5
        """,
    )
    config = load_config(path, env={})
    assert config.corpus == CorpusConfig(
        path=workdir / "corpus", watch=True, max_file_bytes=2048, watch_debounce_seconds=1.0
    )
    assert config.discord == DiscordConfig(
        guild_ids=(1, 2), admin_role_ids=(3,), log_channel_id=4, api_base="http://127.0.0.1:8080"
    )
    assert config.logging.level == "WARNING"
    assert config.lookups == LookupsConfig(cooldown_uses=0, cooldown_seconds=2.5, page_size=10)
    morning, evening = config.digests
    assert (morning.name, morning.channel_id, morning.schedule) == ("morning", 111, "0 8 * * mon-fri")
    assert (morning.timezone, morning.min_quality, morning.topics, morning.mode) == (
        "Europe/London", 0, ("Science",), "thread",
    )
    assert morning.max_articles == 5
    assert morning.log_channel_id is None
    assert (evening.timezone, evening.min_quality, evening.mode) == ("America/New_York", 70, "channel")
    assert evening.providers == ("BBC", "reuters.com")
    assert evening.keywords == ("open source",)
    assert evening.topics == ("Science",)
    assert (evening.max_age_days, evening.log_channel_id) == (3, 5)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("colour: blue\n", "colour", "unknown setting"),
        ("corpus: {path: seeds, wacth: true}\n", "corpus.wacth", "unknown setting"),
        (DIGEST + "    colour: red\n", "digests.morning.colour", "unknown setting"),
        ("digest_defaults: {schedule: '* * * * *'}\n", "digest_defaults.schedule", "unknown setting"),
        ("lookups: {page_size: '5'}\n", "lookups.page_size", "expected an integer 1-10, got the string '5'"),
        ("lookups: {cooldown_uses: true}\n", "lookups.cooldown_uses", "got a boolean"),
        ("lookups: {cooldown_seconds: soon}\n", "lookups.cooldown_seconds", "expected a number"),
        ("corpus: {watch: 'yes'}\n", "corpus.watch", "expected true or false"),
        ("corpus: [seeds]\n", "corpus", "expected a mapping"),
        ("corpus: {path: ''}\n", "corpus.path", "non-empty string"),
        ("discord: {guild_ids: [1, x]}\n", "discord.guild_ids[1]", "Discord id"),
        ("discord: {guild_ids: '123'}\n", "discord.guild_ids", "list of Discord ids"),
        ("discord: {log_channel_id: -4}\n", "discord.log_channel_id", "Discord id"),
        ("discord: {api_base: 'ftp://host'}\n", "discord.api_base", "not an http(s) URL"),
        ("discord: {api_base: 'http://127.0.0.1:8080/'}\n", "discord.api_base", "must not end with '/'"),
        ("discord: {shard_ids: [0, 1]}\n", "discord.shard_ids", "needs discord.shard_count"),
        ("discord: {shard_ids: '0-4', shard_count: 4}\n", "discord.shard_ids", "outside 0-3"),
        ("discord: {shard_ids: '2-1', shard_count: 4}\n", "discord.shard_ids", "ends before it starts"),
        ("discord: {shard_ids: [], shard_count: 4}\n", "discord.shard_ids", "non-empty list of shard ids"),
        ("discord: {shard_ids: [0, x], shard_count: 4}\n", "discord.shard_ids", "list of shard ids"),
        ("discord: {shard_count: 0}\n", "discord.shard_count", "out of range (allowed: 1-4096)"),
        ("delivery: {messages_per_second: 0}\n", "delivery.messages_per_second", "greater than 0"),
        ("delivery: {messages_per_second: 60}\n", "delivery.messages_per_second", "global limit of 50"),
        ("delivery: {pace: 3}\n", "delivery.pace", "unknown setting"),
        ("logging: {level: LOUD}\n", "logging.level", "not one of: DEBUG, INFO, WARNING, ERROR"),
        ("lookups: {page_size: 0}\n", "lookups.page_size", "out of range"),
        ("digest_defaults: {min_quality: 101}\n", "digest_defaults.min_quality", "(allowed: 0-100)"),
        ("digest_defaults: {timezone: Mars/Base}\n", "digest_defaults.timezone", "unknown time zone"),
        ("digest_defaults: {max_age_days: 0}\n", "digest_defaults.max_age_days", "out of range"),
        ("digest_defaults: {topics: [ok, 3]}\n", "digest_defaults.topics[1]", "non-empty string"),
        ("digests: {name: morning}\n", "digests", "expected a list of digests"),
        ("digests: [morning]\n", "digests[0]", "expected a mapping"),
        (DIGEST + "    timezone: Mars/Base\n", "digests.morning.timezone", "unknown time zone 'Mars/Base'"),
        (
            DIGEST + "    timezone: London\n",
            "digests.morning.timezone",
            "unknown time zone 'London' — did you mean Europe/London?",
        ),
        (DIGEST + "    max_articles: 11\n", "digests.morning.max_articles", "out of range (allowed: 1-10)"),
        (DIGEST + "    max_related: -1\n", "digests.morning.max_related", "out of range"),
        (DIGEST + "    backlog: 51\n", "digests.morning.backlog", "out of range"),
        (DIGEST + "    mode: forum\n", "digests.morning.mode", "not one of: channel, thread"),
        (DIGEST + "    published_only: 1\n", "digests.morning.published_only", "expected true or false"),
        ("digests:\n  - {name: Mo, channel_id: 1, schedule: '* * * * *'}\n", "digests[0].name", "lower-case"),
        ("digests:\n  - {channel_id: 1, schedule: '* * * * *'}\n", "digests[0].name", "missing required"),
        ("digests:\n  - {name: a, schedule: '* * * * *'}\n", "digests.a.channel_id", "missing required"),
        ("digests:\n  - {name: a, channel_id: 1}\n", "digests.a.schedule", "missing required"),
        (
            "digests:\n  - {name: a, channel_id: 1, schedule: '0 9 1 * mon'}\n",
            "digests.a.schedule",
            "use one of them",
        ),
        ("digests:\n  - {name: a, channel_id: 1, schedule: 'daily'}\n", "digests.a.schedule", "expected 5"),
    ],
)
def test_bad_settings_name_the_file_and_key(workdir: Path, text: str, key: str, message: str) -> None:
    path = write(workdir, text)
    error = load_error(path)
    assert error.file == str(path)
    assert error.key == key
    assert message in error.message
    assert str(error) == f"{path}: {key}: {error.message}"


def test_shards_and_the_delivery_pace_are_read(workdir: Path) -> None:
    text = "discord: {shard_ids: '4-7', shard_count: 8}\ndelivery: {messages_per_second: 22.5}\n"
    config = load_config(write(workdir, text), env={})
    assert (config.discord.shard_ids, config.discord.shard_count) == ((4, 5, 6, 7), 8)
    assert config.delivery.messages_per_second == 22.5
    listed = load_config(write(workdir, "discord: {shard_ids: [3, 1, 1], shard_count: 4}\n"), env={})
    assert listed.discord.shard_ids == (1, 3)
    alone = load_config(write(workdir, "discord: {shard_count: 2}\n"), env={})
    assert (alone.discord.shard_ids, alone.discord.shard_count) == (None, 2)


def test_error_message_format() -> None:
    error = ConfigError("digests.morning.timezone", "unknown time zone 'Mars/Base'", file="config/x.yaml")
    assert str(error) == "config/x.yaml: digests.morning.timezone: unknown time zone 'Mars/Base'"


def test_duplicate_digest_names(workdir: Path) -> None:
    path = write(workdir, DIGEST + "  - {name: morning, channel_id: 2, schedule: '0 9 * * *'}\n")
    error = load_error(path)
    assert error.key == "digests[1].name"
    assert "duplicate digest name 'morning'" in error.message
    assert "digests[0]" in error.message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("token: abc\n", "token"),
        ("discord: {token: abc}\n", "discord.token"),
        ("discord: {bot_token: abc}\n", "discord.bot_token"),
        (DIGEST + "    token: abc\n", "digests[0].token"),
    ],
)
def test_a_token_in_the_file_is_refused(workdir: Path, text: str, key: str) -> None:
    error = load_error(write(workdir, text))
    assert error.key == key
    assert "DISCORD_TOKEN" in error.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("corpus:\n  path: seeds\n watch: true\n", "line 3"),
        ("discord: {guild_ids: [1, 2}\n", "line 1"),
        ("logging:\n  level: INFO\n  level: DEBUG\n", "line 3"),
    ],
)
def test_bad_yaml_names_the_line(workdir: Path, text: str, line: str) -> None:
    path = write(workdir, text)
    error = load_error(path)
    assert error.file == str(path)
    assert line in error.message
    assert str(error).startswith(f"{path}: ")


def test_top_level_must_be_a_mapping(workdir: Path) -> None:
    error = load_error(write(workdir, "- just\n- a list\n"))
    assert "expected a mapping" in error.message


def test_invalid_utf8_is_an_error(workdir: Path) -> None:
    path = workdir / "bot.yaml"
    path.write_bytes(b"logging: {level: \xff}\n")
    assert "cannot read" in load_error(path).message


def test_digest_from_a_plain_mapping_round_trips() -> None:
    defaults = DigestDefaults(timezone="Europe/Paris", keywords=("ai",))
    digest = digest_settings_from_mapping(
        {"name": "tech", "channel_id": 42, "schedule": "*/30 * * * *", "topics": "Technology"},
        defaults,
        where="digest",
        file=None,
    )
    assert digest.topics == ("Technology",)
    assert digest.timezone == "Europe/Paris"
    assert digest.keywords == ("ai",)
    stored = digest.as_mapping()
    assert digest_settings_from_mapping(stored, DigestDefaults(), where="digest", file=None) == digest


def test_digest_from_a_plain_mapping_reports_without_a_file() -> None:
    with pytest.raises(ConfigError) as caught:
        digest_settings_from_mapping(
            {"name": "tech", "channel_id": 42, "schedule": "0 9 * * *", "min_quality": "high"},
            DigestDefaults(),
            where="digest",
            file=None,
        )
    assert caught.value.file is None
    assert str(caught.value).startswith("digests.tech.min_quality: expected an integer 0-100")


def test_a_preset_schedule_in_the_file_is_read_as_the_cron_it_means(workdir: Path) -> None:
    text = DIGEST.replace('"0 8 * * mon-fri"', '"weekdays 08:00"')
    config = load_config(write(workdir, text), env={})
    assert config.digests[0].schedule == "0 8 * * mon-fri"


def test_a_cluster_process_takes_its_delivery_pace_from_the_environment(workdir: Path) -> None:
    assert load_config(env={"DIGESTBOT_MESSAGES_PER_SECOND": "22.5"}).delivery.messages_per_second == 22.5
    for bad in ("fast", "0", "80"):
        with pytest.raises(ConfigError, match="DIGESTBOT_MESSAGES_PER_SECOND"):
            load_config(env={"DIGESTBOT_MESSAGES_PER_SECOND": bad})
