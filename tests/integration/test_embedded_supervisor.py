"""The supervisor of the embedded redis-server (service.embedded_supervisor): a server killed
with -9 is started again on its port, with its data and its password, and the death is
reported at once; a stop during the backoff leaves it stopped and its directory free."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

from redis.asyncio import Redis

from service.config import Settings
from service.embedded_supervisor import EmbeddedRedisSupervisor
from service.storage.connection import connect, wait_ready
from service.storage.redis_server import EmbeddedRedis

StartRedis = Callable[[Path], EmbeddedRedis]


async def until(condition: Callable[[], bool], within_s: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        assert loop.time() < deadline, "the supervisor did not act in time"
        await asyncio.sleep(0.05)


async def test_a_killed_server_is_started_again_on_its_port_with_its_data(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    server = redis_factory(tmp_path / "redis")
    port, url, killed = server.port, server.url, server.pid
    client = connect(Settings(redis_url=url))
    assert isinstance(client, Redis) and killed is not None
    await client.set("acknowledged", "yes")
    exits: list[str] = []
    supervisor = EmbeddedRedisSupervisor(server, backoff_s=0.1, on_exit=exits.append)
    supervisor.start()
    try:
        os.kill(killed, signal.SIGKILL)
        await until(lambda: supervisor.restarts == 1)
        await wait_ready(client, timeout_s=10)
        value = await client.get("acknowledged")
    finally:
        await supervisor.stop()
        await client.aclose()

    assert (server.port, server.url) == (port, url)
    assert server.running and server.pid != killed
    assert value == "yes"
    assert exits == ["embedded redis-server exited (signal 9)"]
    assert supervisor.exits == 1


async def test_a_stop_during_the_backoff_leaves_the_server_stopped_and_its_directory_free(
    redis_factory: StartRedis, tmp_path: Path
) -> None:
    server = redis_factory(tmp_path / "redis")
    supervisor = EmbeddedRedisSupervisor(server, backoff_s=60)
    supervisor.start()
    assert server.pid is not None

    os.kill(server.pid, signal.SIGKILL)
    await until(lambda: supervisor.exits == 1)
    await supervisor.stop()
    again = EmbeddedRedis(tmp_path / "redis").start()  # the lock was released
    again.stop()

    assert not server.running
    assert supervisor.restarts == 0
