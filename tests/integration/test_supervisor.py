"""The supervisor's rules with stand-in workers (small Python programs, real processes):
restarts with a doubling backoff, no restart after a configuration error, and a worker that
does not drain in time is killed. (tests/e2e/test_workers.py runs it with real workers.)"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from service.config import Settings
from service.supervisor import Supervisor

# argv: the ready fd, then what to do once ready.
WORKER = textwrap.dedent(
    """
    import os, signal, sys, time
    fd, then = int(sys.argv[1]), sys.argv[2]
    # Handlers before "ready": a stop the supervisor sends right after it must find them.
    if then == "ignore-sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if then == "drain":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.write(fd, b"ready\\n")
    os.close(fd)
    if then.startswith("exit-"):
        sys.exit(int(then[5:]))
    time.sleep(60)
    """
)


class StandInSupervisor(Supervisor):
    def __init__(self, settings: Settings, workers: int, then: str) -> None:
        super().__init__(settings, workers)
        self.then = then

    def _command(self, index: int, ready_fd: int) -> list[str]:
        return [sys.executable, "-c", WORKER, str(ready_fd), self.then]


def settings_in(
    tmp_path: Path, *, stop_timeout_s: float = 30, backoff_max_s: float = 30
) -> Settings:
    # A REDIS_URL: the supervisor starts no embedded server (nothing here connects to it).
    return Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path,
        redis_url="redis://127.0.0.1:1",
        worker_stop_timeout_s=stop_timeout_s,
        worker_restart_backoff_max_s=backoff_max_s,
    )


async def until(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_worker_that_keeps_dying_is_restarted_with_a_doubling_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.supervisor")
    settings = settings_in(tmp_path, backoff_max_s=1.0)
    supervisor = StandInSupervisor(settings, 1, then="exit-1")
    running = asyncio.create_task(supervisor.run())

    await until(lambda: caplog.text.count("restarting in") >= 4)
    supervisor.stop()
    status = await asyncio.wait_for(running, timeout=30)

    delays = [line.rpartition(" ")[2] for line in caplog.messages if "restarting in" in line]
    assert delays[:4] == ["0.5s", "1.0s", "1.0s", "1.0s"]
    assert caplog.text.count("worker started index=0") >= 4
    assert status == 0


async def test_a_configuration_error_in_a_worker_stops_everything_with_status_2(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.supervisor")
    supervisor = StandInSupervisor(settings_in(tmp_path), 2, then="exit-2")

    status = await asyncio.wait_for(supervisor.run(), timeout=30)

    assert status == 2
    assert "restarting" not in caplog.text


async def test_workers_that_drain_stop_with_status_0(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.supervisor")
    supervisor = StandInSupervisor(settings_in(tmp_path), 2, then="drain")
    running = asyncio.create_task(supervisor.run())
    await until(lambda: caplog.text.count("worker ready") == 2)

    supervisor.stop()
    status = await asyncio.wait_for(running, timeout=30)

    assert status == 0
    assert len(re.findall(r"worker stopped index=\d pid=\d+ status=0", caplog.text)) == 2


async def test_a_worker_that_does_not_drain_in_time_is_killed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.supervisor")
    settings = settings_in(tmp_path, stop_timeout_s=0.5)
    supervisor = StandInSupervisor(settings, 1, then="ignore-sigterm")
    running = asyncio.create_task(supervisor.run())
    await until(lambda: "worker ready" in caplog.text)

    supervisor.stop()
    status = await asyncio.wait_for(running, timeout=30)

    assert "did not stop within 0.5s; killing it" in caplog.text
    assert "status=-9" in caplog.text
    assert status == 1
