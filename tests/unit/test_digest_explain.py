"""Why an article is or is not in a digest's next run: every reason, and agreement with the selection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.corpus.model import Article, Provider, Related
from bot.digest.explain import explain
from bot.digest.plan import compose_plan
from bot.digest.select import Delivered, select_stories
from tests.unit.digest_builders import SLOT, WATERMARK, make_ctx, make_settings, url_of


def make_article(key: str, quality: int = 50, *related: str, **changes: Any) -> Article:
    values: dict[str, Any] = {
        "url": url_of(key),
        "title": f"Story {key}",
        "published_at": SLOT - timedelta(days=1),
        "source_file": f"{key}.txt",
        "id_hint": key,
        "id": key,
        "quality": quality,
        "published": True,
        "topics": ("AI",),
        "provider": Provider(f"Outlet {key}", f"{key}.example"),
        "first_load": WATERMARK + 1,
        "related": tuple(Related(title=f"Coverage {other}", url=url_of(other)) for other in related),
    }
    values.update(changes)
    return Article(**values)


def test_an_article_not_in_the_corpus() -> None:
    answer = explain("zzz", [make_article("a")], make_ctx())
    assert not answer.included and "zzz" in answer.reason and "not in the corpus" in answer.reason


def test_a_new_lead_is_included() -> None:
    answer = explain("a", [make_article("a", 80), make_article("b", 20)], make_ctx())
    assert answer.included and "leads story 1 of 2" in answer.reason and "new" in answer.reason


def test_a_backlog_lead_is_included_on_the_first_run() -> None:
    pool = [make_article("old", 80, first_load=WATERMARK)]
    answer = explain("old", pool, make_ctx(first_run=True))
    assert answer.included and "backlog" in answer.reason


def test_already_delivered_names_when_and_which_digest() -> None:
    when = datetime(2024, 4, 30, 8, 0, tzinfo=UTC)
    ctx = make_ctx(make_settings(name="evening"), delivered=[Delivered(url_of("a"), when, "morning")])
    answer = explain("a", [make_article("a")], ctx)
    assert not answer.included
    assert "already delivered" in answer.reason and "2024-04-30 08:00" in answer.reason
    assert "'morning'" in answer.reason


@pytest.mark.parametrize(
    ("settings", "changes", "keyword_hits", "expected"),
    [
        ({"min_quality": 60}, {"quality": 39}, None, "quality 39 is below the digest's minimum of 60"),
        ({"topics": ("robotics",)}, {}, None, "topics"),
        ({"providers": ("nola.com",)}, {}, None, "provider"),
        ({"keywords": ("facial recognition",)}, {}, frozenset({"other"}), "keywords (facial recognition)"),
        ({"max_age_days": 7}, {"published_at": SLOT - timedelta(days=30)}, None,
         "the digest's age limit (max_age_days: 7 days"),
        ({"published_only": True}, {"published": False}, None, "published"),
    ],
)
def test_every_filter_is_named(
    settings: dict[str, Any], changes: dict[str, Any], keyword_hits: frozenset[str] | None, expected: str
) -> None:
    ctx = make_ctx(make_settings(**settings), keyword_hits=keyword_hits)
    answer = explain("a", [make_article("a", **changes)], ctx)
    assert not answer.included
    assert answer.reason.startswith("Filtered out by digest 'daily'")
    assert expected in answer.reason


def test_an_existing_article_after_the_first_run() -> None:
    answer = explain("old", [make_article("old", 99, first_load=WATERMARK)], make_ctx(first_run=False))
    assert not answer.included
    assert "before digest 'daily' was created" in answer.reason and "only new" in answer.reason


def test_an_existing_article_outside_the_first_runs_backlog_gives_its_rank() -> None:
    pool = [make_article(f"old{q}", q, first_load=WATERMARK) for q in (10, 20, 30)]
    answer = explain("old10", pool, make_ctx(make_settings(backlog=2), first_run=True))
    assert not answer.included
    assert "ranks 3" in answer.reason and "backlog of 2" in answer.reason


def test_a_folded_article_listed_as_related_coverage_is_included_and_names_the_lead() -> None:
    pool = [make_article("lead", 80, "follower"), make_article("follower", 40)]
    answer = explain("follower", pool, make_ctx())
    assert answer.included
    assert "same story as lead" in answer.reason and "related coverage" in answer.reason


def test_a_folded_article_hidden_behind_more_is_not_included() -> None:
    pool = [make_article("lead", 80, "follower", "x"), make_article("follower", 40), make_article("x", 60)]
    answer = explain("follower", pool, make_ctx(make_settings(max_related=1)))
    assert not answer.included
    assert "folded into it" in answer.reason and '"+N"' in answer.reason and "lead" in answer.reason


def test_cut_by_max_articles_gives_the_story_rank() -> None:
    pool = [make_article("a", 90), make_article("b", 80), make_article("c", 70, "d"), make_article("d", 10)]
    ctx = make_ctx(make_settings(max_articles=2))
    lead = explain("c", pool, ctx)
    assert not lead.included and "max_articles" in lead.reason and "ranks 3" in lead.reason
    member = explain("d", pool, ctx)
    assert not member.included and "story led by c" in member.reason


def test_explain_agrees_with_the_selection_and_the_plan_on_a_mixed_pool() -> None:
    when = SLOT - timedelta(days=2)
    pool = [
        make_article("top", 95, "x1", "fold1"),
        make_article("fold1", 60),
        make_article("fold2", 30, "x1"),
        make_article("fold3", 25, "x1"),
        make_article("chain-a", 70, "chain-b"),
        make_article("chain-b", 65, "chain-c"),
        make_article("chain-c", 20),
        make_article("delivered", 99),
        make_article("poor", 5),
        make_article("old-best", 88, first_load=WATERMARK),
        make_article("old-mid", 55, first_load=WATERMARK),
        make_article("old-low", 45, first_load=WATERMARK),
        make_article("solo1", 50),
        make_article("solo2", 49),
        make_article("solo3", 48),
        make_article("solo4", 47),
        make_article("unpublished", 90, published=False),
    ]
    delivered = [Delivered(url_of("delivered"), when, "other")]
    for first_run in (True, False):
        settings = make_settings(
            min_quality=10, max_articles=4, max_related=2, backlog=2, published_only=True
        )
        ctx = make_ctx(settings, first_run=first_run, delivered=delivered)
        selection = select_stories(pool, ctx)
        plan, _ = compose_plan(ctx, pool, slot=None)
        leads = {article_id for message in plan.messages for article_id in message.article_ids}
        shown = {url for message in plan.messages for url in message.delivered_urls}
        shown_members = {
            member.id for story in selection.stories for member in story.folded if member.url in shown
        }
        assert leads == {story.lead.id for story in selection.stories}
        for article in pool:
            answer = explain(article.id, pool, ctx)
            assert answer.included == (article.id in leads | shown_members), (article.id, answer.reason)
            assert answer.reason.endswith(".")
        # The pool exercises both sides: shown members and a member only counted in "+N".
        assert shown_members and "fold3" in selection.folded_into and "fold3" not in shown_members
