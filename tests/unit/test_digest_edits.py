"""Digest settings from Discord options: lists, the mapping validated like config.yaml, change descriptions,
the permissions a digest needs, and timezone suggestions."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, DigestDefaults, DigestSettings, digest_settings_from_mapping
from bot.digest.edits import (
    DigestOptions,
    creation_mapping,
    describe_changes,
    edited_mapping,
    missing_permissions,
    option_changes,
    parse_list,
    permissions_refusal,
    required_permissions,
    schedule_changed,
    settings_lines,
    settings_problem,
    timezone_choices,
)
from bot.render.text import clean


def validate(mapping: dict[str, object]) -> DigestSettings:
    return digest_settings_from_mapping(mapping, DigestDefaults(), where="digest", file=None)


def existing() -> DigestSettings:
    return validate({"name": "harbour", "channel_id": 10, "schedule": "0 8 * * *", "topics": ["Maritime"]})


# --- lists


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sport", ("Sport",)),
        ("Sport, world  news ,sport", ("Sport", "world news")),
        (" , ,", ()),
        ("-", ()),
        (" - ", ()),
        ("a-b, c", ("a-b", "c")),
        ('"climate change", heat', ('"climate change"', "heat")),
    ],
)
def test_parse_list(text: str, expected: tuple[str, ...]) -> None:
    assert parse_list(text) == expected


# --- options → settings


def test_only_given_options_become_changes() -> None:
    options = DigestOptions(topics="Sport, Politics", max_age_days=0, mode=" thread ", min_quality=0)
    assert option_changes(options) == {
        "topics": ["Sport", "Politics"], "max_age_days": None, "mode": "thread", "min_quality": 0,
    }
    assert option_changes(DigestOptions()) == {}
    assert not DigestOptions().given
    assert DigestOptions(published_only=False).given


def test_a_created_digest_gets_the_configured_defaults_for_what_was_not_given() -> None:
    mapping = creation_mapping(" harbour ", 10, "0 8 * * mon-fri", DigestOptions(keywords="storm, flood"))
    defaults = DigestDefaults(min_quality=55, backlog=2)

    settings = digest_settings_from_mapping(mapping, defaults, where="digest", file=None)

    assert settings.name == "harbour" and settings.channel_id == 10
    assert settings.keywords == ("storm", "flood")
    assert (settings.min_quality, settings.backlog, settings.timezone) == (55, 2, "UTC")


def test_a_digest_created_from_discord_never_inherits_the_operators_log_channel() -> None:
    defaults = DigestDefaults(log_channel_id=99)
    plain = creation_mapping("harbour", 10, "0 8 * * *", DigestOptions())
    own = creation_mapping("harbour", 10, "0 8 * * *", DigestOptions(log_channel_id=12))

    assert digest_settings_from_mapping(plain, defaults, where="digest", file=None).log_channel_id is None
    assert digest_settings_from_mapping(own, defaults, where="digest", file=None).log_channel_id == 12


def test_a_digest_created_from_discord_skips_articles_older_than_a_week_unless_told_and_says_so() -> None:
    fresh = validate(creation_mapping("harbour", 10, "0 8 * * *", DigestOptions()))
    assert fresh.max_age_days == 7
    assert "Maximum age: 7 days" in settings_lines(fresh.as_mapping(), clean)
    unlimited = validate(creation_mapping("harbour", 10, "0 8 * * *", DigestOptions(max_age_days=0)))
    assert unlimited.max_age_days is None


def test_title_style_and_color_options_set_and_reset() -> None:
    styled = validate(edited_mapping(existing(), DigestOptions(title="  Harbour   news ", style="rich",
                                                               color="#1F8B4C")))
    assert (styled.title, styled.display_title, styled.style, styled.color) == (
        "Harbour news", "Harbour news", "rich", 0x1F8B4C
    )
    lines = settings_lines(styled.as_mapping(), clean)
    assert {"Title: Harbour news", "Style: rich", "Colour: #1f8b4c"} <= set(lines)
    reset = validate(edited_mapping(styled, DigestOptions(title="-", color="-")))
    assert (reset.title, reset.display_title, reset.color) == (None, "Harbour", None)
    with pytest.raises(ConfigError, match="colour such as"):
        validate(edited_mapping(existing(), DigestOptions(color="blue")))
    with pytest.raises(ConfigError, match="limit 80"):
        validate(edited_mapping(existing(), DigestOptions(title="t" * 81)))


def test_an_edit_keeps_every_setting_not_given() -> None:
    current = existing()
    edited = validate(edited_mapping(current, DigestOptions(max_articles=2, topics="-")))

    assert edited.max_articles == 2 and edited.topics == ()
    assert edited.schedule == current.schedule and edited.channel_id == current.channel_id
    assert not schedule_changed(current, edited)
    assert schedule_changed(current, validate(edited_mapping(current, DigestOptions(timezone="Asia/Tokyo"))))


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (DigestOptions(schedule="every morning"), "`schedule`: cron expression 'every morning' has 2 fie"),
        (DigestOptions(timezone="Mars/Olympus"), "`timezone`: unknown time zone 'Mars/Olympus'"),
        (DigestOptions(min_quality=101), "`min_quality`: 101 is out of range (allowed: 0-100)"),
        (DigestOptions(mode="forum"), "`mode`: 'forum' is not one of: channel, thread"),
        (DigestOptions(max_age_days=-3), "`max_age_days`: -3 is out of range"),
    ],
)
def test_bad_options_are_reported_by_option_name(options: DigestOptions, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate(edited_mapping(existing(), options))
    assert settings_problem(raised.value, str).startswith(problem)


def test_a_bad_name_and_channel_are_reported_by_option_name() -> None:
    with pytest.raises(ConfigError) as bad_name:
        validate(creation_mapping("Morning News", 10, "0 8 * * *", DigestOptions()))
    with pytest.raises(ConfigError) as bad_channel:
        validate(creation_mapping("morning", 0, "0 8 * * *", DigestOptions()))

    assert settings_problem(bad_name.value, str).startswith("`name`: 'Morning News' is not a valid")
    assert settings_problem(bad_channel.value, str).startswith("`channel`: expected a Discord id")


def test_typed_text_in_a_problem_is_escaped() -> None:
    with pytest.raises(ConfigError) as raised:
        validate(edited_mapping(existing(), DigestOptions(timezone="@everyone **x**")))
    problem = settings_problem(raised.value, clean)
    assert "@everyone" not in problem and "**x**" not in problem


# --- describing


def test_describe_changes_lists_only_what_differs() -> None:
    before = existing()
    after = validate(edited_mapping(before, DigestOptions(
        schedule="30 7 * * *", topics="Maritime, Weather", max_age_days=3, channel_id=20, published_only=True,
    )))

    assert describe_changes(before.as_mapping(), after.as_mapping(), clean) == [
        "Channel: <#10> → <#20>",
        "Schedule: `0 8 * * *` → `30 7 * * *`",
        "Topics: Maritime → Maritime, Weather",
        "Published only: no → yes",
        "Maximum age: off → 3 days",
    ]
    assert describe_changes(before.as_mapping(), before.as_mapping(), clean) == []


def test_describe_creation_and_deletion() -> None:
    settings = existing().as_mapping()
    created = describe_changes(None, settings, clean)
    deleted = describe_changes(settings, None, clean)

    assert created[0] == "Name: → harbour"
    assert "Providers: → any" in created and "Log channel: → the server's" in created
    assert deleted[0] == "Name: harbour →"
    assert len(created) == len(deleted) == len(settings)


def test_settings_lines_escape_typed_text() -> None:
    settings = validate(
        {"name": "x", "channel_id": 10, "schedule": "0 8 * * *", "keywords": ["**loud** @here"]}
    )
    lines = settings_lines(settings.as_mapping(), clean)
    assert "Channel: <#10>" in lines and "Schedule: `0 8 * * *`" in lines
    [keywords] = [line for line in lines if line.startswith("Keywords")]
    assert "**loud**" not in keywords and "@here" not in keywords
    assert not any(line.startswith("Name") for line in lines)


# --- permissions


def test_channel_mode_needs_posting_permissions_and_thread_mode_thread_ones() -> None:
    granted = {"view_channel", "send_messages", "embed_links", "read_message_history"}

    assert missing_permissions(granted.__contains__, required_permissions("channel")) == []
    assert missing_permissions(granted.__contains__, required_permissions("thread")) == [
        "Create Public Threads", "Send Messages in Threads",
    ]
    assert missing_permissions({"view_channel"}.__contains__, required_permissions("channel")) == [
        "Send Messages", "Embed Links", "Read Message History",
    ]


def test_the_refusal_names_the_channel_and_every_missing_permission() -> None:
    text = permissions_refusal(42, ["Send Messages", "Embed Links"])
    assert "<#42>" in text and "**Send Messages**, **Embed Links**" in text


# --- timezones


def test_timezone_choices_match_case_insensitively_prefix_first() -> None:
    choices = timezone_choices("LONDON")
    assert choices == ["Europe/London"]
    europe = timezone_choices("europe/")
    assert len(europe) == 25 and all(name.startswith("Europe/") for name in europe)
    york = timezone_choices("new york")
    assert york[0] == "America/New_York"
    assert timezone_choices("")[0] == "UTC" and len(timezone_choices("")) == 25
    assert timezone_choices("no such place") == []
    assert timezone_choices("a", limit=3) == timezone_choices("a")[:3]
