"""The corpus load: incremental, atomic, deduplicated, refusing what looks like a mistake."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.corpus.model import Duplicate
from bot.corpus.normalize import id_from_url
from bot.store import load_apply, load_worker, loader
from bot.store.db import Database
from bot.store.loader import LoadRefused, load_corpus

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def write_article(
    folder: Path,
    name: str,
    *,
    title: str,
    url: str,
    published: str = "2024-01-01T00:00:00Z",
    quality: int = 50,
    excerpt: str = "An excerpt about things.",
    topics: tuple[str, ...] = ("AI",),
    related: tuple[tuple[str, str], ...] = (),
) -> Path:
    lines = [
        "---",
        f"title: {json.dumps(title)}",
        f"webUrl: {json.dumps(url)}",
        f"publishedDateTime: {published}",
        f"quality: {quality}",
        f"excerpt: {json.dumps(excerpt)}",
        "provider: {name: Example News, domain: example.com}",
        "topics: " + json.dumps(list(topics)),
        "secured: 'opaque+blob=='",
    ]
    if related:
        lines.append("related:")
        for related_title, related_url in related:
            lines += [f"  - title: {json.dumps(related_title)}", f"    webUrl: {json.dumps(related_url)}"]
    lines += ["---", "Body text.", ""]
    path = folder / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def bump_mtime(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "store.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a load writes except the `loads` record itself."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("articles", "related", "article_topics", "providers", "files")
        }
    finally:
        conn.close()


def articles_by_id(path: Path) -> dict[str, tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, url, title, first_load, last_load FROM articles")
        return {row[0]: row[1:] for row in rows}
    finally:
        conn.close()


def fts_hits(path: Path, expression: str) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT a.id FROM articles_fts JOIN articles a ON a.fts_key = articles_fts.rowid "
            "WHERE articles_fts MATCH ? ORDER BY a.id",
            (expression,),
        )
        return [row[0] for row in rows]
    finally:
        conn.close()


# --- seeds and repeat loads ---------------------------------------------------------------------------


async def test_seeds_load_with_ids_from_file_names(db: Database) -> None:
    report = await load_corpus(db, SEEDS, now=NOW)
    assert (report.load, report.added, report.updated, report.removed, report.articles) == (1, 5, 0, 0, 5)
    assert report.rejected == () and report.duplicates == ()
    expected = {name.split("_")[1].removesuffix(".txt") for name in os.listdir(SEEDS)}
    assert set(articles_by_id(db.path)) == expected
    assert {row[2] for row in articles_by_id(db.path).values()} == {1}


async def test_second_load_changes_nothing(db: Database) -> None:
    await load_corpus(db, SEEDS, now=NOW)
    before = dump(db.path)
    report = await load_corpus(db, SEEDS, now=NOW)
    assert (report.load, report.added, report.updated, report.removed, report.unchanged) == (2, 0, 0, 0, 5)
    assert dump(db.path) == before


# --- incremental ----------------------------------------------------------------------------------------


async def test_unchanged_files_are_not_read_and_touched_files_not_reparsed(
    db: Database, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(3):
        write_article(corpus, f"{index:03d}_{index:016x}.txt", title=f"Story {index}", url=f"https://e.com/{index}")
    await load_corpus(db, corpus, now=NOW, workers=0)

    read: list[str] = []
    parsed: list[str] = []
    original_read, original_parse = loader.read_files, load_worker.parse_article
    monkeypatch.setattr(loader, "read_files", lambda tasks, limit: read.extend(t.name for t in tasks)
                        or original_read(tasks, limit))
    monkeypatch.setattr(load_worker, "parse_article", lambda name, data: parsed.append(name)
                        or original_parse(name, data))
    bump_mtime(corpus / "001_0000000000000001.txt")
    report = await load_corpus(db, corpus, now=NOW, workers=0)
    assert read == ["001_0000000000000001.txt"]
    assert parsed == []
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 3)


async def test_add_change_delete_and_first_load(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    write_article(corpus, "b_000000000000000b.txt", title="Beta", url="https://e.com/b")
    write_article(corpus, "c_000000000000000c.txt", title="Gamma", url="https://e.com/c")
    await load_corpus(db, corpus, now=NOW)

    write_article(corpus, "d_000000000000000d.txt", title="Delta", url="https://e.com/d")
    write_article(corpus, "b_000000000000000b.txt", title="Beta revised", url="https://e.com/b")
    bump_mtime(corpus / "b_000000000000000b.txt")
    (corpus / "c_000000000000000c.txt").unlink()
    report = await load_corpus(db, corpus, now=NOW)
    assert (report.load, report.added, report.updated, report.removed, report.unchanged) == (2, 1, 1, 1, 1)
    assert report.articles == 3
    articles = articles_by_id(db.path)
    assert articles["000000000000000a"] == ("https://e.com/a", "Alpha", 1, 1)
    assert articles["000000000000000b"] == ("https://e.com/b", "Beta revised", 1, 2)
    assert articles["000000000000000d"] == ("https://e.com/d", "Delta", 2, 2)
    assert "000000000000000c" not in articles


async def test_url_change_is_one_removed_and_one_added(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    write_article(corpus, "b_000000000000000b.txt", title="Beta", url="https://e.com/b")
    await load_corpus(db, corpus, now=NOW)
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/moved")
    bump_mtime(corpus / "a_000000000000000a.txt")
    report = await load_corpus(db, corpus, now=NOW)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 1, 1)
    assert articles_by_id(db.path)["000000000000000a"] == ("https://e.com/moved", "Alpha", 2, 2)


async def test_rename_keeps_url_and_id(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    write_article(corpus, "b_000000000000000b.txt", title="Beta", url="https://e.com/b")
    await load_corpus(db, corpus, now=NOW)
    (corpus / "a_000000000000000a.txt").rename(corpus / "z_00000000000000ff.txt")
    report = await load_corpus(db, corpus, now=NOW)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 2)
    articles = articles_by_id(db.path)
    assert articles["000000000000000a"][:3] == ("https://e.com/a", "Alpha", 1)


FILE_A, FILE_B = "a_000000000000000a.txt", "b_000000000000000b.txt"


# --- duplicates -----------------------------------------------------------------------------------------


async def test_later_publication_wins_and_duplicate_is_reported(db: Database, corpus: Path) -> None:
    write_article(corpus, FILE_A, title="Old", url="https://e.com/x", published="2024-01-01")
    write_article(corpus, FILE_B, title="New", url="https://e.com/x", published="2024-02-01")
    report = await load_corpus(db, corpus, now=NOW)
    assert report.articles == 1 and report.added == 1
    assert report.duplicates == (Duplicate(file=FILE_A, duplicate_of=FILE_B),)
    # the id comes from the file whose name sorts first, the content from the later publication
    assert articles_by_id(db.path) == {"000000000000000a": ("https://e.com/x", "New", 1, 1)}


async def test_name_breaks_a_publication_tie(db: Database, corpus: Path) -> None:
    write_article(corpus, FILE_B, title="From b", url="https://e.com/x")
    write_article(corpus, FILE_A, title="From a", url="https://e.com/x")
    report = await load_corpus(db, corpus, now=NOW)
    assert report.duplicates == (Duplicate(file=FILE_B, duplicate_of=FILE_A),)
    assert articles_by_id(db.path)["000000000000000a"][1] == "From a"


async def test_added_duplicate_keeps_the_id(db: Database, corpus: Path) -> None:
    write_article(corpus, FILE_B, title="First", url="https://e.com/x", published="2024-01-01")
    await load_corpus(db, corpus, now=NOW)
    write_article(corpus, FILE_A, title="Second", url="https://e.com/x", published="2024-03-01")
    report = await load_corpus(db, corpus, now=NOW)
    assert (report.added, report.updated) == (0, 1)
    assert articles_by_id(db.path) == {"000000000000000b": ("https://e.com/x", "Second", 1, 2)}
    assert report.duplicates == (Duplicate(file=FILE_B, duplicate_of=FILE_A),)

    (corpus / FILE_A).unlink()
    report = await load_corpus(db, corpus, now=NOW)
    assert (report.updated, report.removed, report.duplicates) == (1, 0, ())
    assert articles_by_id(db.path) == {"000000000000000b": ("https://e.com/x", "First", 1, 3)}


async def test_taken_id_hint_falls_back_to_the_url(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_00000000000000aa.txt", title="One", url="https://e.com/1")
    write_article(corpus, "b_00000000000000aa.txt", title="Two", url="https://e.com/2")
    await load_corpus(db, corpus, now=NOW)
    ids = {row[0]: article_id for article_id, row in articles_by_id(db.path).items()}
    assert ids["https://e.com/1"] == "00000000000000aa"
    assert ids["https://e.com/2"] == id_from_url("https://e.com/2")


# --- broken files ---------------------------------------------------------------------------------------


async def test_broken_file_keeps_its_last_good_article(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    write_article(corpus, "b_000000000000000b.txt", title="Beta", url="https://e.com/b")
    await load_corpus(db, corpus, now=NOW)
    (corpus / "a_000000000000000a.txt").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    bump_mtime(corpus / "a_000000000000000a.txt")
    (corpus / "new.md").write_text("no front matter here\n", encoding="utf-8")
    report = await load_corpus(db, corpus, now=NOW)
    assert [(r.file, r.kept_previous) for r in report.rejected] == [
        ("a_000000000000000a.txt", True), ("new.md", False)
    ]
    assert all(r.reason for r in report.rejected)
    assert (report.articles, report.removed, report.updated) == (2, 0, 0)
    assert articles_by_id(db.path)["000000000000000a"][1] == "Alpha"

    again = await load_corpus(db, corpus, now=NOW)
    assert again.rejected == report.rejected


# --- atomicity and refusals -----------------------------------------------------------------------------


async def test_failure_midway_leaves_the_previous_corpus(
    db: Database, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    write_article(corpus, "b_000000000000000b.txt", title="Beta", url="https://e.com/b")
    await load_corpus(db, corpus, now=NOW)
    before = dump(db.path)

    write_article(corpus, "b_000000000000000b.txt", title="Beta changed", url="https://e.com/b")
    bump_mtime(corpus / "b_000000000000000b.txt")
    write_article(corpus, "c_000000000000000c.txt", title="Gamma", url="https://e.com/c")
    original = load_apply.CorpusWriter._write_added

    async def fail_after_writing(self: Any, *args: Any) -> None:
        await original(self, *args)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(load_apply.CorpusWriter, "_write_added", fail_after_writing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await load_corpus(db, corpus, now=NOW)
    assert dump(db.path) == before
    assert fts_hits(db.path, "gamma OR changed") == []
    monkeypatch.undo()

    report = await load_corpus(db, corpus, now=NOW)
    assert (report.load, report.added, report.updated) == (2, 1, 1)


async def test_missing_folder_is_always_refused(db: Database, tmp_path: Path) -> None:
    for force in (False, True):
        with pytest.raises(LoadRefused, match="does not exist"):
            await load_corpus(db, tmp_path / "nowhere", now=NOW, force=force)


async def test_empty_folder_is_refused_unless_forced(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    await load_corpus(db, corpus, now=NOW)
    (corpus / "a_000000000000000a.txt").unlink()
    (corpus / "notes.yaml").write_text("ignored", encoding="utf-8")
    with pytest.raises(LoadRefused, match="--force"):
        await load_corpus(db, corpus, now=NOW)
    assert len(articles_by_id(db.path)) == 1
    report = await load_corpus(db, corpus, now=NOW, force=True)
    assert (report.removed, report.articles) == (1, 0)


async def test_removing_more_than_half_is_refused_unless_forced(db: Database, corpus: Path) -> None:
    for index in range(4):
        write_article(corpus, f"{index}_{index:016x}.txt", title=f"Story {index}", url=f"https://e.com/{index}")
    await load_corpus(db, corpus, now=NOW)
    before = dump(db.path)
    for index in range(3):
        (corpus / f"{index}_{index:016x}.txt").unlink()
    with pytest.raises(LoadRefused, match=r"remove 3 of the 4 articles.*--force"):
        await load_corpus(db, corpus, now=NOW)
    assert dump(db.path) == before
    report = await load_corpus(db, corpus, now=NOW, force=True)
    assert (report.removed, report.articles) == (3, 1)


async def test_only_corpus_files_in_the_folder_are_loaded(db: Database, corpus: Path, tmp_path: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    write_article(corpus, ".hidden.txt", title="Hidden", url="https://e.com/hidden")
    write_article(corpus, "notes.yaml", title="Yaml", url="https://e.com/yaml")
    (corpus / "sub").mkdir()
    write_article(corpus / "sub", "nested.txt", title="Nested", url="https://e.com/nested")
    outside = write_article(tmp_path, "outside.txt", title="Outside", url="https://e.com/outside")
    (corpus / "link_out.txt").symlink_to(outside)
    (corpus / "link_in.md").symlink_to(corpus / "a_000000000000000a.txt")
    report = await load_corpus(db, corpus, now=NOW)
    titles = sorted(row[1] for row in articles_by_id(db.path).values())
    assert titles == ["Alpha"]
    assert report.duplicates == (Duplicate(file="link_in.md", duplicate_of="a_000000000000000a.txt"),)


# --- parallel == sequential -----------------------------------------------------------------------------


def mixed_corpus(folder: Path) -> None:
    for seed in SEEDS.iterdir():
        shutil.copy(seed, folder / seed.name)
    for index in range(40):
        write_article(
            folder, f"{100 + index:03d}_{index:016x}.txt", title=f"Generated story number {index}",
            url=f"https://e.com/story/{index % 30}", published=f"2024-01-{1 + index % 28:02d}T00:00:00Z",
            quality=index * 2, topics=("AI", f"Topic {index % 4}"),
            related=((f"Related {index}", f"https://other.org/{index}"),),
        )
    (folder / "900_broken.txt").write_text("---\ntitle: x\n---\n", encoding="utf-8")
    (folder / "901_notyaml.md").write_bytes(b"---\ntitle: \xff\n---\n")


async def test_parallel_load_equals_sequential_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    mixed_corpus(folder)
    # Several chunks: the first is read in the loading process, the others by the workers.
    monkeypatch.setattr(loader, "CHUNK_FILES", 16)
    reports = []
    for name, workers in (("sequential", 0), ("parallel", 2)):
        database = await Database.open(tmp_path / f"{name}.sqlite3")
        try:
            report = await load_corpus(database, folder, now=NOW, workers=workers)
        finally:
            await database.close()
        reports.append(report)
    sequential, parallel = reports
    assert len(sequential.duplicates) == 10 and len(sequential.rejected) == 2
    for field_name in ("added", "updated", "removed", "articles", "rejected", "duplicates"):
        assert getattr(parallel, field_name) == getattr(sequential, field_name)
    assert dump(tmp_path / "parallel.sqlite3") == dump(tmp_path / "sequential.sqlite3")
    for expression in ("generated", "facial recognition", "related", '"story number 1"', "gen*"):
        assert fts_hits(tmp_path / "parallel.sqlite3", expression) == fts_hits(
            tmp_path / "sequential.sqlite3", expression
        )


# --- cold load: articles written while files are parsed, indexed in one pass ---------------------------


def fts_ranked(path: Path, expression: str) -> list[tuple[str, float]]:
    """Hits with their bm25 scores: equal scores mean equal index statistics, not only equal matches."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT a.id, round(bm25(articles_fts, 10.0, 2.0, 1.0), 9) FROM articles_fts "
            "JOIN articles a ON a.fts_key = articles_fts.rowid WHERE articles_fts MATCH ? ORDER BY a.id",
            (expression,),
        )
        return [(row[0], row[1]) for row in rows]
    finally:
        conn.close()


def fts_is_consistent(path: Path) -> bool:
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
        triggers = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        return {"articles_fts_insert", "articles_fts_delete", "articles_fts_update"} <= triggers
    finally:
        conn.close()


async def test_cold_streamed_load_equals_load_resolved_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    mixed_corpus(folder)
    reports = []
    for name in ("streamed", "resolved"):
        if name == "resolved":
            async def no_streaming(self: Any) -> None:
                return None

            monkeypatch.setattr(load_apply.CorpusWriter, "start_streaming", no_streaming)
        database = await Database.open(tmp_path / f"{name}.sqlite3")
        try:
            reports.append(await load_corpus(database, folder, now=NOW, workers=0))
        finally:
            await database.close()
    streamed, resolved = reports
    assert (streamed.added, streamed.updated, streamed.unchanged) == (resolved.articles, 0, 0)
    for field_name in ("added", "updated", "removed", "articles", "rejected", "duplicates"):
        assert getattr(streamed, field_name) == getattr(resolved, field_name)
    assert dump(tmp_path / "streamed.sqlite3") == dump(tmp_path / "resolved.sqlite3")
    for expression in ("generated", "facial recognition", "related", '"story number 1"', "gen*", "st*"):
        assert fts_ranked(tmp_path / "streamed.sqlite3", expression) == fts_ranked(
            tmp_path / "resolved.sqlite3", expression
        )
    assert fts_ranked(tmp_path / "streamed.sqlite3", "generated")
    assert fts_is_consistent(tmp_path / "streamed.sqlite3")
    assert fts_is_consistent(tmp_path / "resolved.sqlite3")


async def test_duplicate_arriving_after_its_url_was_streamed_wins_by_date(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Early words", url="https://e.com/x",
                  published="2024-01-01T00:00:00Z")
    write_article(corpus, "b_000000000000000b.txt", title="Later words", url="https://e.com/x",
                  published="2024-02-01T00:00:00Z")
    report = await load_corpus(db, corpus, now=NOW)
    assert (report.added, report.updated, report.articles) == (1, 0, 1)
    assert report.duplicates == (
        Duplicate(file="a_000000000000000a.txt", duplicate_of="b_000000000000000b.txt"),
    )
    assert articles_by_id(db.path) == {"000000000000000a": ("https://e.com/x", "Later words", 1, 1)}
    assert fts_hits(db.path, "later") == ["000000000000000a"]
    assert fts_hits(db.path, "early") == []
    assert fts_is_consistent(db.path)


async def test_failed_cold_load_leaves_an_empty_store_with_its_index_triggers(
    db: Database, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    original = load_apply.CorpusWriter.finish_streaming

    async def fail_after_indexing(self: Any) -> None:
        await original(self)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(load_apply.CorpusWriter, "finish_streaming", fail_after_indexing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await load_corpus(db, corpus, now=NOW)
    assert all(rows == [] for rows in dump(db.path).values())
    assert fts_is_consistent(db.path)
    monkeypatch.undo()

    report = await load_corpus(db, corpus, now=NOW)
    assert (report.load, report.added) == (1, 1)
    assert fts_hits(db.path, "alpha") == ["000000000000000a"]


async def test_articles_added_to_a_loaded_store_are_indexed(db: Database, corpus: Path) -> None:
    write_article(corpus, "a_000000000000000a.txt", title="Alpha", url="https://e.com/a")
    await load_corpus(db, corpus, now=NOW)
    write_article(corpus, "b_000000000000000b.txt", title="Beta", url="https://e.com/b")
    report = await load_corpus(db, corpus, now=NOW)
    assert (report.added, report.unchanged) == (1, 1)
    assert fts_hits(db.path, "alpha OR beta") == ["000000000000000a", "000000000000000b"]
    assert fts_is_consistent(db.path)
