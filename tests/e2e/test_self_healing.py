"""Health tells the truth about Redis, and the embedded Redis heals itself (SPEC §13).

- The embedded redis-server killed (-9) under a running server: readiness NOT_SERVING within
  5 s, the server starts it again on its port with its data, readiness SERVING again, every
  acknowledged write is there and a pending timer fires afterwards.
- An external Redis hung (SIGSTOP) or stopped: NOT_SERVING within 5 s, `python -m service
  health` exits 1 (liveness still 0), and SERVING again once Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from aftersale.clock import FakeClock
from aftersale.policy import HOUR_MS
from service.__main__ import main
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.redis_server import EmbeddedRedis
from tests.e2e.conftest import START_MS
from tests.e2e.health_support import NOT_SERVING, SERVING, eventually, health, readiness
from tests.e2e.support import Api, applied

Served = tuple[App, Api, grpc.aio.Channel]


@pytest.fixture
async def embedded_app(tmp_path: Path) -> AsyncIterator[Served]:
    """The service with its own embedded Redis (no REDIS_URL) in a fresh data dir, timers on.
    A dead redis-server waits 2 s before it is started again: long enough to be seen."""
    settings = Settings(
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",  # never the default port another process holds
        data_dir=tmp_path / "data",
        redis_restart_backoff_s=2.0,
        timer_heartbeat_s=0.2,
    )
    clock = FakeClock(START_MS)
    app = await build(settings, clock=clock)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(app.address) as channel:
            yield app, Api(channel, settings.tokens_path, clock), channel
    finally:
        await app.stop(grace_s=1.0)


async def is_status(channel: grpc.aio.Channel, status: int, service: str = "") -> bool:
    return await health(channel, service) == status


async def test_a_killed_embedded_redis_is_restarted_and_health_follows_it(
    embedded_app: Served, caplog: pytest.LogCaptureFixture
) -> None:
    app, api, channel = embedded_app
    assert app.embedded is not None and app.ops.supervisor is not None
    requests = [await applied(api) for _ in range(10)]  # acknowledged writes, version 1 each
    killed = app.embedded.pid
    assert killed is not None and await readiness(channel) == (SERVING, SERVING)

    with caplog.at_level(logging.WARNING):
        os.kill(killed, signal.SIGKILL)
        await eventually(lambda: is_status(channel, NOT_SERVING), 5, "NOT_SERVING after a kill")
        not_ready = await readiness(channel)
        await eventually(lambda: is_status(channel, SERVING), 60, "SERVING after the restart")
    ready = await readiness(channel)

    assert not_ready == (NOT_SERVING, NOT_SERVING)
    assert ready == (SERVING, SERVING)
    assert await health(channel, "liveness") == SERVING
    assert app.embedded.running and app.embedded.pid != killed
    assert app.ops.supervisor.restarts == 1
    assert "the embedded redis-server exited (signal 9)" in caplog.text
    views = [await request.view() for request in requests]
    assert [(v.request_id, v.version) for v in views] == [(r.request_id, 1) for r in requests]

    api.clock.advance(48 * HOUR_MS + 1)  # every merchant_handling timer is due: the worker fires

    async def fired() -> bool:
        return (await requests[0].view()).state == t.AFTER_SALE_STATUS_PLATFORM_REFUNDING

    await eventually(fired, 30, "the pending timer fired after the restart")
    status = await api.ops.GetStatus(pb.GetStatusRequest())
    assert status.redis.embedded and status.redis.embedded_restarts == 1
    assert status.timers.live_workers == 1


@pytest.fixture
def external_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis the service did not start (passed as REDIS_URL), which the tests break."""
    server = EmbeddedRedis(tmp_path / "external").start()
    try:
        yield server
    finally:
        if server.pid is not None:
            os.kill(server.pid, signal.SIGCONT)  # a stopped server cannot be shut down
        server.stop()


@pytest.fixture
async def external_app(tmp_path: Path, external_redis: EmbeddedRedis) -> AsyncIterator[Served]:
    settings = Settings(
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",  # never the default port another process holds
        data_dir=tmp_path / "data",
        redis_url=external_redis.url,
        timers_enabled=False,
        call_timeout_s=1.0,
    )
    clock = FakeClock(START_MS)
    app = await build(settings, clock=clock)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(app.address) as channel:
            yield app, Api(channel, settings.tokens_path, clock), channel
    finally:
        if external_redis.pid is not None:
            os.kill(external_redis.pid, signal.SIGCONT)
        await app.stop(grace_s=1.0)


async def health_command(address: str, *flags: str) -> int:
    """``python -m service health --address ADDRESS FLAGS``'s exit status (in a thread: the
    server under test runs on this loop)."""
    return await asyncio.to_thread(main, ["health", "--address", address, *flags])


async def test_a_hung_external_redis_turns_health_not_serving_until_it_answers_again(
    external_app: Served, external_redis: EmbeddedRedis
) -> None:
    app, _, channel = external_app
    assert external_redis.pid is not None
    serving_exit = await health_command(app.address)

    os.kill(external_redis.pid, signal.SIGSTOP)
    try:
        await eventually(lambda: is_status(channel, NOT_SERVING), 5, "NOT_SERVING when hung")
        not_ready = await readiness(channel)
        not_serving_exit = await health_command(app.address)
        alive_exit = await health_command(app.address, "--liveness")
    finally:
        os.kill(external_redis.pid, signal.SIGCONT)
    await eventually(lambda: is_status(channel, SERVING), 30, "SERVING once Redis answers")

    assert serving_exit == 0
    assert not_ready == (NOT_SERVING, NOT_SERVING)
    assert (not_serving_exit, alive_exit) == (1, 0)
    assert await readiness(channel) == (SERVING, SERVING)


async def test_a_stopped_external_redis_turns_health_not_serving_until_it_is_back(
    external_app: Served, external_redis: EmbeddedRedis
) -> None:
    _, api, channel = external_app
    before = await applied(api)

    await asyncio.to_thread(external_redis.stop)
    await eventually(lambda: is_status(channel, NOT_SERVING), 5, "NOT_SERVING when stopped")
    status = await api.ops.GetStatus(pb.GetStatusRequest())
    await asyncio.to_thread(external_redis.start)  # the same port, and its data
    await eventually(lambda: is_status(channel, SERVING), 30, "SERVING once Redis is back")

    assert not status.ready and not status.redis.reachable and status.redis.error
    assert (await before.view()).version == 1
    assert (await applied(api)).request_id
