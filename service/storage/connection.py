"""The asyncio Redis client, built in one place from `Settings`.

Every timeout, retry and pool setting is explicit. Retries cover connection errors and
timeouts, so a command can run twice; the commit scripts are safe to replay (their version
check makes a replay a no-op), and blocking reads must stay below `redis_socket_timeout_s`.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

from redis import exceptions
from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from service.config import Settings
from service.storage.sentinel import sentinel_client
from service.storage.sentinel_url import is_sentinel_url, parse_sentinel_url

RedisClient: TypeAlias = Redis | RedisCluster
RETRIED = (exceptions.ConnectionError, exceptions.TimeoutError)


class ClosingConnectionPool(BlockingConnectionPool):
    """A blocking pool that opens nothing once it is closed.

    redis-py's pool stays usable after ``aclose``: a task still running when the client is
    closed (a reader being cancelled, a command in its retry loop) gets a fresh connection,
    or reconnects the one it holds, and hands it back to a pool nobody will close again. The
    socket then lives until the garbage collector finds it (a ResourceWarning, at any later
    point). Here a closed pool refuses new work with a ConnectionError, and a connection
    handed back after the close is disconnected instead of kept.
    """

    closed = False

    async def get_connection(self, *args: Any, **options: Any) -> Any:
        if self.closed:
            raise exceptions.ConnectionError("the Redis client is closed")
        return await super().get_connection(*args, **options)  # type: ignore[no-untyped-call]

    async def release(self, connection: Any) -> None:
        await super().release(connection)
        if self.closed:
            await connection.disconnect()

    async def aclose(self) -> None:
        self.closed = True
        await super().aclose()


def connect(settings: Settings, url: str | None = None) -> RedisClient:
    """A client for `url` (default `settings.redis_url`); it connects on first use.

    The cluster client is used when `settings.redis_cluster` is set, the Sentinel-managed
    master's client for a `redis+sentinel://` URL. With the embedded server, pass
    `EmbeddedRedis.url`. Close the client with `await client.aclose()`.
    """
    target = url if url is not None else settings.redis_url
    if target is None:
        raise ValueError("no Redis URL: start the embedded server and pass its url")
    retry = Retry(
        ExponentialBackoff(
            cap=settings.redis_retry_backoff_cap_s, base=settings.redis_retry_backoff_base_s
        ),
        settings.redis_retry_attempts,
    )
    if is_sentinel_url(target):
        return sentinel_client(
            parse_sentinel_url(target),
            max_connections=settings.redis_max_connections,
            retry=retry,
            retry_on_error=list(RETRIED),
            socket_timeout=settings.redis_socket_timeout_s,
            socket_connect_timeout=settings.redis_socket_connect_timeout_s,
            health_check_interval=settings.redis_health_check_interval_s,
            decode_responses=True,
        )
    if settings.redis_cluster:
        # The cluster client keeps one pool per node, capped at max_connections (no queueing).
        return RedisCluster.from_url(
            target,
            retry=retry,
            retry_on_error=list(RETRIED),
            max_connections=settings.redis_max_connections,
            socket_timeout=settings.redis_socket_timeout_s,
            socket_connect_timeout=settings.redis_socket_connect_timeout_s,
            health_check_interval=settings.redis_health_check_interval_s,
            decode_responses=True,
        )
    # A blocking pool queues a command for a free connection instead of failing at the cap.
    pool = ClosingConnectionPool.from_url(
        target,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_socket_timeout_s,
        retry=retry,
        retry_on_error=list(RETRIED),
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_socket_connect_timeout_s,
        health_check_interval=settings.redis_health_check_interval_s,
        decode_responses=True,
    )
    return Redis.from_pool(pool)


def dedicated(client: RedisClient, max_connections: int) -> RedisClient:
    """A client to ``client``'s server with a connection pool of its own, of
    ``max_connections`` (a command waits for a free one, up to the socket timeout).

    The transition streams read through it: each holds a connection for as long as it is
    open (a blocking XREAD), so in the command pool they would starve the unary calls, and
    those would starve them. A cluster client is returned as it is: its streams poll with
    pipelines and hold no connection between rounds."""
    if isinstance(client, RedisCluster):
        return client
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    own = ClosingConnectionPool(
        connection_class=pool.connection_class,
        max_connections=max_connections,
        timeout=kwargs.get("socket_timeout") or None,
        **kwargs,
    )
    return Redis.from_pool(own)


async def wait_ready(client: RedisClient, timeout_s: float = 30.0) -> None:
    """Wait until Redis answers PING (a cluster: every primary, all slots covered).

    Connection errors, LOADING (a server reading its AOF) and an incomplete cluster are
    retried until `timeout_s`; then the last error is raised.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            if isinstance(client, RedisCluster):
                await client.initialize()
                await client.ping(target_nodes=RedisCluster.PRIMARIES)
            else:
                await client.ping()
        except (exceptions.RedisError, exceptions.RedisClusterException):
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(0.05)
        else:
            return
