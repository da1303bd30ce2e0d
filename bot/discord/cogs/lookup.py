"""Lookup slash commands: /search, /article, /latest, /top, /topics, /providers, /stats.

Thin on purpose: options in, one store call, the renderer out. Every reply is ephemeral unless the member
asks for `public`; every payload comes from `bot.render.embeds`, which enforces Discord's limits and
escapes corpus text, and goes out through `bot.discord.ui.replies`, which forbids mentions. Result lists
page the same way (`lookups.page_size` per page, at most `MAX_PAGES` pages) and open an article through their
"Open an article…" menu.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import LookupsConfig
from bot.corpus.model import Article
from bot.discord.ui import replies
from bot.discord.ui.article_menu import ArticleMenu, with_menu
from bot.discord.ui.choices import CHOICES_LIMIT, article_choices, name_choices
from bot.discord.ui.errors import BadOptionValue
from bot.discord.ui.paginator import DEFAULT_TIMEOUT_SECONDS, Paginator, page_count, page_offset
from bot.fair import TOO_BROAD, limited_choices
from bot.render.embeds import (
    article_embed,
    article_list,
    article_menu_options,
    counts_page,
    notice,
    paginate,
    results_page,
    stats_embed,
)
from bot.render.message import message
from bot.render.text import clean, truncate
from bot.store import articles as store
from bot.store import search as search_store
from bot.store.db import QueryBudgetExceeded
from bot.store.fts import MAX_QUERY_CHARS, EmptyQuery, QueryTooBroad, build_match

log = logging.getLogger(__name__)

#: The most pages a result list offers: past the first few dozen results, narrowing the query beats
#: paging ("Page 1/200" helps nobody).
MAX_PAGES = 10
#: Names per page in /topics and /providers.
COUNTS_PER_PAGE = 25
#: The longest topic or provider name a filter option takes.
MAX_NAME_CHARS = 100
#: The longest /top window people may ask for (ten years).
MAX_TOP_DAYS = 3650

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- option types


class InvalidDate(BadOptionValue):
    """A `since`/`until` value that is not a real `YYYY-MM-DD` date; the message says so in plain words."""

    def __init__(self, value: str, transformer: app_commands.Transformer) -> None:
        shown = truncate(" ".join(value.split()), 40)
        super().__init__(
            f"`{clean(shown)}` is not a date. Use YYYY-MM-DD, for example 2024-05-31.", value, transformer
        )


class IsoDate(app_commands.Transformer):
    """A calendar date typed as `YYYY-MM-DD` (the only format that reads the same everywhere)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.string

    async def transform(self, interaction: discord.Interaction, value: str) -> date:
        text = value.strip()
        if not _ISO_DATE.fullmatch(text):
            raise InvalidDate(value, self)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidDate(value, self) from None


# --- pure functions behind the commands


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What a member asked /search for, kept for the pages they turn to later."""

    query: str
    filters: store.SearchFilters
    page_size: int


@dataclass(frozen=True, slots=True)
class RankedSearch:
    """A search as first run: its request and the FTS keys of every ranked match, in rank order. Page
    turns read their slice of the keys instead of running the search again."""

    request: SearchRequest
    keys: tuple[int, ...]
    total_capped: bool

    @property
    def total(self) -> int:
        return len(self.keys)

    def page_keys(self, page: int) -> tuple[int, ...]:
        start = page_offset(page, self.request.page_size)
        return self.keys[start : start + self.request.page_size]


def describe_filters(
    *,
    topic: str | None = None,
    provider: str | None = None,
    min_quality: int | None = None,
    since: date | None = None,
    until: date | None = None,
    days: int | None = None,
) -> list[str]:
    """The active filters in words ("topic AI", "since 2024-01-01"), for footers and empty-result hints."""
    parts = []
    if topic:
        parts.append(f"topic {topic}")
    if provider:
        parts.append(f"provider {provider}")
    if min_quality is not None:
        parts.append(f"quality ≥ {min_quality}")
    if since is not None:
        parts.append(f"since {since.isoformat()}")
    if until is not None:
        parts.append(f"until {until.isoformat()}")
    if days is not None:
        parts.append(f"last {days} day{'s' if days != 1 else ''}")
    return parts


def _filters_in_words(filters: store.SearchFilters) -> list[str]:
    return describe_filters(
        topic=filters.topic, provider=filters.provider, min_quality=filters.min_quality,
        since=filters.since, until=filters.until,
    )


def stats_mapping(stats: store.CorpusStats) -> dict[str, Any]:
    """The store's statistics in the shape `stats_embed` reads; the last load supplies when and what it
    rejected."""
    mapping: dict[str, Any] = {
        "articles": stats.articles,
        "providers": stats.providers,
        "topics": stats.topics,
        "oldest": stats.earliest,
        "newest": stats.latest,
    }
    load = stats.last_load
    if load is not None:
        mapping["last_load"] = load.seq
        mapping["last_load_at"] = load.finished_at or load.started_at
        mapping["rejected"] = list(load.rejected)
    return mapping


def _reply(text: str, *, kind: str = "info") -> dict[str, Any]:
    return message([notice(text, kind=kind)])


def pages_offered(total: int, page_size: int) -> int:
    """How many pages a list of `total` results offers: enough for them all, at most `MAX_PAGES`."""
    return min(page_count(total, page_size), MAX_PAGES)


def results_summary(total: int, page_size: int, *, capped: bool = False, noun: str = "result",
                    order: str = "best") -> str:
    """How many results there are, in words: "12 results", or "more than 1,000 results · the best 50 shown"
    when there are more than the pages offered hold (`capped`: counting stopped at `total`)."""
    plural = noun if total == 1 and not capped else f"{noun}s"
    counted = f"{'more than ' if capped else ''}{total:,} {plural}"
    shown = pages_offered(total, page_size) * page_size
    if total <= shown and not capped:
        return counted
    return f"{counted} · the {order} {shown} shown"


# --- the cog


class Lookups(commands.Cog):
    """Finding and reading articles: search, one article with its related coverage, lists and statistics."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        #: How long result pages stay turnable (tests shorten it).
        self.paginator_timeout: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def settings(self) -> LookupsConfig:
        return self.bot.config.lookups

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Every lookup command draws on the member's one cooldown bucket; CommandOnCooldown says when to
        retry."""
        self.bot.lookup_limits.cooldown.check(interaction.user.id)
        return True

    def _turn_allowed(self, interaction: discord.Interaction) -> None:
        """A page turn or a pick in a page's menu draws on the same bucket as the command that made it."""
        self.bot.lookup_limits.cooldown.check(interaction.user.id)

    # --- autocomplete

    async def topic_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, lambda: self._topics(current))

    async def _choices(
        self, interaction: discord.Interaction, build: Callable[[], Awaitable[list[app_commands.Choice[str]]]]
    ) -> list[app_commands.Choice[str]]:
        """Choices under the member's cooldown bucket, one autocomplete at a time (see bot/fair.py)."""
        return await limited_choices(self.bot.lookup_limits, interaction.user.id, build)

    async def _topics(self, current: str) -> list[app_commands.Choice[str]]:
        typed = current[:MAX_NAME_CHARS]
        return name_choices(await store.suggest_topics(self.bot.db, typed, limit=CHOICES_LIMIT))

    async def provider_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, lambda: self._providers(current))

    async def _providers(self, current: str) -> list[app_commands.Choice[str]]:
        typed = current[:MAX_NAME_CHARS]
        return name_choices(await store.suggest_providers(self.bot.db, typed, limit=CHOICES_LIMIT))

    async def article_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, lambda: article_choices(self.bot.db, current))

    # --- /search

    async def _first_page(self, user_id: int, request: SearchRequest) -> search_store.SearchPage:
        """Page 1 and the ranking behind every page, as the member's one heavy query in flight."""
        with self.bot.lookup_limits.heavy.running(user_id):
            return await search_store.search(
                self.bot.db, request.query, request.filters, limit=request.page_size
            )

    def _results_payload(
        self, ranked: RankedSearch, hits: Sequence[search_store.SearchHit], page: int
    ) -> dict[str, Any]:
        """One page of results with its menu; the footer counts them and names the filters in force."""
        request = ranked.request
        notes = _filters_in_words(request.filters)
        if ranked.total_capped or ranked.total > MAX_PAGES * request.page_size:
            notes.append("add words to narrow")
        embed = results_page(
            f"Search: {request.query}",
            [(hit.article, hit.snippet) for hit in hits],
            page=page, pages=pages_offered(ranked.total, request.page_size),
            summary=results_summary(ranked.total, request.page_size, capped=ranked.total_capped),
            footer_hint=" · ".join(notes),
        )
        return with_menu(message([embed]), article_menu_options([hit.article for hit in hits]))

    async def _fetch_results(self, ranked: RankedSearch, page: int) -> dict[str, Any]:
        """A later page: the articles of its slice of the ranking (the search is not run again)."""
        try:
            hits = await search_store.search_hits(self.bot.db, ranked.request.query, ranked.page_keys(page))
        except QueryBudgetExceeded:
            return _reply(TOO_BROAD, kind="warning")
        if not hits:
            return _reply("This page is empty now: the corpus changed since the search. Search again.")
        return self._results_payload(ranked, hits, page)

    @app_commands.command(name="search", description="Search the articles: ranked, matches highlighted")
    @app_commands.describe(
        query='Words to find (use "quotes" for a phrase, a trailing * for a prefix)',
        topic="Only articles with this topic",
        provider="Only articles from this outlet",
        min_quality="Only articles with at least this quality (0-100)",
        since="Only articles published on or after this day (YYYY-MM-DD)",
        until="Only articles published on or before this day (YYYY-MM-DD)",
        public="Post the results in the channel for everyone (default: only you see them)",
    )
    @app_commands.autocomplete(topic=topic_autocomplete, provider=provider_autocomplete)
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        topic: app_commands.Range[str, 1, MAX_NAME_CHARS] | None = None,
        provider: app_commands.Range[str, 1, MAX_NAME_CHARS] | None = None,
        min_quality: app_commands.Range[int, 0, 100] | None = None,
        since: app_commands.Transform[date, IsoDate] | None = None,
        until: app_commands.Transform[date, IsoDate] | None = None,
        public: bool = False,
    ) -> None:
        ephemeral = not public
        if since is not None and until is not None and since > until:
            await replies.send(interaction, _reply(
                f"`since` ({since.isoformat()}) is after `until` ({until.isoformat()}): nothing can match. "
                "Swap them or drop one.", kind="warning"), ephemeral=True)
            return
        request = SearchRequest(
            query=query,
            filters=store.SearchFilters(
                topic=topic or None, provider=provider or None, min_quality=min_quality,
                since=since, until=until,
            ),
            page_size=self.settings.page_size,
        )
        try:
            searchable = build_match(query) is not None
        except EmptyQuery:
            searchable = False
        except QueryTooBroad as too_broad:
            await replies.send(interaction, _reply(str(too_broad), kind="warning"), ephemeral=True)
            return
        if not searchable:
            await replies.send(interaction, _reply(
                "There are no words to search for in that query: type letters or digits, for example "
                "`/search query: facial recognition`.", kind="warning"), ephemeral=True)
            return
        try:
            found = await replies.within_deadline(
                interaction, self._first_page(interaction.user.id, request), ephemeral=ephemeral
            )
        except QueryBudgetExceeded:
            log.info("/search by %s ran past its budget (%d characters)", interaction.user.id, len(query))
            await replies.send(interaction, _reply(TOO_BROAD, kind="warning"), ephemeral=True)
            return
        log.debug("/search %r by %s: %d match(es)", query, interaction.user.id, found.total)
        if not found.hits:
            await replies.send(interaction, self._no_results(request), ephemeral=ephemeral)
            return
        ranked = RankedSearch(request, found.keys, found.total_capped)
        paginator = Paginator(
            owner_id=interaction.user.id,
            pages=pages_offered(found.total, request.page_size),
            fetch_page=lambda page: self._fetch_results(ranked, page),
            timeout=self.paginator_timeout,
            menu=ArticleMenu(self._open_article),
            before_turn=self._turn_allowed,
        )
        await paginator.start(interaction, self._results_payload(ranked, found.hits, 1), ephemeral=ephemeral)

    def _no_results(self, request: SearchRequest) -> dict[str, Any]:
        active = _filters_in_words(request.filters)
        query = clean(truncate(request.query, 200))
        if active:
            hint = f"Try dropping a filter ({clean(', '.join(active))}) or checking the spelling."
        else:
            hint = "Check the spelling, or try fewer or more general words."
        return _reply(f"No articles match **{query}**.\n{hint}")

    # --- /article

    @app_commands.command(name="article", description="Show one article with its related coverage")
    @app_commands.describe(
        id="The article's id (type words of its title to pick it)",
        public="Post the article in the channel for everyone (default: only you see it)",
    )
    @app_commands.autocomplete(id=article_autocomplete)
    async def article(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        public: bool = False,
    ) -> None:
        ephemeral = not public
        found = await replies.within_deadline(
            interaction, store.get_article(self.bot.db, id), ephemeral=ephemeral
        )
        if found is None:
            shown = clean(truncate(" ".join(id.split()), 100))
            await replies.send(interaction, _reply(
                f"No article has the id `{shown}`. Start typing words of its title in the `id` option "
                "and pick it from the list, or find it with /search.", kind="warning"), ephemeral=True)
            return
        await replies.send(interaction, message([article_embed(found).embed]), ephemeral=ephemeral)

    async def _open_article(self, interaction: discord.Interaction, article_id: str) -> None:
        """A pick in a result page's menu: the article's /article view, for the picker's eyes only."""
        found = await replies.within_deadline(
            interaction, store.get_article(self.bot.db, article_id), ephemeral=True
        )
        if found is None:
            payload = _reply("That article left the corpus since this list was made. Search again.",
                             kind="warning")
        else:
            payload = message([article_embed(found).embed])
        await replies.whisper(interaction, payload)

    # --- /latest and /top

    async def _send_list(
        self,
        interaction: discord.Interaction,
        title: str,
        fetch: Callable[[int, int], Awaitable[list[Article]]],
        count: Callable[[], Awaitable[int]],
        *,
        public: bool,
        order: str,
        with_quality: bool = False,
    ) -> list[Article]:
        """Page through a list of articles the way /search pages its results. Returns page 1's articles
        (empty: nothing was sent, the caller explains why)."""
        ephemeral = not public
        page_size = self.settings.page_size

        async def first() -> tuple[list[Article], int]:
            return await fetch(0, page_size), await count()

        articles, total = await replies.within_deadline(interaction, first(), ephemeral=ephemeral)
        if not articles:
            return []
        most = MAX_PAGES * page_size
        pages = pages_offered(total, page_size)
        summary = results_summary(min(total, most), page_size, capped=total > most, noun="article",
                                  order=order)

        def payload(found: Sequence[Article], page: int) -> dict[str, Any]:
            embed = article_list(title, found, page=page, pages=pages, summary=summary,
                                 with_quality=with_quality)
            return with_menu(message([embed]), article_menu_options(found))

        async def fetch_page(page: int) -> dict[str, Any]:
            found = await fetch(page_offset(page, page_size), page_size)
            if not found:
                return _reply("This page is empty now: the corpus changed since the list was made. "
                              "Ask again.")
            return payload(found, page)

        paginator = Paginator(
            owner_id=interaction.user.id, pages=pages, fetch_page=fetch_page, timeout=self.paginator_timeout,
            refusal="Only the person who asked can page through this list.",
            menu=ArticleMenu(self._open_article), before_turn=self._turn_allowed,
        )
        await paginator.start(interaction, payload(articles, 1), ephemeral=ephemeral)
        return articles

    @app_commands.command(name="latest", description="The most recently published articles")
    @app_commands.describe(
        topic="Only articles with this topic",
        public="Post the list in the channel for everyone (default: only you see it)",
    )
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def latest(
        self, interaction: discord.Interaction, topic: str | None = None, public: bool = False
    ) -> None:
        title = f"Latest articles: {topic}" if topic else "Latest articles"
        shown = await self._send_list(
            interaction, title,
            lambda offset, limit: store.latest(self.bot.db, topic=topic or None, limit=limit, offset=offset),
            lambda: store.count_listed(self.bot.db, topic=topic or None, bound=self._count_bound()),
            public=public, order="newest",
        )
        if not shown:
            await replies.send(interaction, self._empty_list(topic=topic), ephemeral=not public)

    @app_commands.command(name="top", description="The highest-quality articles (heat breaks ties)")
    @app_commands.describe(
        topic="Only articles with this topic",
        days="Only articles published in this many past days",
        public="Post the list in the channel for everyone (default: only you see it)",
    )
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def top(
        self,
        interaction: discord.Interaction,
        topic: str | None = None,
        days: app_commands.Range[int, 1, MAX_TOP_DAYS] | None = None,
        public: bool = False,
    ) -> None:
        scope = " · ".join(describe_filters(topic=topic, days=days))
        title = f"Top articles: {scope}" if scope else "Top articles"
        now = self.bot.now()
        shown = await self._send_list(
            interaction, title,
            lambda offset, limit: store.top(
                self.bot.db, topic=topic or None, days=days, now=now, limit=limit, offset=offset
            ),
            lambda: store.count_listed(
                self.bot.db, topic=topic or None, days=days, now=now, bound=self._count_bound()
            ),
            public=public, order="best", with_quality=True,
        )
        if not shown:
            await replies.send(interaction, self._empty_list(topic=topic, days=days), ephemeral=not public)

    def _count_bound(self) -> int:
        """Lists count no further than one past what their pages can show."""
        return MAX_PAGES * self.settings.page_size + 1

    def _empty_list(self, *, topic: str | None, days: int | None = None) -> dict[str, Any]:
        active = describe_filters(topic=topic, days=days)
        if not active:
            return _reply("The corpus has no articles yet.")
        return _reply(
            f"No articles for {clean(', '.join(active))}. Try another topic (the option suggests the "
            "known ones)" + (" or more days." if days is not None else ".")
        )

    # --- /topics and /providers

    async def _send_counts(
        self, interaction: discord.Interaction, title: str, rows: Sequence[tuple[str, int]], *, public: bool,
        empty: str,
    ) -> None:
        ephemeral = not public
        if not rows:
            await replies.send(interaction, _reply(empty), ephemeral=ephemeral)
            return
        pages = paginate(list(rows), COUNTS_PER_PAGE)

        async def fetch(page: int) -> dict[str, Any]:
            return message([counts_page(title, pages[page - 1], page=page, pages=len(pages))])

        paginator = Paginator(
            owner_id=interaction.user.id, pages=len(pages), fetch_page=fetch, timeout=self.paginator_timeout,
            refusal="Only the person who asked can page through this list.", before_turn=self._turn_allowed,
        )
        await paginator.start(interaction, await fetch(1), ephemeral=ephemeral)

    @app_commands.command(name="topics", description="Every topic with how many articles carry it")
    @app_commands.describe(public="Post the list in the channel for everyone (default: only you see it)")
    async def topics(self, interaction: discord.Interaction, public: bool = False) -> None:
        rows = await replies.within_deadline(
            interaction, store.topic_counts(self.bot.db), ephemeral=not public
        )
        await self._send_counts(
            interaction, "Topics", rows, public=public, empty="No article has a topic yet."
        )

    @app_commands.command(name="providers", description="Every outlet with how many articles it published")
    @app_commands.describe(public="Post the list in the channel for everyone (default: only you see it)")
    async def providers(self, interaction: discord.Interaction, public: bool = False) -> None:
        rows = await replies.within_deadline(
            interaction, store.provider_counts(self.bot.db), ephemeral=not public
        )
        await self._send_counts(
            interaction, "Providers", rows, public=public, empty="No article names its outlet yet."
        )

    # --- /stats

    @app_commands.command(name="stats", description="The corpus at a glance: counts, date range, last load")
    @app_commands.describe(public="Post the statistics in the channel for everyone (default: only you)")
    async def stats(self, interaction: discord.Interaction, public: bool = False) -> None:
        ephemeral = not public
        stats = await replies.within_deadline(
            interaction, store.corpus_stats(self.bot.db), ephemeral=ephemeral
        )
        await replies.send(interaction, message([stats_embed(stats_mapping(stats))]), ephemeral=ephemeral)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Lookups(bot))
