"""Readiness and liveness rules of ``HealthMonitor`` (service.health), over the real asyncio
health servicer and a PING that answers or fails as the test says (the real probe of a real
Redis is in tests/e2e/test_self_healing.py)."""

from __future__ import annotations

import asyncio

from grpc_health.v1 import health

from service.health import LIVENESS, NOT_SERVING, SERVING, HealthMonitor

SERVICE = "aftersale.v1.AfterSaleService"


class Redis:
    """A PING that fails while ``down``."""

    def __init__(self) -> None:
        self.down = False

    async def ping(self) -> None:
        if self.down:
            raise ConnectionError("connection refused")


async def statuses(servicer: health.aio.HealthServicer) -> tuple[int, int, int]:
    await asyncio.sleep(0)  # the monitor sets statuses in tasks of their own
    await asyncio.sleep(0)
    now = servicer._server_status  # what Check answers
    return now[""], now[SERVICE], now[LIVENESS]


async def monitored() -> tuple[HealthMonitor, health.aio.HealthServicer, Redis]:
    servicer = health.aio.HealthServicer()
    await servicer.set(SERVICE, SERVING)
    await servicer.set(LIVENESS, SERVING)  # as start() does; the tests run the probes
    redis = Redis()
    return HealthMonitor(servicer, redis.ping, failures=3), servicer, redis


async def test_readiness_turns_not_serving_after_failures_in_a_row_and_back_on_a_success() -> None:
    monitor, servicer, redis = await monitored()
    redis.down = True

    await monitor.probe_once()
    await monitor.probe_once()
    after_two = await statuses(servicer)
    await monitor.probe_once()
    after_three = await statuses(servicer)
    why = monitor.last_error
    redis.down = False
    await monitor.probe_once()
    after_a_success = await statuses(servicer)
    await monitor.stop()

    assert after_two == (SERVING, SERVING, SERVING)
    assert after_three == (NOT_SERVING, NOT_SERVING, SERVING)  # liveness: Redis is not us
    assert why == "3 probes failed in a row, the last: ConnectionError: connection refused"
    assert after_a_success == (SERVING, SERVING, SERVING)


async def test_a_redis_known_lost_is_not_serving_at_once() -> None:
    monitor, servicer, _ = await monitored()

    monitor.redis_lost("embedded redis-server exited (signal 9)")
    lost = await statuses(servicer)
    await monitor.stop()

    assert lost == (NOT_SERVING, NOT_SERVING, SERVING)
    assert monitor.last_error == "embedded redis-server exited (signal 9)"


async def test_a_vital_task_that_ends_turns_liveness_not_serving_unless_stopping() -> None:
    monitor, servicer, _ = await monitored()
    crashed = asyncio.create_task(asyncio.sleep(0))
    monitor.watch(crashed, "the timer worker")

    await crashed
    after_crash = await statuses(servicer)
    monitor.stopping()
    ended = asyncio.create_task(asyncio.sleep(0))
    monitor.watch(ended, "the timer oversight")
    await ended
    await monitor.stop()

    assert after_crash == (SERVING, SERVING, NOT_SERVING)
    assert not monitor.live


async def test_nothing_turns_serving_again_once_a_stop_began() -> None:
    monitor, servicer, _ = await monitored()

    await servicer.enter_graceful_shutdown()
    await monitor.probe_once()
    after = await statuses(servicer)
    await monitor.stop()

    assert after == (NOT_SERVING, NOT_SERVING, NOT_SERVING)
