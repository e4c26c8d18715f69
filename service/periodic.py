"""Helpers for the service's periodic background loops (health probe, timer oversight), and
the loop the stream trimming, the retention sweep and the timer oversight share
(``PeriodicLoop``: its task, start and stop; the oversight runs its own period)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


async def pause(stopped: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stopped`` is set: a periodic loop ends on its flag, not
    only on a cancel (a library that swallows a cancellation mid-call would leave the task
    "cancelling" in its next sleep, and its stop waiting for ever)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopped.wait(), timeout=max(0.0, seconds))


async def end_task(task: asyncio.Task[None] | None, stopped: asyncio.Event) -> None:
    """Ask ``task`` to end (its flag, then a cancel) and wait for it, a few seconds at most."""
    stopped.set()
    if task is None:
        return
    done, _ = await asyncio.wait({task}, timeout=1.0)
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=5.0)
    if task.done() and not task.cancelled() and task.exception() is not None:
        log.warning("%s ended with %r", task.get_name(), task.exception())


class PeriodicLoop:
    """A background task that runs ``_round`` every ``interval_s`` until ``stop``: a round
    that fails is logged and tried again next period (Redis down or refusing: readiness says
    so). Subclasses name the task (``task_name``) and the work (``what``, for the log)."""

    task_name = "periodic"
    what = "periodic work"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        await end_task(self._task, self._stopped)

    async def _round(self) -> object:
        raise NotImplementedError

    async def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                await self._round()
            except Exception as exc:
                log.warning("%s failed, retried next period: %s", self.what, exc)
            await pause(self._stopped, self.interval_s)
