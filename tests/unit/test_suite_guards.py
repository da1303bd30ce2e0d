"""The suite's own guards: OpenAPI validation is never silently off, and CI refuses to run without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC_LINE = "Discord OpenAPI validation:"


def run_suite_slice(**env: str) -> subprocess.CompletedProcess[str]:
    """A small slice of the suite in a fresh pytest process, with `env` on top of ours."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/unit/test_fts_query.py"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False,
    )


def test_a_missing_spec_is_announced_at_the_top_of_the_run() -> None:
    done = run_suite_slice(DISCORD_OPENAPI_SPEC="/nonexistent/discord-openapi.json", CI="")
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"{SPEC_LINE} OFF for every emulator test: no spec at /nonexistent/")


def test_ci_fails_when_the_spec_is_missing() -> None:
    done = run_suite_slice(DISCORD_OPENAPI_SPEC="/nonexistent/discord-openapi.json", CI="true")
    assert done.returncode != 0
    assert "CI=true requires it" in done.stdout + done.stderr


def test_a_present_spec_is_announced_as_on(tmp_path: Path) -> None:
    spec = tmp_path / "discord-openapi.json"
    spec.write_text('{"paths": {}}', encoding="utf-8")
    done = run_suite_slice(DISCORD_OPENAPI_SPEC=str(spec), CI="true")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == f"{SPEC_LINE} on ({spec})"
