"""`digestbot backup PATH`: a consistent copy of the live database through SQLite's online backup API.

The copy is taken from a read-only connection in one step, so it is one snapshot even while the bot writes
(WAL readers never block the writer, nor it them). The target is created exclusively and readable by its
owner only, like the database: an existing file is never overwritten, and a failed copy leaves no file.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bot.store.access import DatabaseMissing, DatabaseProblem
from bot.store.db import BUSY_TIMEOUT_MS


class BackupRefused(DatabaseProblem):
    """The backup was not written; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    target: Path
    size: int
    schema_version: int


def backup_database(source: Path, target: Path) -> BackupReport:
    """Copy `source` to the new file `target` (blocking: run it in a thread)."""
    if not source.is_file():
        raise DatabaseMissing(f"no database at {source} (check database.path, DIGESTBOT_DB or --db)")
    if not target.parent.is_dir():
        raise BackupRefused(f"backup folder {target.parent} does not exist; create it or pick another path")
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupRefused(
            f"{target} already exists; a backup never overwrites a file: pick a new name"
        ) from None
    except OSError as error:
        raise BackupRefused(f"cannot create {target}: {error.strerror or error}") from None
    try:
        reader = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)
        try:
            reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            copy = sqlite3.connect(target)
            try:
                reader.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")
                version = int(copy.execute("PRAGMA user_version").fetchone()[0])
            finally:
                copy.close()
        finally:
            reader.close()
    except BaseException as error:
        target.unlink(missing_ok=True)
        if isinstance(error, sqlite3.Error):
            raise BackupRefused(f"backup of {source} failed, nothing written: {error}") from None
        raise
    return BackupReport(target=target, size=target.stat().st_size, schema_version=version)
