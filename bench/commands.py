"""Slash-command benchmark: the real bot over a large corpus, many members at once, through the emulator.

Usage: ``python bench/commands.py [--articles N] [--baseline B] [--members M] [--rounds R] [--passes P]
[--workdir DIR] [--small]``

With ``--baseline B`` the same run measures at B articles and at N, and compares the p95s: lookups should
cost about the same at any size (at most 1.25× the baseline's p95). The run makes P passes (3), each at
B then at N, and pools each size's samples: on a shared machine, other work that starts or stops during
the run then weighs on both sizes instead of on whichever was measured at the time.

Starts the loopback Discord emulator and the real bot in this process, over the corpus and database that
``bench/search.py`` also uses (generated and loaded once per workdir). M members then act concurrently,
each for R rounds of: type words of a title into `/article`'s `id` (autocomplete), open the article the
list offers (`/article`), and run a `/search` (rare word, common word, phrase, prefix, with and without
filters). Latency runs from the moment the interaction is dispatched to the bot's last response to it —
the final visible message (after any deferral), or the autocomplete choices — as the emulator sees it.

Measuring starts once the bot has read the index's vocabulary (`bot.store.vocabulary`, in a thread after
start-up, under a second at 100,000 articles), as it runs from then on.

The emulator shares the bot's event loop and cores, so these numbers include its own work; its OpenAPI
schema validation is switched off here (the e2e tests keep it on), Discord's message rules are still
checked and any violation fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import DEFAULT_WORKDIR, corpus_and_db, machine_facts, percentile, table
from bench.gen_corpus import COMMON_WORD, PHRASE, PREFIX, RARE_WORDS
from bot.config import Config, CorpusConfig, DatabaseConfig, DiscordConfig, LookupsConfig
from bot.discord.client import create_bot
from tests.emulator import Emulator, Guild, InteractionResult, Member, running_bot
from tests.emulator.state import InteractionRecord

SMALL_ARTICLES = 300
SMALL_ROUNDS = 2
SMALL_PASSES = 1
P95_FLOOR_MS, P95_AIM_MS = 300.0, 100.0

SEARCHES: tuple[dict[str, Any], ...] = (
    {"query": RARE_WORDS[0]},
    {"query": COMMON_WORD},
    {"query": f'"{PHRASE}"'},
    {"query": f"{PREFIX}*"},
    {"query": COMMON_WORD, "min_quality": 50},
    {"query": RARE_WORDS[1], "min_quality": 50},
    {"query": COMMON_WORD, "since": "2022-03-01", "until": "2022-03-31"},
    {"query": f"{PREFIX}*", "since": "2022-01-01", "until": "2022-12-31"},
)
"""The `/search` options members send, in rotation."""

TYPED: tuple[str, ...] = ("", COMMON_WORD[:4], RARE_WORDS[2][:5], PHRASE[:-3], f"{COMMON_WORD} {PREFIX}")
"""What members type into `/article`'s `id` option, in rotation: nothing, word beginnings, two words."""

KINDS = ("/search", "/article", "autocomplete (article id)")


class TimedEmulator(Emulator):
    """The emulator, noting the time of every response the bot makes to each interaction."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.responses: dict[str, list[float]] = defaultdict(list)
        self.last_delivered: dict[asyncio.Task[Any] | None, InteractionRecord] = {}

    async def _deliver(self, record: InteractionRecord) -> None:
        # Remembered per task, so a member finds its own autocomplete among concurrent ones.
        self.last_delivered[asyncio.current_task()] = record
        await super()._deliver(record)

    def touched(self, record: InteractionRecord) -> None:
        self.responses[record.id].append(self.clock())
        super().touched(record)

    def latency_ms(self, record: InteractionRecord) -> float:
        """From dispatch to the last response the bot made to this interaction."""
        return (self.responses[record.id][-1] - record.created_at) * 1000


@dataclass
class Tally:
    samples: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    failures: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Pool another pass's samples and failures into this one."""
        for kind, samples in other.samples.items():
            self.samples[kind].extend(samples)
        self.failures.extend(other.failures)


def _answered(result: InteractionResult, what: str, tally: Tally) -> bool:
    if not result.answered or result.errors or result.message is None:
        tally.failures.append(f"{what}: answered={result.answered} errors={result.errors}")
        return False
    if not result.embeds:
        tally.failures.append(f"{what}: no embed in the response")
        return False
    return True


async def member_rounds(
    emu: TimedEmulator, guild: Guild, member: Member, start: int, rounds: int, fallback_id: str,
    tally: Tally, *, record: bool,
) -> None:
    """One member's rounds of autocomplete → /article → /search; `start` staggers the rotations."""
    for round_number in range(rounds):
        turn = start + round_number
        typed = TYPED[turn % len(TYPED)]
        choices = await emu.autocomplete("article", focused="id", value=typed, user=member, guild=guild)
        autocomplete = emu.last_delivered[asyncio.current_task()]
        article_id = choices[0]["value"] if choices else fallback_id
        shown = await emu.invoke("article", user=member, guild=guild, options={"id": article_id})
        options = SEARCHES[turn % len(SEARCHES)]
        found = await emu.invoke("search", user=member, guild=guild, options=dict(options))
        article_ok = _answered(shown, f"/article {article_id}", tally)
        search_ok = _answered(found, f"/search {options}", tally)
        if record:
            if autocomplete.choices is not None:
                tally.samples["autocomplete (article id)"].append(emu.latency_ms(autocomplete))
            if article_ok:
                tally.samples["/article"].append(emu.latency_ms(shown.record))
            if search_ok:
                tally.samples["/search"].append(emu.latency_ms(found.record))


async def measure(corpus: Path, db: Path, members: int, rounds: int) -> tuple[Tally, int]:
    emu = await TimedEmulator.start(validate_openapi=False)
    try:
        guild = emu.add_guild("newsroom")
        people = [emu.add_member(guild) for _ in range(members)]
        config = Config(
            corpus=CorpusConfig(path=corpus),
            database=DatabaseConfig(path=db),
            discord=DiscordConfig(guild_ids=(int(guild.id),)),
            lookups=LookupsConfig(cooldown_uses=0),
        )
        started = time.perf_counter()
        async with running_bot(create_bot(config), emu) as bot:
            print(f"bot ready in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
            if bot.failed_extensions:
                raise RuntimeError(f"extensions failed to load: {bot.failed_extensions}")
            if bot.db.vocabulary is not None:  # read once after start-up: measure the bot as it then runs
                await bot.db.vocabulary.ready()
                print(f"index vocabulary ready in {time.perf_counter() - started:.1f} s", file=sys.stderr,
                      flush=True)
            best = await emu.autocomplete("article", focused="id", value="", user=people[0], guild=guild)
            if not best:
                raise RuntimeError("the corpus offers no articles to open")
            fallback_id = str(best[0]["value"])
            warm_up = Tally()
            await asyncio.gather(*(
                member_rounds(emu, guild, person, index, 1, fallback_id, warm_up, record=False)
                for index, person in enumerate(people)
            ))
            tally = Tally(failures=warm_up.failures)
            await asyncio.gather(*(
                member_rounds(emu, guild, person, index + 1, rounds, fallback_id, tally, record=True)
                for index, person in enumerate(people)
            ))
    finally:
        await emu.stop()
    return tally, len(emu.violations)


def summary_rows(tally: Tally) -> list[list[str]]:
    """Count, p50, p95 and max of each interaction kind."""
    rows = []
    for kind in KINDS:
        samples = tally.samples[kind]
        if not samples:
            rows.append([kind, "0", "", "", "", "no samples"])
            continue
        p95 = percentile(samples, 0.95)
        verdict = "aim met" if p95 < P95_AIM_MS else "met" if p95 < P95_FLOOR_MS else "MISSED"
        rows.append([
            kind, str(len(samples)), f"{percentile(samples, 0.5):.0f}", f"{p95:.0f}",
            f"{max(samples):.0f}", verdict,
        ])
    return rows


HEADERS = (
    "interaction", "count", "p50 ms", "p95 ms", "max ms", f"p95 < {P95_FLOOR_MS:g} (aim {P95_AIM_MS:g})"
)


P95_RATIO_LIMIT = 1.25


def report(articles: int, members: int, rounds: int, passes: int, rows: list[list[str]], tally: Tally,
           violations: int) -> bool:
    """Print one size's table; True when every interaction was answered within Discord's rules."""
    print(f"Slash commands over {articles:,} articles — {members} members at once, "
          f"{rounds} rounds each, {passes} pass(es), dispatch to final response")
    print(machine_facts())
    print()
    print(table(HEADERS, rows))
    for failure in itertools.islice(tally.failures, 10):
        print(f"failed: {failure}")
    if len(tally.failures) > 10:
        print(f"… and {len(tally.failures) - 10} more failures")
    if violations:
        print(f"{violations} response(s) broke Discord's rules (see the emulator's violations)")
    return not tally.failures and not violations


def ratio_rows(small: Tally, large: Tally) -> tuple[list[list[str]], bool]:
    """p95 at the large size over p95 at the baseline, per interaction."""
    rows, met = [], True
    for kind in KINDS:
        if not small.samples[kind] or not large.samples[kind]:
            rows.append([kind, "", "", "", "no samples"])
            met = False
            continue
        before, after = percentile(small.samples[kind], 0.95), percentile(large.samples[kind], 0.95)
        ratio = after / before
        ok = ratio <= P95_RATIO_LIMIT
        met = met and ok
        rows.append([kind, f"{before:.0f}", f"{after:.0f}", f"{ratio:.2f}×", "met" if ok else "MISSED"])
    return rows, met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="corpus size (100000)")
    parser.add_argument("--baseline", type=int, default=None, metavar="N",
                        help="first measure at N articles in the same run, then compare p95s (e.g. 3000)")
    parser.add_argument("--members", type=int, default=20, help="members acting at once (20)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per member (10)")
    parser.add_argument("--passes", type=int, default=3,
                        help="passes over the sizes, alternating them; samples are pooled (3)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"where the corpus and database are kept ({DEFAULT_WORKDIR})")
    parser.add_argument("--small", action="store_true",
                        help=f"{SMALL_ARTICLES} articles, {SMALL_ROUNDS} rounds, {SMALL_PASSES} pass")
    args = parser.parse_args(argv)
    articles = SMALL_ARTICLES if args.small else args.articles
    rounds = SMALL_ROUNDS if args.small else args.rounds
    passes = SMALL_PASSES if args.small else args.passes
    if args.members < 1 or rounds < 1 or passes < 1:
        parser.error("--members, --rounds and --passes must be at least 1")
    if args.baseline is not None and not 1 <= args.baseline < articles:
        parser.error("--baseline must be at least 1 and smaller than the corpus size")

    sizes = [articles] if args.baseline is None else [args.baseline, articles]
    tallies = {size: Tally() for size in sizes}
    violations = dict.fromkeys(sizes, 0)
    # Passes alternate the sizes, so a change in the machine's other load during the run weighs on both.
    for _ in range(passes):
        for size in sizes:
            corpus, db = corpus_and_db(args.workdir, size)
            tally, broken = asyncio.run(measure(corpus, db, args.members, rounds))
            tallies[size].add(tally)
            violations[size] += broken
    ok = True
    for size in sizes:
        rows = summary_rows(tallies[size])
        ok = report(size, args.members, rounds, passes, rows, tallies[size], violations[size]) and ok
        print()
    if args.baseline is not None:
        rows, met = ratio_rows(tallies[sizes[0]], tallies[sizes[1]])
        headers = ("interaction", f"p95 ms at {args.baseline:,}", f"p95 ms at {articles:,}", "ratio",
                   f"≤ {P95_RATIO_LIMIT:g}×")
        print(f"Same run: p95 at {articles:,} articles over p95 at {args.baseline:,}")
        print(table(headers, rows))
        ok = ok and met
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
