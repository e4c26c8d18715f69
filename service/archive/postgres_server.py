"""The embedded PostgreSQL: the archive's default, from the ``pgserver`` wheel's binaries.

``EmbeddedPostgres`` runs ``postgres`` as a child process (like ``EmbeddedRedis``: the
supervisor sees it die and starts it again, ``stop`` shuts it down), on a cluster made by
``initdb`` on the first start in ``<directory>/data``. It listens on a Unix socket only, in a
directory only its owner may enter (no TCP port, so no password to keep: the directory's mode
is the access control); clients connect with ``url``. The wheel's own server handle
(``pgserver.get_server``) is not used: it runs the server through ``pg_ctl`` as a daemon that
is not our child, so a death could not be seen, and it keeps state in a shared runtime
directory.

PostgreSQL refuses to run as root. Run as root (a container, CI), the server runs as the
system user ``pgserver`` (the wheel's own choice, made with ``useradd`` if missing); its
directory is given to that user and the directories above it are made traversable (``o+x``,
nothing readable). PostgreSQL reaches its directory by absolute path (initdb and the server
both make it absolute), so a directory above that turns private again while it runs (pytest
resets ``/tmp/pytest-of-root`` to 0700 at each session's start) stops its next start: tests
keep their servers in a directory of their own under the system's temporary directory.

One server per directory: a lock file guards it while this process runs a server there, and
a server an earlier process left running (its ``postmaster.pid``) is stopped first.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from service.child_process import end_process, lock_directory

log = logging.getLogger("service.archive")

ROOT_USER = "pgserver"  # who runs the server when we are root (the wheel's choice too)
DATABASE = "postgres"
SOCKET_NAME = ".s.PGSQL.5432"
SOCKET_MAX = 100  # sun_path holds 108 bytes with its NUL; keep a margin
# Starting right after a crash can meet the dead server's children still holding shared
# memory for a moment: a few quick attempts absorb that.
START_ATTEMPTS = 5


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be started (its log says why)."""


def bin_dir() -> Path:
    """The wheel's ``pginstall/bin`` (found without importing pgserver, which warns when the
    machine has no XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the pgserver wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedPostgres:
    """One ``postgres`` child process with its files in ``directory`` (see the module
    docstring)."""

    def __init__(
        self, directory: Path, *, options: tuple[str, ...] = (), start_timeout_s: float = 60.0
    ) -> None:
        self.directory = directory.absolute()
        self.options = options
        self.start_timeout_s = start_timeout_s
        self._socket_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None
        self.user = ROOT_USER if os.geteuid() == 0 else None

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> EmbeddedPostgres:
        """The service's embedded archive: its files live in ``<data_dir>/postgres``."""
        return cls(data_dir / "postgres")

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the socket is: the directory itself, or (a path too long for a socket) a
        private directory of its own under the system's temporary directory."""
        if self._socket_dir is None:
            if len(str(self.directory / SOCKET_NAME)) <= SOCKET_MAX:
                self._socket_dir = self.directory
            else:
                self._socket_dir = Path(tempfile.mkdtemp(prefix="aftersale-pg-"))
        return self._socket_dir

    @property
    def url(self) -> str:
        """``postgresql://postgres@/postgres?host=<socket dir>``; valid once started."""
        return f"postgresql://postgres@/{DATABASE}?host={self.socket_dir}"

    @property
    def address(self) -> str:
        """The socket's path, for logs."""
        return str(self.socket_dir / SOCKET_NAME)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_status(self) -> int | None:
        """The exit status of a server that exited without ``stop`` (it died); None while it
        runs or once stopped."""
        return self._process.poll() if self._process is not None else None

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- start and stop --------------------------------------------------------------------

    def start(self) -> EmbeddedPostgres:
        """Make the cluster if there is none, start the server, wait until it accepts
        connections."""
        if self.running:
            raise EmbeddedPostgresError(f"postgres already running at {self.address}")
        self._prepare()
        self._lock()
        try:
            self._stop_orphan()
            for attempt in range(1, START_ATTEMPTS + 1):
                # Each attempt lets the server's user through again: a directory above may
                # have turned private meanwhile (see the module docstring).
                self._let_through()
                made = (self.data / "PG_VERSION").exists() or self._initdb()
                if made and self._spawn_and_wait():
                    break
                if attempt == START_ATTEMPTS:
                    raise EmbeddedPostgresError(f"postgres did not start:\n{self.log_tail()}")
                time.sleep(0.2 * attempt)
        except BaseException:
            self._unlock()
            raise
        atexit.register(self.stop)
        log.info("postgres pid %s at %s, files in %s", self.pid, self.address, self.directory)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown (SIGINT: sessions are ended, a checkpoint written) and wait; a no-op
        when stopped."""
        self._end(signal.SIGINT, timeout_s)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (its next start recovers from the WAL)."""
        self._end(signal.SIGKILL, 10.0)

    def _prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.chmod(0o700)
        if self.user is not None:
            _ensure_user(self.user)
            for path in {self.directory, self.socket_dir}:
                _give(path, self.user)

    def _let_through(self) -> None:
        if self.user is not None:
            _traversable(self.directory)
            _traversable(bin_dir())

    @property
    def _groups(self) -> list[str] | None:
        """With ``user``: the server keeps no group of ours (root's)."""
        return [] if self.user is not None else None

    def _initdb(self) -> bool:
        """Make the cluster; False if initdb failed (its log says why)."""
        if self.data.exists():
            shutil.rmtree(self.data)  # a cluster whose initdb never finished
        command = [str(bin_dir() / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth=trust", "--encoding=UTF8", "--no-locale",
                   "--no-instructions"]  # fmt: skip
        with self.log_path.open("ab") as log_file:
            done = subprocess.run(  # noqa: PLW1510 - checked below, with the log
                command, stdout=log_file, stderr=subprocess.STDOUT,
                user=self.user, group=self.user, extra_groups=self._groups,
            )  # fmt: skip
        return done.returncode == 0

    def command(self) -> list[str]:
        return [
            str(bin_dir() / "postgres"), "-D", str(self.data),
            "-c", "listen_addresses=", "-c", f"unix_socket_directories={self.socket_dir}",
            "-c", "unix_socket_permissions=0700", *self.options,
        ]  # fmt: skip

    def _spawn_and_wait(self) -> bool:
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us: we stop it after draining
                user=self.user,
                group=self.user,
                extra_groups=self._groups,
            )
        deadline = time.monotonic() + self.start_timeout_s
        while not self._ready():
            if self._process.poll() is not None:
                self._process = None
                return False
            if time.monotonic() > deadline:
                self._end(signal.SIGKILL, 10.0)
                raise EmbeddedPostgresError(
                    f"postgres did not start within {self.start_timeout_s:g}s:\n{self.log_tail()}"
                )
            time.sleep(0.02)
        return True

    def _ready(self) -> bool:
        """postmaster.pid says ``ready`` (its 8th line) for our process, and the socket is
        there."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return (
            len(lines) >= 8
            and self._process is not None
            and lines[0].strip() == str(self._process.pid)
            and lines[7].strip() == "ready"
            and (self.socket_dir / SOCKET_NAME).exists()
        )

    def _end(self, signum: signal.Signals, timeout_s: float) -> None:
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None:
            end_process(process, "postgres", signum, timeout_s)
        self._unlock()

    def _lock(self) -> None:
        self._lock_fd = lock_directory(self.directory, EmbeddedPostgresError)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _stop_orphan(self) -> None:
        """Stop a server an earlier process started here and left running."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except (OSError, ValueError, IndexError):
            return  # no pid file, or its process is gone
        if name != "postgres" or cwd != self.data.resolve():
            return  # the pid was reused by an unrelated process
        log.warning("stopping postgres pid %s left running in %s", pid, self.directory)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists():
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(f"postgres pid {pid} in {self.directory} won't stop")
            time.sleep(0.05)


def _ensure_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)


def _traversable(path: Path) -> None:
    """Every directory above ``path`` enterable by others (o+x), so the server's user reaches
    its files; nothing is made readable."""
    for parent in path.absolute().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _give(path: Path, user: str) -> None:
    """``path`` and everything in it to ``user`` (the server's files)."""
    entry = pwd.getpwnam(user)
    if path.stat().st_uid == entry.pw_uid:
        return  # given at an earlier start (only the server writes inside)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    os.chown(path, entry.pw_uid, entry.pw_gid)
