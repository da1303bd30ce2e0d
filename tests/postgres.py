"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl in a temporary folder, on a free loopback
port, with trust authentication and no durability (it is deleted afterwards).

PostgreSQL refuses to run as root, so as root (CI) the server runs as the unprivileged `postgres` user that
Debian's package creates (or `nobody`). Each test gets its own database.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "digestbot"
_DEBIAN_BIN = Path("/usr/lib/postgresql")


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and createdb: on PATH, or Debian's newest versioned folder."""
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("pg_ctl") is not None:
        return Path(on_path).resolve().parent
    for folder in sorted(_DEBIAN_BIN.glob("*/bin"), key=lambda path: int(path.parent.name), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_user() -> str | None:
    """Who runs the server: None for the current user, or an unprivileged account when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL as")


@dataclass
class PostgresServer:
    bin: Path
    root: Path
    port: int
    user: str | None
    _names: itertools.count[int]

    @classmethod
    def start(cls, bin_folder: Path) -> PostgresServer:
        user = _server_user()
        root = Path(tempfile.mkdtemp(prefix="digestbot-pg-"))
        if user is not None:
            account = pwd.getpwnam(user)
            os.chown(root, account.pw_uid, account.pw_gid)
        server = cls(bin_folder, root, _free_port(), user, itertools.count(1))
        try:
            server._run("initdb", "-D", str(root / "data"), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                        "--no-sync", "--no-instructions")
            options = (f"-p {server.port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            server._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"), "-o", options,
                        "-w", "-t", "60", "start")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if completed.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            detail = completed.stderr.strip()
            raise RuntimeError(f"{program} failed ({completed.returncode}): {detail}\n{tail}")

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"test_{next(self._names)}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name)
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
