"""`run_checks` (behind `digestbot check`) on good and broken setups: config, corpus, database."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ops.check import run_checks
from bot.store.db import Database, SchemaTooNew, migrations
from bot.store.loader import load_corpus

ROOT = Path(__file__).resolve().parents[2]
REPO_CONFIG = ROOT / "config" / "config.yaml"
SEEDS = ROOT / "seeds"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def loaded_database(path: Path, corpus: Path = SEEDS) -> Path:
    db = await Database.open(path)
    try:
        await load_corpus(db, corpus, now=NOW, workers=0)
    finally:
        await db.close()
    return path


def write_config(folder: Path, *, corpus: Path, database: Path, extra: str = "") -> Path:
    path = folder / "config.yaml"
    path.write_text(f"corpus:\n  path: {corpus}\ndatabase:\n  path: {database}\n{extra}", encoding="utf-8")
    return path


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


async def test_repository_setup_with_a_fresh_database_has_no_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    database = await loaded_database(tmp_path / "digestbot.sqlite3")
    before = digest_of(database)
    result = await run_checks(REPO_CONFIG, db_path=database, env={"DISCORD_TOKEN": "x"})
    assert result.problems == []
    assert result.ok
    assert any("quick_check ok" in note for note in result.notes)
    assert any(f"{len(list(SEEDS.iterdir()))} of" in note for note in result.notes)
    assert digest_of(database) == before, "a check never writes the database"


async def test_missing_database_is_a_note_and_is_not_created(tmp_path: Path, corpus_copy: Path) -> None:
    database = tmp_path / "data" / "digestbot.sqlite3"
    config = write_config(tmp_path, corpus=corpus_copy, database=database)
    result = await run_checks(config, db_path=None, env={})
    assert result.problems == []
    assert any("none at" in note and str(database) in note for note in result.notes)
    assert not database.exists() and not database.parent.exists()


async def test_database_environment_override_is_checked(tmp_path: Path, corpus_copy: Path) -> None:
    database = await loaded_database(tmp_path / "env.sqlite3")
    config = write_config(tmp_path, corpus=corpus_copy, database=tmp_path / "absent.sqlite3")
    result = await run_checks(config, db_path=None, env={"DIGESTBOT_DB": str(database)})
    assert result.problems == []
    assert any(str(database) in note and "quick_check ok" in note for note in result.notes)


async def test_broken_config_names_the_file_and_the_key(tmp_path: Path, corpus_copy: Path) -> None:
    config = write_config(
        tmp_path, corpus=corpus_copy, database=tmp_path / "db.sqlite3", extra="lookups:\n  page_sise: 5\n"
    )
    result = await run_checks(config, db_path=None, env={})
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert str(config) in problem and "lookups.page_sise" in problem
    assert any("corpus: not checked" in note for note in result.notes)


async def test_missing_config_file_asked_for_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = await run_checks(missing, db_path=None, env={})
    assert any(str(missing) in problem and "not found" in problem for problem in result.problems)


async def test_broken_config_still_checks_a_named_database(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: [not, a, mapping]\n", encoding="utf-8")
    database = await loaded_database(tmp_path / "db.sqlite3")
    result = await run_checks(config, db_path=database, env={})
    assert len(result.problems) == 1 and "database" in result.problems[0]
    assert any("quick_check ok" in note for note in result.notes)


async def test_every_rejected_corpus_file_is_named_with_its_reason(tmp_path: Path, corpus_copy: Path) -> None:
    (corpus_copy / "900_broken.md").write_text("---\ntitle: No end\nwebUrl: https://example.com/a\n",
                                               encoding="utf-8")
    (corpus_copy / "901_untitled.txt").write_text(
        "---\nwebUrl: https://example.com/b\npublishedDateTime: 2025-01-01T00:00:00Z\n---\nbody\n",
        encoding="utf-8",
    )
    (corpus_copy / ".hidden.md").write_text("not an article", encoding="utf-8")
    (corpus_copy / "notes.csv").write_text("not an article", encoding="utf-8")
    config = write_config(tmp_path, corpus=corpus_copy, database=tmp_path / "db.sqlite3")
    result = await run_checks(config, db_path=None, env={})
    assert len(result.problems) == 2, result.problems
    broken, untitled = sorted(result.problems)
    assert str(corpus_copy / "900_broken.md") in broken and "closing '---'" in broken
    assert str(corpus_copy / "901_untitled.txt") in untitled and "title" in untitled
    assert any("5 of 7 files parse" in note for note in result.notes)


async def test_check_reports_duplicate_articles_as_notes(tmp_path: Path, corpus_copy: Path) -> None:
    first = sorted(corpus_copy.iterdir())[0]
    shutil.copy(first, corpus_copy / "zzz_copy.txt")
    config = write_config(tmp_path, corpus=corpus_copy, database=tmp_path / "db.sqlite3")
    result = await run_checks(config, db_path=None, env={})
    assert result.problems == []
    assert any("zzz_copy.txt is the same article as" in note and first.name in note for note in result.notes)


async def test_missing_corpus_folder_is_a_problem(tmp_path: Path) -> None:
    folder = tmp_path / "not-mounted"
    config = write_config(tmp_path, corpus=folder, database=tmp_path / "db.sqlite3")
    result = await run_checks(config, db_path=None, env={})
    assert result.problems == [f"corpus: folder {folder} does not exist (set corpus.path or mount it)"]


async def test_corpus_folder_without_article_files_is_a_problem(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "README").write_text("nothing here", encoding="utf-8")
    config = write_config(tmp_path, corpus=folder, database=tmp_path / "db.sqlite3")
    result = await run_checks(config, db_path=None, env={})
    assert len(result.problems) == 1 and "holds no article files" in result.problems[0]


async def test_database_from_a_newer_digestbot_is_refused(tmp_path: Path, corpus_copy: Path) -> None:
    database = await loaded_database(tmp_path / "db.sqlite3")
    newest = migrations()[-1].version
    with sqlite3.connect(database) as conn:
        conn.execute(f"PRAGMA user_version = {newest + 1}")
    config = write_config(tmp_path, corpus=corpus_copy, database=database)
    result = await run_checks(config, db_path=None, env={})
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert f"schema version {newest + 1}" in problem and f"only knows up to {newest}" in problem
    assert "downgrading is refused" in problem
    with pytest.raises(SchemaTooNew, match=f"schema version {newest + 1}"):
        await Database.open(database, create=False)


async def test_older_schema_is_a_note_about_the_coming_upgrade(tmp_path: Path, corpus_copy: Path) -> None:
    database = tmp_path / "old.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE placeholder (x)")
    config = write_config(tmp_path, corpus=corpus_copy, database=database)
    result = await run_checks(config, db_path=None, env={})
    assert result.problems == []
    assert any("schema version 0" in note and "upgrades it" in note for note in result.notes)


async def test_file_that_is_not_a_database_is_a_problem(tmp_path: Path, corpus_copy: Path) -> None:
    database = tmp_path / "db.sqlite3"
    database.write_bytes(b"this is not a database, just bytes " * 200)
    config = write_config(tmp_path, corpus=corpus_copy, database=database)
    result = await run_checks(config, db_path=None, env={})
    assert len(result.problems) == 1
    assert result.problems[0] == (
        f"database: {database} is not a SQLite database (its first bytes are not SQLite's header); point "
        "database.path (or --db, DIGESTBOT_DB) at the digestbot database, or move this file away"
    )


async def test_damaged_database_fails_quick_check(tmp_path: Path, corpus_copy: Path) -> None:
    database = await loaded_database(tmp_path / "db.sqlite3")
    with sqlite3.connect(database) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'articles'").fetchone()[0]
    data = bytearray(database.read_bytes())
    start = (root - 1) * page_size
    data[start : start + page_size] = b"\xff" * page_size
    database.write_bytes(bytes(data))
    config = write_config(tmp_path, corpus=corpus_copy, database=database)
    result = await run_checks(config, db_path=None, env={})
    assert len(result.problems) == 1
    assert f"{database} failed PRAGMA quick_check" in result.problems[0]


async def test_the_shared_state_in_postgresql_is_checked_without_being_created(
    tmp_path: Path, corpus_copy: Path, postgres_url: str
) -> None:
    config = write_config(tmp_path, corpus=corpus_copy, database=tmp_path / "absent.sqlite3")
    fresh = await run_checks(config, db_path=None, env={"DIGESTBOT_DATABASE_URL": postgres_url})
    assert fresh.problems == []
    assert any("creates its tables on first start" in note for note in fresh.notes)

    await (await Database.open(tmp_path / "bot.sqlite3", state_url=postgres_url)).close()
    current = await run_checks(config, db_path=None, env={"DIGESTBOT_DATABASE_URL": postgres_url})
    newest = len(migrations("migrations_pg"))
    assert current.problems == [] and any(f"schema version {newest}" in note for note in current.notes)

    gone = await run_checks(config, db_path=None,
                            env={"DIGESTBOT_DATABASE_URL": "postgresql://bot:hunter2@127.0.0.1:9/x"})
    [problem] = gone.problems
    assert "cannot connect to PostgreSQL at postgresql://bot:***@127.0.0.1:9/x" in problem
    assert "hunter2" not in problem


async def test_a_config_digest_faster_than_discord_digests_may_run_is_a_note_not_a_problem(
    tmp_path: Path, corpus_copy: Path
) -> None:
    extra = (
        "digests:\n"
        "  - {name: ticker, channel_id: 123456789012345678, schedule: '*/5 * * * *'}\n"
        "  - {name: daily, channel_id: 123456789012345678, schedule: '0 8 * * *'}\n"
    )
    config = write_config(tmp_path, corpus=corpus_copy, database=tmp_path / "db.sqlite3", extra=extra)
    result = await run_checks(config, db_path=None, env={})
    assert result.ok, result.problems
    pace = [note for note in result.notes if "min_interval_minutes" in note]
    assert pace == [
        "config: digest 'ticker' (*/5 * * * *) runs as often as every 5 minute(s), faster than "
        "limits.min_interval_minutes (15) allows digests made in Discord"
    ]
