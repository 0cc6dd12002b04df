"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` package (initdb,
pg_ctl), a data folder in a fresh temporary folder, a unix socket there and no TCP port.

The server refuses to run as root: under root (CI) it runs as the `postgres` user the
package creates (or `nobody`), through runuser. `PostgresServer.new_database()` gives each
test a database of its own.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    return candidates[-1] if candidates else None


def _server_user() -> str | None:
    """The user to run the server as (None: as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no `postgres` or `nobody` user to run PostgreSQL as")


class PostgresServer:
    def __init__(self):
        self.initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise FileNotFoundError("initdb/pg_ctl not found: apt-get install postgresql")
        self.user = _server_user()
        # Not under pytest's basetemp: its parent is private to root, the server could not enter it.
        self.root = Path(tempfile.mkdtemp(prefix="rnngrade-pg-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.started = False

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = list(args) if self.user is None else ["runuser", "-u", self.user, "--", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root,
                              env={**os.environ, "LC_ALL": "C.UTF-8"})

    def _check(self, proc: subprocess.CompletedProcess, what: str) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stdout}{proc.stderr}{log}")

    def start(self) -> "PostgresServer":
        self._check(self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
                              "-E", "UTF8", "--no-sync"), "initdb")
        options = f"-k {self.root} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=100"
        self._check(self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options,
                              "-w", "-t", "60", "start"), "pg_ctl start")
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}"

    def new_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        from sqlalchemy import create_engine, text

        name = f"gb_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        if self.started:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)
