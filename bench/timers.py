"""Section 3: durable timers, each firing a real transition through the handlers.

The worker is the service's ``TimerWorker`` with the real handlers and ``RedisRepository``
(from the composition root), in this one process. Requests are created in
``MERCHANT_PROCESSING`` by committing cloned apply decisions through the repository; their
merchant timer fires ``merchant_timeout`` (the platform auto-agrees: a real transition to
``PLATFORM_REFUNDING``, with its event, history entry and refund request).

(a) burst: ``N`` timers due at one instant; a fake clock past it; time the drain.
(b) steady: timers due at a constant rate (half the burst capacity) for ``steady_s``; the
    worker runs on an offset clock at wall speed; lateness = commit time (the stream entry id,
    Redis's clock) − due time.
(c) ballast: commit latency with 1M foreign members in the shard timer zsets vs. without,
    alternated, same commands.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aftersale.clock import FakeClock
from aftersale.policy import HOUR_MS
from aftersale.vocabulary import Action, AfterSaleType
from bench import redis_servers
from bench.inprocess import run_flows
from bench.machine import cpu_seconds, machine_busy_seconds
from bench.product import OffsetClock, Parts, Template, build_parts, create_open_requests, run_async
from bench.stats import Spread, latency_summary, percentile
from service.storage.decoding import event_from_fields

T0 = 1_790_000_000_000  # virtual creation time of the burst requests
MERCHANT_HANDLING_MS = 48 * HOUR_MS


@dataclass(frozen=True, slots=True)
class TimerPlan:
    burst: int = 100_000
    burst_max_s: float = 90.0  # stop draining after this; the rate is measured either way
    steady_s: float = 60.0
    steady_max_rate: float = 20_000.0
    ballast: int = 1_000_000
    ballast_commits: int = 600  # per round and state
    ballast_rounds: int = 6

    @classmethod
    def quick(cls) -> TimerPlan:
        return cls(
            burst=5_000, steady_s=8.0, ballast=100_000, ballast_commits=200, ballast_rounds=3
        )


class CpuMeter:
    """CPU used by this process (the worker), Redis and everything else, from a start."""

    def __init__(self, redis_pid: int) -> None:
        self.redis_pid = redis_pid
        self.start = self._now()

    def _now(self) -> tuple[float, float, float]:
        return time.process_time(), cpu_seconds(self.redis_pid), machine_busy_seconds()

    def cores(self, elapsed: float) -> dict[str, float]:
        worker, redis, busy = (b - a for a, b in zip(self.start, self._now(), strict=True))
        return {
            "worker": round(worker / elapsed, 2),
            "redis": round(redis / elapsed, 2),
            "other": round((busy - worker - redis) / elapsed, 2),
        }


async def _drain(parts: Parts, expected: int, timeout_s: float) -> tuple[float, int, int]:
    """Run the worker until ``expected`` timers were handled or ``timeout_s`` passed;
    (seconds, fired, dropped) at that moment (a round still running afterwards is not
    counted)."""
    worker = parts.timer_worker
    fired0, dropped0 = worker.fired, worker.dropped
    task = asyncio.create_task(worker.run())
    started = time.perf_counter()
    try:
        while worker.fired + worker.dropped - fired0 - dropped0 < expected:
            if task.done():
                task.result()
                raise RuntimeError("the timer worker stopped early")
            if time.perf_counter() - started > timeout_s:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        fired, dropped = worker.fired - fired0, worker.dropped - dropped0
    finally:
        worker.stop()
        await task
    return elapsed, fired, dropped


async def _pending_timers(parts: Parts) -> int:
    pipe = parts.client.pipeline(transaction=False)
    for shard in parts.keys.all_shards():
        pipe.zcard(parts.keys.timers(shard))
        pipe.zcard(parts.keys.leased(shard))
    return sum(int(x) for x in await pipe.execute())


async def burst(redis_url: str, redis_pid: int, plan: TimerPlan, log: Any) -> dict[str, Any]:
    clock = FakeClock(T0)
    async with build_parts(redis_url, clock) as parts:
        await parts.client.flushall()
        template = Template.make(parts.keys, parts.policy, T0, AfterSaleType.REFUND)
        due = T0 + MERCHANT_HANDLING_MS
        _, create_rate = await create_open_requests(
            parts.repository, template, plan.burst, "tb", lambda i: due
        )
        log(f"  created {plan.burst} open requests at {create_rate:.0f} commits/s (repository)")
        clock.set(due + 1_000)
        meter = CpuMeter(redis_pid)
        elapsed, fired, dropped = await _drain(parts, plan.burst, timeout_s=plan.burst_max_s)
        cpu = meter.cores(elapsed)
    rate = fired / elapsed
    log(f"  burst: {fired} fired in {elapsed:.1f} s = {rate:.0f}/s ({dropped} dropped)")
    return {
        "timers": plan.burst,
        "fired": fired,
        "dropped": dropped,
        "drained_within_budget": fired + dropped >= plan.burst,
        "seconds": round(elapsed, 2),
        "timer_fire_per_s": round(rate, 1),
        "repository_create_commits_per_s": round(create_rate, 1),
        "cpu_cores_used": cpu,
    }


async def _commit_times_ms(parts: Parts, since_ids: dict[int, str]) -> dict[str, int]:
    """request id → commit ms (stream id) of its ``merchant_timeout`` event."""
    out: dict[str, int] = {}
    for shard in parts.keys.all_shards():
        key = parts.keys.events(shard)
        start = since_ids.get(shard, "-")
        while True:
            rows = await parts.client.xrange(key, min=start, max="+", count=5_000)
            if not rows:
                break
            for entry_id, fields in rows:
                event = event_from_fields(fields)
                if event.action is Action.MERCHANT_TIMEOUT:
                    out[event.request_id] = int(str(entry_id).split("-")[0])
            start = "(" + str(rows[-1][0])
    return out


async def steady(
    redis_url: str, redis_pid: int, plan: TimerPlan, rate: float, log: Any
) -> dict[str, Any]:
    count = int(rate * plan.steady_s)
    interval_ms = 1000.0 / rate
    clock = OffsetClock()
    clock.start_at(T0)
    async with build_parts(redis_url, clock) as parts:
        await parts.client.flushall()
        template = Template.make(parts.keys, parts.policy, T0, AfterSaleType.REFUND)
        start_due = T0 + MERCHANT_HANDLING_MS
        dues = [start_due + int(i * interval_ms) for i in range(count)]
        ids, _ = await create_open_requests(
            parts.repository, template, count, "ts", lambda i: dues[i]
        )
        due_of = dict(zip(ids, dues, strict=True))
        clock.start_at(start_due - 1_000)  # the first timer comes due 1 s after the start
        meter = CpuMeter(redis_pid)
        elapsed, fired, dropped = await _drain(parts, count, timeout_s=plan.steady_s + 60)
        cpu = meter.cores(elapsed)
        committed = await _commit_times_ms(parts, {})
    late_by_due = sorted(
        (due_of[rid], (ms - clock.offset_ms) - due_of[rid])
        for rid, ms in committed.items()
        if rid in due_of
    )
    lateness = [late for _, late in late_by_due]
    by_second: dict[int, list[int]] = {}
    for due, late in late_by_due:
        by_second.setdefault((due - start_due) // 1000, []).append(late)
    summary = {
        "p50_ms": round(percentile(lateness, 50), 1),
        "p90_ms": round(percentile(lateness, 90), 1),
        "p99_ms": round(percentile(lateness, 99), 1),
        "max_ms": max(lateness) if lateness else None,
    }
    log(
        f"  steady {rate:.0f}/s for {plan.steady_s:.0f} s: {fired} fired, lateness "
        f"p50 {summary['p50_ms']} ms p99 {summary['p99_ms']} ms"
    )
    return {
        "rate_per_s": round(rate, 1),
        "seconds": plan.steady_s,
        "timers": count,
        "fired": fired,
        "dropped": dropped,
        "measured": len(lateness),
        "lateness_ms": summary,
        "lateness_p99_ms_by_second": [
            round(percentile(v, 99)) for _, v in sorted(by_second.items())
        ],
        "cpu_cores_used": cpu,
    }


class _TimedCommits:
    """Wraps the repository's ``commit`` and records how long each took."""

    def __init__(self, parts: Parts) -> None:
        self.samples: list[float] = []
        repo = parts.repository
        original = repo.commit

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.samples.append(time.perf_counter() - started)

        # The handlers hold this repository: wrapping its method times exactly their commits.
        repo.commit = timed  # type: ignore[method-assign]


async def _ballast_on(parts: Parts, members: int) -> None:
    """``members`` foreign timers, spread over the shard zsets, due in 30 days."""
    keys = parts.keys
    per_shard = members // keys.shards
    due = time.time_ns() // 1_000_000 + 30 * 24 * HOUR_MS
    for shard in keys.all_shards():
        key = keys.timers(shard)
        for first in range(0, per_shard, 5_000):
            mapping = {
                f"AS{shard:02d}-BALLAST{first + i:09d}|1|merchant_timeout": due + first + i
                for i in range(min(5_000, per_shard - first))
            }
            await parts.client.zadd(key, mapping)


async def ballast(redis_url: str, plan: TimerPlan, log: Any) -> dict[str, Any]:
    """Commit latency with and without ``plan.ballast`` pending timers, alternated."""
    async with build_parts(redis_url, OffsetClock()) as parts:
        await parts.client.flushall()
        await run_flows(parts, 200, "warm")  # scripts loaded, pools warm
        before = redis_servers.used_memory(redis_url)
        await _ballast_on(parts, plan.ballast)
        ballast_bytes = redis_servers.used_memory(redis_url) - before
        parking = {s: f"{parts.keys.timers(s)}:parked" for s in parts.keys.all_shards()}
        timed = _TimedCommits(parts)
        rounds: dict[str, list[float]] = {"empty": [], "ballast": []}
        p99s: dict[str, list[float]] = {"empty": [], "ballast": []}
        for index in range(plan.ballast_rounds):
            for state in ("ballast", "empty"):
                await _swap(parts, parking, to_parking=state == "empty")
                timed.samples.clear()
                await run_flows(parts, plan.ballast_commits, f"bl{index}{state[0]}")
                rounds[state].append(statistics.median(timed.samples) * 1000)
                p99s[state].append(percentile(timed.samples, 99) * 1000)
                await _swap(parts, parking, to_parking=False)
        pending = await _pending_timers(parts)
    empty = Spread.of(rounds["empty"])
    loaded = Spread.of(rounds["ballast"])
    change = (loaded.median / empty.median - 1) * 100 if empty.median else float("nan")
    log(
        f"  commit p50 empty {empty.median:.3f} ms vs {plan.ballast} pending "
        f"{loaded.median:.3f} ms ({change:+.1f} %)"
    )
    return {
        "ballast_timers": plan.ballast,
        "pending_after": pending,
        "commit_p50_ms_empty": empty.as_dict(3),
        "commit_p50_ms_ballast": loaded.as_dict(3),
        "commit_p99_ms_empty": Spread.of(p99s["empty"]).as_dict(3),
        "commit_p99_ms_ballast": Spread.of(p99s["ballast"]).as_dict(3),
        "change_pct": round(change, 1),
        "redis_bytes_per_pending_timer": round(ballast_bytes / plan.ballast, 1),
        "latency_all": latency_summary(timed.samples),
    }


async def _swap(parts: Parts, parking: dict[int, str], *, to_parking: bool) -> None:
    """Move the ballast zsets out of (or back into) the timer keys: RENAME is O(1)."""
    for shard, parked in parking.items():
        live = parts.keys.timers(shard)
        source, target = (live, parked) if to_parking else (parked, live)
        if await parts.client.exists(source):
            await parts.client.rename(source, target)


def main() -> None:
    """``python -m bench.timers [N]``: the burst alone on a fresh Redis (for ``py-spy record``)."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    server = redis_servers.start(Path("var/bench/redis-timers"))
    try:
        assert server.pid is not None
        plan = TimerPlan(burst=count)
        print(run_async(burst(server.url, server.pid, plan, print)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
