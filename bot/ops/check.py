"""`digestbot check`: validate the configuration, the corpus and the database before a deploy or in CI.

Nothing here changes data: the corpus is parsed but not loaded, and the database is opened the way `run`
and `load` open it (for writing, so a read-only file or folder is found) but never created or migrated; a
write lock is taken and released at once, so a check can run beside a live bot and against production data.
Problems are what would stop or hurt the bot; notes are facts worth seeing that need no action, such as
a database that does not exist yet.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from bot.config import Config, ConfigError, load_config, redact_url
from bot.corpus.model import Rejection
from bot.corpus.parse import read_article
from bot.digest.schedule import parse_cron, shortest_interval
from bot.store.access import DatabaseProblem, examine, explain_sqlite_error
from bot.store.db import BUSY_TIMEOUT_MS, StateUnavailable, connect, fts5_problem, migrations
from bot.store.loader import scan_corpus

#: How many lines of a failed `PRAGMA quick_check` to repeat; the first ones name the damage.
QUICK_CHECK_LINES = 5


@dataclass
class CheckResult:
    """What a check found. The setup is fit to run when `problems` is empty."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The configuration itself is invalid (a usage error: `digestbot check` exits 2, like every command).
    config_invalid: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_corpus(config: Config, result: CheckResult) -> None:
    """Parse every corpus file exactly as a load would, without touching the database."""
    folder = config.corpus.path
    if not folder.exists():
        result.problems.append(f"corpus: folder {folder} does not exist (set corpus.path or mount it)")
        return
    if not folder.is_dir():
        result.problems.append(f"corpus: {folder} is not a folder")
        return
    files = sorted(scan_corpus(folder))
    if not files:
        result.problems.append(f"corpus: folder {folder} holds no article files (*.txt or *.md)")
        return
    first_file_by_url: dict[str, str] = {}
    rejected = 0
    for item in files:
        outcome = read_article(Path(item.path), max_bytes=config.corpus.max_file_bytes)
        if isinstance(outcome, Rejection):
            rejected += 1
            result.problems.append(f"corpus: {folder / outcome.file}: {outcome.reason}")
            continue
        for warning in outcome.warnings:
            result.notes.append(f"corpus: {folder / outcome.source_file}: {warning}")
        earlier = first_file_by_url.setdefault(outcome.url, outcome.source_file)
        if earlier != outcome.source_file:
            result.notes.append(
                f"corpus: {outcome.source_file} is the same article as {earlier} (same URL {outcome.url}); "
                "the later-published file is served"
            )
    result.notes.append(
        f"corpus: {folder}: {len(files) - rejected} of {len(files)} files parse, "
        f"{len(first_file_by_url)} distinct articles"
    )


def _check_digest_pace(config: Config, result: CheckResult) -> None:
    """Note configured digests that run faster than digests made in Discord may (the operator's own are not
    capped, but each run composes and posts, so a fast one is worth a second look)."""
    floor = config.limits.min_interval_minutes
    for digest in config.digests:
        minutes = int(shortest_interval(parse_cron(digest.schedule)).total_seconds() // 60)
        if minutes < floor:
            result.notes.append(
                f"config: digest {digest.name!r} ({digest.schedule}) runs as often as every {minutes} "
                f"minute(s), faster than limits.min_interval_minutes ({floor}) allows digests made in Discord"
            )


def _check_fts5(result: CheckResult) -> None:
    problem = fts5_problem()
    if problem is not None:
        result.problems.append(f"sqlite: {problem}")


async def _check_database(path: Path, result: CheckResult) -> None:
    """The database as `run` and `load` will use it: the path examined (a missing file must be creatable),
    then an existing file opened for writing, its schema version against the code's, a write lock taken
    and released (WAL files created if need be), and `PRAGMA quick_check`. Nothing is created or migrated."""
    try:
        await asyncio.to_thread(examine, path, create=True)
    except DatabaseProblem as error:
        result.problems.append(f"database: {error}")
        return
    if not path.exists():
        result.notes.append(f"database: none at {path} yet; `digestbot load` or `digestbot run` creates it")
        return
    known = migrations()
    newest = known[-1].version if known else 0
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    try:
        conn = await connect(uri, uri=True, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            async with conn.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            if version > newest:
                result.problems.append(
                    f"database: {path} has schema version {version} but this digestbot only knows up to "
                    f"{newest}; a newer digestbot wrote it and downgrading is refused: upgrade digestbot "
                    "or use another database"
                )
                return
            if version < newest:
                result.notes.append(
                    f"database: {path} has schema version {version}; digestbot upgrades it to {newest} "
                    "the next time it opens it"
                )
            await conn.execute("BEGIN IMMEDIATE")
            await conn.execute("ROLLBACK")
            try:
                async with conn.execute("PRAGMA quick_check") as cursor:
                    findings = [str(line[0]) for line in await cursor.fetchall()]
            except sqlite3.DatabaseError as error:
                findings = [str(error)]
        finally:
            await conn.close()
    except sqlite3.Error as error:
        result.problems.append(f"database: {explain_sqlite_error(path, error)}")
        return
    if findings != ["ok"]:
        shown = "; ".join(findings[:QUICK_CHECK_LINES])
        more = f" (and {len(findings) - QUICK_CHECK_LINES} more)" if len(findings) > QUICK_CHECK_LINES else ""
        result.problems.append(f"database: {path} failed PRAGMA quick_check: {shown}{more}")
        return
    result.notes.append(f"database: {path}: schema version {version}, quick_check ok")


async def _check_state(url: str, result: CheckResult) -> None:
    """The shared-state PostgreSQL database: reachable, and its schema not newer than this digestbot's."""
    from bot.store.postgres import stored_schema_version

    where = redact_url(url)
    try:
        version = await stored_schema_version(url)
    except StateUnavailable as error:
        result.problems.append(f"database: {error}")
        return
    known = migrations("migrations_pg")
    newest = known[-1].version if known else 0
    if version is None:
        result.notes.append(f"database: {where} is reachable; digestbot creates its tables on first start")
    elif version > newest:
        result.problems.append(
            f"database: {where} has schema version {version} but this digestbot only knows up to {newest}; "
            "upgrade digestbot or use another database"
        )
    elif version < newest:
        result.notes.append(f"database: {where} has schema version {version}; digestbot upgrades it to "
                            f"{newest} the next time it starts")
    else:
        result.notes.append(f"database: {where}: schema version {version}")


async def run_checks(
    config_path: Path | None, *, db_path: Path | None = None, env: Mapping[str, str] | None = None
) -> CheckResult:
    """Check configuration, corpus and database; `db_path` overrides the configured database path.

    The configuration is found as everywhere else (`config_path`, else `$DIGESTBOT_CONFIG`, else
    `config/config.yaml`, else defaults). A broken configuration leaves the corpus unchecked, since its
    folder is unknown; the database is still checked when `db_path` names it.
    """
    env = os.environ if env is None else env
    result = CheckResult()
    _check_fts5(result)
    try:
        config = load_config(config_path, env=env)
    except ConfigError as error:
        result.problems.append(f"config: {error}")
        result.config_invalid = True
        result.notes.append("corpus: not checked because the configuration is invalid")
        if db_path is not None:
            await _check_database(Path(db_path), result)
        return result
    if config.source is None:
        result.notes.append("config: no configuration file; the built-in defaults apply")
    else:
        result.notes.append(f"config: {config.source} is valid ({len(config.digests)} digest(s))")
    _check_digest_pace(config, result)
    if db_path is not None:
        config = replace(config, database=replace(config.database, path=Path(db_path)))
    if not env.get("DISCORD_TOKEN"):
        result.notes.append("discord: DISCORD_TOKEN is not set (only `digestbot run` needs it)")
    await asyncio.to_thread(_check_corpus, config, result)
    await _check_database(config.database.path, result)
    if config.database.url is not None:
        await _check_state(config.database.url, result)
    return result
