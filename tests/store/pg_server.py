"""A throw-away PostgreSQL server for the store tests: initdb + pg_ctl in a temporary directory.

The server listens on a free 127.0.0.1 port with its socket in the same directory and trusts local
connections (it is reachable only from this machine and lives for one test session).  initdb refuses
to run as root, so as root the server runs as the ``postgres`` user (``runuser``).  ``fsync=off``:
the tests kill clients and stop the database server cleanly (``halt``), never the OS, so durability across
an OS crash is not at stake.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg


def find_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (``SHAPSERVE_TEST_PG_BIN`` overrides)."""
    if os.environ.get("SHAPSERVE_TEST_PG_BIN"):
        return Path(os.environ["SHAPSERVE_TEST_PG_BIN"])
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
            "`make test` installs them (apt-get install postgresql)"
        )
    return Path(max(found, key=lambda p: int(Path(p).parts[-3]))).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin = bin_dir or find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="shapserve-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {proc.stderr.strip()}\n{tail}")

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.resume()
        return self

    def halt(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected, committed data kept); ``resume``
        starts it again on the same port with the same data: a database restart, or an outage."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"), "-w", "start"
        )

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as c:
            c.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL (a third of a second and 6 MB each)."""
        name = "t_" + uuid.uuid4().hex[:12]
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def new_schema(self) -> str:
        """A fresh, empty schema that the URL's connections use (``search_path``); instant, so most
        tests get one of these instead of a database of their own."""
        name = "t_" + uuid.uuid4().hex[:12]
        self._admin(f'CREATE SCHEMA "{name}"')
        return self.url() + f"?options=-csearch_path%3D{name}"


def tagged(url: str) -> tuple[str, str]:
    """``url`` with a unique ``application_name`` for PostgreSQL (so that the test can tell when that
    client's server sessions have ended); SQLite URLs are returned as they are."""
    name = "shapserve-test-" + uuid.uuid4().hex[:8]
    if not url.startswith("postgresql"):
        return url, name
    return url + ("&" if "?" in url else "?") + f"application_name={name}", name


def settled(url: str, name: str, timeout: float = 60) -> None:
    """Wait until the PostgreSQL sessions of the client tagged ``name`` have ended.

    A client killed after it sent COMMIT (or while the server still reads its statements) leaves a
    session that finishes on its own: the commit lands whole, or the server rolls back at the
    connection's end.  Checking the store before then would race with it.
    """
    if not url.startswith("postgresql"):
        return
    import time

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        deadline = time.monotonic() + timeout
        with engine.connect() as conn:
            while True:
                left = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"), {"n": name}
                ).scalar()
                conn.rollback()
                if not left:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{left} sessions of the killed client still open after {timeout} s")
                time.sleep(0.05)
    finally:
        engine.dispose()
