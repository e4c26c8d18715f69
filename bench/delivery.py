"""Section ``delivery``: how fast transitions reach a consumer, by a durable subscription
(``SubscriptionService.Subscribe``, acked) and by ``WatchTransitions`` (unacked), under the
transition load at its peak concurrency.

One service process and the closed-loop load clients of section 1; a consumer *process*
speaking as the payment service (it sees the events of requests with a refund, as in
production). Rounds alternate watch / subscription (A/B in one run). Each round:

1. the consumer opens its stream (a subscription round first creates a fresh subscription at
   the live tail through the ops RPC, and deletes it after, so no round starts with another
   round's backlog);
2. the load runs ``warmup_s + window_s``; the consumer counts the events whose commit time
   (``occurred_at``) falls in the measured window, and their latency: receipt time minus
   ``occurred_at`` (one machine, one clock);
3. after the load the consumer drains until nothing came for ``idle_s``; ``drain_s`` is how
   long the backlog took to arrive after the load ended (≈ 0 when delivery kept up).

Reported: delivered events/s in the window, latency p50/p99, drain time, the service's CPU
per delivered event, the subscription ÷ watch ratios (medians over the rounds, with spread).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import grpc

from bench.load_client import Tokens
from bench.machine import cpu_seconds
from bench.service_procs import ServiceGroup
from bench.stats import Spread, latency_summary
from bench.transitions import ClientPool, Plan, Setup, service_env
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import aftersale_pb2_grpc as pb_grpc
from service.gen.aftersale.v1 import subscriptions_pb2 as sp
from service.gen.aftersale.v1 import subscriptions_pb2_grpc as sp_grpc
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.redis_server import free_port

# The generated modules are untyped: the one place each stub class is taken.
_watch_stub: Callable[[Any], Any] = pb_grpc.AfterSaleServiceStub
_subscription_stub: Callable[[Any], Any] = sp_grpc.SubscriptionServiceStub
PAYMENT_SERVICE = "bench-payment"  # the service name write_tokens gives the payment token
IDLE_S = 1.5  # the drain ends after this long without an event


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    rounds: int = 3
    warmup_s: float = 1.0
    window_s: float = 4.0

    @classmethod
    def quick(cls) -> DeliveryPlan:
        return cls(rounds=1, window_s=2.0)


def _tokens_with_ops(setup: Setup, path: Path) -> str:
    """The bench's token file plus an ops (PLATFORM) token; returns the ops token."""
    document = json.loads(setup.tokens_file.read_text())
    ops = secrets.token_urlsafe(24)
    document[ops] = {"service": "bench-ops", "roles": ["PLATFORM"]}
    path.write_text(json.dumps(document, indent=2) + "\n")
    path.chmod(0o600)
    return ops


def _ops_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (
        ("authorization", f"Bearer {token}"),
        ("x-actor-role", "PLATFORM"),
        ("x-actor-id", "bench-ops"),
    )


def _payment_metadata(tokens: Tokens) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {tokens.payment}"), ("x-actor-role", "PAYMENT"))


# -- the consumer process ------------------------------------------------------------------


def consumer_process(conn: Connection, target: str, tokens: Tokens, mode: str, name: str) -> None:
    """Run one consumer (``watch`` or ``subscribe``) until the parent says ``stop``."""
    asyncio.run(_consume(conn, target, tokens, mode, name))


async def _consume(conn: Connection, target: str, tokens: Tokens, mode: str, name: str) -> None:
    received: list[tuple[float, float]] = []  # (occurred_at s, received at s)
    opened = asyncio.Event()
    async with grpc.aio.insecure_channel(target) as channel:
        metadata = _payment_metadata(tokens)
        if mode == "watch":
            task = asyncio.ensure_future(_watch(channel, metadata, received, opened))
        else:
            task = asyncio.ensure_future(_subscribe(channel, metadata, name, received, opened))
        await asyncio.wait_for(opened.wait(), timeout=30)
        conn.send("ready")
        loop = asyncio.get_running_loop()
        window: tuple[float, float] = await loop.run_in_executor(None, conn.recv)
        # The load has ended: drain until nothing came for IDLE_S.
        load_end = time.time()
        seen = -1
        while seen != len(received):
            seen = len(received)
            await asyncio.sleep(IDLE_S)
        task.cancel()
        last = max((r for _, r in received), default=load_end)
        start, end = window
        inside = [(o, r) for o, r in received if start <= o < end]
        conn.send(
            {
                "events": len(inside),
                "latencies": [r - o for o, r in inside],
                "drain_s": max(0.0, last - load_end),
            }
        )


def _occurred(event: t.TransitionEvent) -> float:
    return float(event.occurred_at.seconds) + event.occurred_at.nanos / 1e9


async def _watch(
    channel: grpc.aio.Channel,
    metadata: tuple[tuple[str, str], ...],
    received: list[tuple[float, float]],
    opened: asyncio.Event,
) -> None:
    stub = _watch_stub(channel)
    call = stub.WatchTransitions(pb.WatchTransitionsRequest(), metadata=metadata)
    await call.initial_metadata()
    opened.set()
    async for response in call:
        if response.HasField("event"):
            received.append((_occurred(response.event), time.time()))


async def _subscribe(
    channel: grpc.aio.Channel,
    metadata: tuple[tuple[str, str], ...],
    name: str,
    received: list[tuple[float, float]],
    opened: asyncio.Event,
) -> None:
    """The raw bidi stream: ack each event as it arrives (what a consumer does after a
    handler that costs nothing)."""
    stub = _subscription_stub(channel)
    acks: asyncio.Queue[str] = asyncio.Queue()

    async def requests() -> Any:
        yield sp.SubscribeRequest(open=sp.SubscribeOpen(subscription=name, consumer="bench-1"))
        while True:
            first = await acks.get()
            batch = [first]
            while not acks.empty():
                batch.append(acks.get_nowait())
            yield sp.SubscribeRequest(ack_ids=batch)

    call = stub.Subscribe(requests(), metadata=metadata)
    await call.initial_metadata()
    opened.set()
    async for response in call:
        if response.ack_id:
            received.append((_occurred(response.event), time.time()))
            acks.put_nowait(response.ack_id)


# -- the parent ------------------------------------------------------------------------------


def _subscription_rpc(target: str, ops: str, method: str, request: Any) -> Any:
    with grpc.insecure_channel(target) as channel:
        stub = _subscription_stub(channel)
        return getattr(stub, method)(request, metadata=_ops_metadata(ops), timeout=10)


def _round(
    mode: str,
    index: int,
    servers: ServiceGroup,
    pool: ClientPool,
    setup: Setup,
    ops: str,
    concurrency: int,
    plan: DeliveryPlan,
) -> dict[str, Any]:
    target = servers.targets[0]
    name = f"bench-delivery-{index}"
    if mode == "subscribe":
        subscription = sp.Subscription(name=name, service=PAYMENT_SERVICE, role=t.ROLE_PAYMENT)
        request = sp.CreateSubscriptionRequest(subscription=subscription)
        _subscription_rpc(target, ops, "CreateSubscription", request)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=consumer_process, args=(child, target, setup.tokens, mode, name), daemon=True
    )
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError(f"the {mode} consumer did not open its stream within 60 s")
        assert parent.recv() == "ready"
        service_pid = servers.pids[0]
        cpu_before = cpu_seconds(service_pid)
        window_start = time.time() + 0.3 + plan.warmup_s  # ClientPool starts 0.3 s after
        pool.run(
            {"mode": "closed", "warmup_s": plan.warmup_s, "window_s": plan.window_s},
            concurrency,
        )
        parent.send((window_start, window_start + plan.window_s))
        if not parent.poll(120):
            raise RuntimeError(f"the {mode} consumer did not drain within 120 s")
        report: dict[str, Any] = parent.recv()
        cpu_s = cpu_seconds(service_pid) - cpu_before
    finally:
        process.terminate()
        process.join(10)
        if mode == "subscribe":
            _subscription_rpc(
                target, ops, "DeleteSubscription", sp.DeleteSubscriptionRequest(name=name)
            )
    events = report["events"]
    return {
        "mode": mode,
        "events_per_s": round(events / plan.window_s, 1),
        **latency_summary(report["latencies"]),
        "drain_s": round(report["drain_s"], 2),
        "service_cpu_s": round(cpu_s, 2),
    }


def run(
    setup: Setup, plan: Plan, concurrency: int, log: Any, delivery: DeliveryPlan | None = None
) -> dict[str, Any]:
    """The delivery section (see the module docstring)."""
    delivery = delivery or DeliveryPlan()
    tokens_file = setup.work_dir / "tokens-delivery.json"
    ops = _tokens_with_ops(setup, tokens_file)
    servers = ServiceGroup(
        count=1,
        port=free_port(),
        extra_env=service_env(),
        redis_url=setup.redis_url,
        tokens_file=tokens_file,
        work_dir=setup.work_dir / "service-delivery",
    )
    rounds: list[dict[str, Any]] = []
    with servers:
        pool = ClientPool(plan.client_processes, servers.targets, setup.tokens, "d")
        try:
            for index in range(delivery.rounds):
                for mode in ("watch", "subscribe") if index % 2 == 0 else ("subscribe", "watch"):
                    result = _round(mode, index, servers, pool, setup, ops, concurrency, delivery)
                    log(
                        f"  {mode:>9}: {result['events_per_s']:7.0f} events/s p50 "
                        f"{result['p50_ms']:.1f} p99 {result['p99_ms']:.1f} ms, "
                        f"drain {result['drain_s']:.2f} s"
                    )
                    rounds.append(result)
        finally:
            pool.close()

    def of(mode: str, key: str) -> list[float]:
        return [r[key] for r in rounds if r["mode"] == mode]

    out: dict[str, Any] = {"concurrency": concurrency, "rounds": rounds}
    for mode in ("watch", "subscribe"):
        out[mode] = {
            "events_per_s": Spread.of(of(mode, "events_per_s")).as_dict(),
            "p50_ms": Spread.of(of(mode, "p50_ms")).as_dict(2),
            "p99_ms": Spread.of(of(mode, "p99_ms")).as_dict(2),
            "drain_s": Spread.of(of(mode, "drain_s")).as_dict(2),
        }
    pairs = list(zip(of("subscribe", "events_per_s"), of("watch", "events_per_s"), strict=True))
    out["throughput_ratio"] = Spread.of([s / w for s, w in pairs if w]).as_dict(3)
    p99 = list(zip(of("subscribe", "p99_ms"), of("watch", "p99_ms"), strict=True))
    out["p99_ratio"] = Spread.of([s / w for s, w in p99 if w]).as_dict(3)
    log(
        f"  subscription ÷ watch: throughput {statistics.median(s / w for s, w in pairs if w):.3f}"
        if any(w for _, w in pairs)
        else "  no events delivered"
    )
    return out
