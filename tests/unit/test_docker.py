"""The container image: the Dockerfile's essentials checked statically, and a real build where Docker runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and `\\` continuations joined."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    pairs = []
    for entry in logical:
        keyword, _, rest = entry.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def last(keyword: str) -> str:
    found = [rest for name, rest in instructions() if name == keyword]
    assert found, f"the Dockerfile has no {keyword}"
    return found[-1]


def runtime_stage() -> list[tuple[str, str]]:
    """The instructions of the final stage (after the last FROM): what the shipped image is made of."""
    steps = instructions()
    start = max(index for index, (name, _) in enumerate(steps) if name == "FROM")
    return steps[start:]


def test_build_is_multi_stage_on_slim_python_311() -> None:
    steps = instructions()
    stages = [rest for name, rest in steps if name == "FROM"]
    assert len(stages) >= 2
    assert any(name == "COPY" and "--from=builder" in rest for name, rest in steps)
    image = next(rest for name, rest in steps if name == "ARG" and rest.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", image)


def test_runs_as_a_non_root_user() -> None:
    user = [rest for name, rest in runtime_stage() if name == "USER"]
    assert user, "the runtime stage sets no USER"
    assert user[-1].split(":")[0] not in {"root", "0"}


def test_healthcheck_runs_digestbot_health() -> None:
    healthcheck = last("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command == ["digestbot", "health"]


def test_command_is_exec_form_so_sigterm_reaches_the_bot() -> None:
    assert json.loads(last("CMD")) == ["digestbot", "run"]
    assert last("STOPSIGNAL") == "SIGTERM"


def test_data_volume_holds_database_and_heartbeat() -> None:
    assert last("VOLUME") == "/data"
    environment = " ".join(rest for name, rest in runtime_stage() if name == "ENV")
    assert "DIGESTBOT_DB=/data/digestbot.sqlite3" in environment
    assert "DIGESTBOT_HEARTBEAT=/data/heartbeat.json" in environment
    assert "PYTHONUNBUFFERED=1" in environment


def test_corpus_and_config_are_baked_into_app() -> None:
    copies = [rest for name, rest in runtime_stage() if name == "COPY"]
    assert "config ./config" in copies and "seeds ./seeds" in copies
    assert last("WORKDIR") == "/app"


def test_compose_reads_the_token_from_env_file_and_keeps_data() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["digestbot"]
    assert service["env_file"] == ".env"
    assert any(volume.endswith(":/data") for volume in service["volumes"])
    assert "DISCORD_TOKEN=" in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()


def test_compose_never_restarts_a_configuration_error_forever_and_reaps_workers() -> None:
    """.env.example as shipped has an empty token, which exits 2 on every start: a bounded on-failure
    policy stops retrying, where unless-stopped/always would restart forever. tini (init) reaps the loader's
    worker processes and forwards SIGTERM."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["digestbot"]
    assert re.fullmatch(r"on-failure:[1-9]\d?", service["restart"])
    assert service["init"] is True


def test_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for entry in (".env", ".git", ".venv", "data"):
        assert entry in ignored


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.mark.skipif(not docker_available(), reason="no Docker daemon available")
def test_image_builds_and_runs_its_commands() -> None:
    tag = f"digestbot-test:{uuid.uuid4().hex[:12]}"
    try:
        subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=900)
        user = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True, text=True, check=True, timeout=120,
        )
        assert user.stdout.strip() != "0"
        version = subprocess.run(
            ["docker", "run", "--rm", tag, "digestbot", "--version"],
            capture_output=True, text=True, check=True, timeout=120,
        )
        assert version.stdout.startswith("digestbot ")
        check = subprocess.run(
            ["docker", "run", "--rm", tag, "digestbot", "check"],
            capture_output=True, text=True, check=False, timeout=300,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        health = subprocess.run(
            ["docker", "run", "--rm", tag, "digestbot", "health"],
            capture_output=True, text=True, check=False, timeout=120,
        )
        assert health.returncode == 1, "with no bot running there is no heartbeat"
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False, timeout=120)


def test_the_cluster_profile_runs_postgresql_and_two_processes_on_disjoint_shard_slices() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    assert "profiles" not in services["digestbot"], "plain `docker compose up` still needs no PostgreSQL"
    bots = [services["bot-shards-0-1"], services["bot-shards-2-3"]]
    assert services["postgres"]["profiles"] == ["cluster"]
    slices = []
    for bot in bots:
        assert bot["profiles"] == ["cluster"] and bot["env_file"] == ".env"
        assert bot["environment"]["DIGESTBOT_DATABASE_URL"].startswith("postgresql://")
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
        command = bot["command"]
        slices.append(command[command.index("--shard-ids") + 1])
        assert command[command.index("--shard-count") + 1] == "4"
    assert slices == ["0-1", "2-3"]
    assert len({bot["volumes"][0] for bot in bots}) == 2, "each process keeps its corpus on its own volume"


def buildah_unavailable() -> str | None:
    """Why the buildah build cannot run here, or None."""
    if shutil.which("buildah") is None:
        return "buildah is not installed (apt-get install buildah debootstrap)"
    cache = Path(os.environ.get("DIGESTBOT_BUILD_CACHE") or Path.home() / ".cache" / "digestbot-build")
    base = cache / "bookworm-rootfs" / "usr" / "bin" / "python3"
    if shutil.which("debootstrap") is None and not base.exists():
        return "debootstrap is not installed and no bootstrapped base is cached"
    if os.geteuid() != 0:
        return "the buildah build runs as root (rootless buildah needs subordinate uid ranges)"
    return None


@pytest.mark.skipif(buildah_unavailable() is not None, reason=str(buildah_unavailable()))
@pytest.mark.timeout(1800)  # the first run bootstraps the base; later ones reuse it and the layer cache
def test_image_builds_with_buildah_and_serves_the_seeds_as_its_own_user() -> None:
    """The Dockerfile on a Debian bookworm base (Python 3.11, as the slim image) bootstrapped here and passed
    as PYTHON_IMAGE: `--version`, `load`, `preview`, `check` and `backup` inside the image, as uid 10001
    (the slim image has no sqlite3 shell, so the backup must work without one)."""
    result = subprocess.run(
        [str(ROOT / ".ci" / "buildah-smoke")], capture_output=True, text=True, check=False, timeout=1800
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert lines["uid"] == "10001"
    assert lines["version"].startswith("digestbot ")
    assert lines["load"].startswith("load #1: 5 articles in service — 5 added")
    assert lines["preview"].startswith("A new digest with digest_defaults in /app/config/config.yaml: ")
    assert lines["check"] == "ok: configuration, corpus and database are fine"
    assert lines["backup"].startswith("backup of /data/digestbot.sqlite3 written to /data/backup.sqlite3 (")
