"""Fixtures of the reliability tests.

- `threaded_service`: the real service (``service.bootstrap.build``) on port 0 with a
  `FakeClock`, run on an event loop in a thread of its own, so hypothesis' synchronous state
  machines and generators can call it through a blocking channel. Timers do not run by
  themselves (``AFTERSALE_TIMERS=0``): the tests fire them (FireTimer) or advance the clock.
- `sync_api`: a blocking client to it, with a token per role.
- `own_redis`: a redis-server of the test's own (it may be killed), options chosen by the test.

Long runs are marked ``chaos`` and run under ``make chaos`` only (``addopts = -m 'not chaos'``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import redis as redis_sync

from aftersale.clock import FakeClock
from service.config import Settings
from service.storage.redis_server import EmbeddedRedis
from tests.reliability.client import SyncApi, write_tokens
from tests.reliability.inprocess import ThreadedService, start_service, stop_service


@pytest.fixture
def threaded_service(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[ThreadedService]:
    """The service on port 0 over the session Redis (emptied first), with a FakeClock."""
    if not redis_server.running:
        redis_server.start()
    with redis_sync.Redis.from_url(redis_server.url) as client:
        client.flushall()
    tokens_file = tmp_path / "tokens.json"
    tokens = write_tokens(tokens_file)
    settings = Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        redis_url=redis_server.url,
        tokens_file=tokens_file,
        timers_enabled=False,
        log_level="WARNING",
        metrics_listen="",
    )
    service = start_service(settings, FakeClock(), tokens)
    try:
        yield service
    finally:
        stop_service(service)


@pytest.fixture
def sync_api(threaded_service: ThreadedService) -> Iterator[SyncApi]:
    """A blocking client of `threaded_service`."""
    with grpc.insecure_channel(threaded_service.address) as channel:
        yield SyncApi(channel, threaded_service.tokens)


@pytest.fixture
def sync_redis(redis_server: EmbeddedRedis) -> Iterator[redis_sync.Redis]:
    """A blocking client of the session Redis (for reading state between calls)."""
    with redis_sync.Redis.from_url(redis_server.url, decode_responses=True) as client:
        yield client


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[..., EmbeddedRedis]]:
    """``start(*options)``: a redis-server in ``tmp_path/redis`` this test may kill."""
    started: list[EmbeddedRedis] = []

    def start(*options: str) -> EmbeddedRedis:
        server = EmbeddedRedis(tmp_path / f"redis{len(started)}", options=options)
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in started:
            server.stop()
