"""Exclusions (`exclude_topics`, `exclude_providers`, `exclude_keywords`): each on its own and combined with
the includes, matched by the include rules, agreeing between selection and explain."""

from __future__ import annotations

import pytest

from bot.corpus.model import Provider
from bot.digest.explain import explain
from bot.digest.select import DigestContext, exclusion, passes_filters, select_stories
from tests.unit.digest_builders import make_ctx, make_settings
from tests.unit.test_digest_select import make_article

SPORT = make_article("sport", topics=("Sport", "News"),
                     provider=Provider(name="Daily Blare", domain="blare.example"))
TECH = make_article("tech", topics=("Technology",),
                    provider=Provider(name="Wire", domain="news.wire.example"))
AD = make_article("ad", topics=("Technology",), provider=Provider(name="Wire", domain="wire.example"))
POOL = (SPORT, TECH, AD)


def leads(ctx: DigestContext) -> set[str]:
    return {story.lead.id for story in select_stories(POOL, ctx).stories}


def test_nothing_is_excluded_by_default() -> None:
    ctx = make_ctx()
    assert [exclusion(article, ctx) for article in POOL] == [None, None, None]


@pytest.mark.parametrize("typed", ["sport", "SPORT", "Sport"])
def test_an_excluded_topic_matches_like_topics_do(typed: str) -> None:
    ctx = make_ctx(make_settings(exclude_topics=(typed,)))
    assert passes_filters(SPORT, ctx) == f"excluded by topic {typed!r}"
    assert leads(ctx) == {"ad", "tech"}


@pytest.mark.parametrize(("typed", "excluded"), [
    ("Wire", {"tech", "ad"}), ("wire.example", {"tech", "ad"}), ("news.wire.example", {"tech"}),
    ("blare.example", {"sport"}),
])
def test_an_excluded_provider_matches_by_name_or_domain_subdomains_included(
    typed: str, excluded: set[str]
) -> None:
    ctx = make_ctx(make_settings(exclude_providers=(typed,)))
    assert {a.id for a in POOL if exclusion(a, ctx) is not None} == excluded
    assert all(exclusion(a, ctx) == f"excluded by provider {typed!r}" for a in POOL if a.id in excluded)
    assert leads(ctx) == {"sport", "tech", "ad"} - excluded


def test_an_excluded_keyword_uses_the_hits_given_by_the_store_and_names_the_keyword() -> None:
    settings = make_settings(exclude_keywords=("paid content", "sponsored"))
    hits = {"paid content": frozenset[str](), "sponsored": frozenset({"ad"})}
    ctx = make_ctx(settings, excluded_keyword_hits=hits)
    assert passes_filters(AD, ctx) == "excluded by keyword 'sponsored'"
    assert leads(ctx) == {"sport", "tech"}


def test_excluded_keywords_without_their_hits_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="excluded keywords"):
        make_ctx(make_settings(exclude_keywords=("sponsored",)))


def test_an_exclusion_wins_over_a_matching_include() -> None:
    settings = make_settings(topics=("technology",), providers=("wire.example",), keywords=("chips",),
                             exclude_keywords=("sponsored",))
    ctx = make_ctx(settings, keyword_hits=frozenset({"tech", "ad"}),
                   excluded_keyword_hits={"sponsored": frozenset({"ad"})})
    assert passes_filters(TECH, ctx) is None
    assert passes_filters(AD, ctx) == "excluded by keyword 'sponsored'"
    assert "none of its topics" in (passes_filters(SPORT, ctx) or "")
    assert leads(ctx) == {"tech"}


def test_includes_and_exclusions_combine_across_kinds() -> None:
    settings = make_settings(providers=("wire",), exclude_topics=("news",),
                             exclude_providers=("news.wire.example",))
    ctx = make_ctx(settings)
    assert leads(ctx) == {"ad"}
    assert passes_filters(TECH, ctx) == "excluded by provider 'news.wire.example'"


def test_explain_gives_the_exclusion_as_the_reason() -> None:
    ctx = make_ctx(make_settings(exclude_keywords=("sponsored",)),
                   excluded_keyword_hits={"sponsored": frozenset({"ad"})})
    explanation = explain("ad", list(POOL), ctx)
    assert not explanation.included
    assert explanation.reason == "Filtered out by digest 'daily': excluded by keyword 'sponsored'."
    assert explain("tech", list(POOL), ctx).included
