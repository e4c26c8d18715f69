"""Putting a request into the archive and taking it out of Redis, as the archiver and the
retention sweep will, for the read tests.

``archive_request(conn, record, history_rows)`` writes the rows an archiver writes: the
record's columns and its stored form (``codec``), and one ``events`` row per history row as
Redis keeps it. It has the signature of ``service.archive.writes.archive_request`` so the
tests can switch to the archiver's own writer once it exists. ``sweep`` deletes what the
sweep deletes: the record, the history and the listing entries (the order-line index stays).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from redis.asyncio import Redis, RedisCluster

from aftersale.groups import TERMINAL_STATES
from aftersale.model import AfterSale
from aftersale.vocabulary import Action
from service.archive.reads import at_ms
from service.storage.codec import encode_record, record_from_hash
from service.storage.decoding import stored_event
from service.storage.event_codec import proto_names
from service.storage.keys import Keys

ACTION_NAMES = proto_names(Action)

_REQUEST = """
INSERT INTO requests (request_id, shop_id, buyer_id, order_id, sku_id, type, state, amount,
    paid_amount, refund_amount, reason, first_reason, reject_reason, close_reason, terminal,
    created_at, updated_at, version, record)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
    $19::jsonb)
ON CONFLICT (request_id) DO UPDATE SET
    state = EXCLUDED.state, type = EXCLUDED.type, amount = EXCLUDED.amount,
    refund_amount = EXCLUDED.refund_amount, reason = EXCLUDED.reason,
    reject_reason = EXCLUDED.reject_reason, close_reason = EXCLUDED.close_reason,
    terminal = EXCLUDED.terminal, updated_at = EXCLUDED.updated_at,
    version = EXCLUDED.version, record = EXCLUDED.record, archived_at = now()
WHERE requests.version < EXCLUDED.version
"""
_EVENT = """
INSERT INTO events (request_id, version, event_id, occurred_at, action, shop_id, event)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
ON CONFLICT (request_id, version) DO NOTHING
"""


async def archive_request(
    conn: asyncpg.Connection, record: AfterSale, history_rows: Sequence[str]
) -> None:
    """Archive ``record`` (its latest version wins) and its history rows (each once)."""
    r = record
    async with conn.transaction():
        await conn.execute(
            _REQUEST,
            r.request_id,
            r.shop_id,
            r.buyer_id,
            r.order_id,
            r.sku_id,
            r.type.name,
            r.state.name,
            r.amount,
            r.paid_amount,
            r.refund.amount if r.refund is not None else None,
            r.reason.name,
            r.first_reason.name,
            r.rejection.reason.name if r.rejection is not None else None,
            r.close_reason.name if r.close_reason is not None else None,
            r.state in TERMINAL_STATES,
            at_ms(r.created_at_ms),
            at_ms(r.updated_at_ms),
            r.version,
            encode_record(r).decode(),
        )
        rows = []
        for row in history_rows:
            stored = stored_event(row)
            event = stored.event
            rows.append(
                (
                    event.request_id,
                    event.version,
                    stored.event_id,
                    at_ms(event.occurred_at_ms),
                    ACTION_NAMES[event.action],
                    event.shop_id,
                    row,
                )
            )
        await conn.executemany(_EVENT, rows)


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
