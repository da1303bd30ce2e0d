"""A run's plan: selection, grouping and the real renderer composed into the messages a run posts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.corpus.model import Article, Provider, Related
from bot.digest.plan import compose_plan, delivered_urls
from bot.render.digest import parse_header
from bot.render.message import message_problems
from tests.unit.digest_builders import SLOT, WATERMARK, make_ctx, make_settings, url_of


def make_article(key: str, quality: int = 50, *related: Related, **changes: Any) -> Article:
    values: dict[str, Any] = {
        "url": url_of(key),
        "title": f"Story {key}",
        "published_at": SLOT - timedelta(days=1),
        "source_file": f"{key}.txt",
        "id_hint": key,
        "id": key,
        "excerpt": f"What happened in story {key}.",
        "quality": quality,
        "provider": Provider(f"Outlet {key}", f"{key}.example"),
        "first_load": WATERMARK + 1,
        "related": related,
    }
    values.update(changes)
    return Article(**values)


def rel(key: str, quality: int) -> Related:
    return Related(title=f"Coverage {key}", url=url_of(key), quality=quality)


def test_nothing_to_post_is_an_empty_plan() -> None:
    plan, selection = compose_plan(make_ctx(), [], slot=SLOT)
    assert plan.digest == "daily" and plan.is_empty and selection.stories == ()
    old = make_article("old", 90, first_load=WATERMARK)
    plan, _ = compose_plan(make_ctx(first_run=False), [old], slot=None)
    assert plan.is_empty


def test_plan_posts_the_selected_stories_with_a_header_line_and_what_each_message_delivers() -> None:
    pool = [
        make_article("lead", 80, rel("outlet-one", 70), rel("outlet-two", 60)),
        make_article("follower", 40, rel("outlet-two", 60)),
        make_article("other", 30),
    ]
    plan, selection = compose_plan(make_ctx(), pool, slot=SLOT)
    assert [story.lead.id for story in selection.stories] == ["lead", "other"]
    (only,) = plan.messages
    assert parse_header(only.payload["content"]) == ("Daily", SLOT, "2 stories")
    assert only.article_ids == ("lead", "other")
    assert set(only.delivered_urls) == {
        url_of(key) for key in ("lead", "outlet-one", "outlet-two", "follower", "other")
    }
    assert message_problems(only.payload) == []


def test_related_coverage_hidden_behind_more_is_not_delivered() -> None:
    pool = [
        make_article("lead", 80, rel("best", 90), rel("worse", 20)),
        make_article("follower", 40, rel("worse", 20)),
    ]
    plan, _ = compose_plan(make_ctx(make_settings(max_related=1)), pool, slot=None)
    assert delivered_urls(plan) == {url_of("lead"), url_of("best")}
    assert plan.messages[0].payload["embeds"][0]["description"].endswith(" · +2")


def test_thread_mode_is_a_header_message_then_thread_items() -> None:
    pool = [make_article("a", 80), make_article("b", 60)]
    plan, _ = compose_plan(make_ctx(make_settings(mode="thread")), pool, slot=None)
    header, *items = plan.messages
    assert not header.in_thread and header.article_ids == () and header.delivered_urls == ()
    assert items and all(item.in_thread for item in items)
    assert [article_id for item in items for article_id in item.article_ids] == ["a", "b"]


def test_ten_rich_stories_with_long_excerpts_split_within_discords_limits() -> None:
    pool = [make_article(f"s{number}", 50 + number, excerpt="word " * 2000) for number in range(10)]
    plan, selection = compose_plan(make_ctx(make_settings(style="rich")), pool, slot=None)
    assert len(selection.stories) == 10
    assert len(plan.messages) > 1
    assert all(message_problems(message.payload) == [] for message in plan.messages)
    assert [article_id for message in plan.messages for article_id in message.article_ids] == [
        story.lead.id for story in selection.stories
    ]


def test_first_run_plan_includes_the_backlog_and_respects_max_articles() -> None:
    pool = [make_article(f"old{q}", q, first_load=WATERMARK) for q in (10, 20, 30)] + [make_article("new", 5)]
    settings = make_settings(backlog=2, max_articles=2)
    plan, _ = compose_plan(make_ctx(settings, first_run=True), pool, slot=None)
    assert [article_id for message in plan.messages for article_id in message.article_ids] == [
        "old30",
        "old20",
    ]
