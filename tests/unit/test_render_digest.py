"""Digest rendering: the header line, message keys, both styles, coverage buttons, packing under
Discord's limits, thread mode."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.corpus.model import Article, Provider, Related
from bot.digest.model import Story
from bot.render.digest import (
    DigestHeader,
    header_line,
    link_summary,
    message_key,
    pack_embeds,
    parse_header,
    render_digest,
    same_message,
    thread_name,
)
from bot.render.digest_items import clean_excerpt
from bot.render.message import embed_length, message_problems

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


SLOT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SLOT_TS = f"<t:{int(SLOT.timestamp())}:f>"


def test_header_line_formats() -> None:
    assert header_line(DigestHeader("Morning AI", SLOT, 3)) == f"📰 **Morning AI** · {SLOT_TS} · 3 stories"
    assert header_line(DigestHeader("Morning AI", SLOT, 3), continued=True) == (
        f"📰 **Morning AI** · {SLOT_TS} · continued"
    )
    assert header_line(DigestHeader("Morning AI", None, 1)) == "📰 **Morning AI** · 1 story"


def test_a_manual_run_header_has_no_seconds_no_escapes_and_no_parts() -> None:
    manual = datetime(2026, 3, 2, 7, 50, 17, tzinfo=UTC)
    line = header_line(DigestHeader("Morning", manual, 2))
    assert line == f"📰 **Morning** · <t:{int(manual.timestamp())}:f> · 2 stories"
    assert "\\" not in line and "manual" not in line and "part" not in line


def test_header_escapes_the_digest_title() -> None:
    line = header_line(DigestHeader("**bold** @everyone_x", None, 2))
    assert "**bold**" not in line
    assert "@everyone" not in line
    assert line.startswith(r"📰 **\*\*bold\*\* @")


def test_header_rejects_a_title_with_a_line_break() -> None:
    with pytest.raises(ValueError, match="line break"):
        header_line(DigestHeader("a\nb", None, 1))


@pytest.mark.parametrize(
    "title", ["Morning AI", "**bold** __x__", "a · b", "@everyone <@&1>", "back\\slash", "-dash", "[x](y)"]
)
@pytest.mark.parametrize("slot", [SLOT, None])
@pytest.mark.parametrize("continued", [False, True])
def test_parse_header_round_trips(title: str, slot: datetime | None, continued: bool) -> None:
    line = header_line(DigestHeader(title, slot, 4), continued=continued)
    assert parse_header(line) == (title, slot, "continued" if continued else "4 stories")


@pytest.mark.parametrize(
    "content", [None, "", "hello", "📰 **x** · many stories", "📰 **x** · <t:12:R> · 3 stories"]
)
def test_parse_header_rejects_other_content(content: str | None) -> None:
    assert parse_header(content) is None


def test_short_compact_digest_is_one_message_with_one_item_per_story() -> None:
    stories = [make_story(n) for n in range(3)]
    messages = render_digest(DigestHeader("Morning AI", SLOT, 3), stories, max_related=2)
    assert len(messages) == 1
    only = messages[0]
    assert only.payload["content"] == f"📰 **Morning AI** · {SLOT_TS} · 3 stories"
    assert only.payload["allowed_mentions"] == {"parse": []}
    first = only.payload["embeds"][0]
    assert first["title"] == "Story 0" and first["url"] == "https://lead0.example/story"
    assert first["description"] == (
        f"Lead 0 · <t:{int(PUBLISHED.timestamp())}:R>\n"
        + "word " * 19 + "word…\n"
        "More: [Other 0](https://other0.example/0) · [Other 1](https://other1.example/0) · +1"
    )
    assert "fields" not in first and "footer" not in first
    assert only.article_ids == tuple(story.lead.id for story in stories)
    assert only.delivered_urls[:3] == (
        "https://lead0.example/story", "https://other0.example/0", "https://other1.example/0"
    )
    (row,) = only.payload["components"]
    assert [button["custom_id"] for button in row["components"]] == [
        f"digestbot:coverage:{story.lead.id}" for story in stories
    ]
    assert row["components"][0]["label"] == "+1 · Story 0"
    assert not only.in_thread
    assert message_problems(only.payload) == []


def test_rich_style_keeps_the_full_embed_in_the_digests_colour() -> None:
    (only,) = render_digest(
        DigestHeader("Morning AI", SLOT, 1), [make_story(1)], max_related=2, style="rich", color=0x1F8B4C
    )
    (embed,) = only.payload["embeds"]
    assert embed["color"] == 0x1F8B4C
    assert [field["name"] for field in embed["fields"]][-1] == "Related coverage"
    assert embed["fields"][-1]["value"].endswith("+1 more")
    (button,) = only.payload["components"][0]["components"]
    assert button["custom_id"] == "digestbot:coverage:id00000000000001"


def test_a_story_with_all_coverage_listed_has_no_button() -> None:
    (only,) = render_digest(DigestHeader("d", None, 1), [make_story(1, related=2)], max_related=3)
    assert "components" not in only.payload
    assert only.payload["embeds"][0]["description"].endswith("[Other 1](https://other1.example/1)")


def test_ten_long_rich_stories_split_under_the_total_with_continued_headers() -> None:
    stories = [make_story(n, excerpt_words=3000, related=30) for n in range(10)]
    messages = render_digest(DigestHeader("Morning AI", SLOT, 10), stories, max_related=10, style="rich")
    assert len(messages) > 1
    for number, planned in enumerate(messages):
        assert message_problems(planned.payload) == []
        assert sum(embed_length(embed) for embed in planned.payload["embeds"]) <= 6000
        tail = "continued" if number else "10 stories"
        assert planned.payload["content"] == f"📰 **Morning AI** · {SLOT_TS} · {tail}"
        assert len(planned.article_ids) == len(planned.payload["embeds"])
    all_ids = [article_id for planned in messages for article_id in planned.article_ids]
    assert all_ids == [story.lead.id for story in stories]
    keys = [message_key(planned.payload) for planned in messages]
    assert len(set(keys)) == len(keys)
    for planned in messages:
        for embed in planned.payload["embeds"]:
            assert embed["description"].endswith("…")
            assert embed["fields"][-1]["value"].endswith("more")


@pytest.mark.parametrize("style", ["compact", "rich"])
def test_delivered_urls_exclude_coverage_behind_more(style: str) -> None:
    messages = render_digest(
        DigestHeader("d", None, 1), [make_story(1, related=8)], max_related=2, style=style
    )
    assert messages[0].delivered_urls == (
        "https://lead1.example/story",
        "https://other0.example/1",
        "https://other1.example/1",
    )
    assert messages[0].payload["components"][0]["components"][0]["label"].startswith("+6 · ")


def test_more_than_ten_small_stories_split_by_embed_count() -> None:
    stories = [make_story(n, related=0) for n in range(23)]
    messages = render_digest(DigestHeader("d", None, 23), stories, max_related=3)
    assert [len(planned.payload["embeds"]) for planned in messages] == [10, 10, 3]
    assert [planned.payload["content"].endswith("continued") for planned in messages] == [False, True, True]


def test_thread_mode_posts_a_header_then_thread_items() -> None:
    stories = [make_story(n, excerpt_words=3000, related=30) for n in range(4)]
    messages = render_digest(
        DigestHeader("Weekly", SLOT, 4), stories, max_related=10, mode="thread", style="rich"
    )
    head, *items = messages
    assert not head.in_thread
    assert head.article_ids == () and head.delivered_urls == ()
    assert head.payload["content"] == f"📰 **Weekly** · {SLOT_TS} · 4 stories"
    summary = head.payload["embeds"][0]["description"]
    assert summary.splitlines()[0] == "1. [Story 0](https://lead0.example/story) — Lead 0"
    assert items and all(planned.in_thread and planned.payload["content"] is None for planned in items)
    assert [i for planned in items for i in planned.article_ids] == [story.lead.id for story in stories]
    for planned in messages:
        assert message_problems(planned.payload) == []


def test_thread_header_links_each_story_to_its_message_without_changing_its_key() -> None:
    stories = [make_story(n) for n in range(3)]
    head = render_digest(DigestHeader("Weekly", SLOT, 3), stories, max_related=1, mode="thread")[0]
    jumps = [f"https://discord.com/channels/1/2/{n}" for n in (10, 10, 11)]
    linked = link_summary(head.payload, jumps)
    assert linked["embeds"][0]["description"].splitlines() == [
        "1. [Story 0](https://discord.com/channels/1/2/10) — Lead 0",
        "2. [Story 1](https://discord.com/channels/1/2/10) — Lead 1",
        "3. [Story 2](https://discord.com/channels/1/2/11) — Lead 2",
    ]
    assert same_message(head.payload, linked)
    assert message_problems(linked) == []


def test_message_key_tells_apart_two_digests_with_the_same_title_and_slot() -> None:
    header = DigestHeader("News", SLOT, 1)
    (one,) = render_digest(header, [make_story(1)], max_related=3)
    (two,) = render_digest(header, [make_story(2)], max_related=3)
    assert one.payload["content"] == two.payload["content"]
    assert not same_message(one.payload, two.payload)
    posted = {**one.payload, "id": "5", "author": {"id": "9"}, "embeds": [
        {**embed, "type": "rich"} for embed in one.payload["embeds"]
    ]}
    assert same_message(one.payload, posted)
    rewritten = {**posted, "embeds": [
        {**embed, "url": embed["url"] + "/",
         "description": embed["description"].replace(".example/", ".example:443/")}
        for embed in posted["embeds"]
    ]}
    assert same_message(one.payload, rewritten), "URLs as Discord writes them back do not matter"
    assert message_key({"content": "hello"}) is None


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
        pack_embeds([{"description": "x" * 6001}])


def test_thread_name_is_plain_short_and_local() -> None:
    london = ZoneInfo("Europe/London")
    assert thread_name("Morning AI", SLOT, london) == "Morning AI · Sun 22 Nov 08:00"
    assert thread_name("Morning AI", None, london) == "Morning AI"
    assert len(thread_name("n" * 300, None, london)) == 100


def worst_case_story(number: int) -> Story:
    """The longest of everything: title, provider, topics, ten related entries with long titles and
    URLs, and a 5,000-character excerpt without a single space."""
    lead = Article(
        url=f"https://lead{number}.example/" + "p" * 1900,
        title="**T**" * 120,
        published_at=PUBLISHED,
        source_file=f"{number}.txt",
        id_hint=f"w{number:015d}",
        id=f"w{number:015d}",
        excerpt="x" * 5000,
        quality=100,
        heat=10**9,
        provider=Provider("P" * 400, "p" * 200 + ".example"),
        topics=tuple("Topic " * 40 + str(n) for n in range(40)),
        images=(),
    )
    coverage = tuple(
        Related(
            title="R" * 1000 + f" {n}",
            url=f"https://other{n}.example/" + "q" * 1900,
            provider=Provider("O" * 300 + f" {n}"),
            published_at=PUBLISHED,
            quality=n,
        )
        for n in range(10)
    )
    return Story(lead=lead, related=coverage)


@pytest.mark.parametrize("style", ["compact", "rich"])
@pytest.mark.parametrize("mode", ["channel", "thread"])
def test_ten_worst_case_stories_fit_every_discord_limit(style: str, mode: str) -> None:
    stories = [worst_case_story(n) for n in range(10)]
    header = DigestHeader("W" * 80, SLOT, 10)
    messages = render_digest(header, stories, max_related=10, mode=mode, style=style, color=0xFFFFFF)
    assert [i for planned in messages for i in planned.article_ids] == [story.lead.id for story in stories]
    for planned in messages:
        payload = planned.payload
        assert message_problems(payload) == []
        assert len(payload.get("content") or "") <= 2000
        rows = payload.get("components") or []
        assert len(rows) <= 5
        for row in rows:
            assert row["type"] == 1 and 1 <= len(row["components"]) <= 5
            for button in row["components"]:
                assert len(button["label"]) <= 80 and len(button["custom_id"]) <= 100
    items = [embed for planned in messages if planned.in_thread or mode == "channel"
             for embed in planned.payload["embeds"]]
    assert len(items) == 10
    if style == "compact":
        assert all(embed["description"].splitlines()[1].endswith("…") for embed in items)


@pytest.mark.parametrize(
    ("excerpt", "expected"),
    [
        ("The council voted on Tuesday.", "The council voted on Tuesday."),
        ("has used facial recognition since at least", "has used facial recognition since at least…"),
        ("A list of things, ", "A list of things…"),
        ("word " * 60, ("word " * 30).strip() + "…"),
        ("x" * 5000, "x" * 149 + "…"),
        ("**bold** [link](https://x) and", r"\*\*bold\*\* \[link\]\(https://x\) and…"),
        (None, ""),
    ],
)
def test_compact_excerpts_end_cleanly(excerpt: str | None, expected: str) -> None:
    assert clean_excerpt(excerpt) == expected
