"""A throw-away PostgreSQL cluster of its own (initdb in a temp dir, a port from the rig allocator).

For fault tests and benchmarks that stop and start the database: the machine's shared PostgreSQL at
127.0.0.1:5432 is used by other engineers' runs and must never be restarted. The cluster runs as the `postgres`
user when we are root (initdb and postgres refuse to run as root), listens on 127.0.0.1 only, trusts local
connections, and is removed by `destroy()`. Nothing is downloaded: the binaries are Debian's
(/usr/lib/postgresql/<version>/bin).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.rig.local_ports import free_port

PG_ROOT = Path("/usr/lib/postgresql")


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory, or None."""
    versions = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "pg_ctl").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PgCluster:
    """One private cluster: `start()`, `stop()`, `pid()`, `destroy()`; `url(db)` for SQLAlchemy/asyncpg."""

    root: Path
    port: int
    bin: Path
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "postgres.log"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            _as_owner([str(self.bin / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{self._log_tail()}")
        return done.stdout

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            timeout=120,
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            # fsync off: a test cluster, thrown away after; a fast stop/start is what the fault test needs.
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = "
                f"'{self.root}'\nfsync = off\nmax_connections = 200\nshared_buffers = 32MB\n"
            )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: disconnect clients, roll back their transactions; `immediate`: abort)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-XAtqc", sql
        )

    def destroy(self) -> None:
        """Stop (if running) and remove the cluster's files. Safe to call twice."""
        if self.running():
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pid = self.pid()
                if pid:
                    os.kill(pid, 9)
                    time.sleep(0.5)
        shutil.rmtree(self.root, ignore_errors=True)


def create_cluster() -> PgCluster:
    """A new cluster, initialised and started. Raises RuntimeError when PostgreSQL is not installed."""
    binary = pg_bin()
    if binary is None:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PgCluster(root, free_port(), binary)
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        cluster.destroy()
        raise
    return cluster
