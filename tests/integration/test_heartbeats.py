"""Timer workers beat in Redis while they run and remove their beat when they stop; a
process that died stays listed, not alive, until its beat is an hour old."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.policy import Policy
from service.handlers import AfterSaleHandlers
from service.storage.heartbeats import FORGET_MS, TIMER_WORKER, RedisHeartbeats
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from service.storage.timer_store import RedisTimerStore
from service.timer_worker import TimerWorker, TimerWorkerSettings
from tests.integration.storage_support import NOW_MS

TTL_MS = 3_000


async def test_a_running_worker_is_alive_and_a_stopped_one_is_gone(redis: Redis) -> None:
    keys = Keys(shards=4)
    heartbeats = RedisHeartbeats(redis, keys)
    clock = FakeClock(NOW_MS)
    handlers = AfterSaleHandlers(RedisRepository(redis, keys), clock, Policy())
    worker = TimerWorker(
        RedisTimerStore(redis, keys),
        handlers,
        clock,
        TimerWorkerSettings(max_sleep_s=0.05, heartbeat_s=0.05),
        heartbeats=heartbeats,
    )
    running = asyncio.create_task(worker.run())

    while not await heartbeats.alive_count(TIMER_WORKER, TTL_MS):
        await asyncio.sleep(0.01)
    listed = [beat.process_id for beat in await heartbeats.recent(TIMER_WORKER)]
    worker.stop()
    await running

    assert listed == [worker.worker_id]
    assert await heartbeats.alive_count(TIMER_WORKER, TTL_MS) == 0
    assert await heartbeats.recent(TIMER_WORKER) == []


async def test_a_dead_process_is_listed_not_alive_then_forgotten(redis: Redis) -> None:
    keys = Keys(shards=4)
    clock = FakeClock(NOW_MS)
    heartbeats = RedisHeartbeats(redis, keys, clock)
    await heartbeats.beat(TIMER_WORKER, "host:1:dead")

    clock.advance(TTL_MS + 1)
    await heartbeats.beat(TIMER_WORKER, "host:2:alive")
    alive = await heartbeats.alive_count(TIMER_WORKER, TTL_MS)
    dead = (await heartbeats.recent(TIMER_WORKER))[1]
    clock.advance(FORGET_MS)
    await heartbeats.beat(TIMER_WORKER, "host:2:alive")
    later = [beat.process_id for beat in await heartbeats.recent(TIMER_WORKER)]

    assert alive == 1
    assert (dead.process_id, dead.alive(clock.now_ms() - FORGET_MS, TTL_MS)) == (
        "host:1:dead",
        False,
    )
    assert later == ["host:2:alive"]
