"""Which articles a digest run posts: filters, ranking, new vs. existing, backlog, the per-channel rule.

Pure functions over plain data. The store narrows the pool in SQL with the cheap filters, but every rule is
applied again here so that `select_stories` and `explain` always agree on the same inputs. `rank_key` (the
ranking) lives with the story grouping, which needs it too, and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import DigestSettings
from bot.corpus.model import Article
from bot.digest.model import Story
from bot.digest.stories import group_stories, rank_key

#: On a first run, backlog articles published this many days before the newest candidate or later are
#: fresh: they take the backlog's places (best first) and lead the run before any older article.
BACKLOG_FRESH_DAYS = 7

__all__ = [
    "BACKLOG_FRESH_DAYS",
    "Delivered",
    "DigestContext",
    "Selection",
    "exclusion",
    "fresh_first",
    "is_new",
    "passes_filters",
    "rank_key",
    "select_stories",
]


@dataclass(frozen=True, slots=True)
class Delivered:
    """A canonical URL already posted to the digest's channel: when, and by which digest."""

    url: str
    delivered_at: datetime
    digest: str


@dataclass(frozen=True, slots=True)
class DigestContext:
    """Everything a run's selection depends on besides the pool itself.

    `watermark` is the load sequence at the digest's creation: articles first seen after it are new.
    `delivered` maps canonical URLs already posted to the digest's channel (by any digest) to their record.
    `keyword_hits` are the ids matching the digest's keywords (evaluated with full-text search by the store);
    None when the digest has no keywords. `slot_time` is the run's slot, the reference for `max_age_days`.
    `excluded_keyword_hits` maps each of the digest's `exclude_keywords` to the ids matching it (so a
    refusal can name the keyword).
    """

    settings: DigestSettings
    watermark: int
    first_run: bool
    delivered: Mapping[str, Delivered]
    keyword_hits: frozenset[str] | None
    slot_time: datetime
    excluded_keyword_hits: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.slot_time.tzinfo is None:
            raise ValueError(f"digest {self.settings.name!r}: slot_time must be an aware datetime")
        if self.settings.keywords and self.keyword_hits is None:
            raise ValueError(f"digest {self.settings.name!r} has keywords but no keyword hits were given")
        missing = [word for word in self.settings.exclude_keywords if word not in self.excluded_keyword_hits]
        if missing:
            raise ValueError(f"digest {self.settings.name!r}: no hits given for excluded keywords {missing}")


@dataclass(frozen=True, slots=True)
class Selection:
    """A run's stories plus what `explain` needs to say why any article is in or out.

    `stories` are the posted stories, best first (at most `max_articles`); `cut` are the ranked stories past
    that cap. `new_ids` are candidates first seen after the watermark, `backlog_ids` the existing articles
    taken on the first run. `existing_ranked` lists every eligible existing article best first (the first
    run's backlog is its head). `folded_into` maps each folded article id to the id of its story's lead.
    """

    stories: tuple[Story, ...]
    cut: tuple[Story, ...] = ()
    new_ids: frozenset[str] = frozenset()
    backlog_ids: frozenset[str] = frozenset()
    existing_ranked: tuple[str, ...] = ()
    folded_into: Mapping[str, str] = field(default_factory=dict)


def passes_filters(article: Article, ctx: DigestContext) -> str | None:
    """None when the article passes every content filter of the digest, else a sentence saying which failed.

    Delivery and new-vs-existing are not content filters; `select_stories` applies them separately.
    """
    settings = ctx.settings
    quality = article.quality if article.quality is not None else 0
    if quality < settings.min_quality:
        shown = article.quality if article.quality is not None else "unrated (0)"
        return f"its quality {shown} is below the digest's minimum of {settings.min_quality}"
    if settings.topics and not _matches_topic(article, settings.topics):
        return f"none of its topics matches the digest's topics ({', '.join(settings.topics)})"
    if settings.providers and not _matches_provider(article, settings.providers):
        return f"its provider is not one of the digest's providers ({', '.join(settings.providers)})"
    if settings.keywords and article.id not in (ctx.keyword_hits or frozenset()):
        return f"it matches none of the digest's keywords ({', '.join(settings.keywords)})"
    excluded = exclusion(article, ctx)
    if excluded is not None:
        return excluded
    if settings.published_only and article.published is not True:
        return "it is not marked as published and the digest takes published articles only"
    if settings.max_age_days is not None:
        oldest = ctx.slot_time - timedelta(days=settings.max_age_days)
        if article.published_at < oldest:
            days = "day" if settings.max_age_days == 1 else "days"
            return (
                f"it was published {article.published_at:%Y-%m-%d}, older than the digest's age limit "
                f"(max_age_days: {settings.max_age_days} {days} before the run's slot, "
                f"{ctx.slot_time:%Y-%m-%d})"
            )
    return None


def exclusion(article: Article, ctx: DigestContext) -> str | None:
    """Which of the digest's exclusions the article meets (`excluded by keyword 'sponsored'`), or None.

    Each exclusion matches exactly as its include counterpart does: topics ignoring case, providers by
    name or domain (subdomains included), keywords by full-text search."""
    settings = ctx.settings
    topic = _first_topic_match(article, settings.exclude_topics)
    if topic is not None:
        return f"excluded by topic {topic!r}"
    provider = _first_provider_match(article, settings.exclude_providers)
    if provider is not None:
        return f"excluded by provider {provider!r}"
    for keyword in settings.exclude_keywords:
        if article.id in ctx.excluded_keyword_hits.get(keyword, frozenset()):
            return f"excluded by keyword {keyword!r}"
    return None


def is_new(article: Article, ctx: DigestContext) -> bool:
    """First seen by a load after the digest's creation (an unknown first load counts as existing)."""
    return article.first_load is not None and article.first_load > ctx.watermark


def fresh_first(ranked: Sequence[Article], reference: datetime) -> list[Article]:
    """`ranked` (best first) with the articles published within BACKLOG_FRESH_DAYS of `reference` (the
    newest candidate) ahead of the older ones, each part keeping its order."""
    oldest_fresh = reference - timedelta(days=BACKLOG_FRESH_DAYS)
    return sorted(ranked, key=lambda article: article.published_at < oldest_fresh)


def select_stories(pool: Iterable[Article], ctx: DigestContext) -> Selection:
    """The stories of the digest's next run, best first, and the detail behind the choice.

    Candidates pass the filters and were never delivered to the channel; they are the new articles plus, on
    the first run only, `backlog` existing ones: the best of those published within BACKLOG_FRESH_DAYS of
    the newest candidate, older ones only for the places left. They are grouped into stories — on the first
    run the fresh stories lead — and at most `max_articles` stories are kept.
    """
    settings = ctx.settings
    eligible = sorted(
        (
            article
            for article in pool
            if article.url not in ctx.delivered and passes_filters(article, ctx) is None
        ),
        key=rank_key,
    )
    new = [article for article in eligible if is_new(article, ctx)]
    existing = [article for article in eligible if not is_new(article, ctx)]
    backlog: list[Article] = []
    ranked_stories = []
    if ctx.first_run and eligible:
        newest = max(article.published_at for article in eligible)
        existing = fresh_first(existing, newest)
        backlog = existing[: max(settings.backlog, 0)]
        oldest_fresh = newest - timedelta(days=BACKLOG_FRESH_DAYS)
        ranked_stories = sorted(group_stories([*new, *backlog]),
                                key=lambda story: story.lead.published_at < oldest_fresh)
    ranked = ranked_stories or group_stories(new)
    folded_into = {member.id: story.lead.id for story in ranked for member in story.folded}
    return Selection(
        stories=tuple(ranked[: settings.max_articles]),
        cut=tuple(ranked[settings.max_articles :]),
        new_ids=frozenset(article.id for article in new),
        backlog_ids=frozenset(article.id for article in backlog),
        existing_ranked=tuple(article.id for article in existing),
        folded_into=folded_into,
    )


def _matches_topic(article: Article, wanted: Iterable[str]) -> bool:
    return _first_topic_match(article, wanted) is not None


def _first_topic_match(article: Article, wanted: Iterable[str]) -> str | None:
    """The first of `wanted` that is one of the article's topics (case-insensitive), as it was given."""
    topics = {topic.casefold() for topic in article.topics}
    return next((entry for entry in wanted if entry.casefold() in topics), None)


def _matches_provider(article: Article, wanted: Iterable[str]) -> bool:
    return _first_provider_match(article, wanted) is not None


def _first_provider_match(article: Article, wanted: Iterable[str]) -> str | None:
    """The first of `wanted` naming the article's provider: by name (case-insensitive) or by domain, a
    subdomain matching its parent (`news.x.com` ~ `x.com`)."""
    provider = article.provider
    if provider is None:
        return None
    name = provider.name.casefold() if provider.name else None
    domain = _bare_domain(provider.domain) if provider.domain else None
    for entry in wanted:
        folded = entry.casefold().strip()
        if name is not None and folded == name:
            return entry
        wanted_domain = _bare_domain(folded)
        if domain is not None and (domain == wanted_domain or domain.endswith("." + wanted_domain)):
            return entry
    return None


def _bare_domain(domain: str) -> str:
    folded = domain.casefold().strip().rstrip(".")
    return folded.removeprefix("www.")
