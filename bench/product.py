"""The product's own parts, wired in-process for the sections that skip gRPC (timers, memory).

Everything comes from the composition root (``service.bootstrap.build``) with the bench's
Redis and clock, so the timer worker, handlers and repository are exactly the ones the
service runs. Also: a fast way to create many open requests (one ``decide`` for a template
apply, then per request a copy with fresh ids, committed in pipelines through
``RedisRepository.commit_many``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import msgspec
import uvloop

from aftersale.clock import Clock
from aftersale.decide import Decision, decide
from aftersale.model import Actor, AfterSale, PendingTimer
from aftersale.policy import Policy
from aftersale.vocabulary import AfterSaleType, Role
from bench.flows import apply_command
from service.bootstrap import build
from service.config import Settings
from service.gc_tuning import tune_gc
from service.handlers import AfterSaleHandlers
from service.parts import policy_of
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from service.timer_worker import TimerWorker

T = TypeVar("T")


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on the event loop the service runs on (``python -m service``: uvloop)."""
    return uvloop.run(main)


class OffsetClock:
    """Real time shifted by ``offset_ms``: runs at wall speed from any virtual instant."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 - self.offset_ms

    def start_at(self, virtual_ms: int) -> None:
        """From now on ``now_ms()`` reads ``virtual_ms`` (and moves on at wall speed)."""
        self.offset_ms = time.time_ns() // 1_000_000 - virtual_ms


def bench_settings(redis_url: str, **overrides: Any) -> Settings:
    """The service's defaults, pointed at the bench Redis."""
    return Settings(redis_url=redis_url, log_level="WARNING", **overrides)


@dataclass
class Template:
    """One decided apply; ``clone`` makes the same decision for another order."""

    decision: Decision
    keys: Keys

    @classmethod
    def make(cls, keys: Keys, policy: Policy, now_ms: int, kind: AfterSaleType) -> Template:
        command = apply_command(kind, 0, now_ms)
        command = replace(command, request_id=keys.new_request_id(command.order_id, now_ms))
        decision = decide(None, command, Actor(Role.BUYER, command.buyer_id), now_ms, policy)
        return cls(decision, keys)

    def clone(self, index: int, prefix: str, due_ms: int | None = None) -> Decision:
        record, event = self.decision.record, self.decision.event
        assert event is not None
        order_id = f"{prefix}-{index}"
        request_id = self.keys.new_request_id(order_id, record.created_at_ms)
        buyer_id, shop_id = f"b-{order_id}", f"shop-{index % 100}"
        timer = record.timer
        if timer is not None and due_ms is not None:
            timer = PendingTimer(timer.kind, timer.action, due_ms)
        new_record: AfterSale = msgspec.structs.replace(
            record,
            request_id=request_id,
            order_id=order_id,
            buyer_id=buyer_id,
            shop_id=shop_id,
            timer=timer,
        )
        new_event = replace(
            event,
            request_id=request_id,
            order_id=order_id,
            buyer_id=buyer_id,
            shop_id=shop_id,
            deadline_ms=timer.due_ms if timer else 0,
        )
        return replace(self.decision, record=new_record, event=new_event)


async def create_open_requests(
    repo: RedisRepository,
    template: Template,
    count: int,
    prefix: str,
    due_of: Callable[[int], int] | None = None,
    chunk: int = 1_000,
) -> tuple[list[str], float]:
    """Commit ``count`` cloned applies (``due_of(i)``: the timer's due ms) through
    ``RedisRepository.commit_many`` (the real commit script, ``chunk`` per pipeline).
    Returns the request ids and the commits/s."""
    ids: list[str] = []
    started = time.perf_counter()
    for first in range(0, count, chunk):
        decisions = [
            template.clone(index, prefix, due_of(index) if due_of else None)
            for index in range(first, min(count, first + chunk))
        ]
        results = await repo.commit_many([(d, 0, None) for d in decisions])
        refused = [r for r in results if isinstance(r, Exception)]
        if refused:
            raise RuntimeError(f"{len(refused)} setup commits refused, e.g. {refused[0]!r}")
        ids.extend(d.record.request_id for d in decisions)
    return ids, count / (time.perf_counter() - started)


@dataclass
class Parts:
    """The product's parts over one Redis client."""

    client: Any
    keys: Keys
    policy: Policy
    repository: RedisRepository
    handlers: AfterSaleHandlers
    timer_worker: TimerWorker


@asynccontextmanager
async def build_parts(redis_url: str, clock: Clock, **overrides: Any) -> AsyncIterator[Parts]:
    """The service's parts from its composition root (no gRPC server), on ``redis_url``;
    the process's collector tuned as ``python -m service`` tunes it."""
    tune_gc()
    app = await build(bench_settings(redis_url, **overrides), clock, serve=False)
    try:
        repository = app.handlers.repository
        assert isinstance(repository, RedisRepository)
        yield Parts(
            app.redis,
            repository.keys,
            policy_of(app.settings),
            repository,
            app.handlers,
            app.worker,
        )
    finally:
        await app.stop()
