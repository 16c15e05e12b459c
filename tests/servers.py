"""Database servers the tests start themselves: a real PostgreSQL.

:class:`PostgresServer` runs ``initdb`` in a temporary directory and starts
the server listening only on 127.0.0.1, on a free port, its unix socket in
that directory; :meth:`PostgresServer.stop` stops it and removes the
directory. PostgreSQL refuses to run as root: as root, the server runs as the
``postgres`` system user, who owns the directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class ServerUnavailable(Exception):
    """The server cannot be started here (not installed, or it failed to start)."""


def _bindir() -> Path:
    """The directory holding initdb and pg_ctl."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                   check=True, timeout=30).stdout.strip()
            candidates.append(Path(found))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                         reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise ServerUnavailable("PostgreSQL is not installed (no initdb and pg_ctl found: "
                            "apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A PostgreSQL server of the tests' own, with one database ``segdsl``.

    Raises:
        ServerUnavailable: PostgreSQL is not installed or does not start.
    """

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="segdsl-postgres-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                self._remove()
                raise ServerUnavailable("running as root and there is no 'postgres' user to "
                                        "run PostgreSQL as") from None
            self.user = "postgres"
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        try:
            self._command("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
            options = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -F "
                       "-c shared_buffers=32MB -c max_connections=20")
            self._command("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"),
                          "-o", options, "-w", "-t", "60", "start")
            self._started = True
            self._command("createdb", "-h", "127.0.0.1", "-p", str(self.port),
                          "-U", "postgres", "segdsl")
        except ServerUnavailable:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """The URL of the database ``segdsl``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/segdsl"

    def _command(self, name: str, *args: str) -> None:
        program = str(self.bindir / name)
        command = [program, *args]
        if self.user is not None:
            runner = shutil.which("runuser") or shutil.which("su")
            if runner is None:
                raise ServerUnavailable("running as root without runuser or su")
            command = ([runner, "-u", self.user, "--", *command] if runner.endswith("runuser")
                       else [runner, self.user, "-c", shlex.join(command)])
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                    cwd=self.root, check=False)
        except (OSError, subprocess.SubprocessError) as error:
            raise ServerUnavailable(f"{name} failed: {error}") from None
        if result.returncode != 0:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ServerUnavailable(f"{name} failed: {(result.stderr or result.stdout)[-2000:]}"
                                    f"{tail}")

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if getattr(self, "_started", False):
            self._started = False
            try:
                self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except ServerUnavailable:
                pass
        self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
