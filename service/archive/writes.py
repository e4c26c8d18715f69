"""Writing requests into the archive (the schema: ``migrations/0001_archive.sql``).

A request is archived as it is in Redis at one moment: its record (columns + the stored blob)
and every history row. Both writes are idempotent, so archiving the same request again, or an
older version of it after a newer one, changes nothing:

- ``requests`` is upserted, and an existing row is replaced only by a higher version;
- ``events`` rows are inserted ``ON CONFLICT (request_id, version) DO NOTHING``: a version's
  event never changes once committed.

A history row is archived verbatim; its columns are read from it cheaply (the few fields
they need, not the whole event: the archiver reads every row of every request it archives).
A row that does not yield them is still archived, with the columns it cannot fill left empty
(``action`` and ``event_id`` ``""``, ``occurred_at`` the epoch): the archive keeps what Redis
kept, and a reader skips it as it skips it in Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from aftersale.groups import TERMINAL_STATES
from aftersale.model import AfterSale
from aftersale.vocabulary import Action
from service.storage.codec import encode_record_object, is_positional
from service.storage.decoding import ROW_START, UndecodableEntry, stored_event
from service.storage.event_codec import proto_names

log = logging.getLogger("service.archive")

_ACTION = proto_names(Action)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

UPSERT_REQUEST = """
INSERT INTO requests (request_id, shop_id, buyer_id, order_id, sku_id, type, state, amount,
    paid_amount, refund_amount, reason, first_reason, reject_reason, close_reason, terminal,
    created_at, updated_at, version, record)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (request_id) DO UPDATE SET
    shop_id = excluded.shop_id, buyer_id = excluded.buyer_id, order_id = excluded.order_id,
    sku_id = excluded.sku_id, type = excluded.type, state = excluded.state,
    amount = excluded.amount, paid_amount = excluded.paid_amount,
    refund_amount = excluded.refund_amount, reason = excluded.reason,
    first_reason = excluded.first_reason, reject_reason = excluded.reject_reason,
    close_reason = excluded.close_reason, terminal = excluded.terminal,
    created_at = excluded.created_at, updated_at = excluded.updated_at,
    version = excluded.version, record = excluded.record, archived_at = now()
WHERE excluded.version > requests.version
"""

INSERT_EVENT = """
INSERT INTO events (request_id, version, event_id, occurred_at, action, shop_id, event)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (request_id, version) DO NOTHING
"""


class _RowFacts(msgspec.Struct, rename="camel"):
    """What the columns need of a history row in proto JSON (other fields are skipped)."""

    event_id: str
    version: str | int
    action: str
    occurred_at: datetime
    shop_id: str = ""


_ROW_FACTS = msgspec.json.Decoder(_RowFacts).decode


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def request_row(record: AfterSale, blob: str | None = None) -> tuple[Any, ...]:
    """``record`` as the parameters of ``UPSERT_REQUEST``; ``blob``: its stored form as
    Redis holds it, if at hand. The archive keeps the object form (it names its fields, so
    it reads without the positional form's field order): an object blob is kept as it is
    rather than encoded again, a positional one is encoded anew."""
    refund, rejection = record.refund, record.rejection
    return (
        record.request_id,
        record.shop_id,
        record.buyer_id,
        record.order_id,
        record.sku_id,
        record.type.name,
        record.state.name,
        record.amount,
        record.paid_amount,
        refund.amount if refund is not None else None,
        record.reason.name,
        record.first_reason.name,
        rejection.reason.name if rejection is not None else None,
        record.close_reason.name if record.close_reason is not None else None,
        record.state in TERMINAL_STATES,
        _at(record.created_at_ms),
        _at(record.updated_at_ms),
        record.version,
        blob if blob is not None and not is_positional(blob) else _object_form(record),
    )


def _object_form(record: AfterSale) -> str:
    """The record as the archive keeps it (the object form)."""
    return encode_record_object(record).decode()


def event_rows(
    record: AfterSale, history_rows: Sequence[str], first_version: int = 1
) -> list[tuple[Any, ...]]:
    """The history rows as parameters of ``INSERT_EVENT``; row i is version
    ``first_version + i`` (the rows of a history from that version on)."""
    out = []
    for position, row in enumerate(history_rows, first_version):
        facts = _facts(row)
        if facts is None:
            log.warning("archiving an undecodable history row request_id=%s version=%d as it "
                        "is", record.request_id, position)  # fmt: skip
            out.append((record.request_id, position, "", _EPOCH, "", record.shop_id, row))
            continue
        event_id, version, action, occurred_at, shop_id = facts
        out.append(
            (record.request_id, version or position, event_id, occurred_at, action,
             shop_id or record.shop_id, row)
        )  # fmt: skip
    return out


def _facts(row: str) -> tuple[str, int, str, datetime, str] | None:
    """(event id, version, action's proto name, occurred at, shop) of a history row; None
    if it does not yield them."""
    if row.startswith(ROW_START):
        try:
            facts = _ROW_FACTS(row)
            version = int(facts.version)
        except (msgspec.DecodeError, ValueError):
            return None
        if facts.occurred_at.tzinfo is None:
            return None
        return facts.event_id, version, facts.action, facts.occurred_at, facts.shop_id
    try:  # the previous release's flat row
        stored = stored_event(row)
    except UndecodableEntry:
        return None
    event = stored.event
    occurred = _at(event.occurred_at_ms)
    return stored.event_id, event.version, _ACTION[event.action], occurred, event.shop_id


Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy  # what a pool's acquire gives


async def archive_many(conn: Conn, requests: Sequence[tuple[AfterSale, Sequence[str]]]) -> None:
    """Archive each (record, history rows), in the caller's transaction (one round trip per
    statement: ``executemany`` pipelines its rows)."""
    await write_rows(
        conn,
        [request_row(record) for record, _ in requests],
        [row for record, rows in requests for row in event_rows(record, rows)],
    )


async def write_rows(
    conn: Conn, requests: Sequence[tuple[Any, ...]], events: Sequence[tuple[Any, ...]]
) -> None:
    """``request_row`` and ``event_rows`` results, written in the caller's transaction."""
    if requests:
        await conn.executemany(UPSERT_REQUEST, requests)
    if events:
        await conn.executemany(INSERT_EVENT, events)


async def archive_request(conn: Conn, record: AfterSale, history_rows: Sequence[str]) -> None:
    """Archive one request as it is now (its record and every history row), in one
    transaction; idempotent (see the module docstring)."""
    async with conn.transaction():
        await archive_many(conn, [(record, history_rows)])
