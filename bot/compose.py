"""Composing a digest's next plan (or an explanation) from the database: the store supplies the pool and
the channel's deliveries, the pure core decides. Nothing here chooses articles itself."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime

from bot.config import Config, DigestSettings
from bot.corpus.model import Article
from bot.digest.explain import Explanation, explain
from bot.digest.model import Plan
from bot.digest.plan import compose_plan
from bot.digest.schedule import ScheduleError, next_fire, parse_cron, zone
from bot.digest.select import DigestContext, Selection
from bot.store import candidates, runs
from bot.store import digests as store
from bot.store.articles import current_load_seq, get_article, normalize_id
from bot.store.db import Database

log = logging.getLogger(__name__)

#: The built-in digest `digestbot preview` shows when none is configured.
DEFAULT_DIGEST_NAME = "digest"
DEFAULT_DIGEST_SCHEDULE = "0 8 * * *"


@dataclass(frozen=True, slots=True)
class DigestState:
    """Where a digest stands for its next run: created at load `watermark`, first run still to come or not."""

    settings: DigestSettings
    watermark: int
    first_run: bool


def default_digest(config: Config) -> DigestSettings:
    """What a new digest would be with the configured `digest_defaults`: what `digestbot preview` shows
    when no digest is configured."""
    return DigestSettings(
        name=DEFAULT_DIGEST_NAME, channel_id=0, schedule=DEFAULT_DIGEST_SCHEDULE,
        **dataclasses.asdict(config.digest_defaults),
    )


def without_filters(settings: DigestSettings) -> DigestSettings:
    """The digest with every article filter lifted (quality, age, published, topics, providers, keywords);
    sizes, schedule and mode stay (`digestbot preview --all`)."""
    return dataclasses.replace(
        settings, min_quality=0, max_age_days=None, published_only=False, topics=(), providers=(), keywords=()
    )


def next_run(settings: DigestSettings, after: datetime) -> datetime | None:
    """When the digest's schedule next fires after `after` (UTC), or None if it never fires again."""
    try:
        return next_fire(parse_cron(settings.schedule), zone(settings.timezone), after)
    except ScheduleError:
        return None


async def digest_state(db: Database, digest: store.DigestRecord | DigestSettings) -> DigestState:
    """The stored state of the digest (settings: a config digest, stored by its name); a digest not stored
    yet counts as created now (first run ahead)."""
    if isinstance(digest, DigestSettings):
        record = await store.get_digest(db, digest.name)
        if record is None:
            return DigestState(digest, await current_load_seq(db), first_run=True)
        return DigestState(digest, record.watermark, first_run=not record.first_run_claimed)
    return DigestState(digest.settings, digest.watermark, first_run=not digest.first_run_claimed)


async def _context(
    db: Database, state: DigestState, pool: list[Article], slot_time: datetime, *,
    matched: frozenset[str] = frozenset(),
) -> DigestContext:
    """The run's context. With keywords, the pool was drawn by matching them (`candidates.digest_pool`), so
    only articles outside `matched` (the pool's ids) are looked up again: re-running the keywords' full-text
    match per article would cost the compose far more than drawing the pool did."""
    settings = state.settings
    urls = [article.url for article in pool]
    delivered = await runs.channel_deliveries(db, settings.channel_id, urls)
    hits = None
    if settings.keywords:
        others = [article.id for article in pool if article.id not in matched]
        hits = matched | await candidates.keyword_hits(db, settings.keywords, others)
    excluded = await candidates.keyword_hits_each(
        db, settings.exclude_keywords, [article.id for article in pool]
    )
    return DigestContext(
        settings=settings,
        watermark=state.watermark,
        first_run=state.first_run,
        delivered=delivered,
        keyword_hits=hits,
        slot_time=slot_time,
        excluded_keyword_hits=excluded,
    )


async def compose_next(
    db: Database,
    digest: store.DigestRecord | DigestSettings,
    *,
    now: datetime,
    slot_time: datetime | None = None,
) -> tuple[Plan, Selection]:
    """The plan of the digest's next run from the current database, and the selection behind it.

    A digest that never ran gets its first run (with backlog). `slot_time` (default `now`) is the instant
    `max_age_days` counts back from; when given, the header shows it.
    """
    state = await digest_state(db, digest)
    moment = slot_time or now
    pool = await candidates.digest_pool(
        db, state.settings, watermark=state.watermark, first_run=state.first_run, slot_time=moment
    )
    ctx = await _context(db, state, pool, moment, matched=frozenset(article.id for article in pool))
    plan, selection = compose_plan(ctx, pool, slot=slot_time)
    log.debug(
        "digest %r: composed %d message(s), %d stor(ies) from a pool of %d",
        state.settings.name, len(plan.messages), len(selection.stories), len(pool),
    )
    return plan, selection


async def explain_article(
    db: Database, digest: store.DigestRecord | DigestSettings, article_id: str, *, now: datetime
) -> Explanation:
    """Why `article_id` would or would not be in the digest's next run, judged on the same pool the run
    uses plus the article itself (which the pool leaves out when it is filtered or delivered). The id may
    come in any letter case."""
    article_id = normalize_id(article_id)
    state = await digest_state(db, digest)
    pool = await candidates.digest_pool(
        db, state.settings, watermark=state.watermark, first_run=state.first_run,
        slot_time=now, existing_limit=candidates.POOL_LIMIT,
    )
    matched = frozenset(article.id for article in pool)
    if article_id not in matched:
        article = await get_article(db, article_id)
        if article is not None:
            pool.append(article)
    ctx = await _context(db, state, pool, now, matched=matched)
    return explain(article_id, pool, ctx)


async def mark_all_seen(db: Database, record: store.DigestRecord, *, now: datetime) -> int:
    """Treat every article currently matching the digest as delivered to its channel (posts nothing).
    Returns how many URLs were newly recorded."""
    urls = await candidates.matching_urls(db, record.settings, now=now)
    return await runs.mark_seen(db, record.key, urls, now=now)
