"""What the service needs of a Redis it did not start, checked once at startup.

The embedded server is started with these settings (``redis_server``); a Redis run by an
operator may lack them, and nothing else would say so until it costs something:

* ``maxmemory-policy`` other than ``noeviction``: a full Redis evicts keys instead of refusing
  writes, and an evicted key is a lost request, timer, event or idempotency result.
* ``appendonly no``: a restart loses every write since the last snapshot.
* a record hash's values above ``hash-max-listpack-value`` (``hash-max-ziplist-value`` before
  Redis 7): a record's blob is a few hundred bytes, so with Redis's default of 64 every record
  hash is a hashtable instead of a listpack, ≈ 150 bytes more per request (BENCHMARKS.md §5).

Each finding is logged once as a WARNING naming the setting, its value and what to set. A
Redis that refuses CONFIG (managed services often rename or disable it) cannot be checked:
that is logged at INFO and the service starts as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from redis import exceptions
from redis.asyncio import Redis, RedisCluster

log = logging.getLogger(__name__)

# What the embedded server runs with (``redis_server.MEMORY_OPTIONS``): the largest record
# value kept in a listpack. Records of the bench's flows are 300–900 bytes.
LISTPACK_VALUE = 1024


def findings(config: Mapping[str, str]) -> list[str]:
    """What is wrong with a Redis whose ``CONFIG GET`` answered ``config``; [] when nothing."""
    out: list[str] = []
    policy = config.get("maxmemory-policy")
    if policy is not None and policy != "noeviction":
        out.append(
            f"maxmemory-policy is {policy}: a full Redis evicts keys (requests, timers, events) "
            "instead of refusing writes; set it to noeviction"
        )
    if config.get("appendonly") == "no":
        out.append(
            "appendonly is no: a Redis restart loses every write since its last snapshot; "
            "set appendonly yes (appendfsync everysec)"
        )
    name = "hash-max-listpack-value"
    value = config.get(name)
    if value is None:  # Redis 6.2 names it after the ziplist
        name = "hash-max-ziplist-value"
        value = config.get(name)
    if value is not None and value.isdigit() and int(value) < LISTPACK_VALUE:
        out.append(
            f"{name} is {value}: every record hash is a hashtable instead of a listpack, about "
            f"150 bytes more per request; set it to {LISTPACK_VALUE}"
        )
    return out


async def check_redis_settings(client: Redis | RedisCluster) -> list[str]:
    """Log (and return) what ``findings`` says of ``client``'s server, or of each primary of a
    cluster (a finding then names the node)."""
    try:
        if isinstance(client, RedisCluster):
            per_node = await _cluster_config(client)
        else:
            per_node = {"": await _config(client)}
    except exceptions.ResponseError as refused:  # CONFIG disabled or renamed
        log.info("redis settings not checked: CONFIG GET was refused (%s)", refused)
        return []
    out = []
    for node, config in per_node.items():
        for finding in findings(config):
            out.append(f"{node}: {finding}" if node else finding)
            log.warning("redis setting: %s", out[-1])
    return out


_PATTERNS = ("maxmemory-policy", "appendonly", "hash-max-*-value")


async def _config(client: Redis) -> dict[str, str]:
    config: dict[str, str] = {}
    for pattern in _PATTERNS:
        config.update(_as_dict(await client.config_get(pattern)))
    return config


async def _cluster_config(client: RedisCluster) -> dict[str, dict[str, str]]:
    per_node: dict[str, dict[str, str]] = {}
    for node in client.get_primaries():
        config: dict[str, str] = {}
        for pattern in _PATTERNS:
            reply: Any = await client.execute_command("CONFIG GET", pattern, target_nodes=node)
            config.update(_as_dict(reply))
        per_node[node.name] = config
    return per_node


def _as_dict(reply: Any) -> dict[str, str]:
    """A CONFIG GET reply as a dict (redis-py leaves a raw command's reply a flat list)."""
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    return {str(k): str(v) for k, v in zip(reply[::2], reply[1::2], strict=True)}
