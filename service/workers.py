"""The worker side of ``serve --workers N``: the command-line options, how many processes to
run, and what a worker knows of its supervisor (``service.supervisor`` runs the workers).

A worker is ``python -m service serve --worker-index I --ready-fd FD``: it shares the listen
port (SO_REUSEPORT), writes ``READY`` to FD once it serves, and stops (draining, as on
SIGTERM) when its supervisor is gone. Worker ``I`` gives any per-process listener the base
port + ``I`` (``offset_port``): that is how metrics stay one endpoint per process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field, replace

from service.config import Settings
from service.options import OPTIONS

log = logging.getLogger(__name__)

READY = b"ready\n"


def offset_port(address: str, index: int) -> str:
    """``host:port`` with ``index`` added to the port (port 0, any free port, stays 0): the
    address worker ``index`` uses for a per-process listener such as metrics."""
    host, _, port = address.rpartition(":")
    return address if int(port) == 0 else f"{host}:{int(port) + index}"


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    """``serve --workers N|auto``, and the two options the supervisor gives its workers."""
    serve.add_argument(
        "--workers",
        default=None,
        metavar="N|auto",
        help="processes sharing the listen address (default AFTERSALE_WORKERS, 1; "
        "auto: one per CPU)",
    )
    serve.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)


def serve_workers(args: argparse.Namespace, settings: Settings) -> int:
    """How many processes ``serve`` runs: ``--workers``, else ``AFTERSALE_WORKERS``."""
    if args.workers is None:
        return settings.workers
    option = next(option for option in OPTIONS if option.field == "workers")
    value = option.parse_from("--workers", args.workers)
    assert isinstance(value, int)
    return value


@dataclass
class WorkerLink:
    """What a worker knows of its supervisor: its index, where to say it serves, and the
    supervisor's pid (a worker whose supervisor is gone stops)."""

    index: int
    ready_fd: int | None
    supervisor_pid: int = field(default_factory=os.getppid)
    _watch: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, args: argparse.Namespace) -> WorkerLink | None:
        """The link when this process is a supervisor's worker (``--worker-index``)."""
        if args.worker_index is None:
            return None
        return cls(args.worker_index, args.ready_fd)

    def settings(self, settings: Settings) -> Settings:
        """This worker's settings: the shared port (the supervisor sets the listen address and
        the Redis URL in the environment), and its own metrics port (the base port + index;
        port 0 stays "any free port", metrics off stays off)."""
        metrics = settings.metrics_listen
        if metrics:
            metrics = offset_port(metrics, self.index)
        return replace(settings, reuse_port=True, metrics_listen=metrics)

    def started(self, stop: asyncio.Event) -> None:
        """Tell the supervisor this worker serves, and set ``stop`` if the supervisor dies."""
        if self.ready_fd is not None:
            with contextlib.suppress(OSError):  # a supervisor already gone: the watch stops us
                os.write(self.ready_fd, READY)
            os.close(self.ready_fd)
            self.ready_fd = None
        self._watch = asyncio.create_task(self._stop_when_orphaned(stop), name="supervisor")

    async def _stop_when_orphaned(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if os.getppid() != self.supervisor_pid:
                log.warning("supervisor pid %s is gone; stopping", self.supervisor_pid)
                stop.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
