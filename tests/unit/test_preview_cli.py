"""What `digestbot preview` and `digestbot digests` show, on the bundled seeds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, DigestDefaults, DigestSettings, digest_settings_from_mapping
from bot.digest.model import Plan
from bot.preview import (
    digest_schedule_table,
    format_plan,
    format_schedule_table,
    plan_payloads,
    preview_basis,
    preview_plan,
    schedule_row_json,
)
from bot.render.message import message_problems
from bot.store import digests as store
from bot.store import runs
from bot.store.db import Database
from bot.store.loader import load_corpus

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: The preview shows the slot of the next run: the default schedule's 08:00 after T0.
NEXT_SLOT = f"<t:{int(datetime(2026, 3, 3, 8, 0, tzinfo=UTC).timestamp())}:f>"
SELF_LISTED_URL = "https://www.nola.com/news/crime_police/article_9eda8846-25e1-11eb-9c95-4f11b10ed17a.html"


def digest(name: str, **overrides: Any) -> DigestSettings:
    data = {"name": name, "channel_id": 111, "schedule": "0 8 * * *", **overrides}
    return digest_settings_from_mapping(data, DigestDefaults(), where="digests[0]", file=None)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "preview.sqlite3")
    await load_corpus(database, SEEDS, now=T0, workers=0)
    try:
        yield database
    finally:
        await database.close()


async def test_preview_without_digests_shows_what_a_new_digest_with_the_defaults_posts(db: Database) -> None:
    settings, plan = await preview_plan(db, Config(), None, now=T0)
    assert settings.min_quality == 40
    content = plan.messages[0].payload["content"]
    assert content == f"📰 **Digest** · {NEXT_SLOT} · 2 stories", "qualities 39 and below wait"
    assert preview_basis(Config(), settings, None, everything=False) == (
        "A new digest with the built-in digest_defaults: min_quality 40, up to 5 stories; --all shows every "
        "article."
    )
    text = format_plan(settings, plan, basis=preview_basis(Config(), settings, None, everything=False))
    assert text.splitlines()[0].startswith("A new digest with the built-in digest_defaults: min_quality 40")


async def test_preview_all_lifts_every_filter_over_the_seeds(db: Database) -> None:
    config = Config(digests=(digest("strict", min_quality=90, topics=["nothing-matches"]),))
    settings, plan = await preview_plan(db, config, None, now=T0, everything=True)
    assert preview_basis(config, settings, None, everything=True) == (
        "Every filter lifted (--all): min_quality 0, up to 5 stories; without --all the digest's own "
        "settings apply."
    )

    assert settings.name == "strict"
    payloads = json.loads(json.dumps(plan_payloads(plan)))
    assert len(payloads) == 1
    assert all(message_problems(payload) == [] for payload in payloads)
    assert payloads[0]["content"] == f"📰 **Strict** · {NEXT_SLOT} · 5 stories", "the next run's slot"
    assert set(payloads[0]) == {"content", "embeds", "allowed_mentions", "components"}, "no nonce"
    related = [embed for embed in payloads[0]["embeds"] if "\nMore: [" in embed["description"]]
    assert len(related) == 5, "every seed shows its related coverage"
    assert json.dumps(payloads).count(SELF_LISTED_URL) == 1, "the seed listing itself shows once"


async def test_preview_names_a_digest_or_takes_the_first_configured(db: Database) -> None:
    config = Config(digests=(digest("strict", min_quality=45), digest("loose", min_quality=0, backlog=2)))

    first, plan = await preview_plan(db, config, None, now=T0)
    assert first.name == "strict"
    assert plan.messages[0].payload["content"] == f"📰 **Strict** · {NEXT_SLOT} · 2 stories"

    named, plan = await preview_plan(db, config, "loose", now=T0)
    assert named.name == "loose"
    assert plan.messages[0].payload["content"] == f"📰 **Loose** · {NEXT_SLOT} · 2 stories"

    with pytest.raises(store.DigestNotFound, match=r"no digest called 'nope' \(digests: loose, strict\)"):
        await preview_plan(db, config, "nope", now=T0)


async def test_preview_finds_a_runtime_digest_and_shows_an_empty_run(db: Database) -> None:
    record = await store.create_digest(db, digest("mine", min_quality=0), guild_id=1, now=T0)
    await runs.claim_run(db, "1/mine", "manual-x", kind="manual", fire_time=T0, plan=Plan("mine"), now=T0)

    settings, plan = await preview_plan(db, Config(), "mine", now=T0)
    assert settings == record.settings
    assert plan.is_empty and plan_payloads(plan) == []
    assert format_plan(settings, plan) == (
        "Digest 'mine': nothing new to post; its next run would post nothing."
    )


async def test_preview_names_a_digest_by_key_when_several_servers_use_its_name(db: Database) -> None:
    first = await store.create_digest(db, digest("mine", min_quality=0), guild_id=1, now=T0)
    await store.create_digest(db, digest("mine", min_quality=90), guild_id=2, now=T0)

    with pytest.raises(store.DigestNotFound) as ambiguous:
        await preview_plan(db, Config(), "mine", now=T0)
    assert str(ambiguous.value) == "several servers have a digest called 'mine'; name one of: 1/mine, 2/mine"
    settings, _plan = await preview_plan(db, Config(), "1/mine", now=T0)
    assert settings == first.settings
    strict, nothing = await preview_plan(db, Config(), "2/mine", now=T0)
    lifted, everything = await preview_plan(db, Config(), "2/mine", now=T0, everything=True)
    assert strict.min_quality == 90 and nothing.is_empty
    assert lifted.min_quality == 0 and not everything.is_empty, "--all lifts a stored digest's filters too"


async def test_preview_text_lists_each_message_and_story(db: Database) -> None:
    settings, plan = await preview_plan(db, Config(), None, now=T0, everything=True)
    text = format_plan(settings, plan)
    assert text.startswith("Digest 'digest': the next run posts 1 message(s).")
    assert "Message 1: 📰 Digest · 2026-03-03 08:00 UTC · 5 stories" in text
    assert "**" not in text and "](" not in text and "\\" not in text, "plain text, not Discord markdown"
    assert "## NOPD has used facial recognition since at least 2018, emails reveal" in text
    assert "<t:" not in text, "Discord timestamps are shown as dates in a terminal"


async def test_digests_table_shows_next_runs_in_local_time_and_utc(db: Database) -> None:
    config = Config(digests=(digest("paris", timezone="Europe/Paris"), digest("later", schedule="0 7 * * *")))
    await store.sync_config_digests(db, config.digests[:1], now=T0)
    await store.set_paused(db, "paris", "missing access to the channel", now=T0)
    await store.create_digest(db, digest("runtime", schedule="*/15 * * * *"), guild_id=1, now=T0)
    await store.set_last_checked(db, "1/runtime", T0 + timedelta(hours=1))

    rows = await digest_schedule_table(db, config, now=T0)

    assert [(row.name, row.source, row.state) for row in rows] == [
        ("paris", "config", "paused: missing access to the channel"),
        ("later", "config", "not created yet"),
        ("1/runtime", "runtime", "active"),
    ]
    paris = schedule_row_json(rows[0])
    assert paris["next_run_utc"] == "2026-03-03T07:00:00Z"
    assert paris["next_run_local"] == "2026-03-03T08:00:00+01:00"
    assert paris["when"] == "at 08:00, every day, Europe/Paris"
    assert rows[2].next_run_utc == T0 + timedelta(hours=1, minutes=15), "slots already checked are past"

    text = format_schedule_table(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "WHEN", "SCHEDULE", "NEXT", "RUN", "(LOCAL)", "NEXT", "RUN",
                                "(UTC)", "CHANNEL", "STATE"]
    assert "2026-03-03 08:00 CET" in lines[1] and "2026-03-03 07:00 UTC" in lines[1]
    assert "at 08:00, every day, Europe/Paris" in lines[1]
    assert "every 15 minutes, UTC" in lines[3]
    assert format_schedule_table([]) == "No digests are configured or created."
