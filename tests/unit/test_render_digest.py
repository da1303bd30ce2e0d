"""Digest rendering: the header/marker line, packing stories under Discord's limits, thread mode."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.corpus.model import Article, Provider, Related
from bot.digest.model import Story
from bot.render.digest import (
    DigestHeader,
    header_line,
    marker_matches,
    pack_embeds,
    parse_marker,
    render_digest,
    thread_name,
)
from bot.render.embeds import RenderedEmbed, embed_length, message_problems

PUBLISHED = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def make_story(number: int, *, excerpt_words: int = 20, related: int = 3) -> Story:
    lead = Article(
        url=f"https://lead{number}.example/story",
        title=f"Story {number}",
        published_at=PUBLISHED,
        source_file=f"{number}.txt",
        id_hint=f"id{number:014d}",
        id=f"id{number:014d}",
        excerpt="word " * excerpt_words,
        quality=90 - number,
        provider=Provider(f"Lead {number}", f"lead{number}.example"),
    )
    coverage = tuple(
        Related(
            title=f"Coverage {number}.{n} " + "detail " * 15,
            url=f"https://other{n}.example/{number}",
            provider=Provider(f"Other {n}"),
            published_at=PUBLISHED,
            quality=50 - n,
        )
        for n in range(related)
    )
    return Story(lead=lead, related=coverage)


def test_header_line_formats() -> None:
    assert header_line(DigestHeader("morning-ai", "2026-11-22T08:00", 3), 1, 2) == (
        "📰 **morning-ai** · 2026-11-22T08:00 · 3 stories · part 1/2"
    )
    assert header_line(DigestHeader("morning-ai", None, 1)) == "📰 **morning-ai** · 1 story"


def test_header_escapes_the_digest_name() -> None:
    line = header_line(DigestHeader("**bold** @everyone_x", None, 2))
    assert "**bold**" not in line
    assert "@everyone" not in line
    assert line.startswith(r"📰 **\*\*bold\*\* @")


def test_header_rejects_a_slot_label_that_would_break_the_marker() -> None:
    with pytest.raises(ValueError, match="slot label"):
        header_line(DigestHeader("d", "a · b", 1))


@pytest.mark.parametrize(
    "name", ["morning-ai", "**bold** __x__", "a · b", "@everyone <@&1>", "back\\slash", "-dash", "[x](y)"]
)
@pytest.mark.parametrize(("slot", "part", "parts"), [("2026-11-22T08:00 Europe/Paris", 2, 3), (None, 1, 1)])
def test_parse_marker_round_trips(name: str, slot: str | None, part: int, parts: int) -> None:
    line = header_line(DigestHeader(name, slot, 4), part, parts)
    assert parse_marker(line) == (name, slot, part, parts)
    assert marker_matches(line, name, slot, part, parts)
    assert not marker_matches(line, name + "x", slot, part, parts)


@pytest.mark.parametrize(
    "content", [None, "", "hello", "📰 **x** · many stories", "📰 **x** · 3 stories · part a/b"]
)
def test_parse_marker_rejects_other_content(content: str | None) -> None:
    assert parse_marker(content) is None


def test_short_digest_is_one_message_without_part() -> None:
    stories = [make_story(n) for n in range(3)]
    messages = render_digest(DigestHeader("morning-ai", "2026-11-22T08:00", 3), stories, max_related=5)
    assert len(messages) == 1
    only = messages[0]
    assert only.payload["content"] == "📰 **morning-ai** · 2026-11-22T08:00 · 3 stories"
    assert only.payload["allowed_mentions"] == {"parse": []}
    assert len(only.payload["embeds"]) == 3
    assert only.article_ids == tuple(story.lead.id for story in stories)
    assert "https://lead0.example/story" in only.delivered_urls
    assert "https://other0.example/0" in only.delivered_urls
    assert not only.in_thread
    assert message_problems(only.payload) == []


def test_ten_long_stories_split_under_the_total_with_part_headers() -> None:
    stories = [make_story(n, excerpt_words=3000, related=30) for n in range(10)]
    header = DigestHeader("morning-ai", "2026-11-22T08:00", 10)
    messages = render_digest(header, stories, max_related=10)
    parts = len(messages)
    assert parts > 1
    for number, planned in enumerate(messages, start=1):
        assert message_problems(planned.payload) == []
        assert sum(embed_length(embed) for embed in planned.payload["embeds"]) <= 6000
        assert planned.payload["content"] == (
            f"📰 **morning-ai** · 2026-11-22T08:00 · 10 stories · part {number}/{parts}"
        )
        assert parse_marker(planned.payload["content"]) == ("morning-ai", "2026-11-22T08:00", number, parts)
        assert len(planned.article_ids) == len(planned.payload["embeds"])
    all_ids = [article_id for planned in messages for article_id in planned.article_ids]
    assert all_ids == [story.lead.id for story in stories]
    for planned in messages:
        for embed in planned.payload["embeds"]:
            assert embed["description"].endswith("…")
            assert embed["fields"][-1]["value"].endswith("more")


def test_delivered_urls_exclude_coverage_behind_more() -> None:
    messages = render_digest(DigestHeader("d", None, 1), [make_story(1, related=8)], max_related=2)
    assert messages[0].delivered_urls == (
        "https://lead1.example/story",
        "https://other0.example/1",
        "https://other1.example/1",
    )
    assert messages[0].payload["embeds"][0]["fields"][-1]["value"].endswith("+6 more")


def test_more_than_ten_small_stories_split_by_embed_count() -> None:
    stories = [make_story(n, related=0) for n in range(23)]
    messages = render_digest(DigestHeader("d", None, 23), stories, max_related=3)
    assert [len(planned.payload["embeds"]) for planned in messages] == [10, 10, 3]
    assert [parse_marker(planned.payload["content"])[2:] for planned in messages] == [(1, 3), (2, 3), (3, 3)]  # type: ignore[index]


def test_thread_mode_posts_a_header_then_thread_items() -> None:
    stories = [make_story(n, excerpt_words=3000, related=30) for n in range(4)]
    messages = render_digest(
        DigestHeader("weekly", "2026-11-22T08:00", 4), stories, max_related=10, mode="thread"
    )
    head, *items = messages
    parts = len(messages)
    assert not head.in_thread
    assert head.article_ids == () and head.delivered_urls == ()
    assert head.payload["content"] == f"📰 **weekly** · 2026-11-22T08:00 · 4 stories · part 1/{parts}"
    summary = head.payload["embeds"][0]["description"]
    assert summary.splitlines()[0] == "1. Story 0 — Lead 0"
    assert items and all(planned.in_thread for planned in items)
    assert [parse_marker(planned.payload["content"])[2] for planned in items] == list(range(2, parts + 1))  # type: ignore[index]
    assert [i for planned in items for i in planned.article_ids] == [story.lead.id for story in stories]
    for planned in messages:
        assert message_problems(planned.payload) == []


def test_thread_summary_of_many_stories_stays_within_the_description() -> None:
    stories = [Story(lead=replace(make_story(n, related=0).lead, title="T" * 250)) for n in range(60)]
    head = render_digest(DigestHeader("d", None, 60), stories, max_related=1, mode="thread")[0]
    assert message_problems(head.payload) == []
    assert head.payload["embeds"][0]["description"].endswith("more")


def test_no_stories_posts_nothing() -> None:
    assert render_digest(DigestHeader("d", None, 0), [], max_related=3) == []


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="mode"):
        render_digest(DigestHeader("d", None, 1), [make_story(1)], max_related=3, mode="forum")


def test_pack_embeds_refuses_an_oversized_embed() -> None:
    with pytest.raises(ValueError, match="over 6000"):
        pack_embeds([RenderedEmbed(embed={"description": "x" * 6001}, shown_urls=())])


def test_thread_name_is_plain_and_short() -> None:
    assert thread_name(DigestHeader("morning-ai", "2026-11-22T08:00", 2)) == "morning-ai · 2026-11-22T08:00"
    assert len(thread_name(DigestHeader("n" * 300, None, 2))) == 100
