"""Hostile-load benchmark: ordinary members' latency alone and while one member and one admin attack.

Usage: ``python bench/abuse.py [--articles N] [--members M] [--rounds R] [--workdir DIR] [--small]``

The real bot over a generated corpus (50,000 articles by default, made and loaded once per workdir) through
the loopback emulator, with the default limits (cooldown, budgets, caps). M ordinary members act with short
pauses: type words of a title into `/article`'s `id`, open the article, search. They do R rounds alone,
then R rounds while

- an attacker sends the heaviest inputs without pausing: the 6,000-character many-prefix query (Discord's
  client refuses it: the option has a `max_length`), the longest query the option accepts full of prefix
  terms, the heaviest query within the caps and page turns on its results, `/article` autocomplete with the
  same text, and `/digest preview` of the heavy digest;
- a server admin has a digest with the heaviest keywords the caps allow, runs it by hand again and again,
  and pauses and resumes another digest (writes that must not wait for a compose).

Latency runs from an interaction's dispatch to the bot's last response to it, as the emulator sees it. The
longest write wait is how long any writer waited for the write lock during the attack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import DEFAULT_WORKDIR, corpus_and_db, machine_facts, percentile, table
from bench.commands import SEARCHES, TYPED, TimedEmulator
from bot.config import Config, CorpusConfig, DatabaseConfig, DiscordConfig, LookupsConfig
from bot.discord.client import DigestBot, create_bot
from bot.store.db import Database
from tests.emulator import Channel, Guild, InteractionResult, Member, running_bot
from tests.emulator.state import MANAGE_GUILD

DEFAULT_ARTICLES = 50_000
SMALL_ARTICLES = 300
SMALL_ROUNDS = 1
#: Ordinary members pause this long between actions: a round (autocomplete, /article, /search) then stays
#: within the default cooldown. --small shortens the pauses and the cooldown window alike.
PAUSE_SECONDS = 2.5
SMALL_PAUSE_SECONDS, SMALL_COOLDOWN_SECONDS = 0.5, 2.0
DISCORD_DEADLINE_MS = 3000.0
RATIO_TARGET, P95_TARGET_MS, WRITE_WAIT_TARGET_MS = 3.0, 1000.0, 1000.0

#: Discord's limit for a string option without `max_length`: what an attacker would paste.
PASTED = ("t* " * 2000)[:6000]
#: The longest query the options accept, made of prefix terms (refused by the term caps).
LONGEST = ("t* a* s* e* " * 50)[:200]
#: The heaviest query within the caps: three one-letter prefixes and nine of the commonest words.
HEAVIEST = "t* a* s* the of and to in is on at by"
#: The heaviest keywords a digest made in Discord may have: ten, three prefix terms among them.
HEAVY_KEYWORDS = [HEAVIEST] + [f"{pair} the of and to in is on at by it as" for pair in
                               ("ta", "as", "se", "ec", "cp", "pb", "bm", "md", "dr")]


@dataclass
class Tally:
    alone: list[float] = field(default_factory=list)
    attacked: list[float] = field(default_factory=list)
    attacker: list[float] = field(default_factory=list)
    attacker_unanswered: list[str] = field(default_factory=list)
    refused_by_client: int = 0
    admin: list[float] = field(default_factory=list)
    write_waits: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    manual_runs: dict[str, int] = field(default_factory=lambda: {"ran": 0, "refused": 0})


def timed_writes(db: Database, waits: list[float]) -> None:
    """Record how long every writer waits for the write lock from now on."""
    original = db.write

    @contextlib.asynccontextmanager
    async def write() -> AsyncIterator[Any]:
        asked = time.perf_counter()
        async with original() as conn:
            waits.append((time.perf_counter() - asked) * 1000)
            yield conn

    db.write = write  # type: ignore[method-assign]


def _ok(result: InteractionResult) -> bool:
    return result.answered and not result.errors and result.message is not None


async def ordinary_rounds(
    emu: TimedEmulator, guild: Guild, member: Member, start: int, rounds: int, fallback_id: str,
    samples: list[float], tally: Tally, pause: float,
) -> None:
    """Autocomplete → /article → pause → /search → pause, `rounds` times."""
    for round_number in range(rounds):
        turn = start + round_number
        choices = await emu.autocomplete("article", focused="id", value=TYPED[turn % len(TYPED)],
                                         user=member, guild=guild)
        typed = emu.last_delivered[asyncio.current_task()]
        samples.append(emu.latency_ms(typed))
        shown = await emu.invoke("article", user=member, guild=guild,
                                 options={"id": choices[0]["value"] if choices else fallback_id})
        await asyncio.sleep(pause)
        search = dict(SEARCHES[turn % len(SEARCHES)])
        found = await emu.invoke("search", user=member, guild=guild, options=search)
        for what, result in (("/article", shown), ("/search", found)):
            if not _ok(result):
                tally.failures.append(f"ordinary {what}: answered={result.answered} errors={result.errors}")
                continue
            text = " ".join(str(embed.get("description") or "") for embed in result.embeds)
            if "going a bit fast" in text or "still running" in text:
                tally.failures.append(f"ordinary {what} was refused: {text[:80]}")
            samples.append(emu.latency_ms(result.record))
        await asyncio.sleep(pause)


async def attacker(
    emu: TimedEmulator, guild: Guild, member: Member, stop: asyncio.Event, tally: Tally
) -> None:
    """The heaviest inputs, back to back, until the ordinary members are done."""

    def answered(result: InteractionResult, what: str) -> None:
        latency = emu.latency_ms(result.record) if emu.responses.get(result.record.id) else float("inf")
        tally.attacker.append(latency)
        if not result.answered or result.errors or latency > DISCORD_DEADLINE_MS:
            tally.attacker_unanswered.append(f"{what}: {latency:.0f} ms, errors={result.errors}")

    while not stop.is_set():
        try:
            await emu.invoke("search", user=member, guild=guild, options={"query": PASTED})
        except ValueError:
            tally.refused_by_client += 1
        for query in (LONGEST, HEAVIEST):
            result = await emu.invoke("search", user=member, guild=guild, options={"query": query})
            answered(result, f"/search {query[:20]}")
            buttons = [item for row in (result.message.components if result.message else [])
                       for item in row.get("components", []) if item.get("label") == "Next"]
            if buttons and not buttons[0].get("disabled"):
                answered(await emu.click(result.message, buttons[0]["custom_id"], user=member), "page turn")
        await emu.autocomplete("article", focused="id", value=LONGEST, user=member, guild=guild)
        typed = emu.last_delivered[asyncio.current_task()]
        tally.attacker.append(emu.latency_ms(typed))
        preview = await emu.invoke("digest preview", user=member, guild=guild, options={"name": "heavy"})
        answered(preview, "/digest preview")


async def admin_work(
    emu: TimedEmulator, guild: Guild, admin: Member, stop: asyncio.Event, tally: Tally
) -> None:
    """Run the heavy digest by hand and pause/resume the light one, a second apart, until done."""
    paused = False
    while not stop.is_set():
        run = await emu.invoke("admin digest run", user=admin, guild=guild, options={"name": "heavy"})
        text = " ".join(str(embed.get("description") or "") for embed in run.embeds)
        tally.manual_runs["refused" if text.startswith("Did not run") else "ran"] += 1
        for _ in range(3):
            command = "admin digest resume" if paused else "admin digest pause"
            result = await emu.invoke(command, user=admin, guild=guild, options={"name": "light"})
            paused = not paused
            if _ok(result):
                tally.admin.append(emu.latency_ms(result.record))
            else:
                tally.failures.append(f"admin {command}: errors={result.errors}")
            await asyncio.sleep(1.0)


async def create_digests(emu: TimedEmulator, guild: Guild, admin: Member, channel: Channel) -> None:
    for name, keywords in (("heavy", ", ".join(HEAVY_KEYWORDS)), ("light", None)):
        options: dict[str, Any] = {
            "name": name, "channel": channel, "schedule": "*/15 * * * *", "min_quality": 0,
        }
        if keywords:
            options["keywords"] = keywords
        result = await emu.invoke("admin digest create", user=admin, guild=guild, options=options)
        text = " ".join(str(embed.get("description") or "") for embed in result.embeds)
        if not text.startswith("Created digest"):
            raise RuntimeError(f"the {name} digest was not created: {text}")


async def measure(corpus: Path, db: Path, members: int, rounds: int, *, small: bool) -> Tally:
    """Both phases; the attack starts once the members' cooldown windows from the first are empty."""
    pause = SMALL_PAUSE_SECONDS if small else PAUSE_SECONDS
    lookups = LookupsConfig(cooldown_seconds=SMALL_COOLDOWN_SECONDS) if small else LookupsConfig()
    emu = await TimedEmulator.start(validate_openapi=False)
    tally = Tally()
    try:
        guild = emu.add_guild("newsroom")
        news = emu.add_channel(guild, "news")
        people = [emu.add_member(guild) for _ in range(members)]
        villain = emu.add_member(guild)
        admin = emu.add_member(guild, permissions=MANAGE_GUILD)
        config = Config(corpus=CorpusConfig(path=corpus), database=DatabaseConfig(path=db),
                        discord=DiscordConfig(guild_ids=(int(guild.id),)), lookups=lookups)
        async with running_bot(create_bot(config), emu) as bot:
            await prepare(bot, emu, guild, admin, news)
            best = await emu.autocomplete("article", focused="id", value="", user=people[0], guild=guild)
            fallback_id = str(best[0]["value"])
            await asyncio.gather(*(  # a warm-up round, not counted
                ordinary_rounds(emu, guild, person, index, 1, fallback_id, [], tally, pause)
                for index, person in enumerate(people)
            ))
            await asyncio.gather(*(
                ordinary_rounds(emu, guild, person, index, rounds, fallback_id, tally.alone, tally, pause)
                for index, person in enumerate(people)
            ))
            await asyncio.sleep(lookups.cooldown_seconds)  # the members' windows empty before the attack
            timed_writes(bot.db, tally.write_waits)
            stop = asyncio.Event()
            attacks = [asyncio.ensure_future(attacker(emu, guild, villain, stop, tally)),
                       asyncio.ensure_future(admin_work(emu, guild, admin, stop, tally))]
            await asyncio.gather(*(
                ordinary_rounds(emu, guild, person, index + rounds, rounds, fallback_id, tally.attacked,
                                tally, pause)
                for index, person in enumerate(people)
            ))
            stop.set()
            await asyncio.gather(*attacks)
            if bot.digest_scheduler is not None:
                await bot.digest_scheduler.runner.wait_idle()
        if emu.violations:
            tally.failures.append(f"{len(emu.violations)} response(s) broke Discord's rules")
    finally:
        await emu.stop()
    return tally


async def prepare(bot: DigestBot, emu: TimedEmulator, guild: Guild, admin: Member, news: Channel) -> None:
    if bot.failed_extensions:
        raise RuntimeError(f"extensions failed to load: {bot.failed_extensions}")
    await create_digests(emu, guild, admin, news)


def rows_of(tally: Tally) -> list[list[str]]:
    alone_p95 = percentile(tally.alone, 0.95)
    attacked_p95 = percentile(tally.attacked, 0.95)
    ratio = attacked_p95 / alone_p95
    attacker_max = max(tally.attacker) if tally.attacker else 0.0
    longest_wait = max(tally.write_waits) if tally.write_waits else 0.0

    def yes(ok: bool) -> str:
        return "yes" if ok else "NO"

    return [
        ["ordinary members alone: p50 / p95",
         f"{percentile(tally.alone, 0.5):.0f} / {alone_p95:.0f} ms", "-", "-"],
        ["ordinary members under attack: p50 / p95",
         f"{percentile(tally.attacked, 0.5):.0f} / {attacked_p95:.0f} ms", f"p95 < {P95_TARGET_MS:.0f} ms",
         yes(attacked_p95 < P95_TARGET_MS)],
        ["p95 under attack ÷ p95 alone", f"{ratio:.2f}×", f"≤ {RATIO_TARGET:g}×", yes(ratio <= RATIO_TARGET)],
        ["attacker interactions answered within 3 s",
         f"{len(tally.attacker) - len(tally.attacker_unanswered)}/{len(tally.attacker)}", "all",
         yes(not tally.attacker_unanswered)],
        ["attacker's slowest answer", f"{attacker_max:.0f} ms", f"< {DISCORD_DEADLINE_MS:.0f} ms",
         yes(attacker_max < DISCORD_DEADLINE_MS)],
        ["6,000-character queries refused by Discord", str(tally.refused_by_client), "max_length", "yes"],
        ["admin pause/resume: p95 / max",
         f"{percentile(tally.admin, 0.95):.0f} / {max(tally.admin):.0f} ms", "-", "-"],
        ["manual runs of the heavy digest: ran / refused",
         f"{tally.manual_runs['ran']} / {tally.manual_runs['refused']}", "≤ 12 an hour",
         yes(tally.manual_runs["ran"] <= 12)],
        ["longest write wait under attack", f"{longest_wait:.0f} ms", f"< {WRITE_WAIT_TARGET_MS:.0f} ms",
         yes(longest_wait < WRITE_WAIT_TARGET_MS)],
    ]


HEADERS = ("measure", "result", "target", "ok")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=DEFAULT_ARTICLES,
                        help=f"corpus size ({DEFAULT_ARTICLES})")
    parser.add_argument("--members", type=int, default=10, help="ordinary members (10)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per member and phase (6)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"where the corpus and database are kept ({DEFAULT_WORKDIR})")
    parser.add_argument("--small", action="store_true",
                        help=f"{SMALL_ARTICLES} articles, {SMALL_ROUNDS} round, short pauses and cooldown")
    args = parser.parse_args(argv)
    articles = SMALL_ARTICLES if args.small else args.articles
    rounds = SMALL_ROUNDS if args.small else args.rounds
    if args.members < 1 or rounds < 1:
        parser.error("--members and --rounds must be at least 1")

    corpus, db = corpus_and_db(args.workdir, articles)
    with tempfile.TemporaryDirectory(prefix="digestbot-abuse-") as scratch:
        copy = Path(scratch) / "abuse.sqlite3"
        # The digests, runs and audit entries the run creates never reach the shared database.
        with contextlib.closing(sqlite3.connect(db)) as source, \
                contextlib.closing(sqlite3.connect(copy)) as target:
            source.backup(target)
        tally = asyncio.run(measure(corpus, copy, args.members, rounds, small=args.small))
    rows = rows_of(tally)
    print(f"Hostile load over {articles:,} articles — {args.members} ordinary members, {rounds} rounds each "
          "alone and under attack")
    print(machine_facts())
    print()
    print(table(HEADERS, rows))
    for failure in tally.failures[:10] + tally.attacker_unanswered[:10]:
        print(f"failed: {failure}")
    missed = [row for row in rows if row[3] == "NO"]
    return 1 if tally.failures or tally.attacker_unanswered or (missed and not args.small) else 0


if __name__ == "__main__":
    raise SystemExit(main())
