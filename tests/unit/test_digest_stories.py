"""Stories, not duplicates: grouping articles that cover the same story, and each URL once per run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.corpus.model import Article, Provider, Related
from bot.digest.model import Story
from bot.digest.stories import as_related, group_stories
from tests.unit.digest_builders import url_of

PUBLISHED = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def make_article(key: str, quality: int | None = 50, *related: Related, **changes: Any) -> Article:
    values: dict[str, Any] = {
        "url": url_of(key),
        "title": f"Story {key}",
        "published_at": PUBLISHED,
        "source_file": f"{key}.txt",
        "id_hint": key,
        "id": key,
        "quality": quality,
        "related": related,
    }
    values.update(changes)
    return Article(**values)


def rel(key: str, quality: int | None = None, **changes: Any) -> Related:
    return Related(title=f"Coverage {key}", url=url_of(key), quality=quality, **changes)


def shape(stories: list[Story]) -> list[tuple[str, list[str]]]:
    """(lead id, related URLs' keys) per story, for compact assertions."""
    return [
        (story.lead.id, [item.url.removeprefix("https://news.example/") for item in story.related])
        for story in stories
    ]


def test_unrelated_articles_are_separate_stories_best_first() -> None:
    stories = group_stories([make_article("a", 10), make_article("b", 90)])
    assert shape(stories) == [("b", []), ("a", [])]


def test_an_article_listed_in_anothers_related_coverage_joins_the_best_ranked_lead() -> None:
    lister = make_article("lister", 30, rel("listed", 30))
    listed = make_article("listed", 70)
    (story,) = group_stories([lister, listed])
    assert story.lead.id == "listed"
    assert story.folded == (lister,)
    assert story.related == (as_related(lister),)


def test_a_chain_a_to_b_to_c_is_one_story() -> None:
    a = make_article("a", 40, rel("b"))
    b = make_article("b", 60, rel("c"))
    c = make_article("c", 80)
    (story,) = group_stories([a, b, c])
    assert story.lead.id == "c"
    assert {article.id for article in story.folded} == {"a", "b"}
    assert [item.url for item in story.related] == [url_of("b"), url_of("a")]


def test_a_chain_through_shared_related_urls_is_one_story() -> None:
    a = make_article("a", 40, rel("x"))
    b = make_article("b", 60, rel("x"), rel("y"))
    c = make_article("c", 20, rel("y"))
    d = make_article("d", 90, rel("z"))
    stories = group_stories([a, b, c, d])
    assert [story.lead.id for story in stories] == ["d", "b"]
    assert {article.id for article in stories[1].folded} == {"a", "c"}


def test_articles_sharing_a_related_url_are_one_story_and_the_url_is_listed_once() -> None:
    a = make_article("a", 80, rel("shared", 55))
    b = make_article("b", 60, rel("shared", 55), rel("only-b", 90))
    (story,) = group_stories([a, b])
    assert story.lead.id == "a"
    # The folded article's own coverage is merged in; best quality first.
    assert shape([story]) == [("a", ["only-b", "b", "shared"])]


def test_the_leads_own_url_never_appears_in_its_related_coverage() -> None:
    self_listing = make_article("seed", 74, rel("seed", 74), rel("other", 61), rel("other", 61))
    (story,) = group_stories([self_listing])
    assert shape([story]) == [("seed", ["other"])]


def test_a_folded_articles_own_data_wins_over_a_related_entry_for_the_same_url() -> None:
    follower = make_article("follower", 45, excerpt="Full excerpt", provider=Provider("Outlet", "o.example"))
    lead = make_article("lead", 80, rel("follower", 10, excerpt="stale"))
    (story,) = group_stories([lead, follower])
    assert story.related == (
        Related(
            title="Story follower",
            url=url_of("follower"),
            excerpt="Full excerpt",
            provider=Provider("Outlet", "o.example"),
            published_at=PUBLISHED,
            quality=45,
        ),
    )


def test_related_coverage_is_best_quality_first_then_newest_with_unrated_last() -> None:
    newer = PUBLISHED + timedelta(hours=2)
    article = make_article(
        "a",
        50,
        rel("unrated"),
        rel("mid-old", 50),
        rel("mid-new", 50, published_at=newer),
        rel("top", 90),
    )
    (story,) = group_stories([article])
    assert shape([story]) == [("a", ["top", "mid-new", "mid-old", "unrated"])]


def test_no_url_appears_twice_in_a_run() -> None:
    candidates = [
        make_article("a", 90, rel("a"), rel("x"), rel("b")),
        make_article("b", 70, rel("y"), rel("x")),
        make_article("c", 60, rel("y"), rel("d")),
        make_article("d", 50, rel("z")),
        make_article("e", 40, rel("z"), rel("w")),
        make_article("f", 30, rel("v"), rel("v")),
        make_article("g", 20, rel("u")),
    ]
    stories = group_stories(candidates)
    shown = [story.lead.url for story in stories] + [item.url for story in stories for item in story.related]
    assert len(shown) == len(set(shown))
    assert shape(stories) == [
        ("a", ["b", "c", "d", "e", "w", "x", "y", "z"]),
        ("f", ["v"]),
        ("g", ["u"]),
    ]
    assert {article.id for article in stories[0].folded} == {"b", "c", "d", "e"}


def test_every_candidate_is_a_lead_or_folded_exactly_once() -> None:
    candidates = [
        make_article(key, quality, rel(f"topic{quality % 3}")) for quality, key in enumerate("abcdef")
    ]
    stories = group_stories(candidates)
    members = [story.lead.id for story in stories] + [a.id for story in stories for a in story.folded]
    assert sorted(members) == list("abcdef")
    assert len(stories) == 3


def test_a_hub_linking_two_separate_earlier_stories_makes_them_one_item() -> None:
    first = make_article("first", 40)
    second = make_article("second", 60)
    assert len(group_stories([first, second])) == 2
    hub = make_article("hub", 50, rel("first"), rel("second"))
    (story,) = group_stories([first, second, hub])
    assert story.lead.id == "second"
    assert {article.id for article in story.folded} == {"first", "hub"}
