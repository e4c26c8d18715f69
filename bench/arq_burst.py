"""The peer anchor for the timer burst: arq on the same Redis, run in arq's own venv.

arq pins ``redis<6``, so it cannot share the service's venv; ``bench.peer_arq`` makes a venv
for it and runs this file there with one of two modes:

* ``enqueue URL N``: N jobs deferred to the same instant (1 s from now), through arq's public
  ``enqueue_job`` (one WATCH/MULTI transaction each, 64 in flight);
* ``work URL N [MAX_S]``: one worker process (``burst=True``: it exits once the queue is empty) runs
  them; each job does one Redis write. Prints one JSON line: fires, seconds, fires/s.

Worker settings are arq's defaults except ``max_jobs=32`` (the service's timer-worker
concurrency) and ``poll_delay=0.05`` s; results are kept (arq's default, one more write per job).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sys
import time
from typing import Any

from arq import create_pool  # type: ignore[import-not-found,unused-ignore]
from arq.connections import RedisSettings  # type: ignore[import-not-found,unused-ignore]
from arq.worker import Worker  # type: ignore[import-not-found,unused-ignore]

CONCURRENCY = 32
IN_FLIGHT = 64


async def write_one(ctx: dict[str, Any], index: int) -> None:
    """The trivial job: one Redis write."""
    await ctx["redis"].set(f"bench:arq:done:{index}", "1")


async def enqueue(url: str, count: int) -> None:
    pool = await create_pool(RedisSettings.from_dsn(url))
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(index: int) -> None:
        async with gate:
            await pool.enqueue_job("write_one", index, _job_id=f"j{index}", _defer_until=due)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    queued = await pool.zcard("arq:queue")
    await pool.aclose()
    wait = (due - dt.datetime.now(dt.UTC)).total_seconds()
    if wait > 0:
        await asyncio.sleep(wait)
    print(json.dumps({"enqueued": queued, "enqueue_s": round(time.perf_counter() - started, 2)}))


async def work(url: str, count: int, max_s: float) -> None:
    worker = Worker(
        functions=[write_one],
        redis_settings=RedisSettings.from_dsn(url),
        burst=True,
        max_jobs=CONCURRENCY,
        poll_delay=0.05,
        handle_signals=False,
        log_results=False,
    )
    started = time.perf_counter()
    with contextlib.suppress(TimeoutError):  # the rate counts what ran within the budget
        await asyncio.wait_for(worker.main(), timeout=max_s)
    elapsed = time.perf_counter() - started
    pool = worker.pool
    done = 0
    async for _ in pool.scan_iter(match="bench:arq:done:*", count=10_000):
        done += 1
    await worker.close()
    print(
        json.dumps(
            {
                "fires": done,
                "expected": count,
                "drained_within_budget": done >= count,
                "complete": worker.jobs_complete,
                "failed": worker.jobs_failed,
                "seconds": round(elapsed, 3),
                "fires_per_s": round(done / elapsed, 1),
                "max_jobs": CONCURRENCY,
            }
        )
    )


def main() -> None:
    mode, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    max_s = float(sys.argv[4]) if len(sys.argv) > 4 else 600.0
    asyncio.run(enqueue(url, count) if mode == "enqueue" else work(url, count, max_s))


if __name__ == "__main__":
    main()
