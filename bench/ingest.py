"""Ingest benchmark: the loader against the bare YAML parse loop, on the same generated files.

Usage: ``python bench/ingest.py [--files N] [--shape NAME | --all-shapes] [--workdir DIR] [--keep] [--small]``

In one run, on N freshly generated files of one corpus shape (`bench/gen_corpus.py`'s SHAPES): (a) a bare
loop in a fresh interpreter that reads each file and parses its front matter with ``yaml.CSafeLoader``,
(b) a cold ``python -m bot load`` into a new database, (c) the same load again with nothing changed, (d) a
load after rewriting 1% of the files with a small content change. Every time is a whole command,
interpreter start included, as an operator waits for it; peak memory is the resident memory of the
command's whole process tree (workers included).
With ``--all-shapes`` it does this for every shape in turn and prints one row per shape.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import CommandRun, bot_load, machine_facts, run_command, table
from bench.gen_corpus import SHAPES, generate

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


@dataclass(frozen=True, slots=True)
class Measured:
    """Steps (a)–(d) on one corpus, and any consistency problems found in the load reports."""

    files: int
    bare: CommandRun
    cold: CommandRun
    warm: CommandRun
    changed: CommandRun
    touched: int
    problems: tuple[str, ...]

    @property
    def cold_ratio(self) -> float:
        return self.bare.seconds / self.cold.seconds

    @property
    def warm_share(self) -> float:
        return self.warm.seconds / self.cold.seconds

    @property
    def changed_share(self) -> float:
        return self.changed.seconds / self.cold.seconds

    @property
    def peak_mb(self) -> float:
        return max(self.cold.peak_mb, self.warm.peak_mb, self.changed.peak_mb)


def measure(corpus: Path, db: Path, files: int) -> Measured:
    """Runs steps (a)–(d) on `corpus` (whose files (d) rewrites) into the new database `db`."""
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
    return Measured(files, bare, cold, warm, changed, touched, tuple(problems))


def _cold_verdict(ratio: float) -> str:
    return _verdict(ratio >= COLD_RATIO_TARGET, ratio > COLD_RATIO_AIM)


def _peak_verdict(peak_mb: float) -> str:
    return _verdict(peak_mb < PEAK_MB_TARGET, peak_mb < PEAK_MB_AIM)


def step_rows(measured: Measured) -> list[list[str]]:
    """One row per step (a)–(d), as in the README's ingest table."""
    files = measured.files

    def row(label: str, run: CommandRun, ratio: str, target: str, verdict: str) -> list[str]:
        return [
            label, f"{run.seconds:.2f}", f"{files / run.seconds:,.0f}", ratio, target, verdict,
            f"{run.peak_mb:.0f}", _peak_verdict(run.peak_mb) if label != "(a) bare parse loop" else "",
        ]

    warm_share, changed_share = measured.warm_share, measured.changed_share
    return [
        row("(a) bare parse loop", measured.bare, "1.00×", "", ""),
        row("(b) cold load", measured.cold, f"{measured.cold_ratio:.2f}×",
            f"≥ {COLD_RATIO_TARGET}× (aim > {COLD_RATIO_AIM}×)", _cold_verdict(measured.cold_ratio)),
        row("(c) reload, unchanged", measured.warm, f"{warm_share:.1%} of (b)",
            f"< {WARM_SHARE_TARGET:.0%} (aim {WARM_SHARE_AIM:.0%})",
            _verdict(warm_share < WARM_SHARE_TARGET, warm_share <= WARM_SHARE_AIM)),
        row(f"(d) reload, {measured.touched} changed", measured.changed, f"{changed_share:.1%} of (b)",
            f"< {TOUCHED_SHARE_TARGET:.0%}", _verdict(changed_share < TOUCHED_SHARE_TARGET, False)),
    ]


def shape_row(shape: str, corpus_mb: float, measured: Measured) -> list[str]:
    """One shape's figures on one line: the bare loop, the cold load and its ratio, reloads, peak memory."""
    warm_ok = measured.warm_share < WARM_SHARE_TARGET
    changed_ok = measured.changed_share < TOUCHED_SHARE_TARGET
    return [
        shape, f"{corpus_mb:.0f}", f"{measured.bare.seconds:.2f}", f"{measured.cold.seconds:.2f}",
        f"{measured.cold_ratio:.2f}×", _cold_verdict(measured.cold_ratio),
        f"{measured.warm_share:.1%}", f"{measured.changed_share:.1%}",
        "met" if warm_ok and changed_ok else "MISSED",
        f"{measured.peak_mb:.0f}", _peak_verdict(measured.peak_mb),
    ]


HEADERS = (
    "step", "seconds", "files/s", "vs (a)", "target", "", "peak MB",
    f"peak < {PEAK_MB_TARGET} (aim {PEAK_MB_AIM})",
)
SHAPE_HEADERS = (
    "shape", "MB", "(a) bare s", "(b) cold s", "(a)/(b)", f"≥ {COLD_RATIO_TARGET}×", "(c) warm",
    "(d) touched", f"< {WARM_SHARE_TARGET:.0%} / {TOUCHED_SHARE_TARGET:.0%}", "peak MB",
    f"< {PEAK_MB_TARGET} (aim {PEAK_MB_AIM})",
)


def _run_shape(work: Path, shape: str, files: int) -> tuple[float, Measured]:
    """Generates `files` files of `shape` under `work` and measures them; returns the corpus size in MB."""
    corpus, db = work / shape / "corpus", work / shape / "digestbot.sqlite3"
    print(f"generating {files} {shape} files in {corpus} …", file=sys.stderr, flush=True)
    generate(corpus, files, shape=shape)
    corpus_mb = sum(path.stat().st_size for path in corpus.iterdir()) / 1e6
    return corpus_mb, measure(corpus, db, files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000, help="how many files to generate (20000)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--shape", choices=tuple(SHAPES), default="default", help="corpus shape (default)")
    which.add_argument("--all-shapes", action="store_true", help="every shape in turn, one row each")
    parser.add_argument("--workdir", type=Path, help="where to generate (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and database")
    parser.add_argument("--small", action="store_true", help=f"{SMALL_FILES} files, for CI")
    args = parser.parse_args(argv)
    files = SMALL_FILES if args.small else args.files
    if files < TOUCH_EVERY:
        parser.error(f"--files must be at least {TOUCH_EVERY}")
    shapes = list(SHAPES) if args.all_shapes else [args.shape]

    base = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work = base / f"ingest-{files}"
    shutil.rmtree(work, ignore_errors=True)
    results: list[tuple[str, float, Measured]] = []
    try:
        for shape in shapes:
            results.append((shape, *_run_shape(work, shape, files)))
            if not args.keep:
                shutil.rmtree(work / shape, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.workdir is None:
                shutil.rmtree(base, ignore_errors=True)

    print(f"Ingest of {files:,} generated files — whole commands, process start included")
    print(machine_facts())
    print()
    if args.all_shapes:
        print(table(SHAPE_HEADERS, [shape_row(shape, mb, measured) for shape, mb, measured in results]))
    else:
        shape, _, measured = results[0]
        if shape != "default":
            print(f"shape: {shape}")
        print(table(HEADERS, step_rows(measured)))
    problems = [f"{shape}: {problem}" for shape, _, measured in results for problem in measured.problems]
    for problem in problems:
        print(f"inconsistent load report: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
