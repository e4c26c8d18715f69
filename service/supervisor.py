"""``serve --workers N``: N service processes on one port, under one supervisor.

The supervisor does what must happen once, then runs the workers:

- it starts the embedded redis-server when no ``REDIS_URL`` is set (never one per worker:
  they would share a data directory) and hands every worker its URL; so too the embedded
  PostgreSQL (the archive) when no ``AFTERSALE_ARCHIVE_URL`` is set either;
- it writes the development tokens file if it is missing, before any worker reads it;
- it binds the listen address with SO_REUSEPORT and keeps that socket, without listening on
  it, for its whole life: port 0 becomes one concrete port every worker shares, an address
  that cannot be bound fails before any worker starts, and no other program can take the
  port while a worker restarts;
- each worker is ``python -m service serve --worker-index I --ready-fd FD`` with
  ``AFTERSALE_REUSE_PORT=1``; the kernel spreads new connections over the workers. A worker
  writes to FD once it serves; one that exits is started again after a backoff (doubling from
  ``FIRST_BACKOFF_S`` up to ``AFTERSALE_WORKER_RESTART_BACKOFF_MAX_S``, back to the start
  after a worker lived ``STABLE_S``), except for exit status 2 (bad configuration: no
  restart will fix it), which stops everything;
- SIGTERM or SIGINT: every worker gets SIGTERM and drains on its own (``App.stop``), the
  supervisor waits ``AFTERSALE_WORKER_STOP_TIMEOUT_S``, kills what is left, stops the
  embedded Redis, and exits 0 when every worker stopped by itself (1 otherwise).

A worker whose supervisor dies (SIGKILL) notices within a second and drains (the worker side,
``WorkerLink``, is in ``service.workers``). Worker ``I`` serves metrics on the metrics port + ``I``
(``offset_port``; README "Running on many cores").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
from typing import Any

from service.config import Settings
from service.workers import READY

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
STABLE_S = 30.0  # a worker that lived this long starts again at FIRST_BACKOFF_S
EXIT_BAD_CONFIG = 2  # `python -m service` exits 2 on a configuration error


def reserve(address: str) -> socket.socket:
    """A socket bound to ``address`` with SO_REUSEPORT, not listening: it holds the port for
    the workers (connections only go to listening sockets)."""
    host, _, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    family, kind, proto, _, sockaddr = socket.getaddrinfo(
        host or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    reservation = socket.socket(family, kind, proto)
    try:
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reservation.bind(sockaddr)
    except OSError as exc:
        reservation.close()
        raise OSError(f"cannot listen on {address}: {exc.strerror or exc}") from exc
    return reservation


def bound_address(address: str, reservation: socket.socket) -> str:
    """``address`` with the port the reservation holds (port 0 resolved)."""
    host = address.rpartition(":")[0]
    return f"{host}:{reservation.getsockname()[1]}"


class Supervisor:
    """Runs ``workers`` service processes until SIGTERM/SIGINT; see the module docstring."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self.address = settings.listen
        self.redis_url = settings.redis_url
        self._stopping = asyncio.Event()
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._ready: set[int] = set()
        self._status = 0
        self._embedded: Any = None  # EmbeddedRedis when we started one
        self.archive_url = settings.archive_url
        self._archive: Any = None  # EmbeddedPostgres when we started one

    async def run(self) -> int:
        """Start everything, run until a signal (or a bad configuration), stop everything;
        the exit status."""
        loop = asyncio.get_running_loop()
        reservation = reserve(self.address)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop, signal.Signals(signum).name)
        try:
            self.address = bound_address(self.address, reservation)
            await self._prepare()
            slots = [asyncio.create_task(self._keep_running(i)) for i in range(self.workers)]
            await self._stopping.wait()
            await self._stop_workers(slots)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            if self._embedded is not None:
                await asyncio.to_thread(self._embedded.stop)
            if self._archive is not None:
                await asyncio.to_thread(self._archive.stop)
            reservation.close()
        log.info("supervisor stopped status=%s", self._status)
        return self._status

    def stop(self, why: str = "request") -> None:
        """Begin the stop: every worker drains, then ``run`` returns."""
        if not self._stopping.is_set():
            log.info("stopping %s workers on %s", self.workers, why)
        self._stopping.set()

    async def _prepare(self) -> None:
        from service.archive.startup import start_embedded_postgres  # noqa: PLC0415
        from service.parts import load_tokens, start_embedded_redis  # noqa: PLC0415

        load_tokens(self.settings)  # writes the development file once, before any worker
        if self.settings.archive_mode == "embedded":
            self._archive = await start_embedded_postgres(self.settings.data_dir)
            self.archive_url = self._archive.url
        if self.redis_url is None:
            self._embedded = await start_embedded_redis(self.settings)
            self.redis_url = self._embedded.url

    def _command(self, index: int, ready_fd: int) -> list[str]:
        return [
            sys.executable, "-m", "service", "serve",
            "--worker-index", str(index), "--ready-fd", str(ready_fd),
        ]  # fmt: skip

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["AFTERSALE_LISTEN"] = self.address
        env["AFTERSALE_REUSE_PORT"] = "1"
        if self.redis_url is not None:
            env["REDIS_URL"] = self.redis_url
        if self.archive_url is not None:
            env["AFTERSALE_ARCHIVE_URL"] = self.archive_url
        return env

    async def _spawn(self, index: int) -> tuple[asyncio.subprocess.Process, asyncio.Task[bool]]:
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command(index, write_fd),
                env=self._environment(),
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        log.info("worker started index=%s pid=%s", index, process.pid)
        return process, asyncio.create_task(_read_ready(read_fd))

    async def _keep_running(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        quick_deaths = 0
        while not self._stopping.is_set():
            process, ready = await self._spawn(index)
            self._processes[index] = process
            if self._stopping.is_set():  # the stop began while it was starting
                process.send_signal(signal.SIGTERM)
            started = loop.time()
            ready.add_done_callback(functools.partial(self._on_ready, index, process.pid))
            status = await process.wait()
            ready.cancel()
            if self._stopping.is_set():
                self._on_stopped(index, process.pid, status)
                return
            lived = loop.time() - started
            if status == EXIT_BAD_CONFIG:
                log.critical("worker exited index=%s pid=%s status=2 (configuration)", index,
                             process.pid)  # fmt: skip
                self._status = EXIT_BAD_CONFIG
                self._stopping.set()
                return
            quick_deaths = 0 if lived >= STABLE_S else quick_deaths + 1
            delay = min(
                self.settings.worker_restart_backoff_max_s,
                FIRST_BACKOFF_S * 2 ** max(0, quick_deaths - 1),
            )
            log.warning(
                "worker exited index=%s pid=%s status=%s after=%.1fs; restarting in %.1fs",
                index, process.pid, status, lived, delay,
            )  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    def _on_ready(self, index: int, pid: int, ready: asyncio.Task[bool]) -> None:
        if ready.cancelled() or ready.exception() is not None or not ready.result():
            return
        log.info("worker ready index=%s pid=%s", index, pid)
        if index not in self._ready:
            self._ready.add(index)
            if len(self._ready) == self.workers:
                print(f"aftersale listening on {self.address} ({self.workers} workers)",
                      flush=True)  # fmt: skip

    def _on_stopped(self, index: int, pid: int, status: int) -> None:
        log.info("worker stopped index=%s pid=%s status=%s", index, pid, status)
        # -SIGTERM: the signal came before the worker took over SIGTERM (it was still
        # importing), so it had nothing to drain.
        if status not in (0, -signal.SIGTERM) and self._status == 0:
            self._status = 1

    async def _stop_workers(self, slots: list[asyncio.Task[None]]) -> None:
        for process in self._processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        timeout = self.settings.worker_stop_timeout_s
        _, late = await asyncio.wait(slots, timeout=timeout)
        for index, process in self._processes.items():
            if process.returncode is None:
                log.error("worker index=%s pid=%s did not stop within %gs; killing it",
                          index, process.pid, timeout)  # fmt: skip
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        if late:
            await asyncio.wait(late)


async def _read_ready(read_fd: int) -> bool:
    """Whether the worker wrote READY before closing its end (False: it exited first)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(read_fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        return (await reader.read(len(READY))) == READY
    finally:
        transport.close()


def supervise(settings: Settings, workers: int) -> int:
    """Run ``workers`` service processes under a supervisor; the exit status."""
    return asyncio.run(Supervisor(settings, workers).run())
