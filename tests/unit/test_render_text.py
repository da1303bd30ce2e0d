"""Escaping, mention neutralising, truncation, URL and timestamp rules for everything the bot shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.render.text import (
    ZERO_WIDTH_SPACE,
    clean,
    discord_timestamp,
    embed_text,
    escape_markdown,
    finish_excerpt,
    link_target,
    link_urls,
    markdown_to_plain,
    name_text,
    neutralize_mentions,
    plain,
    safe_url,
    truncate,
)

# An unescaped marker: the character not preceded by an odd run of backslashes.
UNESCAPED = r"(?<!\\)(?:\\\\)*{}"


def has_unescaped(text: str, char: str) -> bool:
    return re.search(UNESCAPED.format(re.escape(char)), text) is not None


@pytest.mark.parametrize(
    "raw", ["**bold**", "__under__", "~~strike~~", "||spoiler||", "`code`", "```block```"]
)
def test_inline_markdown_is_escaped(raw: str) -> None:
    escaped = escape_markdown(raw)
    for char in "*_~|`":
        assert not has_unescaped(escaped, char)
    assert escaped.replace("\\", "") == raw


def test_masked_link_cannot_form() -> None:
    escaped = escape_markdown("[click me](https://evil.example)")
    assert escaped == r"\[click me\]\(https://evil.example\)"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("> quoted", r"\> quoted"),
        (">>> all quoted", r"\>>> all quoted"),
        ("# Heading", r"\# Heading"),
        ("-# subtext", r"\-# subtext"),
        ("  - item", r"  \- item"),
        ("1. first", r"1\. first"),
        ("first line\n> second", "first line\n\\> second"),
    ],
)
def test_line_start_markers_are_escaped(raw: str, expected: str) -> None:
    assert escape_markdown(raw) == expected


def test_markers_inside_a_line_stay_readable() -> None:
    assert escape_markdown("a > b - c # d 1. e") == "a > b - c # d 1. e"


def test_backslash_is_escaped_so_it_cannot_undo_an_escape() -> None:
    assert escape_markdown("\\*") == "\\\\\\*"


@pytest.mark.parametrize("word", ["@everyone", "@here", "@Everyone"])
def test_everyone_and_here_are_neutralised(word: str) -> None:
    result = neutralize_mentions(f"hello {word}!")
    assert word not in result
    assert f"@{ZERO_WIDTH_SPACE}" in result


@pytest.mark.parametrize("mention", ["<@1>", "<@!123>", "<@&123>", "<#1>", "</digest preview:123456>"])
def test_angle_mentions_are_neutralised(mention: str) -> None:
    result = neutralize_mentions(f"ping {mention} now")
    assert mention not in result
    assert result == f"ping <{ZERO_WIDTH_SPACE}{mention[1:]} now"


def test_non_mentions_are_left_alone() -> None:
    text = "a <b> tag, email me@example.com, <https://example.com>"
    assert neutralize_mentions(text) == text


def test_clean_escapes_and_neutralises_and_accepts_none() -> None:
    assert clean(None) == ""
    result = clean("**@everyone** <@&123> [x](y)")
    assert "@everyone" not in result
    assert "<@&123>" not in result
    assert not has_unescaped(result, "*")
    assert not has_unescaped(result, "[")


def test_plain_neutralises_without_escaping() -> None:
    assert plain("The_Register  @here\nnews") == f"The_Register @{ZERO_WIDTH_SPACE}here news"


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"


def test_truncate_cuts_on_a_word_boundary() -> None:
    result = truncate("the quick brown fox jumps", 16)
    assert result == "the quick brown…"
    assert len(result) <= 16


def test_truncate_hard_cuts_a_single_long_word() -> None:
    result = truncate("x" * 50, 10)
    assert result == "x" * 9 + "…"


def test_truncate_respects_custom_ellipsis_and_tiny_limits() -> None:
    assert truncate("one two three four", 12, ellipsis=" [...]") == "one [...]"
    assert truncate("hello world", 1) == "…"
    assert truncate("hello world", 0) == ""


@pytest.mark.parametrize("limit", range(3, 30))
def test_truncate_never_splits_an_escape_sequence(limit: int) -> None:
    escaped = escape_markdown("a*b*c*d*e*f*g*h*i*j*k*l*m*n*o")
    result = truncate(escaped, limit)
    assert len(result) <= limit
    body = result.removesuffix("…")
    trailing = len(body) - len(body.rstrip("\\"))
    assert trailing % 2 == 0


def test_truncate_rejects_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        truncate("text", -1)


@pytest.mark.parametrize("url", ["https://example.com/a", "http://example.com", "HTTPS://EXAMPLE.COM/x?y=1"])
def test_safe_url_accepts_http_and_https(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "javascript:alert(1)",
        "ftp://example.com/file",
        "data:image/png;base64,AAAA",
        "https://exa mple.com",
        "https://example.com/\n",
        "https://",
        "//example.com/path",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_safe_url_rejects_everything_else(url: str | None) -> None:
    assert safe_url(url) is None


def test_link_target_keeps_masked_links_closed() -> None:
    assert link_target("https://en.wikipedia.org/wiki/A_(b)") == "https://en.wikipedia.org/wiki/A_%28b%29"


def test_discord_timestamp_styles_and_timezones() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert discord_timestamp(moment) == "<t:1704164645:D>"
    assert discord_timestamp(moment, "R") == "<t:1704164645:R>"
    same_instant = moment.astimezone(timezone(timedelta(hours=5)))
    assert discord_timestamp(same_instant, "d") == "<t:1704164645:d>"
    assert discord_timestamp(moment.replace(tzinfo=None), "f") == "<t:1704164645:f>"


def test_discord_timestamp_rejects_unknown_style() -> None:
    with pytest.raises(ValueError, match="style"):
        discord_timestamp(datetime(2024, 1, 1, tzinfo=UTC), "x")


def test_a_name_shows_as_the_text_it_is_never_a_link_bold_or_mention() -> None:
    shown = name_text("[re-verify the bot token here](https://evil.example) **x** <@1> @everyone")
    assert shown == (
        "\\[re-verify the bot token here\\]\\(https:\u200b//evil.example\\) \\*\\*x\\*\\* "
        "<\u200b@1> @\u200beveryone"
    )


def test_embed_text_keeps_mentions_which_never_ping_in_an_embed_and_escapes_the_rest() -> None:
    text = "Channel: <#12> → <#34>; by <@5> for <@&6>; **loud** @here http://x.example/a_b"
    assert embed_text(text) == (
        "Channel: <#12> → <#34>; by <@5> for <@&6>; \\*\\*loud\\*\\* @\u200bhere "
        "http:\u200b//x.example/a\\_b"
    )
    assert embed_text(None) == ""


def test_urls_in_text_become_working_links_without_escapes() -> None:
    url = "https://www.nola.com/news/crime_police/article_2e2f*x.html"
    shown = link_urls(f"url {url}")
    assert shown == (
        "url [www.nola.com/news/crime\\_police/article\\_2e2f\\*x.html]"
        "(https://www.nola.com/news/crime_police/article_2e2f*x.html)"
    )
    assert link_urls("see (https://a.example/x_(y)).") == (
        "see \\([a.example/x\\_\\(y\\)](https://a.example/x_%28y%29)\\)."
    )
    assert link_urls("no link **here** <@1>") == f"no link \\*\\*here\\*\\* <{ZERO_WIDTH_SPACE}@1>"
    long = "https://a.example/" + "p" * 700
    assert "](" not in link_urls(long) and len(link_urls(long)) <= 80
    assert link_urls("javascript:alert(1) ftp://x.example") == "javascript:alert\\(1\\) ftp://x.example"


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("It ended.", "It ended."),
        ("since at least", "since at least…"),
        ("the Council,", "the Council…"),
        ("a quote.”", "a quote.”"),
        ("already cut…", "already cut…"),
        ("Really?", "Really?"),
        ("", ""),
    ],
)
def test_an_excerpt_cut_by_its_source_ends_with_an_ellipsis(text: str, finished: str) -> None:
    assert finish_excerpt(text) == finished


def test_markdown_becomes_plain_text_for_a_terminal() -> None:
    title = "A **bold** claim [sic] about C:\\temp_dir"
    rendered = f"**[{clean(title)}](https://a.example/x_%28y%29)** · {clean('2 * 3 = 6')}"
    assert markdown_to_plain(rendered) == f"{title} <https://a.example/x_%28y%29> · 2 * 3 = 6"
    assert markdown_to_plain("__under__ ~~gone~~ ||hidden||") == "under gone hidden"
