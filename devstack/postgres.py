"""A throwaway PostgreSQL cluster on this machine, for the tests and
`make bench-scale`: Debian's `postgresql` package, `initdb` and `pg_ctl` in a
temp dir on a free port, like NATS. Run as root, the server runs as the
`postgres` user (PostgreSQL refuses to run as root); its socket stays in its
own directory and it listens on 127.0.0.1 only."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import StartupError, free_port

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # newest version first
READY_TIMEOUT = 60.0  # seconds for `pg_ctl start -w` on a loaded machine
DATABASE = "chartsnap"


def pg_bin(tool: str) -> str:
    for directory in PG_BIN_DIRS:
        if (directory / tool).exists():
            return str(directory / tool)
    found = shutil.which(tool)
    if not found:
        raise StartupError(f"{tool} not found: install Debian's postgresql package (scripts/install-tools.sh does)")
    return found


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class ThrowawayPostgres:
    """One cluster in `root` (data, socket, log); `url` is SQLAlchemy's."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def url_of(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @classmethod
    def start(cls, parent: Path | None = None, settings: dict[str, str] | None = None) -> "ThrowawayPostgres":
        """initdb, start on a free port and make the `chartsnap` database.
        `settings` are server options (-c name=value), e.g. max_connections."""
        root = Path(tempfile.mkdtemp(prefix="chartsnap-pg-", dir=parent))
        os.chmod(root, 0o755)
        pg = cls(root, free_port())
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        pg._run([pg_bin("initdb"), "-D", str(pg.data), "-U", "postgres", "--auth=trust", "--no-sync",
                 "-E", "UTF8", "--locale=C.UTF-8"], "initdb")
        options = {"listen_addresses": "127.0.0.1", "unix_socket_directories": str(root), "fsync": "off",
                   "max_connections": "200", **(settings or {})}
        opts = " ".join(f"-c {k}={v}" for k, v in options.items())
        pg._run([pg_bin("pg_ctl"), "-D", str(pg.data), "-l", str(pg.log), "-w", "-t", str(int(READY_TIMEOUT)),
                 "-o", f"-p {pg.port} {opts}", "start"], "pg_ctl start")
        pg.create_database(DATABASE)
        return pg

    def create_database(self, name: str) -> str:
        """A new empty database in the cluster; returns its URL."""
        self._run([pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
                  f"createdb {name}")
        return self.url_of(name)

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(_as_server_user([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=READY_TIMEOUT)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, cmd: list[str], what: str) -> None:
        done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=READY_TIMEOUT + 30,
                              cwd=self.root)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise StartupError(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}"
                               + (f"\n{log}" if log else ""))

    def __enter__(self) -> "ThrowawayPostgres":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
