"""What a config reload changes and when each change takes effect (pure: two Configs in, a diff out)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.config import Config, DigestDefaults, digest_settings_from_mapping
from bot.config_diff import Applies, applicable_config, change_record, config_changes, format_value


def digest(name: str, schedule: str = "0 8 * * *", **extra: object):
    data = {"name": name, "channel_id": 42, "schedule": schedule, **extra}
    return digest_settings_from_mapping(data, DigestDefaults(), where="digests[0]", file=None)


def with_discord(config: Config, **changes: object) -> Config:
    return replace(config, discord=replace(config.discord, **changes))


def test_identical_configs_make_an_empty_diff_whatever_file_they_came_from() -> None:
    old = Config(source=Path("/etc/a.yaml"))
    diff = config_changes(old, replace(old, source=Path("/etc/b.yaml")))
    assert diff.empty and not diff.needs_sync and diff.needs_restart == ()


def test_live_settings_are_listed_with_their_old_and_new_values() -> None:
    old = Config()
    new = replace(
        with_discord(old, admin_user_ids=(7, 8), log_channel_id=99),
        lookups=replace(old.lookups, cooldown_uses=2),
        logging=replace(old.logging, level="DEBUG"),
        digest_defaults=replace(old.digest_defaults, min_quality=60),
    )
    diff = config_changes(old, new)
    changes = {change.key: (change.before, change.after, change.applies) for change in diff.settings}
    assert changes == {
        "discord.admin_user_ids": ((), (7, 8), Applies.LIVE),
        "discord.log_channel_id": (None, 99, Applies.LIVE),
        "logging.level": ("INFO", "DEBUG", Applies.LIVE),
        "lookups.cooldown_uses": (5, 2, Applies.LIVE),
        "digest_defaults.min_quality": (40, 60, Applies.LIVE),
    }
    assert len(diff.live) == 5 and diff.needs_restart == () and not diff.needs_sync


def test_database_path_and_api_base_need_a_restart_and_guild_ids_a_sync() -> None:
    old = Config()
    new = with_discord(
        replace(old, database=replace(old.database, path=Path("/data/other.sqlite3"))),
        api_base="http://127.0.0.1:8080",
        guild_ids=(1,),
    )
    diff = config_changes(old, new)
    assert [change.key for change in diff.needs_restart] == ["database.path", "discord.api_base"]
    assert diff.needs_sync
    assert [change.key for change in diff.live] == ["discord.guild_ids"]


def test_a_new_database_url_needs_a_restart_and_is_shown_without_its_password() -> None:
    old = Config()
    new = replace(old, database=replace(old.database, url="postgresql://bot:secret@db:5432/digestbot"))
    [change] = config_changes(old, new).settings
    assert (change.key, change.applies) == ("database.url", Applies.RESTART)
    assert change.after == "postgresql://bot:***@db:5432/digestbot" and change.before is None


def test_the_applicable_config_keeps_restart_only_settings_and_takes_everything_else() -> None:
    old = Config()
    new = with_discord(
        replace(old, database=replace(old.database, path=Path("/data/other.sqlite3"))),
        api_base="http://127.0.0.1:8080",
        guild_ids=(1,),
    )
    applied = applicable_config(old, new)
    assert applied.database == old.database
    assert applied.discord.api_base is None
    assert applied.discord.guild_ids == (1,)


def test_digests_are_compared_by_name_naming_the_settings_that_changed() -> None:
    old = replace(Config(), digests=(digest("morning"), digest("noon"), digest("gone")))
    new = replace(
        Config(),
        digests=(
            digest("morning", "30 9 * * *", timezone="Europe/London"), digest("noon"), digest("evening")
        ),
    )
    diff = config_changes(old, new)
    described = [(change.name, change.kind, change.keys) for change in diff.digests]
    assert described == [
        ("evening", "added", ()),
        ("morning", "changed", ("schedule", "timezone")),
        ("gone", "removed", ()),
    ]
    assert not diff.empty and diff.settings == ()


def test_values_read_as_an_operator_writes_them() -> None:
    assert format_value(None) == "none"
    assert format_value(()) == "none"
    assert format_value((1, 2)) == "1, 2"
    assert format_value(True) == "true"
    assert format_value(Path("/srv/corpus")) == "/srv/corpus"
    assert format_value(2.5) == "2.5"


def test_the_audit_record_is_plain_json_data() -> None:
    old = replace(Config(), digests=(digest("morning"),))
    new = replace(with_discord(old, guild_ids=(5,)), digests=())
    assert change_record(config_changes(old, new)) == {
        "settings": {"discord.guild_ids": {"before": "none", "after": "5", "applies": "sync"}},
        "digests": [{"name": "morning", "change": "removed", "keys": []}],
    }
