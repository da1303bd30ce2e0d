"""Composing a digest's next run from the database on the bundled seeds: backlog first, then only new."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.compose import (
    compose_next,
    default_digest,
    explain_article,
    mark_all_seen,
    next_run,
    without_filters,
)
from bot.config import Config, DigestDefaults, DigestSettings, digest_settings_from_mapping
from bot.digest.plan import delivered_urls
from bot.render.message import embed_length
from bot.store import digests as store
from bot.store import runs
from bot.store.db import Database
from bot.store.loader import load_corpus

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: The seed whose related coverage lists its own URL.
SELF_LISTED = "f49c33e8b2a4a914"
SELF_LISTED_URL = "https://www.nola.com/news/crime_police/article_9eda8846-25e1-11eb-9c95-4f11b10ed17a.html"


def digest(name: str = "morning", **overrides: Any) -> DigestSettings:
    data = {"name": name, "channel_id": 111, "schedule": "0 8 * * *", "min_quality": 0, **overrides}
    return digest_settings_from_mapping(data, DigestDefaults(), where="digests[0]", file=None)


@pytest.fixture
async def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
async def db(tmp_path: Path, corpus: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "service.sqlite3")
    await load_corpus(database, corpus, now=T0, workers=0)
    try:
        yield database
    finally:
        await database.close()


async def add_article(db: Database, corpus: Path, *, url: str, title: str, quality: int) -> None:
    """A new corpus file, loaded: it is first seen by a later load than the seeds."""
    text = (
        "---\n"
        f'title: "{title}"\n'
        f'webUrl: "{url}"\n'
        "publishedDateTime: 2026-03-01T10:00:00Z\n"
        f"quality: {quality}\n"
        "provider:\n  name: Example News\n  domain: example.com\n"
        "topics:\n  - AI\n"
        "---\n"
    )
    (corpus / f"new-{quality}.md").write_text(text, encoding="utf-8")
    await load_corpus(db, corpus, now=T0 + timedelta(hours=1), workers=0)


async def test_first_run_posts_the_best_seeds_with_related_coverage(db: Database) -> None:
    record = await store.create_digest(db, digest(backlog=3, max_articles=5), guild_id=1, now=T0)

    plan, selection = await compose_next(db, record, now=T0)

    assert len(selection.stories) == 3
    # The freshest eligible seed leads (backlog recency), then the best of the older ones.
    assert [story.lead.quality for story in selection.stories] == [10, 74, 47]
    assert all(story.related for story in selection.stories), "each story shows other outlets' coverage"
    embeds = [embed for message in plan.messages for embed in message.payload["embeds"]]
    assert "\nMore: [" in embeds[0]["description"]
    assert plan.messages[0].payload["content"] == "📰 **Morning** · 3 stories"


async def test_the_seed_listing_itself_as_related_shows_once(db: Database) -> None:
    plan, selection = await compose_next(db, digest(), now=T0)

    story = next(story for story in selection.stories if story.lead.id == SELF_LISTED)
    assert SELF_LISTED_URL not in {item.url for item in story.related}
    shown = [url for message in plan.messages for url in message.delivered_urls]
    assert shown.count(SELF_LISTED_URL) == 1
    assert len(shown) == len(set(shown)), "a URL appears at most once per run"
    payloads = json.dumps([message.payload for message in plan.messages])
    assert payloads.count(f"({SELF_LISTED_URL})") == 0, "never listed as its own related coverage"


async def test_after_the_first_run_only_new_articles_are_posted(db: Database, corpus: Path) -> None:
    record = await store.create_digest(db, digest(), guild_id=1, now=T0)
    plan, _ = await compose_next(db, record, now=T0)
    run = await runs.claim_run(db, "1/morning", "2026-03-03T08:00", kind="scheduled", fire_time=T0,
                                plan=plan, now=T0)
    assert run is not None
    for message in run.messages:
        await runs.record_sent(db, run.id, message.part, message_id=message.part, channel_id=111, now=T0)

    after_first = await store.get_digest(db, "1/morning")
    assert after_first is not None
    nothing, selection = await compose_next(db, after_first, now=T0)
    assert nothing.is_empty and selection.stories == ()

    await add_article(db, corpus, url="https://example.com/fresh", title="Fresh facial recognition news",
                      quality=55)
    fresh, selection = await compose_next(db, after_first, now=T0)
    assert [story.lead.url for story in selection.stories] == ["https://example.com/fresh"]
    assert delivered_urls(fresh) == {"https://example.com/fresh"}


async def test_a_config_digest_not_yet_created_previews_as_created_now(db: Database, corpus: Path) -> None:
    settings = digest("configured", backlog=1)
    plan, selection = await compose_next(db, settings, now=T0)
    assert [story.lead.id for story in selection.stories] == ["7e22685a7d214d17"], "the freshest seed"
    assert not plan.is_empty
    assert await store.get_digest(db, "1/configured") is None, "previewing creates nothing"


async def test_a_digest_sharing_a_channel_never_leads_with_what_the_other_delivered(db: Database) -> None:
    first = await store.create_digest(db, digest("first", backlog=1), guild_id=1, now=T0)
    second = await store.create_digest(db, digest("second", backlog=2), guild_id=1, now=T0)
    plan, _ = await compose_next(db, first, now=T0)
    run = await runs.claim_run(db, "1/first", "s", kind="manual", fire_time=T0, plan=plan, now=T0)
    assert run is not None
    await runs.record_sent(db, run.id, 1, message_id=1, channel_id=111, now=T0)

    _, selection = await compose_next(db, second, now=T0)
    assert [story.lead.id for story in selection.stories] == ["4f079d8d5eeb6983", "48933d0774f4b3c7"]
    assert "7e22685a7d214d17" not in {story.lead.id for story in selection.stories}, "the first's lead"


async def test_explain_says_delivered_backlog_and_filtered(db: Database) -> None:
    record = await store.create_digest(db, digest(backlog=1), guild_id=1, now=T0)

    # The freshest eligible seed (2023-07-28) takes the only backlog place ahead of the 2020 best one.
    leading = await explain_article(db, record, "7e22685a7d214d17", now=T0)
    assert leading.included and "leads story 1" in leading.reason
    outside = await explain_article(db, record, "48933d0774f4b3c7", now=T0)
    assert not outside.included and "ranks 2" in outside.reason
    assert "outside the first run's backlog of 1" in outside.reason

    await runs.mark_seen(db, "1/morning", ["https://www.nola.com/news/crime_police/"
                                          "article_2e2fccb2-3e5c-11eb-a45d-032cabc1b089.html"], now=T0)
    delivered = await explain_article(db, record, "48933d0774f4b3c7", now=T0)
    assert not delivered.included
    assert "already delivered" in delivered.reason and "'morning'" in delivered.reason

    strict = await store.update_digest(db, "1/morning", digest(min_quality=50), now=T0)
    filtered = await explain_article(db, strict, "7e22685a7d214d17", now=T0)
    assert not filtered.included and "below the digest's minimum of 50" in filtered.reason

    missing = await explain_article(db, strict, "no-such-article", now=T0)
    assert not missing.included and "not in the corpus" in missing.reason


async def test_mark_all_seen_leaves_nothing_to_post(db: Database) -> None:
    record = await store.create_digest(db, digest(), guild_id=1, now=T0)
    assert await mark_all_seen(db, record, now=T0) == 5
    plan, _ = await compose_next(db, record, now=T0)
    assert plan.is_empty


def test_default_digest_is_a_new_digest_with_the_configured_defaults() -> None:
    config = Config(digest_defaults=DigestDefaults(timezone="Europe/Paris", max_articles=7, topics=("tech",)))
    settings = default_digest(config)
    assert (settings.name, settings.channel_id, settings.schedule) == ("digest", 0, "0 8 * * *")
    assert (settings.timezone, settings.max_articles, settings.min_quality) == ("Europe/Paris", 7, 40)
    assert settings.topics == ("tech",) and settings.providers == settings.keywords == ()


def test_without_filters_lifts_every_article_filter_and_keeps_the_rest() -> None:
    settings = digest(
        min_quality=70, max_age_days=3, published_only=True, topics=["a"], providers=["b"], keywords=["c"],
        max_articles=4,
    )
    lifted = without_filters(settings)
    assert (lifted.min_quality, lifted.max_age_days, lifted.published_only) == (0, None, False)
    assert lifted.topics == lifted.providers == lifted.keywords == ()
    assert (lifted.name, lifted.max_articles, lifted.schedule) == (settings.name, 4, settings.schedule)


def test_next_run_is_in_the_digests_timezone() -> None:
    settings = digest(timezone="America/New_York")
    assert next_run(settings, T0) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


async def test_a_compact_seeds_digest_is_at_most_half_the_characters_of_a_rich_one(db: Database) -> None:
    """Five stories: what Discord counts (content and embed text, links included)."""

    async def characters(style: str) -> int:
        plan, selection = await compose_next(db, digest(style=style), now=T0)
        assert len(selection.stories) == 5
        return sum(
            len(message.payload["content"] or "") + sum(map(embed_length, message.payload["embeds"]))
            for message in plan.messages
        )

    assert await characters("compact") * 2 <= await characters("rich")
