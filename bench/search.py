"""Search benchmark: latency of `bot.store.search.search` over representative queries, warm database.

Usage: ``python bench/search.py [--articles N] [--workdir DIR] [--runs R] [--small]``

Generates and loads N articles once (kept in the workdir and reused by later runs), then times, in
process, each query class — a rare word, the common word in about a quarter of the articles, a phrase,
a prefix — with no filter and with each filter (minimum quality, a topic, a one-month date range),
every query repeated R times. A page is what `/search` shows: the first 5 hits with snippets. The database
keeps the index's vocabulary, as the bot does, read before timing starts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import DEFAULT_WORKDIR, corpus_and_db, machine_facts, percentile, table
from bench.gen_corpus import COMMON_WORD, PHRASE, PREFIX, RARE_WORDS
from bot.store.articles import SEARCH_CANDIDATES, SearchFilters, topic_counts
from bot.store.db import Database
from bot.store.search import search

SMALL_ARTICLES = 300
SMALL_RUNS = 3
P95_TARGET_MS, P95_AIM_MS = 20.0, 5.0
PAGE_SIZE = 5
MONTH = (date(2022, 3, 1), date(2022, 3, 31))

QUERY_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rare word", RARE_WORDS),
    (f"common word ({COMMON_WORD})", (COMMON_WORD,)),
    (f'phrase ("{PHRASE}")', (f'"{PHRASE}"',)),
    (f"prefix ({PREFIX}*)", (f"{PREFIX}*",)),
)
"""Each class with the texts typed for it; the rare class spreads over several tail words."""


@dataclass(frozen=True, slots=True)
class Case:
    query_class: str
    texts: tuple[str, ...]
    filter_label: str
    filters: SearchFilters


def cases(topic: str) -> list[Case]:
    """Every query class with no filter and with each filter."""
    variants = (
        ("none", SearchFilters()),
        ("min_quality 50", SearchFilters(min_quality=50)),
        (f"topic {topic}", SearchFilters(topic=topic)),
        (f"{MONTH[0]}..{MONTH[1]}", SearchFilters(since=MONTH[0], until=MONTH[1])),
    )
    return [
        Case(query_class, texts, label, filters)
        for query_class, texts in QUERY_CLASSES
        for label, filters in variants
    ]


async def time_case(db: Database, case: Case, runs: int) -> tuple[list[float], int, bool]:
    """Milliseconds per search (each text `runs` times), and the match count of the first text."""
    first = await search(db, case.texts[0], case.filters, limit=PAGE_SIZE)
    samples: list[float] = []
    for _ in range(runs):
        for text in case.texts:
            started = time.perf_counter()
            await search(db, text, case.filters, limit=PAGE_SIZE)
            samples.append((time.perf_counter() - started) * 1000)
    return samples, first.total, first.total_capped


def _verdict(p95: float) -> str:
    if p95 < P95_AIM_MS:
        return "aim met"
    return "met" if p95 < P95_TARGET_MS else "MISSED"


async def measure(db_path: Path, runs: int) -> list[list[str]]:
    db = await Database.open(db_path, create=False)
    try:
        db.keep_vocabulary()  # as the bot does: prefixes are written out from the index's words
        assert db.vocabulary is not None
        await db.vocabulary.ready()
        counts = await topic_counts(db)
        topic = counts[0][0] if counts else "none"
        rows: list[list[str]] = []
        everything: list[float] = []
        for case in cases(topic):
            samples, total, capped = await time_case(db, case, runs)
            everything += samples
            p95 = percentile(samples, 0.95)
            matches = f"{SEARCH_CANDIDATES}+" if capped else str(total)
            rows.append([
                case.query_class, case.filter_label, matches, f"{percentile(samples, 0.5):.1f}",
                f"{p95:.1f}", f"{max(samples):.1f}", _verdict(p95),
            ])
        p95 = percentile(everything, 0.95)
        rows.append([
            "all queries", "", "", f"{percentile(everything, 0.5):.1f}", f"{p95:.1f}",
            f"{max(everything):.1f}", _verdict(p95),
        ])
        return rows
    finally:
        await db.close()


HEADERS = (
    "query", "filter", "matches", "p50 ms", "p95 ms", "max ms",
    f"p95 < {P95_TARGET_MS:g} (aim {P95_AIM_MS:g})",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="corpus size (100000)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"where the corpus and database are kept ({DEFAULT_WORKDIR})")
    parser.add_argument("--runs", type=int, default=20, help="times each query is repeated (20)")
    parser.add_argument("--small", action="store_true", help=f"{SMALL_ARTICLES} articles, {SMALL_RUNS} runs")
    args = parser.parse_args(argv)
    articles = SMALL_ARTICLES if args.small else args.articles
    runs = SMALL_RUNS if args.small else args.runs
    if runs < 1:
        parser.error("--runs must be at least 1")

    _, db = corpus_and_db(args.workdir, articles)
    rows = asyncio.run(measure(db, runs))
    print(f"Search over {articles:,} articles — in process, warm database, "
          f"page of {PAGE_SIZE}, {runs} runs each")
    print(machine_facts())
    print()
    print(table(HEADERS, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
