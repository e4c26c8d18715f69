from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import exceptions
from redis.asyncio import Redis, RedisCluster

from service.config import Settings
from service.storage.connection import connect, wait_ready
from service.storage.redis_server import HOST, EmbeddedRedis, EmbeddedRedisError, free_port

StartRedis = Callable[[Path], EmbeddedRedis]


@asynccontextmanager
async def client_of(server: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = connect(Settings(redis_url=server.url))
    assert isinstance(client, Redis)
    try:
        yield client
    finally:
        await client.aclose()


async def test_data_written_before_a_stop_is_found_by_a_start_on_the_same_directory(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    first = redis_factory(tmp_path / "redis")
    async with client_of(first) as client:
        await client.hset("as:{as:07}:req:1", mapping={"state": "MERCHANT_PROCESSING", "v": "1"})
        await client.xadd("as:{as:07}:events", {"request_id": "1"})
    first.stop()

    second = redis_factory(tmp_path / "redis")

    async with client_of(second) as client:
        assert await client.hgetall("as:{as:07}:req:1") == {
            "state": "MERCHANT_PROCESSING",
            "v": "1",
        }
        assert await client.xlen("as:{as:07}:events") == 1
    assert (tmp_path / "redis" / "appendonly.aof").exists()


def test_stop_ends_the_process_after_a_clean_shutdown(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    server = redis_factory(tmp_path / "redis")
    pid = server.pid
    assert pid is not None and server.running

    server.stop()

    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "ready to exit" in server.log_tail()
    assert not (tmp_path / "redis" / "redis.pid").exists()


async def test_acknowledged_writes_survive_a_killed_server(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    server = redis_factory(tmp_path / "redis")
    async with client_of(server) as client:
        await client.set("as:{as:01}:key", "kept")

    server.kill()
    server.start()

    async with client_of(server) as client:
        assert await client.get("as:{as:01}:key") == "kept"


async def test_a_client_carries_on_after_a_restart_on_the_same_port(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    server = redis_factory(tmp_path / "redis")
    port = server.port
    async with client_of(server) as client:
        await client.set("as:{as:02}:key", "before")

        server.restart()

        assert server.port == port
        assert await client.get("as:{as:02}:key") == "before"


def test_a_second_server_on_a_directory_in_use_is_refused(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    first = redis_factory(tmp_path / "redis")

    with pytest.raises(EmbeddedRedisError, match="used by another process"):
        EmbeddedRedis(tmp_path / "redis").start()

    assert first.running


def test_a_server_that_cannot_start_reports_its_log(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    broken = EmbeddedRedis(tmp_path / "redis", options=("--no-such-directive", "1"))

    with pytest.raises(EmbeddedRedisError, match="Bad directive"):
        broken.start()

    assert not broken.running
    assert redis_factory(tmp_path / "redis").running  # the directory was released


async def test_a_server_left_running_by_a_dead_process_is_stopped_before_a_new_start(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    directory = (tmp_path / "redis").absolute()
    directory.mkdir()
    leftover = EmbeddedRedis(directory, port=free_port())
    leftover.prepare()
    orphan = subprocess.Popen(
        leftover.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        async with client_of(leftover) as client:
            await wait_ready(client)
            await client.set("as:{as:03}:key", "from the earlier run")
        while not (directory / "redis.pid").exists():
            assert time.monotonic() < deadline, "the leftover server wrote no pid file"
            time.sleep(0.01)

        server = redis_factory(directory)

        assert orphan.wait(timeout=30) == 0
        async with client_of(server) as client:
            assert await client.get("as:{as:03}:key") == "from the earlier run"
    finally:
        if orphan.poll() is None:
            orphan.kill()
        orphan.wait()


async def test_the_embedded_server_wants_its_password_and_keeps_its_files_to_its_owner(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    first = redis_factory(tmp_path / "redis")
    async with client_of(first) as client:
        await client.set("as:{as:04}:key", "an address and a phone")
        await client.bgrewriteaof()  # AOF rewrites make files of their own
    first.stop()

    second = redis_factory(tmp_path / "redis")

    anonymous = Redis(host=HOST, port=second.port)
    wrong = Redis.from_url(f"redis://:not-the-password@{HOST}:{second.port}")
    try:
        with pytest.raises(exceptions.AuthenticationError):
            await anonymous.set("as:{as:04}:key", "overwritten")
        with pytest.raises(exceptions.AuthenticationError):
            await wrong.get("as:{as:04}:key")
    finally:
        await anonymous.aclose()
        await wrong.aclose()
    async with client_of(second) as client:
        assert await client.get("as:{as:04}:key") == "an address and a phone"
    password = urlsplit(second.url).password
    assert password and password == urlsplit(first.url).password
    assert _mode(tmp_path / "redis") == 0o700
    files = [path for path in (tmp_path / "redis").rglob("*")]
    assert {path.name for path in files} >= {"appendonly.aof", "redis.log", "password"}
    assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_service_keeps_redis_files_under_its_data_directory(tmp_path: Path) -> None:
    server = EmbeddedRedis.in_data_dir(tmp_path)

    assert server.directory == (tmp_path / "redis").absolute()


async def test_connect_applies_the_configured_timeouts_and_pool(
    redis_server: EmbeddedRedis,
) -> None:
    settings = Settings(
        redis_url=redis_server.url,
        redis_socket_timeout_s=1.5,
        redis_socket_connect_timeout_s=0.5,
        redis_max_connections=7,
        redis_health_check_interval_s=3,
    )

    client = connect(settings)

    try:
        assert isinstance(client, Redis)
        pool = client.connection_pool
        assert pool.max_connections == 7
        assert pool.connection_kwargs["socket_timeout"] == 1.5
        assert pool.connection_kwargs["socket_connect_timeout"] == 0.5
        assert pool.connection_kwargs["health_check_interval"] == 3
        assert await client.echo("décodé") == "décodé"
    finally:
        await client.aclose()


async def test_wait_ready_gives_up_with_the_last_error_when_nothing_listens() -> None:
    client = connect(Settings(redis_url=f"redis://127.0.0.1:{free_port()}", redis_retry_attempts=0))

    try:
        with pytest.raises(exceptions.ConnectionError):
            await wait_ready(client, timeout_s=0.2)
    finally:
        await client.aclose()


async def test_wait_ready_returns_once_the_server_answers(redis: Redis) -> None:
    await wait_ready(redis)

    assert await redis.dbsize() == 0


@pytest.mark.cluster
async def test_the_cluster_client_reads_and_writes_keys_on_every_master(
    redis_cluster_client: RedisCluster,
) -> None:
    keys = [f"smoke:{index}" for index in range(60)]
    await wait_ready(redis_cluster_client)

    for key in keys:
        await redis_cluster_client.set(key, key.upper())

    masters = {redis_cluster_client.get_node_from_key(key) for key in keys}
    assert None not in masters
    assert len(masters) == 3
    assert [await redis_cluster_client.get(key) for key in keys] == [key.upper() for key in keys]


@pytest.mark.cluster
async def test_a_script_runs_on_keys_sharing_one_hash_tag(
    redis_cluster_client: RedisCluster,
) -> None:
    script = """
    redis.call('HSET', KEYS[1], 'state', ARGV[1])
    redis.call('RPUSH', KEYS[2], ARGV[1])
    return redis.call('LLEN', KEYS[2])
    """
    record, history = "as:{as:07}:req:7", "as:{as:07}:hist:7"

    length = await redis_cluster_client.eval(script, 2, record, history, "MERCHANT_PROCESSING")

    assert length == 1
    assert await redis_cluster_client.hget(record, "state") == "MERCHANT_PROCESSING"
    assert await redis_cluster_client.lrange(history, 0, -1) == ["MERCHANT_PROCESSING"]


@pytest.mark.cluster
async def test_a_script_on_keys_of_different_shards_is_refused(
    redis_cluster_client: RedisCluster,
) -> None:
    with pytest.raises(exceptions.RedisClusterException):
        await redis_cluster_client.eval("return 1", 2, "as:{as:07}:req:7", "as:{as:08}:req:8")
