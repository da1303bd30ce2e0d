"""Ingest benchmark: the loader against the bare YAML parse loop, on the same generated files.

Usage: ``python bench/ingest.py [--files N] [--workdir DIR] [--keep] [--small]``

In one run, on N freshly generated files: (a) a bare loop in a fresh interpreter that reads each file and
parses its front matter with ``yaml.CSafeLoader``, (b) a cold ``python -m bot load`` into a new database,
(c) the same load again with nothing changed, (d) a load after rewriting 1% of the files with a small
content change. Every time is a whole command, interpreter start included, as an operator waits for it;
peak memory is the resident memory of the command's whole process tree (workers included).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import CommandRun, bot_load, machine_facts, run_command, table
from bench.gen_corpus import generate

SMALL_FILES = 300
TOUCH_EVERY = 100
"""Every 100th file (by name) is rewritten for step (d): 1% of the corpus."""

COLD_RATIO_TARGET, COLD_RATIO_AIM = 0.8, 1.0
WARM_SHARE_TARGET, WARM_SHARE_AIM = 0.10, 0.05
TOUCHED_SHARE_TARGET = 0.15
PEAK_MB_TARGET, PEAK_MB_AIM = 300, 150

BARE_LOOP = """
import os, sys, yaml
folder = sys.argv[1]
parsed = 0
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("\\n") + 1
    block = text[start:text.index("\\n---", start - 1) + 1]
    yaml.load(block, Loader=yaml.CSafeLoader)
    parsed += 1
print(parsed)
"""
"""Reads every file and parses the YAML between its `---` lines: the floor a loader is measured against."""

_TITLE = re.compile(r'^title: "', re.MULTILINE)


def touch_files(corpus: Path, every: int = TOUCH_EVERY) -> int:
    """Rewrites every `every`-th file (by name) with its title changed; returns how many were rewritten."""
    touched = 0
    for index, path in enumerate(sorted(corpus.iterdir())):
        if index % every:
            continue
        text = path.read_text(encoding="utf-8")
        changed = _TITLE.sub('title: "Updated: ', text, count=1)
        if changed == text:
            raise ValueError(f"{path.name}: no quoted title line to change")
        path.write_text(changed, encoding="utf-8")
        touched += 1
    return touched


def _report(run: CommandRun) -> dict[str, object]:
    return dict(json.loads(run.stdout))


def _verdict(met: bool, aim_met: bool) -> str:
    if aim_met:
        return "aim met"
    return "met" if met else "MISSED"


def measure(corpus: Path, db: Path, files: int) -> tuple[list[list[str]], list[str]]:
    """Runs steps (a)–(d); returns the table rows and any consistency problems found in the load reports."""
    bare = run_command([sys.executable, "-c", BARE_LOOP, str(corpus)])
    cold = bot_load(corpus, db)
    warm = bot_load(corpus, db)
    touched = touch_files(corpus)
    changed = bot_load(corpus, db)

    problems: list[str] = []
    if int(bare.stdout.strip()) != files:
        problems.append(f"(a) parsed {bare.stdout.strip()} files, expected {files}")
    cold_report, warm_report, changed_report = _report(cold), _report(warm), _report(changed)
    stored = int(cold_report["articles"])  # type: ignore[call-overload]
    if cold_report["added"] == 0:
        problems.append("(b) added nothing")
    if warm_report["added"] or warm_report["updated"] or warm_report["removed"]:
        problems.append(f"(c) changed the store although no file changed: {warm_report}")
    if changed_report["added"] or changed_report["removed"] or changed_report["articles"] != stored:
        problems.append(f"(d) added or removed articles after only rewriting files: {changed_report}")
    if not 0 < int(changed_report["updated"]) <= touched:  # type: ignore[call-overload]
        problems.append(f"(d) updated {changed_report['updated']} articles, {touched} files were rewritten")

    def row(label: str, run: CommandRun, ratio: str, target: str, verdict: str) -> list[str]:
        peak_verdict = _verdict(run.peak_mb < PEAK_MB_TARGET, run.peak_mb < PEAK_MB_AIM)
        return [
            label, f"{run.seconds:.2f}", f"{files / run.seconds:,.0f}", ratio, target, verdict,
            f"{run.peak_mb:.0f}", peak_verdict if label != "(a) bare parse loop" else "",
        ]

    cold_ratio = bare.seconds / cold.seconds
    warm_share = warm.seconds / cold.seconds
    changed_share = changed.seconds / cold.seconds
    rows = [
        row("(a) bare parse loop", bare, "1.00×", "", ""),
        row("(b) cold load", cold, f"{cold_ratio:.2f}×", f"≥ {COLD_RATIO_TARGET}× (aim > {COLD_RATIO_AIM}×)",
            _verdict(cold_ratio >= COLD_RATIO_TARGET, cold_ratio > COLD_RATIO_AIM)),
        row("(c) reload, unchanged", warm, f"{warm_share:.1%} of (b)",
            f"< {WARM_SHARE_TARGET:.0%} (aim {WARM_SHARE_AIM:.0%})",
            _verdict(warm_share < WARM_SHARE_TARGET, warm_share <= WARM_SHARE_AIM)),
        row(f"(d) reload, {touched} changed", changed, f"{changed_share:.1%} of (b)",
            f"< {TOUCHED_SHARE_TARGET:.0%}", _verdict(changed_share < TOUCHED_SHARE_TARGET, False)),
    ]
    return rows, problems


HEADERS = (
    "step", "seconds", "files/s", "vs (a)", "target", "", "peak MB",
    f"peak < {PEAK_MB_TARGET} (aim {PEAK_MB_AIM})",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000, help="how many files to generate (20000)")
    parser.add_argument("--workdir", type=Path, help="where to generate (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and database")
    parser.add_argument("--small", action="store_true", help=f"{SMALL_FILES} files, for CI")
    args = parser.parse_args(argv)
    files = SMALL_FILES if args.small else args.files
    if files < TOUCH_EVERY:
        parser.error(f"--files must be at least {TOUCH_EVERY}")

    base = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work = base / f"ingest-{files}"
    shutil.rmtree(work, ignore_errors=True)
    corpus, db = work / "corpus", work / "digestbot.sqlite3"
    try:
        print(f"generating {files} files in {corpus} …", file=sys.stderr, flush=True)
        generate(corpus, files)
        rows, problems = measure(corpus, db, files)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.workdir is None:
                shutil.rmtree(base, ignore_errors=True)

    print(f"Ingest of {files:,} generated files — whole commands, process start included")
    print(machine_facts())
    print()
    print(table(HEADERS, rows))
    for problem in problems:
        print(f"inconsistent load report: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
