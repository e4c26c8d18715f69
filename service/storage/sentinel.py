"""The Redis client of a Sentinel-managed master (URL form: `service.storage.sentinel_url`).

The client asks the sentinels for the master's address each time it opens a socket and drops
its idle connections when the address changes, so a failover costs the commands in flight
(retried like any connection error: the retry reaches the new master) and nothing else.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)

from service.storage.sentinel_url import SentinelUrl


class MasterConnection(SentinelManagedConnection):
    """A connection that asks the sentinels for the master each time it opens its socket.

    redis-py's own asks only when the pool hands out a closed connection: a reconnect inside
    a command's retry (after READONLY from a demoted master, or a reset) goes back to the
    address the connection had (redis-py issue #3874), so every retry fails on the old
    master. Asking again here costs one sentinel round trip per new socket."""

    async def _connect(self) -> None:
        if self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()  # type: ignore[no-untyped-call]


class MasterSSLConnection(MasterConnection, SentinelManagedSSLConnection):
    """`MasterConnection` over TLS."""


class BlockingSentinelConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """Connections to the current master, queueing for a free one at the cap, as the
    standalone client's `BlockingConnectionPool` does (redis-py's sentinel pool fails
    instead). Sentinel's address lookup and connection ownership, the blocking pool's
    `get_connection` and `release`."""


class SentinelMasterRedis(Redis):
    """The master's client; closing it closes its sentinel clients too."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close the client, its pool and the sentinel connections behind it."""
        pool = self.connection_pool
        await super().aclose(close_connection_pool)
        if isinstance(pool, SentinelConnectionPool):
            await pool.sentinel_manager.aclose()


def sentinel_client(url: SentinelUrl, *, max_connections: int, **options: Any) -> Redis:
    """A client of the master `url` names; `options` are the connection options
    (timeouts, retry, health check, decode_responses) for the master and the sentinels."""
    socket_options = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel_options: dict[str, Any] = {**socket_options, "decode_responses": True}
    if url.sentinel_password is not None:
        sentinel_options["password"] = url.sentinel_password
        sentinel_options["username"] = url.sentinel_username
    if url.tls:
        sentinel_options["ssl"] = True
    sentinels = list(url.sentinels)
    sentinel = Sentinel(sentinels, sentinel_kwargs=sentinel_options)  # type: ignore[no-untyped-call]
    client: Redis = sentinel.master_for(
        url.service_name,
        redis_class=SentinelMasterRedis,
        connection_pool_class=BlockingSentinelConnectionPool,
        connection_class=MasterSSLConnection if url.tls else MasterConnection,
        max_connections=max_connections,
        timeout=options.get("socket_timeout"),  # longest wait for a free pooled connection
        db=url.db,
        username=url.username,
        password=url.password,
        **options,
    )
    return client
