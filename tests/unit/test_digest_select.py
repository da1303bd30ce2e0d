"""Which articles a digest run takes: filters, ranking, new vs. existing, backlog, the per-channel rule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.corpus.model import Article, Provider, Related
from bot.digest.select import Delivered, DigestContext, passes_filters, rank_key, select_stories
from tests.unit.digest_builders import SLOT, WATERMARK, make_ctx, make_settings, url_of


def make_article(key: str, **changes: Any) -> Article:
    values: dict[str, Any] = {
        "url": url_of(key),
        "title": f"Story {key}",
        "published_at": SLOT - timedelta(days=1),
        "source_file": f"{key}.txt",
        "id_hint": key,
        "id": key,
        "quality": 50,
        "heat": 0,
        "published": True,
        "first_load": WATERMARK + 1,
    }
    values.update(changes)
    return Article(**values)


def related_to(*keys: str) -> tuple[Related, ...]:
    return tuple(Related(title=f"Story {key}", url=url_of(key)) for key in keys)


def lead_ids(pool: Iterable[Article], ctx: DigestContext) -> list[str]:
    return [story.lead.id for story in select_stories(pool, ctx).stories]


# --- filters


def test_quality_at_the_minimum_passes_and_below_it_fails_with_both_numbers() -> None:
    ctx = make_ctx(make_settings(min_quality=40))
    assert passes_filters(make_article("a", quality=40), ctx) is None
    reason = passes_filters(make_article("b", quality=39), ctx)
    assert reason is not None and "39" in reason and "40" in reason


def test_unrated_article_counts_as_quality_zero() -> None:
    assert passes_filters(make_article("a", quality=None), make_ctx()) is None
    assert passes_filters(make_article("a", quality=None), make_ctx(make_settings(min_quality=1))) is not None


def test_topics_match_any_case_insensitively() -> None:
    ctx = make_ctx(make_settings(topics=("computer vision", "Robotics")))
    assert passes_filters(make_article("a", topics=("AI", "Computer Vision")), ctx) is None
    reason = passes_filters(make_article("b", topics=("AI",)), ctx)
    assert reason is not None and "topics" in reason
    assert passes_filters(make_article("c"), ctx) is not None


@pytest.mark.parametrize(
    "provider",
    [
        Provider("The Crime Report", "thecrimereport.org"),
        Provider("THE CRIME REPORT", None),
        Provider(None, "www.nola.com"),
        Provider(None, "NOLA.com"),
        Provider("Local", "news.nola.com"),
    ],
)
def test_providers_match_by_name_or_domain(provider: Provider) -> None:
    ctx = make_ctx(make_settings(providers=("the crime report", "nola.com")))
    assert passes_filters(make_article("a", provider=provider), ctx) is None


@pytest.mark.parametrize(
    "provider", [None, Provider("Protocol", "protocol.com"), Provider(None, "notnola.com")]
)
def test_other_or_missing_providers_are_filtered_out(provider: Provider | None) -> None:
    ctx = make_ctx(make_settings(providers=("The Crime Report", "nola.com")))
    reason = passes_filters(make_article("a", provider=provider), ctx)
    assert reason is not None and "provider" in reason


def test_keywords_use_the_hits_given_by_the_store() -> None:
    ctx = make_ctx(make_settings(keywords=("facial recognition",)), keyword_hits=frozenset({"a"}))
    assert passes_filters(make_article("a"), ctx) is None
    reason = passes_filters(make_article("b"), ctx)
    assert reason is not None and "facial recognition" in reason


def test_keywords_without_hits_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="keywords"):
        make_ctx(make_settings(keywords=("ai",)), keyword_hits=None)


def test_slot_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        DigestContext(make_settings(), WATERMARK, False, {}, None, datetime(2024, 5, 1, 8))


@pytest.mark.parametrize(("published", "passes"), [(True, True), (False, False), (None, False)])
def test_published_only_takes_articles_marked_published(published: bool | None, passes: bool) -> None:
    ctx = make_ctx(make_settings(published_only=True))
    assert (passes_filters(make_article("a", published=published), ctx) is None) is passes
    assert passes_filters(make_article("a", published=published), make_ctx()) is None


def test_max_age_days_is_measured_from_the_slot_time() -> None:
    ctx = make_ctx(make_settings(max_age_days=7))
    assert passes_filters(make_article("a", published_at=SLOT - timedelta(days=7)), ctx) is None
    reason = passes_filters(make_article("b", published_at=SLOT - timedelta(days=7, seconds=1)), ctx)
    assert reason is not None and "7 days" in reason


def test_max_age_is_off_by_default_so_historical_corpora_pass() -> None:
    old = make_article("a", published_at=datetime(2018, 1, 1, tzinfo=UTC))
    assert passes_filters(old, make_ctx()) is None


def test_select_applies_the_filters_itself() -> None:
    pool = [make_article("good", quality=80), make_article("poor", quality=10)]
    assert lead_ids(pool, make_ctx(make_settings(min_quality=50))) == ["good"]


# --- ranking


def test_ranking_is_quality_then_heat_then_recency_then_id() -> None:
    newer = SLOT - timedelta(hours=1)
    older = SLOT - timedelta(days=2)
    articles = [
        make_article("f", quality=None, heat=500),
        make_article("e", quality=60, heat=None),
        make_article("d", quality=60, heat=5, published_at=older),
        make_article("c", quality=60, heat=5, published_at=newer),
        make_article("b", quality=60, heat=5, published_at=newer),
        make_article("a", quality=90, heat=-1),
    ]
    assert [article.id for article in sorted(articles, key=rank_key)] == ["a", "b", "c", "d", "e", "f"]


def test_stories_come_best_first() -> None:
    pool = [
        make_article("low", quality=20),
        make_article("high", quality=90),
        make_article("mid", quality=50),
    ]
    assert lead_ids(pool, make_ctx()) == ["high", "mid", "low"]


# --- new vs. existing, backlog, cap


def existing(key: str, quality: int) -> Article:
    return make_article(key, quality=quality, first_load=WATERMARK)


def test_later_runs_post_only_articles_first_seen_after_the_watermark() -> None:
    pool = [existing("old", 99), make_article("new", quality=10), make_article("unknown", first_load=None)]
    assert lead_ids(pool, make_ctx(first_run=False)) == ["new"]


def test_first_run_adds_the_best_existing_articles_up_to_backlog() -> None:
    pool = [existing(f"old{quality}", quality) for quality in (10, 20, 30, 40)] + [make_article("new")]
    selection = select_stories(pool, make_ctx(make_settings(backlog=2), first_run=True))
    assert [story.lead.id for story in selection.stories] == ["new", "old40", "old30"]
    assert selection.backlog_ids == {"old40", "old30"}
    assert selection.new_ids == {"new"}
    assert selection.existing_ranked == ("old40", "old30", "old20", "old10")


def test_backlog_takes_only_existing_articles_that_pass_the_filters() -> None:
    pool = [existing("poor", 5), existing("fine", 60), existing("good", 70)]
    ctx = make_ctx(make_settings(backlog=2, min_quality=50), first_run=True)
    assert lead_ids(pool, ctx) == ["good", "fine"]


def test_backlog_never_lifts_max_articles() -> None:
    pool = [existing(f"old{quality}", quality) for quality in (60, 70, 80)]
    pool += [make_article(f"new{quality}", quality=quality) for quality in (50, 75)]
    ctx = make_ctx(make_settings(backlog=3, max_articles=3), first_run=True)
    selection = select_stories(pool, ctx)
    assert [story.lead.id for story in selection.stories] == ["old80", "new75", "old70"]
    assert [story.lead.id for story in selection.cut] == ["old60", "new50"]


def test_zero_backlog_first_run_posts_only_new_articles() -> None:
    pool = [existing("old", 90), make_article("new")]
    assert lead_ids(pool, make_ctx(make_settings(backlog=0), first_run=True)) == ["new"]


def test_fresh_install_posts_its_best_seeds_first_then_only_what_arrives() -> None:
    seeds = [existing(f"seed{quality}", quality) for quality in (10, 39, 47, 74)]
    settings = make_settings(backlog=5, max_articles=3)
    assert lead_ids(seeds, make_ctx(settings, first_run=True)) == ["seed74", "seed47", "seed39"]
    assert lead_ids(seeds, make_ctx(settings, first_run=False)) == []
    arrived = make_article("arrived", quality=1)
    assert lead_ids([*seeds, arrived], make_ctx(settings, first_run=False)) == ["arrived"]


# --- the per-channel delivery rule


def test_a_url_delivered_to_the_channel_by_another_digest_never_leads_again() -> None:
    pool = [make_article("shared", quality=90), make_article("fresh", quality=50)]
    # Digest "morning" already posted "shared" to channel 100; "evening" posts to the same channel.
    channel_ledger = [Delivered(url_of("shared"), SLOT - timedelta(hours=3), "morning")]
    evening = make_settings(name="evening", channel_id=100)
    assert lead_ids(pool, make_ctx(evening, delivered=channel_ledger)) == ["fresh"]
    # A digest on another channel has its own ledger, where nothing was delivered yet.
    elsewhere = make_settings(name="elsewhere", channel_id=200)
    assert lead_ids(pool, make_ctx(elsewhere)) == ["shared", "fresh"]


def test_delivered_urls_still_appear_as_related_coverage() -> None:
    pool = [
        make_article("done", quality=90),
        make_article("follow-up", quality=40, related=related_to("done", "other")),
    ]
    ctx = make_ctx(delivered=[Delivered(url_of("done"), SLOT - timedelta(days=1), "daily")])
    (story,) = select_stories(pool, ctx).stories
    assert story.lead.id == "follow-up"
    assert story.folded == ()
    assert [item.url for item in story.related] == [url_of("done"), url_of("other")]


def test_delivered_backlog_articles_are_skipped_and_the_next_best_taken() -> None:
    pool = [existing("top", 90), existing("second", 80), existing("third", 70)]
    ctx = make_ctx(
        make_settings(backlog=2),
        first_run=True,
        delivered=[Delivered(url_of("top"), SLOT - timedelta(days=1), "other")],
    )
    assert lead_ids(pool, ctx) == ["second", "third"]


def test_same_story_candidates_are_grouped_and_recorded() -> None:
    pool = [
        make_article("lead", quality=80, related=related_to("follower")),
        make_article("follower", quality=40),
    ]
    selection = select_stories(pool, make_ctx())
    assert [story.lead.id for story in selection.stories] == ["lead"]
    assert selection.folded_into == {"follower": "lead"}
