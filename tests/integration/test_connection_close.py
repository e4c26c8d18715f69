"""A closed client opens nothing more (service.storage.connection.ClosingConnectionPool).

redis-py's own pool keeps working after ``aclose``: a task that was still running when the
client closed got a fresh socket, or reconnected the one it held during a retry, and handed it
back to a pool nobody closes again; the socket surfaced much later as an unclosed-socket
ResourceWarning in whichever test the garbage collector happened to run in (CI failed so).
"""

from __future__ import annotations

import pytest
from redis import exceptions
from redis.asyncio import Redis

from service.config import Settings
from service.storage.connection import ClosingConnectionPool, connect, dedicated
from service.storage.redis_server import EmbeddedRedis


async def test_a_command_after_the_close_is_refused_instead_of_opening_a_socket(
    redis_server: EmbeddedRedis,
) -> None:
    client = connect(Settings(redis_url=redis_server.url))
    assert isinstance(client, Redis)
    assert await client.ping()
    await client.aclose()
    with pytest.raises(exceptions.ConnectionError, match="closed"):
        await client.ping()


async def test_a_connection_handed_back_after_the_close_is_disconnected(
    redis_server: EmbeddedRedis,
) -> None:
    client = connect(Settings(redis_url=redis_server.url))
    assert isinstance(client, Redis)
    streams = dedicated(client, 2)
    assert isinstance(streams, Redis)
    for each in (client, streams):
        pool = each.connection_pool
        assert isinstance(pool, ClosingConnectionPool)
        held = await pool.get_connection()
        await each.aclose()  # disconnects the held connection too…
        await held.connect()  # …which a command's retry then reconnects
        assert held.is_connected
        await pool.release(held)
        assert not held.is_connected
