"""`digestbot load` stopped by a signal: workers stopped, one line, 128 + signal, nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
# Enough files that the load uses worker processes and is still parsing when the signal comes.
FILES = 4000
# How long the test waits for the load's worker processes to appear, and for the process to end.
PROCESS_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "big"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_corpus.py"), str(folder), str(FILES)],
        check=True, capture_output=True, timeout=300,
    )
    return folder


def session_processes(session: int) -> dict[int, tuple[int, str, str]]:
    """Live processes of a session: pid → (parent pid, state, command line); zombies are already dead."""
    found: dict[int, tuple[int, str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, parent, sid = fields[0], int(fields[1]), int(fields[3])
        if sid == session and state != "Z":
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found[int(entry.name)] = (parent, state, command)
    return found


def wait_for_a_worker(process: subprocess.Popen[bytes]) -> list[int]:
    """Until a process of the load's session runs that the load did not start itself (a pool worker is a
    child of the fork server); the workers' pids."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the load ended (exit {process.returncode}) before its workers started")
        family = session_processes(process.pid)
        workers = [
            pid for pid, (parent, _, _) in family.items() if parent != process.pid and parent in family
        ]
        if workers:
            return workers
        time.sleep(0.02)
    raise AssertionError("no worker process appeared")


def ignored_signals(pid: int) -> set[int]:
    """The signals a process ignores, from the SigIgn mask in /proc (bit n - 1 is signal n)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            mask = int(line.split()[1], 16)
            return {number for number in range(1, 65) if mask & (1 << (number - 1))}
    raise AssertionError(f"no SigIgn line for pid {pid}")


def left_behind(session: int) -> dict[int, tuple[int, str, str]]:
    """The session's processes once those already exiting are gone (closing their pipes comes first)."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while (found := session_processes(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def article_count(db: Path) -> int:
    """How many articles match a word every seed article holds."""
    found = subprocess.run(
        [sys.executable, "-m", "bot", "search", "facial", "--db", str(db), "--json", "--limit", "100"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=PROCESS_TIMEOUT,
    )
    return len(json.loads(found.stdout))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the load's processes")
@pytest.mark.parametrize(("signum", "whole_group"), [(signal.SIGTERM, False), (signal.SIGINT, True)])
@pytest.mark.timeout(300)  # generates and starts loading 4,000 files in worker processes
def test_a_signal_stops_the_load_its_workers_and_keeps_the_previous_corpus(
    tmp_path: Path, big_corpus: Path, signum: signal.Signals, whole_group: bool
) -> None:
    db = tmp_path / "store.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "bot", "load", "--corpus", str(SEEDS), "--db", str(db)],
        cwd=ROOT, check=True, capture_output=True, timeout=PROCESS_TIMEOUT,
    )
    before = article_count(db)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "load", "--corpus", str(big_corpus), "--db", str(db), "--force"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        workers = wait_for_a_worker(process)
        # From their first instruction: a Ctrl-C to the whole group must not kill one mid-chunk.
        assert {signal.SIGINT, signal.SIGTERM} <= ignored_signals(workers[0])
        # docker stop signals the main process only; Ctrl-C in a terminal signals the whole group.
        if whole_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        out, err = process.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    assert process.returncode == 128 + signum, err.decode()
    assert err.decode() == "digestbot: load interrupted; the previous corpus is unchanged\n"
    assert out == b""
    assert left_behind(process.pid) == {}
    assert article_count(db) == before == 5
