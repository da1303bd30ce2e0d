"""The `digestbot` command line: operators load, search and inspect the corpus without Discord.

Sub-commands import only what they need; nothing here imports discord.py except `run`, so the
offline commands start fast. Exit codes: 0 done, 1 failed (nothing applied, not found), 2 usage or
configuration error, 128 + the signal when SIGINT (130) or SIGTERM (143) stopped it. Errors are one line
on stderr, never a traceback. `--config`, `--db` and `--log-level` go before or after the sub-command.
Output is plain text for a terminal: no Discord markdown; matched words are bold (ANSI) only when stdout is
a terminal and neither `--no-color` nor `NO_COLOR` asks otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bot import __version__
from bot.cli_text import (
    article_detail_json,
    article_json,
    facts_line,
    format_load_report,
    load_report_json,
    snippet_text,
    use_color,
)
from bot.config import LOG_LEVELS
from bot.interrupts import Interrupted, SignalReceived, until_signal
from bot.logs import setup_command_logging

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

log = logging.getLogger("digestbot")


class CommandFailed(Exception):
    """A command could not do its job; the message is the one line the operator sees."""


class UsageError(Exception):
    """Bad arguments or configuration; exits with code 2."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _quality(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer 0-100, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected an integer 0-100, got {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _path(text: str) -> Path:
    """A path option; an empty one (`--db ""`, an unset shell variable) is refused rather than read as `.`."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty")
    return Path(text)


def _load_config(args: argparse.Namespace) -> Any:
    """The configuration, with `--db` overriding the database path."""
    from dataclasses import replace

    from bot.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    if getattr(args, "db", None) is not None:
        config = replace(config, database=replace(config.database, path=args.db))
    return config


async def _open_database(config: Any, *, create: bool) -> Any:
    """The store; only `load` creates it (a lookup on a missing database says to load first)."""
    from bot.store.db import Database, DatabaseProblem

    try:
        return await Database.open(config.database.path, create=create, state_url=config.database.url)
    except DatabaseProblem as error:
        raise CommandFailed(str(error)) from None


def _print_json(value: object) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


# --- load -------------------------------------------------------------------------------------------


async def _cmd_load(args: argparse.Namespace) -> int:
    from bot import clock
    from bot.store.articles import current_load_seq
    from bot.store.loader import LoadRefused, load_corpus

    config = _load_config(args)
    corpus = args.corpus or config.corpus.path
    db = await _open_database(config, create=True)
    try:
        before = await current_load_seq(db)
        report = await until_signal(load_corpus(
            db, corpus, force=args.force, max_file_bytes=config.corpus.max_file_bytes, now=clock.now()
        ))
    except SignalReceived as stopped:
        after = await current_load_seq(db)
        if after == before:
            raise Interrupted(stopped.signum, "load interrupted; the previous corpus is unchanged") from None
        raise Interrupted(
            stopped.signum, f"load interrupted after it was applied: load #{after} is in service"
        ) from None
    except LoadRefused as error:
        raise CommandFailed(f"load refused: {error}") from None
    finally:
        await db.close()
    if args.json:
        _print_json(load_report_json(report))
    else:
        print(format_load_report(report))
    return EXIT_OK


# --- search / show ----------------------------------------------------------------------------------

async def _cmd_search(args: argparse.Namespace) -> int:
    from bot.store.articles import SearchFilters
    from bot.store.db import READ_BUDGET_SECONDS, QueryBudgetExceeded
    from bot.store.fts import EmptyQuery, QueryTooBroad, build_match
    from bot.store.search import search

    try:
        build_match(args.query)
    except EmptyQuery:
        raise UsageError("search: the query is empty; give at least one word") from None
    except QueryTooBroad as error:
        raise UsageError(f"search: {error}") from None
    config = _load_config(args)
    filters = SearchFilters(
        topic=args.topic,
        provider=args.provider,
        min_quality=args.min_quality,
        since=args.since,
        until=args.until,
        published_only=args.published_only,
    )
    db = await _open_database(config, create=False)
    try:
        page = await search(db, args.query, filters, limit=args.limit, budget=READ_BUDGET_SECONDS)
    except QueryBudgetExceeded:
        raise CommandFailed(
            f"search: the query ran longer than {READ_BUDGET_SECONDS:g} s; add a word or a filter"
        ) from None
    finally:
        await db.close()
    if args.json:
        _print_json([article_json(hit.article, snippet=hit.snippet) for hit in page.hits])
        return EXIT_OK
    if not page.hits:
        print("no matches (drop a filter or check the spelling)")
        return EXIT_OK
    total = f"more than {page.total}" if page.total_capped else str(page.total)
    print(f"{total} match{'es' if page.total != 1 or page.total_capped else ''}, best first:")
    bold = use_color(args)
    for hit in page.hits:
        article = hit.article
        print(f"  [{article.id}] {article.title}")
        print(f"      {facts_line(article)}")
        if hit.snippet:
            print(f"      {snippet_text(hit.snippet, bold=bold)}")
    return EXIT_OK


async def _cmd_show(args: argparse.Namespace) -> int:
    from bot.store.articles import get_article

    config = _load_config(args)
    db = await _open_database(config, create=False)
    try:
        article = await get_article(db, args.id)
    finally:
        await db.close()
    if article is None:
        raise CommandFailed(f"no article with id {args.id!r} (ids are shown by `digestbot search`)")
    if args.json:
        _print_json(article_detail_json(article))
        return EXIT_OK
    from bot.render.text import finish_excerpt

    print(f"[{article.id}] {article.title}")
    print(f"  {facts_line(article)}")
    print(f"  {article.url}")
    if article.topics:
        print(f"  topics: {', '.join(article.topics)}")
    if article.excerpt:
        print(f"\n  {finish_excerpt(article.excerpt)}")
    if article.related:
        print("\n  related coverage:")
        for item in article.related:
            details = [item.provider.label] if item.provider is not None and item.provider.label else []
            if item.quality is not None:
                details.append(f"quality {item.quality}")
            suffix = f" — {', '.join(details)}" if details else ""
            print(f"    - {item.title or item.url}{suffix}\n      {item.url}")
    return EXIT_OK


# --- digests ----------------------------------------------------------------------------------------


async def _cmd_preview(args: argparse.Namespace) -> int:
    from bot import clock
    from bot.preview import format_plan, plan_html, plan_payloads, preview_basis, preview_plan
    from bot.store.digests import DigestNotFound

    config = _load_config(args)
    db = await _open_database(config, create=False)
    now = clock.now()
    try:
        settings, plan = await preview_plan(db, config, args.name, now=now, everything=args.all)
    except DigestNotFound as error:
        raise CommandFailed(str(error)) from None
    finally:
        await db.close()
    if args.html is not None:
        try:
            args.html.write_text(plan_html(settings, plan, now=now), encoding="utf-8")
        except OSError as error:
            raise CommandFailed(f"cannot write the preview page {args.html}: {error.strerror}") from None
        print(f"Wrote the preview of digest {settings.name!r} to {args.html}")
    elif args.json:
        _print_json(plan_payloads(plan, ping_role=settings.ping_role))
    else:
        basis = preview_basis(config, settings, args.name, everything=args.all)
        print(format_plan(settings, plan, basis=basis))
    return EXIT_OK


async def _cmd_digests(args: argparse.Namespace) -> int:
    from bot import clock
    from bot.preview import digest_schedule_table, format_schedule_table, schedule_row_json

    config = _load_config(args)
    db = await _open_database(config, create=False)
    try:
        rows = await digest_schedule_table(db, config, now=clock.now())
    finally:
        await db.close()
    if args.json:
        _print_json([schedule_row_json(row) for row in rows])
    else:
        print(format_schedule_table(rows))
    return EXIT_OK


# --- operating ----------------------------------------------------------------------------------------


async def _cmd_check(args: argparse.Namespace) -> int:
    from bot.ops.check import run_checks

    result = await run_checks(args.config, db_path=args.db, env=os.environ)
    for note in result.notes:
        print(f"note: {note}")
    for problem in result.problems:
        print(f"problem: {problem}")
    if result.problems:
        print(f"{len(result.problems)} problem{'s' if len(result.problems) != 1 else ''} found")
        return EXIT_USAGE if result.config_invalid else EXIT_FAILED
    print("ok: configuration, corpus and database are fine")
    return EXIT_OK


async def _cmd_health(args: argparse.Namespace) -> int:
    from bot import clock
    from bot.ops.health import check_health, heartbeat_path

    # In Docker $DIGESTBOT_HEARTBEAT names the file, so a health probe never depends on the config.
    configured = os.environ.get("DIGESTBOT_HEARTBEAT")
    if configured:
        path = Path(configured)
    else:
        path = heartbeat_path(args.db or _load_config(args).database.path, os.environ)
    healthy, message = check_health(path, now=clock.now())
    print(message)
    return EXIT_OK if healthy else EXIT_FAILED


def _shard_ids(text: str) -> tuple[int, ...]:
    from bot.shards import parse_shard_ids

    try:
        return parse_shard_ids(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _with_shards(config: Any, args: argparse.Namespace) -> Any:
    """`--shard-ids` / `--shard-count` over `discord.shard_ids` / `discord.shard_count`, checked together."""
    from dataclasses import replace

    from bot.shards import ShardSlice

    ids = args.shard_ids if args.shard_ids is not None else config.discord.shard_ids
    count = args.shard_count if args.shard_count is not None else config.discord.shard_count
    if args.shard_count is not None and args.shard_ids is None:
        ids = None  # a new count alone: this process runs every shard of it
    if ids is not None:
        if count is None:
            raise UsageError("--shard-ids needs --shard-count (or discord.shard_count), the cluster's size")
        try:
            ShardSlice(ids, count)
        except ValueError as error:
            raise UsageError(f"--shard-ids: {error}") from None
    return replace(config, discord=replace(config.discord, shard_ids=ids, shard_count=count))


async def _cmd_backup(args: argparse.Namespace) -> int:
    from bot.store.backup import backup_database
    from bot.store.db import DatabaseProblem

    config = _load_config(args)
    try:
        report = await asyncio.to_thread(backup_database, config.database.path, args.target)
    except DatabaseProblem as error:
        raise CommandFailed(str(error)) from None
    print(
        f"backup of {config.database.path} written to {report.target} "
        f"({report.size} bytes, schema version {report.schema_version})"
    )
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    """Synchronous: the runtime owns its event loop (and its signal handlers)."""
    from bot.discord.runtime import run_bot

    config = _with_shards(_load_config(args), args)
    return run_bot(config, force_sync=args.sync, log_level=args.log_level)


# --- wiring -----------------------------------------------------------------------------------------


Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _common(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """The options every command takes. They are added to the main parser (default None) and to each
    sub-command (default SUPPRESS, so an option given before the sub-command is not reset after it)."""
    parser.add_argument("--config", type=_path, default=default,
                        help="configuration file (default: $DIGESTBOT_CONFIG, else config/config.yaml if "
                        "present, else built-in defaults)")
    parser.add_argument("--db", type=_path, default=default, help="SQLite database (overrides database.path)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, type=str.upper, default=default,
                        help="overrides logging.level from the configuration")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digestbot", description="News corpus lookups and scheduled digests for Discord."
    )
    parser.add_argument("--version", action="version", version=f"digestbot {__version__}")
    _common(parser, default=None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        _common(sub, default=argparse.SUPPRESS)
        return sub

    load = command("load", "load the corpus folder into the database")
    load.add_argument("--corpus", type=Path, help="corpus folder (overrides corpus.path)")
    load.add_argument("--force", action="store_true",
                      help="apply even if the folder is empty or more than half the articles would go")
    load.add_argument("--json", action="store_true", help="print the report as one JSON object")
    load.set_defaults(handler=_cmd_load)

    search = command("search", "full-text search of the corpus")
    search.add_argument("query", help='words (ANDed), "quoted phrases", prefix*')
    search.add_argument("--topic")
    search.add_argument("--provider", help="provider name or domain")
    search.add_argument("--min-quality", type=_quality)
    search.add_argument("--since", type=_day, help="YYYY-MM-DD")
    search.add_argument("--until", type=_day, help="YYYY-MM-DD (inclusive)")
    search.add_argument("--published-only", action="store_true")
    search.add_argument("--limit", type=_positive, default=10)
    search.add_argument("--json", action="store_true")
    search.add_argument("--no-color", action="store_true",
                        help="never bold the matched words (also: set NO_COLOR)")
    search.set_defaults(handler=_cmd_search)

    show = command("show", "one article with its related coverage")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_cmd_show)

    preview = command("preview", "the messages a digest's next run would post (no token)")
    preview.add_argument("name", nargs="?", help="digest name or SERVER_ID/NAME (default: the first "
                         "configured one, else a new digest with the configured digest_defaults)")
    preview.add_argument("--all", action="store_true",
                         help="lift the digest's article filters (quality, age, topics, …): every article")
    preview.add_argument("--json", action="store_true", help="print the payloads as they would be sent")
    preview.add_argument("--html", type=Path, metavar="FILE",
                         help="write the run as Discord would show it to a self-contained HTML page")
    preview.set_defaults(handler=_cmd_preview)

    digests = command("digests", "every digest with its next run time")
    digests.add_argument("--json", action="store_true")
    digests.set_defaults(handler=_cmd_digests)

    run = command("run", "run the Discord bot (token from $DISCORD_TOKEN)")
    run.add_argument("--sync", action="store_true", help="sync slash commands even when they look unchanged")
    run.add_argument("--shard-ids", type=_shard_ids, metavar="IDS",
                     help="run only these shards of a cluster, e.g. 0-3 or 0,2 (overrides discord.shard_ids)")
    run.add_argument("--shard-count", type=_positive, metavar="N",
                     help="the cluster's number of shards (overrides discord.shard_count)")
    run.set_defaults(handler=_cmd_run, runs_own_loop=True)

    check = command("check", "validate configuration, corpus and database before a deploy")
    check.set_defaults(handler=_cmd_check)

    backup = command("backup", "copy the database to a new file, safely while the bot runs")
    backup.add_argument("target", type=Path, help="the new file (an existing file is never overwritten)")
    backup.set_defaults(handler=_cmd_backup)

    health = command("health", "exit 0 when the running bot's heartbeat is fresh")
    health.set_defaults(handler=_cmd_health)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        if getattr(args, "runs_own_loop", False):
            return args.handler(args)
        setup_command_logging(args.log_level)
        handler: Handler = args.handler
        return asyncio.run(handler(args))
    except UsageError as error:
        print(f"digestbot: {error}", file=sys.stderr)
        return EXIT_USAGE
    except CommandFailed as error:
        print(f"digestbot: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Interrupted as error:
        print(f"digestbot: {error}", file=sys.stderr)
        return 128 + error.signum
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`digestbot search … | head`): stop quietly, as other tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed pipe until exit
        return EXIT_FAILED
    except (OSError, sqlite3.Error) as error:
        print(f"digestbot: {error}", file=sys.stderr)
        return EXIT_FAILED
