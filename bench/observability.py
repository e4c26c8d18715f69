"""Section ``observability``: the CPU that metrics, the access log and tracing-off cost per
transition, A/B in one process.

Two gRPC servers over the same Redis, in this one process, driven by the same clients (the
section-1 flows, ``bench.load_client.Driver``) in alternating rounds (A B, then B A, …, so
drift weighs on both):

* ``observed``: the service as shipped (``service.bootstrap.build``): the observing
  interceptor, the metrics endpoint and the Redis command timing, the access line formatted
  as JSON (to /dev/null: the formatting is paid, the write is not), tracing off;
* ``bare``: the same handlers behind a server built without the observing interceptor, on a
  Redis client without the timing, with no access line.

Both include the client's own CPU (same process); the difference is the observability's.
What ``bare`` keeps: the transition counter at the commit (one increment per transition).
On a shared 2-core machine that difference is within the noise of a few ms per transition,
so the section also times the pieces alone (``micro_us``, no I/O): the observing interceptor
around one RPC with its access line, the timing of one Redis round trip, the transition
counter; a transition is one RPC, two round trips (load, commit) and one count.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from aftersale.decide import decide
from aftersale.policy import Policy
from aftersale.vocabulary import Role
from bench.flows import run_flow
from bench.load_client import Driver, Tokens
from bench.product import bench_settings
from bench.stats import Spread
from service.api.server import create_server, new_health_servicer, stop_server
from service.api.watch import TransitionWatch
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as types
from service.observability import interceptor
from service.observability.calls import note_caller
from service.observability.logs import configure
from service.observability.metrics import count_transition
from service.observability.redis_commands import observe_commands
from service.parts import load_sealer, load_tokens, stream_slots
from service.storage.connection import connect
from service.storage.keys import Keys
from service.storage.stream import TransitionReader

CONCURRENCY = 8
NOW_MS = 1_790_000_000_000
MICRO_CALLS = 20_000


class _FakeClient:
    """Stands in for a Redis client whose round trips take no time."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        return None

    def pipeline(self, *args: Any, **options: Any) -> Any:
        return self


async def _per_call_us(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / calls * 1e6


async def micro(calls: int) -> dict[str, float]:
    """µs of CPU each observability piece adds, measured against the same call without it."""
    request = pb.ApproveAfterSaleRequest(request_id="AS07-0123456789", idempotency_key="k")
    response = pb.ApproveAfterSaleResponse(
        after_sale=types.AfterSale(request_id="AS07-0123456789", version=3)
    )

    async def behavior(_request: Any, _context: Any) -> Any:
        note_caller("bench-order-system", Role.MERCHANT)
        return response

    observed_rpc = interceptor._unary("ApproveAfterSale")(behavior)
    rpc = await _per_call_us(lambda: observed_rpc(request, None), calls) - await _per_call_us(
        lambda: behavior(request, None), calls
    )
    raw = _FakeClient()
    timed = _FakeClient()
    observe_commands(timed)
    redis = await _per_call_us(lambda: timed.execute_command("HGETALL", "k"), calls)
    redis -= await _per_call_us(lambda: raw.execute_command("HGETALL", "k"), calls)
    policy = Policy()
    step = run_flow("negotiated_refund", NOW_MS, policy)[0]
    event = decide(step.before, step.command, step.actor, NOW_MS, policy).event
    started = time.process_time()
    for _ in range(calls):
        count_transition(event)
    count = (time.process_time() - started) / calls * 1e6
    return {
        "rpc_interceptor_and_access_line": round(rpc, 2),
        "redis_round_trip_timing": round(redis, 2),
        "transition_counter": round(count, 2),
        "per_transition_estimate": round(rpc + 2 * redis + count, 1),
    }


async def _drive(address: str, tokens: Tokens, prefix: str, transitions: int) -> int:
    """Run the flows over a fresh channel until ``transitions`` RPCs completed."""
    done = 0
    async with grpc.aio.insecure_channel(address) as channel:
        driver = Driver(channel, tokens, prefix)

        async def worker() -> None:
            nonlocal done
            flow = driver.new_flow()
            while done < transitions:
                await driver.send_step(flow)
                done += 1
                if flow.step == 0:
                    flow = driver.new_flow()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done


async def _bare(settings: Settings) -> tuple[App, Any, Any, TransitionWatch, int]:
    client = connect(settings)
    app = await build(settings, redis=client, serve=False, tracing=None)
    tokens, sealer = load_tokens(settings), load_sealer(settings)
    reader = lambda: TransitionReader(client, Keys(settings.shards))  # noqa: E731
    watch = TransitionWatch(reader, sealer, stream_slots(settings, tokens))
    health = new_health_servicer()
    server, port = await create_server(
        "127.0.0.1:0", app.handlers, tokens=tokens, watch=watch, sealer=sealer,
        health_servicer=health, observers=(),
    )  # fmt: skip
    await server.start()
    return app, client, (server, health), watch, port


async def measure(url: str, tokens_file: Path, tokens: Tokens, quick: bool) -> dict[str, Any]:
    """The A/B (``bench.run`` runs it in a fresh process, on uvloop)."""
    rounds, per_round = (2, 400) if quick else (6, 2_000)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
    configure("INFO", "json", devnull)  # as `python -m service serve` logs, to nowhere
    root = logging.getLogger()
    common = {"tokens_file": tokens_file, "timers_enabled": False, "listen": "127.0.0.1:0"}
    observed = await build(bench_settings(url, metrics_listen="127.0.0.1:0", **common))
    await observed.start()
    bare_app, bare_client, (bare_server, bare_health), bare_watch, bare_port = await _bare(
        bench_settings(url, metrics_listen="", **common)
    )
    targets = {"observed": observed.address, "bare": f"127.0.0.1:{bare_port}"}
    cpu_us: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for name, address in targets.items():  # warm both up: imports, connections, caches
            await _drive(address, tokens, f"obs-warm-{name}", 200)
        for index in range(rounds):
            order = list(targets) if index % 2 == 0 else list(reversed(targets))
            for name in order:
                started = time.process_time()
                count = await _drive(targets[name], tokens, f"obs-{index}-{name}", per_round)
                cpu_us[name].append((time.process_time() - started) / count * 1e6)
        micro_us = await micro(MICRO_CALLS // 4 if quick else MICRO_CALLS)
    finally:
        await stop_server(bare_server, bare_health, bare_watch, 1.0)
        await bare_app.stop(grace_s=1.0)
        await bare_client.aclose()
        await observed.stop(grace_s=1.0)
        root.handlers.clear()
        devnull.close()
    paired = [o - b for o, b in zip(cpu_us["observed"], cpu_us["bare"], strict=True)]
    bare_median = Spread.of(cpu_us["bare"]).median
    return {
        "transitions_per_round": per_round,
        "concurrency": CONCURRENCY,
        "cpu_us_per_transition_observed": Spread.of(cpu_us["observed"]).as_dict(),
        "cpu_us_per_transition_bare": Spread.of(cpu_us["bare"]).as_dict(),
        "cost_us_per_transition": Spread.of(paired).as_dict(),
        "cost_pct": round(100 * Spread.of(paired).median / bare_median, 1),
        "micro_us": micro_us,
        "note": "CPU of server and clients in one process; tracing off; access line to /dev/null",
    }
