"""The command line as an operator meets it: options on either side of the command, configuration files
with the corpus's YAML guards, and rejection reasons that never repeat a field's value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from bot.config import MAX_CONFIG_BYTES, ConfigError, load_config
from bot.corpus.parse import MAX_ALIAS_EXPANSION, MAX_DEPTH

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


# --- options before or after the command ------------------------------------------------------------------


def test_common_options_work_before_and_after_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus: {{path: {corpus}}}\n", encoding="utf-8")
    before, after = tmp_path / "before.sqlite3", tmp_path / "after.sqlite3"

    code, out, _ = run(capsys, "--config", str(config), "--db", str(before), "--log-level", "info", "load")
    assert code == EXIT_OK and "5 added" in out and before.exists()
    code, out, _ = run(capsys, "load", "--config", str(config), "--db", str(after), "--log-level", "WARNING")
    assert code == EXIT_OK and "5 added" in out and after.exists()

    code, out, _ = run(capsys, "--db", str(tmp_path / "elsewhere.sqlite3"), "search", "facial", "--db",
                       str(before), "--json")
    assert code == EXIT_OK and len(json.loads(out)) == 5, "the option after the command wins"
    assert not (tmp_path / "elsewhere.sqlite3").exists()


def test_a_bad_log_level_is_a_usage_error_on_either_side(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--log-level", "LOUD", "check"], ["check", "--log-level", "LOUD"]):
        code, _, err = run(capsys, *argv)
        assert code == EXIT_USAGE and "--log-level" in err


# --- configuration files get the corpus's YAML guards -----------------------------------------------------


def alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (alias_bomb(9), f"refused YAML at line 5: aliases expand to more than {MAX_ALIAS_EXPANSION} nodes"),
        ("a:\n" + "".join(f"{'  ' * n}- \n" for n in range(1, MAX_DEPTH + 2)) + "\n",
         f"nesting deeper than {MAX_DEPTH} levels"),
        ("x: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
         f"nesting deeper than {MAX_DEPTH} levels"),
    ],
    ids=["alias-bomb", "deep-blocks", "deep-flow"],
)
def test_an_unsafe_config_file_is_refused_before_it_is_loaded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, problem: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_config(config, env={})
    for command in ("check", "digests"):
        code, out, err = run(capsys, command, "--config", str(config), "--db", str(tmp_path / "db.sqlite3"))
        assert code == EXIT_USAGE and problem in out + err and str(config) in out + err, command


def test_an_oversized_config_file_is_refused_unread(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("#" * (MAX_CONFIG_BYTES + 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"larger than the {MAX_CONFIG_BYTES}-byte limit"):
        load_config(config, env={})


def test_ordinary_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "digest_defaults: &base {min_quality: 55}\n"
        "digests:\n"
        "  - {<<: *base, name: morning, channel_id: 123456789012345678, schedule: '0 8 * * *'}\n",
        encoding="utf-8",
    )
    assert load_config(config, env={}).digests[0].min_quality == 55


# --- rejection reasons never quote a value ----------------------------------------------------------------


def test_a_tag_in_a_corpus_file_never_reaches_the_rejection_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    (corpus / "tagged.md").write_text(
        "---\ntitle: Tagged\nwebUrl: https://example.com/tagged\npublishedDateTime: 2024-01-02T00:00:00Z\n"
        "secured: !SECRETTAG\n---\n",
        encoding="utf-8",
    )
    db = str(tmp_path / "db.sqlite3")
    code, out, _ = run(capsys, "load", "--corpus", str(corpus), "--db", db)
    assert code == EXIT_OK and "rejected tagged.md: line 5: unsupported YAML tag" in out
    code, out, _ = run(capsys, "load", "--corpus", str(corpus), "--db", db, "--json")
    assert json.loads(out)["rejected"] == [
        {"file": "tagged.md", "reason": "line 5: unsupported YAML tag (only plain values are allowed)"}
    ]
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus: {{path: {corpus}}}\n", encoding="utf-8")
    code, out, _ = run(capsys, "check", "--config", str(config), "--db", db)
    assert code == EXIT_FAILED and "tagged.md: line 5: unsupported YAML tag" in out
    for text in (out, *capsys.readouterr()):
        assert "SECRETTAG" not in text
