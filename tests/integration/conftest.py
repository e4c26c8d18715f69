"""Fixtures the storage tests share: each runs against a standalone Redis and a cluster."""

from __future__ import annotations

import pytest

from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.integration.storage_support import CLIENTS, Client, pick_client


@pytest.fixture(params=CLIENTS)
def client(request: pytest.FixtureRequest) -> Client:
    """The ``redis`` or ``redis_cluster_client`` fixture, by the test's parameter."""
    return pick_client(request)


@pytest.fixture
def keys() -> Keys:
    return Keys(shards=8)


@pytest.fixture
def repo(client: Client, keys: Keys) -> RedisRepository:
    return RedisRepository(client, keys)
