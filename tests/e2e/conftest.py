"""e2e fixtures: the real service built by ``service.bootstrap`` on port 0, over the test Redis
(``redis`` from tests/conftest.py), with a fake clock, and a real gRPC channel to it.

The timer worker is built but its loop is off: tests move ``clock`` and call
``app.worker.run_once()``, or fire a timer through the ``FireTimer`` RPC. No sleeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from service.bootstrap import App, build
from service.config import Settings
from tests.e2e.support import Api

START_MS = 1_790_000_000_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START_MS)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        timers_enabled=False,
        redis_max_connections=16,
        metrics_listen="127.0.0.1:0",  # never the default port: tests run side by side
    )


@pytest.fixture
async def app(settings: Settings, clock: FakeClock, redis: Redis) -> AsyncIterator[App]:
    """The service, serving on a free port."""
    service = await build(settings, clock=clock, redis=redis)
    await service.start()
    try:
        yield service
    finally:
        await service.stop(grace_s=1.0)


@pytest.fixture
async def channel(app: App) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(app.address) as open_channel:
        yield open_channel


@pytest.fixture
def api(app: App, channel: grpc.aio.Channel, clock: FakeClock) -> Api:
    """Callers of the service: ``api.buyer(id)``, ``api.merchant(shop)``, ``api.payment``,
    ``api.ops``, each with its own token and metadata."""
    return Api(channel, app.settings.tokens_path, clock)
