"""Whether a database path can be used the way digestbot uses it, and if not, one sentence saying why.

SQLite reports most of these cases as "unable to open database file", without the path or the cause. So
before a connection is opened the path is examined the way SQLite will use it: the file must be a SQLite
database (or empty, or absent and creatable), readable and writable, and its folder writable, since SQLite
creates the `-wal` and `-shm` files beside the database in WAL mode. Every message names the path, the
cause and the fix. Nothing here creates or changes a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from pathlib import Path

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"

#: The image's user (Dockerfile): a bind-mounted data folder must belong to it.
DOCKER_UID = 10001


class DatabaseProblem(Exception):
    """The database cannot be used; the message is the one line the operator sees (path, cause, fix)."""


class DatabaseUnusable(DatabaseProblem):
    """The path cannot be opened for reading and writing, or does not hold a SQLite database."""


class DatabaseMissing(DatabaseProblem):
    """A command that never creates the database found none at the path."""


def _user() -> str:
    return f"uid {os.geteuid()}"


def _owner(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return "owner unknown"
    return f"it belongs to uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o}"


def _owned_by_me(path: Path) -> bool:
    try:
        return path.stat().st_uid == os.geteuid()
    except OSError:
        return False


def _read_only_filesystem(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _chown_hint(target: Path) -> str:
    return (
        f"give it to this user (`chown -R {os.geteuid()} {target}`; for the Docker image's bind mount, "
        f"`sudo chown -R {DOCKER_UID}:{DOCKER_UID} {target}`)"
    )


def _check_folder(folder: Path, database: Path) -> None:
    """The folder must let SQLite create `<db>-wal` and `<db>-shm` beside the database."""
    if os.access(folder, os.W_OK | os.X_OK):
        return
    if _read_only_filesystem(folder):
        raise DatabaseUnusable(
            f"database folder {folder} is on a read-only file system; SQLite needs to write "
            f"{database.name}-wal there: mount it read-write (drop `:ro` from the volume)"
        )
    raise DatabaseUnusable(
        f"database folder {folder} is not writable by {_user()} ({_owner(folder)}), and SQLite creates "
        f"{database.name}-wal and {database.name}-shm there: {_chown_hint(folder)}"
    )


def _check_creatable(folder: Path, database: Path) -> None:
    """A missing folder is created by `load` and `run`: its nearest existing parent must allow that."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == folder:
        if not folder.is_dir():
            raise DatabaseUnusable(f"database {database}: {folder} is a file, not a folder")
        _check_folder(folder, database)
        return
    if not existing.is_dir():
        raise DatabaseUnusable(
            f"database {database}: folder {folder} cannot be created because {existing} is a file"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DatabaseUnusable(
            f"database folder {folder} does not exist and {_user()} cannot create it in {existing} "
            f"({_owner(existing)}): create {folder} and {_chown_hint(folder)}"
        )


def _check_file(path: Path) -> None:
    """An existing file: a SQLite database (or empty), readable and writable by this user."""
    if not path.is_file():
        raise DatabaseUnusable(f"database {path} is not a regular file; point database.path at a file")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except PermissionError:
        raise DatabaseUnusable(
            f"database {path} is not readable by {_user()} ({_owner(path)}): {_chown_hint(path)}"
        ) from None
    if header and header != SQLITE_HEADER:
        raise DatabaseUnusable(
            f"{path} is not a SQLite database (its first bytes are not SQLite's header); point database.path "
            "(or --db, DIGESTBOT_DB) at the digestbot database, or move this file away"
        )
    try:
        os.close(os.open(path, os.O_RDWR))
    except PermissionError:
        fix = f"`chmod u+w {path}`" if _owned_by_me(path) else f"{_chown_hint(path)} and `chmod u+w {path}`"
        raise DatabaseUnusable(
            f"database {path} is read-only for {_user()} ({_owner(path)}): digestbot writes to it; {fix}"
        ) from None
    except OSError as error:
        if error.errno == errno.EROFS:
            raise DatabaseUnusable(
                f"database {path} is on a read-only file system: mount it read-write (drop `:ro` from the "
                "volume)"
            ) from None
        raise DatabaseUnusable(f"database {path} cannot be opened for writing: {error.strerror}") from None


def examine(path: Path, *, create: bool) -> None:
    """Raise DatabaseUnusable (or DatabaseMissing without `create`) when `path` cannot be used for reading
    and writing; with `create`, a missing file and missing folders count as fine if they can be created."""
    if path.is_dir():
        raise DatabaseUnusable(
            f"database path {str(path) or '(empty)'} is a folder, not a file; set database.path (or --db, "
            f"DIGESTBOT_DB) to a file such as {path / 'digestbot.sqlite3'}"
        )
    if path.exists():
        _check_file(path)
        _check_folder(path.parent, path)
        return
    if not create:
        raise DatabaseMissing(f"no database at {path} (run `digestbot load` first)")
    _check_creatable(path.parent, path)


def explain_sqlite_error(path: Path, error: sqlite3.Error) -> DatabaseUnusable:
    """A SQLite error raised while opening or first using `path`, with the cause found by `examine` when it
    finds one (SQLite's own text does not name the path or the reason)."""
    try:
        examine(path, create=True)
    except DatabaseProblem as found:
        return DatabaseUnusable(str(found))
    text = str(error)
    if "locked" in text or "busy" in text:
        return DatabaseUnusable(
            f"database {path} is locked by another process (a load or a running bot); try again after it"
        )
    if "not a database" in text:
        return DatabaseUnusable(f"{path} is not a SQLite database, or it is encrypted or damaged ({text})")
    return DatabaseUnusable(f"database {path}: {text}")


def create_private(path: Path) -> None:
    """Create an empty database file readable by its owner only (SQLite gives the `-wal` and `-shm` files
    the database file's mode): it holds every article's `secured` value."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
