"""Putting a request into the archive and taking it out of Redis, as the archiver and the
retention sweep will, for the read tests.

``archive_request(conn, record, history_rows)`` is the archiver's writer
(``service.archive.writes``): the record's columns and its stored form, and one ``events`` row
per history row as Redis keeps it. ``sweep`` deletes what the
sweep deletes: the record, the history and the listing entries (the order-line index stays).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from redis.asyncio import Redis, RedisCluster

from aftersale.model import AfterSale
from aftersale.vocabulary import Action
from service.archive import writes
from service.storage.codec import record_from_hash
from service.storage.event_codec import proto_names
from service.storage.keys import Keys

ACTION_NAMES = proto_names(Action)


async def archive_request(
    conn: asyncpg.Connection, record: AfterSale, history_rows: Sequence[str]
) -> None:
    """Archive ``record`` (its latest version wins) and its history rows (each once), with
    the archiver's own writer: the reads are tested against what the archiver writes."""
    await writes.archive_request(conn, record, history_rows)


async def archive_from_redis(
    conn: asyncpg.Connection, redis: Redis | RedisCluster, keys: Keys, request_id: str
) -> AfterSale:
    """Archive the request as Redis holds it now; its record."""
    fields = await redis.hgetall(keys.record(request_id))
    record = record_from_hash({_text(k): _text(v) for k, v in fields.items()})
    rows = await redis.lrange(keys.history(request_id), 0, -1)
    await archive_request(conn, record, [_text(row) for row in rows])
    return record


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def sweep(redis: Redis | RedisCluster, keys: Keys, record: AfterSale) -> None:
    """Delete what the retention sweep deletes of ``record``: its record, its history and its
    listing entries (every listing names it; the order-line index stays)."""
    shard = keys.shard_of_request(record.request_id)
    rid = record.request_id
    pipe = redis.pipeline(transaction=True)
    pipe.delete(keys.record(rid), keys.history(rid))
    pipe.zrem(keys.shop(shard, record.shop_id), rid)
    pipe.zrem(keys.buyer(shard, record.buyer_id), rid)
    pipe.zrem(keys.order(record.order_id), rid)
    pipe.zrem(keys.all_requests(shard), rid)
    await pipe.execute()
