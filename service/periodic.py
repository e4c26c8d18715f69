"""Helpers for the service's periodic background loops (health probe, timer oversight)."""

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
