"""The startup check of a Redis the service did not start, against a real redis-server."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis, RedisCluster

from service.storage.redis_settings import LISTPACK_VALUE, check_redis_settings


async def test_the_embedded_servers_settings_pass_but_for_its_append_only_file(
    redis: Redis,
) -> None:
    appendonly = (await redis.config_get("appendonly"))["appendonly"]
    found = await check_redis_settings(redis)
    assert found == ([] if appendonly == "yes" else [found[0]])
    assert all("appendonly" in f for f in found)


async def test_an_evicting_redis_and_a_small_listpack_value_are_logged_as_warnings(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    before = await redis.config_get("maxmemory-policy")
    value_name = str(next(iter(await redis.config_get("hash-max-*-value"))))
    before_value = str((await redis.config_get(value_name))[value_name])
    assert before_value == str(LISTPACK_VALUE)
    try:
        await redis.config_set("maxmemory-policy", "allkeys-lru")
        await redis.config_set(value_name, "64")
        with caplog.at_level(logging.WARNING, "service.storage.redis_settings"):
            found = await check_redis_settings(redis)
    finally:
        await redis.config_set("maxmemory-policy", str(before["maxmemory-policy"]))
        await redis.config_set(value_name, before_value)
    assert any("maxmemory-policy is allkeys-lru" in f for f in found)
    assert any(f"{value_name} is 64" in f for f in found)
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert all(any(f in line for line in logged) for f in found)


async def test_each_primary_of_a_cluster_is_checked_and_named(
    redis_cluster_client: RedisCluster,
) -> None:
    primaries = redis_cluster_client.get_primaries()
    node = primaries[0]
    await redis_cluster_client.execute_command(
        "CONFIG SET", "maxmemory-policy", "volatile-lru", target_nodes=node
    )
    try:
        found = await check_redis_settings(redis_cluster_client)
    finally:
        await redis_cluster_client.execute_command(
            "CONFIG SET", "maxmemory-policy", "noeviction", target_nodes=node
        )
    evicting = [f for f in found if "maxmemory-policy" in f]
    assert len(evicting) == 1
    assert evicting[0].startswith(f"{node.name}: maxmemory-policy is volatile-lru")
