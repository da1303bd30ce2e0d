"""The SQLite database: one write connection, read-only reader connections, numbered migrations.

WAL mode lets readers run while a writer works; every reader query runs inside a read transaction, so it
sees the corpus before a load or after it, never a mix. Every writer in the process goes through
`Database.write()`, which takes `write_lock` and opens a `BEGIN IMMEDIATE` transaction: a corpus load
and a digest claim never interleave on the shared write connection.

Every read transaction runs under a time budget enforced inside SQLite: a progress handler on each reader
interrupts the statement running when the budget is spent, the transaction is rolled back and
`QueryBudgetExceeded` raised, so no query holds a reader longer than its budget and the connection goes
straight back to serving others.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite

from bot.store.access import DatabaseMissing, DatabaseProblem, create_private, examine, explain_sqlite_error
from bot.store.engine import SqliteState, StateStore
from bot.store.vocabulary import Vocabulary

log = logging.getLogger(__name__)

__all__ = [
    "Database", "DatabaseMissing", "DatabaseProblem", "Fts5Unavailable", "MigrationFailed", "SchemaTooNew",
    "StateUnavailable",
]

BUSY_TIMEOUT_MS = 10_000
READERS = 4
#: The budget of a read that names none: far above any lookup, low enough that nothing hogs a reader.
READ_BUDGET_SECONDS = 5.0
#: SQLite calls the progress handler every this many virtual-machine steps (well under a millisecond
#: apart, so a budget is kept to within that). Each call takes the interpreter lock from the event loop:
#: every 2,000 steps, a filtered search on a common word at 100,000 articles waited for it 200 times
#: while members' interactions kept the loop busy, and took a third longer than at 20,000.
PROGRESS_STEPS = 20_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")
_READ_BUDGET: ContextVar[float] = ContextVar("read_budget", default=READ_BUDGET_SECONDS)


@contextmanager
def read_budget(seconds: float) -> Iterator[None]:
    """Give every read made in this context (by this task) `seconds` unless it names its own budget: a
    preview composes through many store calls, and each of them gets the preview's budget."""
    token = _READ_BUDGET.set(seconds)
    try:
        yield
    finally:
        _READ_BUDGET.reset(token)


class SchemaTooNew(DatabaseProblem):
    """The database was written by a newer digestbot than this one."""


class Fts5Unavailable(DatabaseProblem):
    """The SQLite library this Python uses was built without FTS5."""


class MigrationFailed(DatabaseProblem):
    """A migration script failed; it was rolled back and the database keeps its previous schema."""


class StateUnavailable(DatabaseProblem):
    """The shared-state database (PostgreSQL) could not be reached or refused the connection."""


class QueryBudgetExceeded(Exception):
    """A read ran past its time budget and SQLite interrupted it; the connection is ready for the next."""


class _Deadline:
    """When the read running on one reader must stop (monotonic seconds), checked by its progress handler
    in the reader's own thread."""

    def __init__(self) -> None:
        self.at: float | None = None

    def passed(self) -> int:
        at = self.at
        return 1 if at is not None and time.monotonic() > at else 0


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(folder_name: str = "migrations") -> list[Migration]:
    """Every numbered `NNNN_name.sql` of a migrations folder (`migrations` for SQLite, `migrations_pg` for
    PostgreSQL), in order; numbering must run 1, 2, 3… without gaps."""
    folder = resources.files("bot.store").joinpath(folder_name)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(
                f"migrations are numbered 0001, 0002, … without gaps or repeats; found {migration.name} "
                f"where {expected:04d}_… was expected"
            )
    return found


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")


def fts5_problem() -> str | None:
    """Why this SQLite cannot serve digestbot's full-text index, or None. FTS5 is a property of the
    library, so it is probed on a throwaway in-memory database (a file's own problems never count)."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE fts5_probe USING fts5(probe)")
    except sqlite3.OperationalError as error:
        return (
            f"this SQLite ({sqlite3.sqlite_version}) lacks the FTS5 full-text extension ({error}); "
            "digestbot needs a Python whose SQLite is built with FTS5"
        )
    finally:
        probe.close()
    return None


async def connect(target: Path | str, **options: Any) -> aiosqlite.Connection:
    """`aiosqlite.connect`, except that a failed connection's worker thread is waited for: left running,
    it would report its end to an event loop that `asyncio.run` may have closed meanwhile, printing a
    thread traceback ("Event loop is closed") after the command's own error line."""
    conn = aiosqlite.connect(target, **options)
    try:
        return await conn
    except BaseException:
        await asyncio.to_thread(conn._thread.join)
        raise


async def _migrate(conn: aiosqlite.Connection, path: Path) -> int:
    """Apply every migration newer than `PRAGMA user_version`, each in its own transaction."""
    known = migrations()
    newest = known[-1].version if known else 0
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    if current > newest:
        raise SchemaTooNew(
            f"database {path} has schema version {current} but this digestbot only knows up to {newest}; "
            "upgrade digestbot or use another database"
        )
    for migration in known:
        if migration.version <= current:
            continue
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\n;PRAGMA user_version = {migration.version};\nCOMMIT;"
        try:
            await conn.executescript(script)
        except sqlite3.Error as error:
            if conn.in_transaction:
                await conn.rollback()
            raise MigrationFailed(f"database {path}: migration {migration.name} failed: {error}") from error
        log.info("database %s: applied migration %s", path, migration.name)
    return newest


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    """Every row of one query, in one trip to the connection's thread.

    Each trip waits for the event loop to resume this task, and the reader stays taken meanwhile: with
    many members at once, a cursor's three trips (execute, fetch, close) kept readers held and others
    queued for them longer than the queries took.
    """
    return list(await conn.execute_fetchall(sql, tuple(params)))


class Database:
    """The store's connections. Open with `await Database.open(path)`; always `await db.close()`.

    `state` is where digests, runs, delivered URLs and the audit log live: this SQLite file by default, or
    PostgreSQL when `open` is given a `state_url` (the corpus then stays here, local to the process).
    """

    def __init__(self, path: Path, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]) -> None:
        self.path = path
        self.state: StateStore = SqliteState(self)
        self.write_lock = asyncio.Lock()
        self._writer = writer
        self._readers = readers
        self._deadlines = {id(reader): _Deadline() for reader in readers}
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._idle.put_nowait(reader)
        #: The index's words for expanding prefixes; kept by long-running processes (`keep_vocabulary`).
        self.vocabulary: Vocabulary | None = None

    def keep_vocabulary(self) -> None:
        """Keep the index's vocabulary from now on (reading starts now, in a thread), read again after each
        load that changes the corpus, so searches expand prefixes into words (see `bot.store.vocabulary`).
        A one-off command skips it: its one search would wait for the reading."""
        if self.vocabulary is None:
            self.vocabulary = Vocabulary(self.path)
            self.vocabulary.rebuild()

    @classmethod
    async def open(
        cls, path: Path | str, *, create: bool = True, readers: int = READERS, state_url: str | None = None
    ) -> Database:
        """Open (and with `create`, create) the database, check FTS5 and bring the schema up to date; with
        `state_url` (postgresql://…), connect to the shared state there and bring its schema up to date."""
        path = Path(path)
        await asyncio.to_thread(examine, path, create=create)
        problem = fts5_problem()
        if problem is not None:
            raise Fts5Unavailable(problem)
        if create:
            await asyncio.to_thread(create_private, path)
        opened: list[aiosqlite.Connection] = []
        try:
            writer = await connect(path, isolation_level=None)
            opened.append(writer)
            await _configure(writer)
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute("PRAGMA synchronous = NORMAL")
            await _migrate(writer, path)
            uri = f"file:{quote(str(path.resolve()))}?mode=ro"
            for _ in range(max(1, readers)):
                reader = await connect(uri, uri=True, isolation_level=None)
                opened.append(reader)
                await _configure(reader)
                await reader.execute("PRAGMA query_only = ON")
        except BaseException as error:
            for conn in opened:
                await conn.close()
            if isinstance(error, sqlite3.Error):
                raise explain_sqlite_error(path, error) from None
            raise
        database = cls(path, writer, opened[1:])
        for reader in database._readers:
            await reader.set_progress_handler(database._deadlines[id(reader)].passed, PROGRESS_STEPS)
        if state_url is not None:
            from bot.store.postgres import PostgresState

            try:
                database.state = await PostgresState.open(state_url)
            except BaseException:
                await database.close()
                raise
        return database

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """The write connection in a `BEGIN IMMEDIATE` transaction under `write_lock`; rolls back on error."""
        async with self.write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()

    @asynccontextmanager
    async def read(self, budget: float | None = None) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection inside one read transaction: a consistent snapshot for every query in it.

        The transaction may take `budget` seconds (default: the context's `read_budget`) from when it gets
        a connection; past that SQLite interrupts the statement running and `QueryBudgetExceeded` is raised.
        """
        if budget is None:
            budget = _READ_BUDGET.get()
        conn = await self._idle.get()
        deadline = self._deadlines[id(conn)]
        deadline.at = time.monotonic() + budget
        try:
            await conn.execute("BEGIN")
            try:
                yield conn
            finally:
                deadline.at = None
                await conn.rollback()
        except sqlite3.OperationalError as error:
            if "interrupt" in str(error):
                raise QueryBudgetExceeded(f"the read ran past its budget of {budget:g} s") from error
            raise
        finally:
            deadline.at = None
            self._idle.put_nowait(conn)

    async def get_state(self, key: str) -> str | None:
        async with self.read() as conn:
            rows = await conn.execute_fetchall("SELECT value FROM bot_state WHERE key = ?", (key,))
        row = next(iter(rows), None)
        return None if row is None else str(row[0])

    async def set_state(self, key: str, value: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def close(self) -> None:
        """Close every connection (each owns a thread that would otherwise keep the process alive)."""
        if self.vocabulary is not None:
            await self.vocabulary.close()
        await self.state.close()
        for conn in [*self._readers, self._writer]:
            try:
                await conn.close()
            except sqlite3.Error as error:
                log.warning("database %s: error while closing a connection: %s", self.path, error)
        self._readers = []
