"""The `digestbot` command line: JSON shapes, exit codes, one-line errors, and no discord.py import."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
FIRST_SEED_ID = "4f079d8d5eeb6983"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def load(capsys: pytest.CaptureFixture[str], corpus: Path, db: Path, *extra: str) -> dict[str, object]:
    code, out, err = run(capsys, "load", "--corpus", str(corpus), "--db", str(db), "--json", *extra)
    assert code == EXIT_OK, err
    return json.loads(out)


def test_load_json_reports_counts_and_every_rejected_file(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path
) -> None:
    first = load(capsys, corpus, db)
    assert set(first) == {"load", "added", "updated", "unchanged", "removed", "articles", "rejected",
                          "duplicates"}
    assert (first["added"], first["articles"], first["rejected"]) == (5, 5, [])

    (corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    second = load(capsys, corpus, db)
    assert (second["added"], second["unchanged"], second["articles"]) == (0, 5, 5)
    assert second["load"] == first["load"] + 1  # type: ignore[operator]
    [rejected] = second["rejected"]  # type: ignore[misc]
    assert rejected["file"] == "broken.md" and "line" in rejected["reason"]


def test_load_text_names_rejected_files(capsys: pytest.CaptureFixture[str], corpus: Path, db: Path) -> None:
    (corpus / "no-title.txt").write_text("---\nwebUrl: https://example.com/a\n---\n", encoding="utf-8")
    code, out, _ = run(capsys, "load", "--corpus", str(corpus), "--db", str(db))
    assert code == EXIT_OK
    assert "5 added" in out and "rejected no-title.txt: " in out and "title" in out


def test_load_refusals_exit_1_and_change_nothing(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path, tmp_path: Path
) -> None:
    load(capsys, corpus, db)
    code, _, err = run(capsys, "load", "--corpus", str(tmp_path / "missing"), "--db", str(db))
    assert code == EXIT_FAILED and err.count("\n") == 1 and "missing" in err
    for file in corpus.iterdir():
        file.unlink()
    code, _, err = run(capsys, "load", "--corpus", str(corpus), "--db", str(db))
    assert code == EXIT_FAILED and "--force" in err
    code, out, _ = run(capsys, "search", "facial", "--db", str(db), "--json")
    assert code == EXIT_OK and len(json.loads(out)) == 5


def test_search_json_shape_filters_and_hostile_input(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path
) -> None:
    load(capsys, corpus, db)
    code, out, _ = run(capsys, "search", "facial recognition", "--db", str(db), "--json", "--limit", "2")
    hits = json.loads(out)
    assert code == EXIT_OK and len(hits) == 2
    assert set(hits[0]) == {"id", "title", "url", "provider", "published_at", "quality", "topics", "snippet",
                            "highlights"}
    assert hits[0]["published_at"].endswith("Z") and "**" not in hits[0]["snippet"]
    start, end = hits[0]["highlights"][0]
    assert hits[0]["snippet"][start:end].lower() in ("facial", "recognition")
    assert isinstance(hits[0]["provider"], str)

    code, out, _ = run(capsys, "search", "facial", "--min-quality", "70", "--db", str(db), "--json")
    assert code == EXIT_OK and all(hit["quality"] >= 70 for hit in json.loads(out))
    code, out, _ = run(capsys, "search", "facial", "--since", "2023-01-01", "--db", str(db), "--json")
    assert code == EXIT_OK and all(hit["published_at"] >= "2023" for hit in json.loads(out))

    for hostile in ['"', "AND", "C++", "(", "x" * 300, "facial OR NOT"]:
        code, out, _ = run(capsys, "search", hostile, "--db", str(db), "--json")
        assert code == EXIT_OK and isinstance(json.loads(out), list)
    code, out, _ = run(capsys, "search", "zzzunknownword", "--db", str(db), "--json")
    assert (code, json.loads(out)) == (EXIT_OK, [])


def test_search_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, _, err = run(capsys, "search", "   ", "--db", str(db))
    assert code == EXIT_USAGE and "empty" in err
    code, _, err = run(capsys, "search", "x", "--since", "yesterday", "--db", str(db))
    assert code == EXIT_USAGE and "YYYY-MM-DD" in err
    code, _, err = run(capsys, "search", "x", "--min-quality", "101", "--db", str(db))
    assert code == EXIT_USAGE
    code, _, err = run(capsys, "search", "a* b* c* d*", "--db", str(db))
    assert code == EXIT_USAGE and err == (
        "digestbot: search: That search has 4 words ending in *; use at most 3: spell the others out in "
        "full.\n"
    )


def test_show_json_with_related_and_never_secured(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path
) -> None:
    load(capsys, corpus, db)
    code, out, _ = run(capsys, "show", FIRST_SEED_ID, "--db", str(db), "--json")
    article = json.loads(out)
    assert code == EXIT_OK
    assert set(article) == {"id", "title", "excerpt", "url", "provider", "published_at", "quality", "heat",
                            "topics", "image", "related"}
    assert article["id"] == FIRST_SEED_ID and article["image"].startswith("https://")
    assert set(article["related"][0]) == {"title", "url", "provider", "published_at", "quality", "excerpt"}
    qualities = [item["quality"] for item in article["related"]]
    assert qualities == sorted(qualities, reverse=True)
    assert any("city’s" in (item["excerpt"] or "") for item in article["related"])  # mojibake repaired
    assert "secured" not in out and "bJUPK6yH" not in out

    code, _, err = run(capsys, "show", "0000000000000000", "--db", str(db))
    assert code == EXIT_FAILED and "0000000000000000" in err


def test_bad_config_exits_2_naming_the_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("corpus: {path: seeds, wacht: true}\n", encoding="utf-8")
    code, _, err = run(capsys, "load", "--config", str(config))
    assert code == EXIT_USAGE and "corpus.wacht" in err and str(config) in err and err.count("\n") == 1


def test_preview_json_is_the_payloads_from_the_bundled_seeds(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path
) -> None:
    load(capsys, corpus, db)
    code, out, _ = run(capsys, "preview", "--db", str(db), "--json")
    payloads = json.loads(out)
    assert code == EXIT_OK and payloads
    assert all(payload["allowed_mentions"] == {"parse": []} for payload in payloads)
    assert any("\nMore: " in embed["description"] for payload in payloads for embed in payload["embeds"])
    code, _, err = run(capsys, "preview", "no-such-digest", "--db", str(db))
    assert code == EXIT_FAILED and "no-such-digest" in err


def test_preview_html_writes_the_page_or_says_why_not(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path, tmp_path: Path
) -> None:
    load(capsys, corpus, db)
    page = tmp_path / "next.html"
    code, out, _ = run(capsys, "preview", "--db", str(db), "--html", str(page))
    assert code == EXIT_OK and out == f"Wrote the preview of digest 'digest' to {page}\n"
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "NOPD has used facial recognition" in text
    assert "<script" not in text and "src=" not in text, "a self-contained page that loads nothing"
    code, _, err = run(capsys, "preview", "--db", str(db), "--html", str(tmp_path / "missing" / "x.html"))
    assert code == EXIT_FAILED and "cannot write the preview page" in err


def test_offline_commands_do_not_import_discord(corpus: Path, db: Path) -> None:
    probe = (
        "import sys; from bot.cli import main; code = main(sys.argv[1:]); "
        "assert 'discord' not in sys.modules, 'discord imported'; sys.exit(code)"
    )
    for argv in (["load", "--corpus", str(corpus), "--db", str(db)], ["search", "police", "--db", str(db)],
                 ["show", FIRST_SEED_ID, "--db", str(db)], ["preview", "--db", str(db)]):
        result = subprocess.run([sys.executable, "-c", probe, *argv], cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, (argv, result.stderr)


def test_version_and_module_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--version"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("digestbot ")


def test_lookups_on_a_missing_database_say_to_load_first_and_create_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "store.sqlite3"
    for argv in (["search", "police"], ["show", FIRST_SEED_ID], ["preview"], ["digests"]):
        code, _, err = run(capsys, *argv, "--db", str(missing))
        assert code == EXIT_FAILED and "digestbot load" in err and err.count("\n") == 1, (argv, err)
    assert not missing.parent.exists()


def test_an_unusable_database_path_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    code, _, err = run(capsys, "load", "--corpus", str(corpus), "--db", str(blocker / "store.sqlite3"))
    assert code == EXIT_FAILED and err.count("\n") == 1 and "Traceback" not in err


def test_field_warnings_are_shown_with_the_load_report(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path
) -> None:
    (corpus / "odd.md").write_text(
        "---\ntitle: Odd\nwebUrl: https://example.com/odd\npublishedDateTime: 2024-01-02\n"
        "quality: high\n---\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "load", "--corpus", str(corpus), "--db", str(db))
    assert code == EXIT_OK and "warning odd.md: quality" in out


def test_a_closed_pipe_ends_quietly(corpus: Path, db: Path) -> None:
    main(["load", "--corpus", str(corpus), "--db", str(db)])
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run(
        [sys.executable, "-m", "bot", "search", "facial", "--db", str(db), "--json", "--limit", "50"],
        cwd=ROOT, stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=60,
    )
    reader.stdin.close()  # type: ignore[union-attr]
    reader.wait(timeout=10)
    assert "Traceback" not in writer.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_search_text_is_plain_and_bolds_matches_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(capsys, corpus, db)
    monkeypatch.delenv("NO_COLOR", raising=False)
    code, out, _ = run(capsys, "search", "facial", "--db", str(db))
    assert code == EXIT_OK
    assert "**" not in out and "\x1b[" not in out, "captured output is no terminal: plain text"
    assert "heat -1" not in out and "unknown source" not in out
    lines = out.splitlines()
    at = lines.index(f"  [{FIRST_SEED_ID}] New Orleans Mayor OKs Police Use of Facial Recognition Technology")
    assert lines[at + 1] == "      thecrimereport.org · 2022-07-29 · quality 39"
    assert lines[at + 2].startswith("      Many jurisdictions have banned the technology")
    hot = lines.index(
        "  [48933d0774f4b3c7] NOPD has used facial recognition since at least 2018, emails reveal"
    )
    assert lines[hot + 1] == "      NOLA.com · 2020-12-14 · quality 74 · heat 104"

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["search", "facial", "--db", str(db)]) == EXIT_OK
    assert "\x1b[1mfacial\x1b[22m" in terminal.getvalue().lower()
    for disabled in (["--no-color"], []):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stdout", terminal)
        if not disabled:
            monkeypatch.setenv("NO_COLOR", "1")
        assert main(["search", "facial", "--db", str(db), *disabled]) == EXIT_OK
        assert "\x1b[" not in terminal.getvalue() and "facial" in terminal.getvalue().lower()


def test_show_finds_ids_in_any_case_and_prints_no_placeholders(
    capsys: pytest.CaptureFixture[str], corpus: Path, db: Path
) -> None:
    load(capsys, corpus, db)
    code, out, _ = run(capsys, "show", FIRST_SEED_ID.upper(), "--db", str(db))
    assert code == EXIT_OK and out.startswith(f"[{FIRST_SEED_ID}] ")
    assert "heat -1" not in out and "**" not in out and "unknown source" not in out
    assert "from the New Orleans Council…\n" in out, "an excerpt cut mid-sentence by the source"
    code, out, _ = run(capsys, "show", FIRST_SEED_ID.upper(), "--db", str(db), "--json")
    assert json.loads(out)["heat"] is None, "the corpus's -1 means not measured"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard-ids", "0-3"], "--shard-ids needs --shard-count"),
        (["--shard-ids", "0-8", "--shard-count", "8"], "outside 0-7"),
        (["--shard-ids", "3-1", "--shard-count", "8"], "ends before it starts"),
        (["--shard-count", "0"], "expected a positive integer"),
    ],
)
def test_run_refuses_a_bad_shard_slice_before_anything_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-used")
    code, _out, err = run(capsys, "run", *argv)
    assert code == 2
    assert message in err


def test_run_options_override_the_configured_shards(tmp_path: Path) -> None:
    from bot.cli import _with_shards, build_parser
    from bot.config import load_config

    path = tmp_path / "config.yaml"
    path.write_text("discord: {shard_ids: '0-1', shard_count: 4}\n", encoding="utf-8")
    config = load_config(path, env={})
    parser = build_parser()
    sliced = _with_shards(config, parser.parse_args(["run", "--shard-ids", "2-3"]))
    assert (sliced.discord.shard_ids, sliced.discord.shard_count) == ((2, 3), 4)
    recounted = _with_shards(config, parser.parse_args(["run", "--shard-count", "8"]))
    assert (recounted.discord.shard_ids, recounted.discord.shard_count) == (None, 8)
    assert _with_shards(config, parser.parse_args(["run"])).discord == config.discord
