"""The metrics endpoint: Prometheus text on its own HTTP port (``AFTERSALE_METRICS_LISTEN``).

It serves prometheus-client's default registry (every counter and histogram of
``metrics``, and any another module defines there) plus the gauges of this app read at
scrape time by :class:`ScrapeProbe`:

- the timers: due now and not claimed (the backlog), the age of the oldest overdue one,
  claimed (leased), pending in all: one pipeline of four cheap reads per shard (ZCOUNT,
  ZRANGE 0 0, ZCARD of both sets), run on the app's event loop, bounded by ``timeout_s``;
- the Redis connection pool: connections in use, and its size.

Reading at scrape time, not in the timer worker, keeps the backlog honest when the worker
is stuck or runs in another process, and costs nothing when nobody scrapes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer

from opentelemetry.instrumentation.utils import suppress_instrumentation
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aftersale.clock import Clock
from service.storage.keys import Keys
from service.storage.subscriptions import Subscriptions

log = logging.getLogger(__name__)


class MetricsBindError(RuntimeError):
    """The metrics address could not be bound."""


class _Shared(Collector):
    """The process-wide registry, served through each app's own."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


class ScrapeProbe(Collector):
    """Gauges read when Prometheus scrapes: the timer sets and the Redis pool."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        clock: Clock,
        loop: asyncio.AbstractEventLoop,
        *,
        timeout_s: float = 2.0,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._loop = loop
        self._timeout_s = timeout_s

    def describe(self) -> Iterable[Any]:
        return []  # read at scrape only: never run the Redis reads to register

    def collect(self) -> Iterator[Any]:
        yield from self._pool()
        ok = GaugeMetricFamily(
            "aftersale_timer_probe_success", "1 if the last scrape could read the timer sets"
        )
        timers = asyncio.run_coroutine_threadsafe(self._timers(), self._loop)
        try:
            due, oldest_s, leased, pending, flagged = timers.result(self._timeout_s)
        except Exception as exc:
            timers.cancel()  # a scrape must answer even when Redis does not
            log.warning("metrics: cannot read the timer sets: %s", type(exc).__name__)
            ok.add_metric([], 0)
            yield ok
            return
        ok.add_metric([], 1)
        yield ok
        yield _gauge("aftersale_timers_due", "Timers due now and not claimed (backlog)", due)
        yield _gauge(
            "aftersale_timers_oldest_overdue_seconds",
            "How long the oldest due, unclaimed timer has waited (0: none due)",
            oldest_s,
        )
        yield _gauge("aftersale_timers_leased", "Timers claimed by a worker, not committed", leased)
        yield _gauge("aftersale_timers_pending", "Timers scheduled and not claimed", pending)
        yield _gauge(
            "aftersale_refunds_unanswered",
            "Refunds flagged for ops: no payment result after every reminder",
            flagged,
        )
        yield from self._dead_letters()

    def _dead_letters(self) -> Iterator[Any]:
        """``aftersale_subscription_dead_letters{subscription}``: dead letters kept now."""
        read = asyncio.run_coroutine_threadsafe(self._dead_letter_counts(), self._loop)
        try:
            counts = read.result(self._timeout_s)
        except Exception as exc:
            read.cancel()
            log.warning("metrics: cannot read the dead letters: %s", type(exc).__name__)
            return
        gauge = GaugeMetricFamily(
            "aftersale_subscription_dead_letters",
            "Dead letters a subscription keeps now (replay or purge them: SubscriptionService)",
            labels=["subscription"],
        )
        for name, count in sorted(counts.items()):
            gauge.add_metric([name], count)
        yield gauge

    async def _dead_letter_counts(self) -> dict[str, int]:
        with suppress_instrumentation():
            return await Subscriptions(self._redis, self._keys).dead_letter_counts()

    async def _timers(self) -> tuple[int, float, int, int, int]:
        with suppress_instrumentation():  # a scrape is not a trace
            now = self._clock.now_ms()
            pipe = self._redis.pipeline(transaction=False)
            for shard in self._keys.all_shards():
                timers = self._keys.timers(shard)
                pipe.zcount(timers, "-inf", now)
                pipe.zrange(timers, 0, 0, withscores=True)
                pipe.zcard(timers)
                pipe.zcard(self._keys.leased(shard))
                pipe.zcard(self._keys.flagged(shard))
            replies = await pipe.execute()
        due = leased = pending = flagged = 0
        oldest_ms: float | None = None
        for count, head, size, claimed, marked in zip(*[iter(replies)] * 5, strict=True):
            flagged += int(marked)
            due += int(count)
            pending += int(size)
            leased += int(claimed)
            if head and (oldest_ms is None or head[0][1] < oldest_ms):
                oldest_ms = float(head[0][1])
        overdue_s = max(0.0, (now - oldest_ms) / 1000) if oldest_ms is not None else 0.0
        return due, overdue_s, leased, pending, flagged

    def _pool(self) -> Iterator[Any]:
        in_use, size = pool_usage(self._redis)
        if in_use is not None:
            yield _gauge(
                "aftersale_redis_pool_connections_in_use",
                "Redis connections checked out now (all nodes of a cluster)",
                in_use,
            )
        yield _gauge(
            "aftersale_redis_pool_connections_max",
            "Redis connection pool size (per node in a cluster)",
            size,
        )


def pool_usage(client: Any) -> tuple[int | None, int]:
    """(connections in use, pool size) of a ``Redis`` or ``RedisCluster`` client; in use is
    None when this redis-py keeps it where we cannot see it (private attributes)."""
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        in_use = getattr(pool, "_in_use_connections", None)
        return (len(in_use) if in_use is not None else None), int(pool.max_connections)
    nodes = client.get_nodes() if hasattr(client, "get_nodes") else []
    total = 0
    for node in nodes:
        made, free = getattr(node, "_connections", None), getattr(node, "_free", None)
        if made is None or free is None:
            return None, int(getattr(client, "max_connections", 0))
        total += len(made) - len(free)
    return total, int(getattr(client, "max_connections", 0))


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) as (host, port)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class MetricsEndpoint:
    """The HTTP server Prometheus scrapes (a daemon thread of prometheus-client's)."""

    def __init__(self, address: str, probe: ScrapeProbe | None = None) -> None:
        self.address = address
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Shared())
        if probe is not None:
            self.registry.register(probe)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> int:
        """Bind and serve; returns the bound port (the one chosen when the address says 0)."""
        host, port = split_address(self.address)
        try:
            self._server, self._thread = start_http_server(port, host, self.registry)
        except OSError as exc:
            raise MetricsBindError(
                f"cannot serve metrics on {self.address}: {exc.strerror or exc} "
                "(AFTERSALE_METRICS_LISTEN: another host:port, or empty for no metrics)"
            ) from exc
        self.port = int(self._server.server_port)
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
