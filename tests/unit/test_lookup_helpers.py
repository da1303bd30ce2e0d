"""The pure parts of the lookup commands: the cooldown window, dates, choices, filter wording, stats."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from discord import app_commands

from bot.clock import FakeClock
from bot.config import LookupsConfig
from bot.corpus.model import Rejection
from bot.discord.cogs.lookup import (
    MAX_PAGES,
    InvalidDate,
    IsoDate,
    describe_filters,
    pages_offered,
    results_summary,
    stats_mapping,
)
from bot.discord.ui.choices import choice_name, matching_names, name_choices
from bot.fair import AUTOCOMPLETE_WEIGHT, SlidingCooldown
from bot.store.articles import CorpusStats, LoadRecord

START = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class Settings:
    """A configuration that changes under the cooldown, as a reload would."""

    def __init__(self, uses: int, seconds: float) -> None:
        self.current = LookupsConfig(cooldown_uses=uses, cooldown_seconds=seconds)

    def __call__(self) -> LookupsConfig:
        return self.current


def test_cooldown_allows_uses_within_the_window_then_says_when_to_retry() -> None:
    clock = FakeClock(START)
    cooldown = SlidingCooldown(Settings(2, 10), clock)
    assert cooldown.hit(1) is None
    clock.advance(seconds=4)
    assert cooldown.hit(1) is None
    assert cooldown.hit(1) == pytest.approx(6)
    assert cooldown.hit(2) is None
    clock.advance(seconds=6)
    assert cooldown.hit(1) is None
    assert cooldown.hit(1) == pytest.approx(4)


def test_cooldown_reads_the_settings_at_each_use() -> None:
    clock = FakeClock(START)
    settings = Settings(1, 30)
    cooldown = SlidingCooldown(settings, clock)
    assert cooldown.hit(1) is None
    assert cooldown.hit(1) == pytest.approx(30)
    settings.current = LookupsConfig(cooldown_uses=0, cooldown_seconds=30)
    assert [cooldown.hit(1) for _ in range(10)] == [None] * 10
    settings.current = LookupsConfig(cooldown_uses=3, cooldown_seconds=5)
    assert [cooldown.hit(1) for _ in range(3)] == [None] * 3
    assert cooldown.hit(1) == pytest.approx(5)


def test_autocomplete_weighs_less_than_a_command_in_the_same_bucket() -> None:
    clock = FakeClock(START)
    cooldown = SlidingCooldown(Settings(2, 10), clock)
    assert cooldown.hit(1) is None
    clock.advance(seconds=2)
    typed = [cooldown.hit(1, AUTOCOMPLETE_WEIGHT) for _ in range(round(1 / AUTOCOMPLETE_WEIGHT))]
    assert typed == [None] * len(typed)
    assert cooldown.hit(1, AUTOCOMPLETE_WEIGHT) == pytest.approx(8)
    assert cooldown.hit(1) == pytest.approx(8)
    clock.advance(seconds=8)
    assert cooldown.hit(1) is None


def test_cooldown_forgets_members_who_went_quiet() -> None:
    clock = FakeClock(START)
    cooldown = SlidingCooldown(Settings(1, 10), clock)
    for user in range(100):
        cooldown.hit(user)
    clock.advance(seconds=11)
    cooldown.hit(1000)
    assert list(cooldown._uses) == [1000]


@pytest.mark.parametrize(
    "value", ["2024-13-01", "2024-02-30", "31-05-2024", "2024/05/31", "tomorrow", "2024-5-1"]
)
async def test_iso_date_refuses_anything_but_a_real_yyyy_mm_dd(value: str) -> None:
    with pytest.raises(InvalidDate) as raised:
        await IsoDate().transform(None, value)  # type: ignore[arg-type]
    assert isinstance(raised.value, app_commands.TransformerError)
    assert "YYYY-MM-DD" in raised.value.user_message and raised.value.value == value


async def test_iso_date_reads_a_real_date() -> None:
    assert await IsoDate().transform(None, " 2024-02-29 ") == date(2024, 2, 29)  # type: ignore[arg-type]


def test_choice_names_are_one_line_and_fit() -> None:
    assert choice_name("A  title\nwith lines") == "A title with lines"
    assert len(choice_name("word " * 60)) <= 100
    assert choice_name("   ") == "(untitled)"


def test_name_choices_skip_names_too_long_for_a_value_and_cap_at_25() -> None:
    names = ["x" * 101, *[f"topic {index}" for index in range(30)]]
    choices = name_choices(names)
    assert len(choices) == 25
    assert choices[0].value == "topic 0"


def test_filters_in_words() -> None:
    words = describe_filters(topic="AI", provider="Wired", min_quality=50, since=date(2024, 1, 1),
                             until=date(2024, 2, 1), days=1)
    assert words == ["topic AI", "provider Wired", "quality ≥ 50", "since 2024-01-01", "until 2024-02-01",
                     "last 1 day"]
    assert describe_filters() == []


def test_stats_mapping_takes_the_last_load() -> None:
    rejected = (Rejection(file="bad.txt", reason="title: missing"),)
    load = LoadRecord(seq=3, started_at=START, finished_at=START, added=1, updated=0, unchanged=0, removed=0,
                      articles=1, rejected=rejected)
    stats = CorpusStats(articles=1, providers=1, topics=2, earliest=START, latest=START, last_load=load)
    assert stats_mapping(stats) == {
        "articles": 1, "providers": 1, "topics": 2, "oldest": START, "newest": START,
        "last_load": 3, "last_load_at": START, "rejected": list(rejected),
    }
    empty = CorpusStats(articles=0, providers=0, topics=0, earliest=None, latest=None)
    assert "last_load" not in stats_mapping(empty)


def test_matching_names_put_names_starting_with_the_typed_text_first() -> None:
    choices = matching_names(["evening-ai", "ai-morning", "weekly"], " AI ")
    assert [choice.value for choice in choices] == ["ai-morning", "evening-ai"]


def test_result_counts_read_in_words_and_never_offer_hundreds_of_pages() -> None:
    assert results_summary(1, 5) == "1 result"
    assert results_summary(12, 5) == "12 results"
    assert results_summary(50, 5) == "50 results"
    assert results_summary(51, 5) == "51 results · the best 50 shown"
    assert results_summary(1000, 5, capped=True) == "more than 1,000 results · the best 50 shown"
    assert results_summary(20, 2, capped=True, noun="article", order="newest") == (
        "more than 20 articles · the newest 20 shown"
    )
    assert [pages_offered(total, 5) for total in (0, 5, 6, 50, 51, 1000)] == [1, 1, 2, 10, 10, MAX_PAGES]
