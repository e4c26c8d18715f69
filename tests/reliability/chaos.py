"""One chaos run: real service processes under a load of flows, something killed at random
moments and started again, then settle and check (``checker``).

Victims:

- ``serve`` / ``timers``: SIGKILL the ``python -m service serve`` process (API + in-process
  timer worker) and/or the separate ``python -m service timers`` process, restart them.
- ``redis``: the Redis server itself — SIGKILL (``kill``) or a graceful SHUTDOWN (``restart``),
  started again on the same AOF directory and port.

Settling: after the load stops and the last victim is back, wait (bounded) until no timer is
due or leased, the payment service has seen every event and reported every refund; then read
Redis and check every invariant.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from redis.asyncio import Redis

from service.config import Settings
from service.storage.connection import connect
from service.storage.keys import Keys
from service.storage.redis_server import EmbeddedRedis, free_port
from tests.reliability.checker import Finding, check_all, snapshot, timer_lateness_ms
from tests.reliability.client import AsyncApi, write_tokens
from tests.reliability.load import Load, Payment
from tests.reliability.processes import ServiceEnv, ServiceProcess, wait_serving

QUIET_AHEAD_MS = 3_000  # longer than any timer of FAST_TIMERS: a settled run has none left
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


@dataclass
class Plan:
    """How big a run is and what gets killed."""

    flows: int
    concurrency: int
    load_s: float
    victims: tuple[str, ...]  # serve, timers, redis
    kill_every_s: tuple[float, float] = (0.8, 2.0)
    outage_s: tuple[float, float] = (0.0, 0.4)  # how long a victim stays down
    redis_mode: str = "kill"  # kill (SIGKILL), restart (graceful SHUTDOWN) or alternate
    settle_s: float = 60.0
    seed: int = 0


@dataclass
class Report:
    """What a run did and found (the figures of BENCHMARKS.md)."""

    plan: Plan
    flows: int = 0
    flows_terminal: int = 0
    requests: int = 0
    events: int = 0
    timer_events: int = 0
    acks: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    spontaneous_exits: list[str] = field(default_factory=list)
    retries: int = 0
    broken_calls: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    refunds_reported: int = 0
    reports_refused: dict[str, int] = field(default_factory=dict)
    watch_reconnects: int = 0
    redeliveries: int = 0
    max_timer_lateness_ms: int = 0
    settle_s: float = 0.0
    drain_s: float = 0.0  # from "stop" until every flow finished its step
    startup_s: float = 0.0
    settled: bool = False
    unexpected: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def anomalies(self) -> list[str]:
        """Everything that makes the run fail, as text."""
        out = [str(f) for f in self.findings]
        out += [f"unexpected answer: {u}" for u in self.unexpected]
        out += [f"process exited on its own: {e}" for e in self.spontaneous_exits]
        if not self.settled:
            out.append(f"did not settle within {self.plan.settle_s} s")
        return out

    def summary(self) -> str:
        kills = ", ".join(f"{k} {n}" for k, n in sorted(self.kills.items())) or "none"
        return (
            f"flows {self.flows} ({self.flows_terminal} terminal), requests {self.requests}, "
            f"events {self.events} ({self.timer_events} by timers), acks {self.acks}, "
            f"kills: {kills}, retried calls {self.retries} {self.broken_calls}, "
            f"refund reports {self.refunds_reported} (refused {self.reports_refused}), "
            f"watch reconnects {self.watch_reconnects}, "
            f"redeliveries {self.redeliveries}, "
            f"max timer lateness {self.max_timer_lateness_ms} ms, "
            f"startup {self.startup_s:.1f} s, drain {self.drain_s:.1f} s, "
            f"settled in {self.settle_s:.1f} s, wall {self.wall_s:.1f} s, "
            f"anomalies {len(self.anomalies)}"
        )


class Victims:
    """The things a run may kill, and how to bring each back."""

    def __init__(
        self,
        server: ServiceProcess,
        timers: ServiceProcess,
        redis: EmbeddedRedis,
        ready: Callable[[], Any],
        report: Report,
        redis_mode: str,
        outage_s: tuple[float, float],
    ) -> None:
        self.server = server
        self.timers = timers
        self.redis = redis
        self.ready = ready
        self.report = report
        self.redis_mode = redis_mode
        self.outage_s = outage_s

    def check_alive(self) -> None:
        """A process that ended without our kill crashed on its own: note it, restart it."""
        for process in (self.server, self.timers):
            code = process.exited_unexpectedly()
            if code is not None:
                self.report.spontaneous_exits.append(
                    f"{process.role} exited with {code}:\n{process.log_tail(30)}"
                )
                process.start()

    async def hit(self, victim: str, rng: random.Random) -> None:
        self.check_alive()
        if victim in ("serve", "both"):
            self.server.kill()
            self.report.kills["serve"] += 1
        if victim in ("timers", "both"):
            self.timers.kill()
            self.report.kills["timers"] += 1
        if victim == "redis":
            mode = self.redis_mode
            if mode == "alternate":
                mode = "kill" if sum(self.report.kills.values()) % 2 == 0 else "restart"
            if mode == "kill":
                await asyncio.to_thread(self.redis.kill)
            else:
                await asyncio.to_thread(self.redis.stop)
            self.report.kills[f"redis-{mode}"] += 1
        await asyncio.sleep(rng.uniform(*self.outage_s))
        if victim == "redis":
            await asyncio.to_thread(self.redis.start)
        if victim in ("timers", "both"):
            self.timers.start()
        if victim in ("serve", "both"):
            self.server.start()
            await self.ready()


async def _settle(
    client: Redis, keys: Keys, payment: Payment, deadline_s: float
) -> tuple[bool, float]:
    """Until no timer is due, leased or coming due soon (so none fires while the checker
    reads), and the payment service is idle and has seen every event."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < deadline_s:
        soon = time.time() * 1000 + QUIET_AHEAD_MS
        busy = False
        for shard in keys.all_shards():
            if await client.zcount(keys.timers(shard), "-inf", soon):
                busy = True
                break
            if await client.zcard(keys.leased(shard)):
                busy = True
                break
        entries = 0
        for shard in keys.all_shards():
            entries += int(await client.xlen(keys.events(shard)))
        caught_up = len(payment.seen) >= entries and not payment.busy
        quiet = quiet + 1 if not busy and caught_up else 0
        if quiet >= 3:
            return True, time.monotonic() - started
        await asyncio.sleep(0.3)
    return False, time.monotonic() - started


async def run(plan: Plan, directory: Path, redis: EmbeddedRedis) -> Report:
    """One run of ``plan`` against ``redis`` (running); processes live in ``directory``."""
    report = Report(plan)
    started = time.monotonic()
    rng = random.Random(plan.seed)
    tokens_file = directory / "tokens.json"
    tokens = write_tokens(tokens_file)
    env = ServiceEnv(redis.url, directory, tokens_file, free_port())
    keys = Keys(env.shards)
    server = ServiceProcess("serve", env, timers_in_process=True)
    timers = ServiceProcess("timers", env, timers_in_process=True)
    client = connect(Settings(redis_url=redis.url))
    assert isinstance(client, Redis)
    address = f"127.0.0.1:{env.listen_port}"

    async def ready() -> None:
        await wait_serving(env.listen_port, tokens)

    victims = Victims(server, timers, redis, ready, report, plan.redis_mode, plan.outage_s)
    server.start()
    timers.start()
    try:
        await ready()
        report.startup_s = time.monotonic() - started
        async with grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
            api = AsyncApi(channel, tokens)
            load = Load(
                api, random.Random(rng.random()), run_id=f"r{plan.seed}x{rng.randint(0, 10**6)}"
            )
            payment = Payment(api, random.Random(rng.random()))
            payment_task = asyncio.ensure_future(payment.run())
            load_task = asyncio.ensure_future(load.run(plan.flows, plan.concurrency))
            load_deadline = time.monotonic() + plan.load_s
            while not load_task.done() and time.monotonic() < load_deadline:
                await asyncio.sleep(rng.uniform(*plan.kill_every_s))
                if load_task.done() or time.monotonic() >= load_deadline:
                    break
                await victims.hit(rng.choice(plan.victims), rng)
            load.stopping.set()
            victims.check_alive()
            stopping = time.monotonic()
            await asyncio.wait_for(load_task, timeout=180)
            report.drain_s = time.monotonic() - stopping
            report.settled, report.settle_s = await _settle(client, keys, payment, plan.settle_s)
            await payment.drain(10)
            payment.stopping.set()
            payment_task.cancel()
            await asyncio.gather(payment_task, return_exceptions=True)
            victims.check_alive()
            report.flows = load.stats.flows_started
            report.flows_terminal = load.stats.flows_terminal
            report.acks = len(load.acks) + len(payment.acks)
            report.retries = api.stats.retries
            report.broken_calls = dict(api.stats.unknown_codes)
            report.codes = dict(api.stats.codes)
            report.refunds_reported = payment.reports
            report.reports_refused = dict(payment.refused)
            report.watch_reconnects = payment.reconnects
            report.redeliveries = sum(n - 1 for n in payment.seen.values())
            report.unexpected = load.stats.unexpected + payment.unexpected
            snap = await snapshot(client, keys)
            findings = check_all(
                snap,
                now_ms=int(time.time() * 1000),
                lease_ms=int(env.lease_s * 1000),
                acks=[*load.acks, *payment.acks],
            )
            unresolved = load.stats.unresolved
            report.findings = [
                f for f in findings if not ("ghost" in f.detail and f.request_id in unresolved)
            ]
            for rid, record in snap.records.items():
                version = int(record.get("version", "0"))
                missing = [v for v in range(1, version + 1) if (rid, v) not in payment.seen]
                if missing:
                    report.findings.append(
                        Finding("watch", rid, f"WatchTransitions never delivered v{missing}")
                    )
            report.requests = len(snap.records)
            report.events = snap.stream_entries
            lateness = timer_lateness_ms(snap.histories.values())
            report.timer_events = len(lateness)
            report.max_timer_lateness_ms = max(lateness, default=0)
    finally:
        server.stop()
        timers.stop()
        await client.aclose()
    report.wall_s = time.monotonic() - started
    return report
