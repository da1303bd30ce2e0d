"""Shared pieces of the benchmarks: timing whole commands with the peak memory of their process tree,
percentiles, the generated corpus and database they share, and plain-text tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "bench-work"
"""Where search and commands keep their generated corpus and loaded database between runs."""

POLL_SECONDS = 0.02
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


# --- whole commands -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandRun:
    """One finished command: wall-clock seconds from spawn to exit, and the tree's peak resident memory."""

    seconds: float
    peak_rss_bytes: int
    stdout: str

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_bytes / (1024 * 1024)


class CommandFailed(Exception):
    """A benchmarked command exited non-zero; the message carries its stderr."""


def _children_of() -> dict[int, list[int]]:
    """Parent pid → child pids, from /proc (one pass over every process)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses; the fields after it are fixed.
        parent = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants right now (0 once they are gone)."""
    children = _children_of()
    total = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        total += _rss_bytes(pid)
        pending.extend(children.get(pid, ()))
    return total


def run_command(argv: Sequence[str], *, cwd: Path = ROOT) -> CommandRun:
    """Runs `argv` to completion, sampling the RSS of its process tree every `POLL_SECONDS`.

    The time covers everything an operator waits for: interpreter start, imports, work and exit.
    Raises `CommandFailed` when the command exits non-zero.
    """
    peak = 0
    started = time.perf_counter()
    process = subprocess.Popen(
        list(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    output: dict[str, str] = {}

    def drain() -> None:
        output["stdout"], output["stderr"] = process.communicate()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    while reader.is_alive():
        peak = max(peak, tree_rss_bytes(process.pid))
        reader.join(POLL_SECONDS)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise CommandFailed(
            f"{' '.join(argv)} exited with {process.returncode}:\n{output.get('stderr', '').strip()}"
        )
    return CommandRun(seconds=seconds, peak_rss_bytes=peak, stdout=output.get("stdout", ""))


def bot_load(corpus: Path, db: Path) -> CommandRun:
    """`python -m bot load` as an operator runs it, report as JSON."""
    return run_command(
        [sys.executable, "-m", "bot", "load", "--corpus", str(corpus), "--db", str(db), "--json"]
    )


# --- the shared corpus and database -------------------------------------------------------------------


def corpus_and_db(workdir: Path, count: int) -> tuple[Path, Path]:
    """A generated corpus of `count` articles and a database loaded from it, made once per workdir.

    A marker file next to each is written only after it is complete, so an interrupted run starts over.
    """
    from bench.gen_corpus import generate

    workdir.mkdir(parents=True, exist_ok=True)
    corpus = workdir / f"corpus-{count}"
    db = workdir / f"db-{count}.sqlite3"
    corpus_done = workdir / f"corpus-{count}.complete"
    db_done = workdir / f"db-{count}.complete"
    if not corpus_done.exists():
        db_done.unlink(missing_ok=True)
        if corpus.exists():
            for stale in corpus.iterdir():
                stale.unlink()
        print(f"generating {count} articles in {corpus} …", file=sys.stderr, flush=True)
        generate(corpus, count)
        corpus_done.touch()
    if not db_done.exists():
        for stale in workdir.glob(f"db-{count}.sqlite3*"):
            stale.unlink()
        print(f"loading them into {db} …", file=sys.stderr, flush=True)
        run = bot_load(corpus, db)
        print(f"loaded in {run.seconds:.1f} s", file=sys.stderr, flush=True)
        db_done.touch()
    return corpus, db


# --- numbers and tables -------------------------------------------------------------------------------


def percentile(samples: Sequence[float], share: float) -> float:
    """The `share` (0–1) percentile by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=1000, method="inclusive")[round(share * 1000) - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the rest right-aligned (numbers)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if index == 0 else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def machine_facts() -> str:
    """One line about where the numbers came from."""
    import platform
    import sqlite3

    cpu = "unknown CPU"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
