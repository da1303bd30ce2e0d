"""The benchmarks run end to end at a tiny size so they cannot rot; timings are printed, never checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench._util import percentile, table

ROOT = Path(__file__).resolve().parents[2]
# Generous: a --small run takes a few seconds; this only stops a hung run from blocking the suite.
RUN_TIMEOUT = 300


def run_small(script: str, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Runs `bench/<script> --small`; fails with its output if it exits non-zero."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--small", "--workdir", str(workdir), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def table_rows(output: str, first_header: str) -> list[list[str]]:
    """The printed table's rows as cells (columns are separated by two or more spaces)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_header))
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def test_ingest_reports_the_four_steps(tmp_path: Path) -> None:
    output = run_small("ingest.py", tmp_path).stdout
    rows = table_rows(output, "step")
    assert [row[0] for row in rows] == [
        "(a) bare parse loop", "(b) cold load", "(c) reload, unchanged", "(d) reload, 3 changed",
    ]
    assert rows[1][3].endswith("×")
    assert all(row[3].endswith("of (b)") for row in rows[2:])
    assert "inconsistent" not in output
    assert list(tmp_path.iterdir()) == [], "without --keep the generated files are removed"


def test_ingest_reports_one_row_per_shape(tmp_path: Path) -> None:
    output = run_small("ingest.py", tmp_path, "--all-shapes").stdout
    rows = table_rows(output, "shape")
    assert [row[0] for row in rows] == ["default", "small", "related-heavy", "non-ascii", "url-messy"]
    assert all(row[4].endswith("×") for row in rows)
    assert "inconsistent" not in output
    assert list(tmp_path.iterdir()) == []


def test_search_reports_every_query_class_with_and_without_filters(tmp_path: Path) -> None:
    rows = table_rows(run_small("search.py", tmp_path).stdout, "query")
    classes = [row[0] for row in rows]
    for query_class in ("rare word", "common word (police)", 'phrase ("facial recognition")',
                        "prefix (elect*)"):
        assert classes.count(query_class) == 4, classes
    assert classes[-1] == "all queries"
    filters = [row[1] for row in rows[:-1]]
    assert filters.count("none") == filters.count("min_quality 50") == 4
    assert filters.count("2022-03-01..2022-03-31") == 4
    assert sum(label.startswith("topic ") for label in filters) == 4


def test_search_reuses_the_loaded_workdir(tmp_path: Path) -> None:
    first = run_small("search.py", tmp_path)
    assert "loading them into" in first.stderr
    second = run_small("search.py", tmp_path)
    assert "generating" not in second.stderr and "loading" not in second.stderr
    assert table_rows(second.stdout, "query")[-1][0] == "all queries"


def test_commands_reports_search_article_and_autocomplete(tmp_path: Path) -> None:
    rows = table_rows(run_small("commands.py", tmp_path).stdout, "interaction")
    assert [row[0] for row in rows] == ["/search", "/article", "autocomplete (article id)"]
    assert all(row[1] == str(20 * 2) for row in rows), rows  # 20 members, 2 rounds each


def test_table_aligns_text_left_and_numbers_right() -> None:
    assert table(("name", "ms"), [["a", "1.0"], ["longer", "12.5"]]).splitlines() == [
        "name      ms",
        "------  ----",
        "a        1.0",
        "longer  12.5",
    ]


@pytest.mark.parametrize(("share", "expected"), [(0.5, 50.5), (0.95, 95.05)])
def test_percentile_interpolates_between_ranks(share: float, expected: float) -> None:
    assert percentile([float(n) for n in range(1, 101)], share) == pytest.approx(expected)


def test_digest_reports_the_fanout_and_compose_rows() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "digest.py"), "--small"], cwd=ROOT,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    assert done.returncode == 0, f"digest.py exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    measures = [row[0] for row in table_rows(done.stdout, "measure")]
    assert any(row.startswith("fan-out: ratio") for row in measures), measures
    assert any(row.startswith("compose: first run") for row in measures), measures


def test_abuse_reports_both_phases_the_attacker_and_the_write_wait(tmp_path: Path) -> None:
    rows = table_rows(run_small("abuse.py", tmp_path).stdout, "measure")
    measures = [row[0] for row in rows]
    assert measures[:3] == [
        "ordinary members alone: p50 / p95", "ordinary members under attack: p50 / p95",
        "p95 under attack ÷ p95 alone",
    ]
    assert "attacker interactions answered within 3 s" in measures
    assert measures[-1] == "longest write wait under attack"
    answered = dict((row[0], row[1]) for row in rows)["attacker interactions answered within 3 s"]
    done, total = answered.split("/")
    assert done == total and int(total) > 0


@pytest.mark.timeout(RUN_TIMEOUT)  # it waits for the next minute boundary, like a real cluster
def test_cluster_posts_every_digest_once_without_a_global_429(tmp_path: Path) -> None:
    rows = table_rows(run_small("cluster.py", tmp_path).stdout, "measure")
    assert [row[0] for row in rows] == [
        "40 digests due at once, 40 posts", "ratio to the global limit's bound", "429s from the global limit",
        "digests posted exactly once",
    ]
    assert rows[2][1] == "0" and rows[3][1] == "40 of 40"


def test_corpus_dump_is_the_same_for_two_loads_of_the_same_files(tmp_path: Path) -> None:
    dumps = []
    for name in ("first", "second"):
        database = tmp_path / f"{name}.sqlite3"
        subprocess.run(
            [sys.executable, "-m", "bot", "load", "--corpus", str(ROOT / "seeds"), "--db", str(database)],
            cwd=ROOT, capture_output=True, check=True, timeout=RUN_TIMEOUT,
        )
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "corpus_dump.py"), str(database), str(tmp_path / name)],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=RUN_TIMEOUT,
        )
        assert re.search(r"^articles\s+5 lines$", done.stdout, re.MULTILINE), done.stdout
        dumps.append((tmp_path / name).read_text(encoding="utf-8"))
    assert dumps[0] == dumps[1]
    assert "\nfts\t" in dumps[0] and "\nfiles\t" in dumps[0]
