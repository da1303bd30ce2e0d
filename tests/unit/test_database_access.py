"""A database path that cannot be used: every command names the path, the real cause and the fix, in one
line; `check` agrees with `load` and `run`; files are created 0600; `backup` copies safely.

Permission cases need a user that permissions apply to: as root they run the CLI as `nobody` through
`setpriv`, otherwise as the current user.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from bot.store.backup import backup_database
from bot.store.db import Database
from bot.store.loader import load_corpus

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
NOBODY = 65534
TIMEOUT = 120


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- paths that are not a database file -----------------------------------------------------------------


def test_a_folder_or_an_empty_path_is_named_as_such(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "somedir"
    folder.mkdir()
    for command in (["load"], ["search", "police"], ["preview"]):
        code, _, err = run(capsys, *command, "--db", str(folder))
        assert (code, err) == (
            EXIT_FAILED,
            f"digestbot: database path {folder} is a folder, not a file; set database.path (or --db, "
            f"DIGESTBOT_DB) to a file such as {folder / 'digestbot.sqlite3'}\n",
        ), command
    code, _, err = run(capsys, "load", "--db", "")
    assert code == EXIT_USAGE and err.endswith("argument --db: the path is empty\n")


def test_a_file_that_is_not_a_database_is_named_by_every_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    version = tmp_path / "version"
    version.write_text("Linux version 6.1.0 (gcc 12)\n", encoding="utf-8")
    expected = (
        f"{version} is not a SQLite database (its first bytes are not SQLite's header); point database.path "
        "(or --db, DIGESTBOT_DB) at the digestbot database, or move this file away"
    )
    for command in (["load"], ["search", "police"], ["digests"]):
        assert run(capsys, *command, "--db", str(version)) == (EXIT_FAILED, "", f"digestbot: {expected}\n")
    code, out, _ = run(capsys, "check", "--db", str(version))
    assert code == EXIT_FAILED and f"problem: database: {expected}\n" in out
    assert version.read_text(encoding="utf-8") == "Linux version 6.1.0 (gcc 12)\n", "nothing was written"


def test_a_folder_that_cannot_be_created_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    code, _, err = run(capsys, "load", "--db", str(blocker / "data" / "store.sqlite3"))
    assert (code, err) == (
        EXIT_FAILED,
        f"digestbot: database {blocker / 'data' / 'store.sqlite3'}: folder {blocker / 'data'} cannot be "
        f"created because {blocker} is a file\n",
    )


def test_a_failed_connection_never_prints_a_thread_traceback(tmp_path: Path) -> None:
    """aiosqlite's worker thread reports a failed connect to the event loop; if `asyncio.run` has closed it
    by then, the thread prints "Exception in thread … Event loop is closed". Tried many times, since the
    race is intermittent."""
    script = (
        "import asyncio, sqlite3, sys\n"
        "from bot.store.db import connect\n"
        "async def attempt():\n"
        "    try:\n"
        "        await connect(sys.argv[1])\n"
        "    except sqlite3.Error:\n"
        "        return\n"
        "for _ in range(200):\n"
        "    asyncio.run(attempt())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0 and result.stderr == ""


# --- permissions, as a user they apply to -----------------------------------------------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the other user can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="digestbot-access-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def other_user() -> tuple[list[str], int]:
    """The command prefix that runs as a user permissions apply to, and that user's uid."""
    if os.geteuid() != 0:
        return [], os.geteuid()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv, so permissions cannot be tested")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"], NOBODY


def as_other_user(folder: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    prefix, _ = other_user()
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "bot", *argv], cwd=folder, capture_output=True, text=True,
        timeout=TIMEOUT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    assert "Traceback" not in result.stderr and "Event loop is closed" not in result.stderr
    assert "FTS5" not in result.stderr + result.stdout, "FTS5 is only blamed when it is missing"
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def corpus(shared_dir: Path) -> Path:
    folder = shared_dir / "corpus"
    shutil.copytree(SEEDS, folder)
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def test_a_data_folder_the_user_cannot_write_is_named_with_the_fix(shared_dir: Path, corpus: Path) -> None:
    _, uid = other_user()
    data = shared_dir / "data"
    data.mkdir(mode=0o755)  # owned by root (or, unprivileged, by us but read-only)
    if os.geteuid() != 0:
        data.chmod(0o555)
    owner = data.stat().st_uid
    expected = (
        f"database folder data is not writable by uid {uid} (it belongs to uid {owner}, mode "
        f"{data.stat().st_mode & 0o777:04o}), and SQLite creates store.sqlite3-wal and store.sqlite3-shm "
        f"there: give it to this user (`chown -R {uid} data`; for the Docker image's bind mount, "
        "`sudo chown -R 10001:10001 data`)"
    )
    db = ["--db", "data/store.sqlite3", "--config", "/dev/null"]
    assert as_other_user(shared_dir, "load", "--corpus", "corpus", *db) == (
        EXIT_FAILED, "", f"digestbot: {expected}\n"
    )
    code, out, _ = as_other_user(shared_dir, "check", *db)
    assert code == EXIT_FAILED and f"problem: database: {expected}\n" in out
    # `run` says the same before it contacts Discord (there is no Discord here to contact).
    code, _, err = as_other_user(shared_dir, "run", *db, env={"DISCORD_TOKEN": "token-never-sent"})
    assert (code, err.splitlines()[-1]) == (EXIT_FAILED, f"digestbot: {expected}")
    assert "logging in" not in err
    assert list(data.iterdir()) == []


def test_a_read_only_database_fails_check_as_it_fails_load(shared_dir: Path, corpus: Path) -> None:
    _, uid = other_user()
    data = shared_dir / "data"
    data.mkdir()
    assert main(["load", "--corpus", str(corpus), "--db", str(data / "store.sqlite3")]) == EXIT_OK
    os.chown(data, uid, uid)
    os.chown(data / "store.sqlite3", uid, uid)
    (data / "store.sqlite3").chmod(0o400)
    expected = (
        f"database data/store.sqlite3 is read-only for uid {uid} (it belongs to uid {uid}, mode 0400): "
        "digestbot writes to it; `chmod u+w data/store.sqlite3`"
    )
    db = ["--db", "data/store.sqlite3", "--config", "/dev/null"]
    assert as_other_user(shared_dir, "load", "--corpus", "corpus", *db) == (
        EXIT_FAILED, "", f"digestbot: {expected}\n"
    )
    code, out, _ = as_other_user(shared_dir, "check", *db)
    assert code == EXIT_FAILED and f"problem: database: {expected}\n" in out and "ok:" not in out


def test_a_missing_folder_the_user_cannot_create_is_named(shared_dir: Path, corpus: Path) -> None:
    _, uid = other_user()
    if os.geteuid() != 0:
        shared_dir.chmod(0o555)
    db = ["--db", "data/store.sqlite3", "--config", "/dev/null"]
    code, _, err = as_other_user(shared_dir, "load", "--corpus", "corpus", *db)
    shared_dir.chmod(0o755)
    assert code == EXIT_FAILED and err.startswith(
        f"digestbot: database folder data does not exist and uid {uid} cannot create it in . ("
    )
    assert err.rstrip().endswith("`sudo chown -R 10001:10001 data`)") and err.count("\n") == 1


# --- files ------------------------------------------------------------------------------------------------


async def test_the_database_and_its_wal_are_created_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "store.sqlite3"
    db = await Database.open(path)
    try:
        await db.set_state("probe", "1")
        wal = path.with_name(path.name + "-wal")
        assert wal.exists()
        assert path.stat().st_mode & 0o777 == 0o600
        assert wal.stat().st_mode & 0o777 == 0o600
    finally:
        await db.close()


def test_check_exits_2_on_a_configuration_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("logging: {level: LOUD}\n", encoding="utf-8")
    code, out, _ = run(capsys, "check", "--config", str(config))
    assert code == EXIT_USAGE and "problem: config: " in out and "logging.level" in out


# --- backup -----------------------------------------------------------------------------------------------


def loaded(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    assert main(["load", "--corpus", str(SEEDS), "--db", str(path)]) == EXIT_OK
    return path


async def test_a_backup_is_a_consistent_copy_while_a_write_is_open(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    db = await Database.open(path)
    try:
        await load_corpus(db, SEEDS, now=datetime(2026, 3, 2, tzinfo=UTC), workers=0)
        async with db.write() as conn:
            await conn.execute("INSERT INTO bot_state (key, value) VALUES ('uncommitted', 'x')")
            report = await asyncio.to_thread(backup_database, path, tmp_path / "copy.sqlite3")
    finally:
        await db.close()
    copy = sqlite3.connect(report.target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT count(*) FROM articles").fetchone() == (5,)
        assert copy.execute("SELECT count(*) FROM bot_state WHERE key = 'uncommitted'").fetchone() == (0,)
    finally:
        copy.close()
    assert report.target.stat().st_mode & 0o777 == 0o600
    assert report.schema_version >= 2


def test_backup_never_overwrites_and_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = loaded(tmp_path)
    capsys.readouterr()
    target = tmp_path / "backup.sqlite3"
    code, out, _ = run(capsys, "backup", str(target), "--db", str(path))
    assert code == EXIT_OK and out.startswith(f"backup of {path} written to {target} (")
    target.write_bytes(b"keep me")
    assert run(capsys, "--db", str(path), "backup", str(target)) == (
        EXIT_FAILED, "",
        f"digestbot: {target} already exists; a backup never overwrites a file: pick a new name\n",
    )
    assert target.read_bytes() == b"keep me"
    code, _, err = run(capsys, "backup", str(tmp_path / "b.sqlite3"), "--db", str(tmp_path / "none.sqlite3"))
    assert code == EXIT_FAILED and "no database at" in err and not (tmp_path / "b.sqlite3").exists()


def test_a_backup_serves_lookups(tmp_path: Path) -> None:
    path = loaded(tmp_path)
    copy = backup_database(path, tmp_path / "copy.sqlite3").target
    result = subprocess.run(
        [sys.executable, "-m", "bot", "search", "facial", "--db", str(copy), "--json"], cwd=ROOT,
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    )
    assert len(json.loads(result.stdout)) == 5
