"""``RedisRepository``: the after-sale records in Redis (DESIGN §2 step 4, §3).

A write is one EVALSHA of the commit script (``commit.py``) in the request's shard slot.
Reads are single round trips or one pipeline over the shards (a cluster pipeline fans out
per node). Records are read with ``codec.record_from_hash`` (the blob, or the previous
release's flat hash).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol, cast

from redis.asyncio import Redis, RedisCluster

from aftersale.decide import Decision
from aftersale.exceptions import AfterSaleError, InvalidInput
from aftersale.model import AfterSale
from aftersale.vocabulary import State
from service.config import Settings
from service.observability.undecodable import undecodable
from service.storage.coalescer import Coalescer
from service.storage.codec import RecordForm, decode_record
from service.storage.commit import CommitLimits, commit_call, commit_result
from service.storage.counters import sum_stats
from service.storage.decoding import UndecodableEntry, record_from_fields, stored_event
from service.storage.keys import Keys
from service.storage.legacy import result_from_json
from service.storage.listing import ListingMerge, collect_page, start_after
from service.storage.ports import (
    AfterSaleRepository,
    CommitResult,
    HistoryPage,
    IdempotencyKey,
    IdempotentResult,
    RequestPage,
    StoredEvent,
    UndecodableRecord,
)
from service.storage.scripts import Scripts


class RedisRepository:
    """The Redis adapter of ``AfterSaleRepository``."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: Keys,
        *,
        idempotency_ttl_s: int = 86_400,
        max_attempts_per_line: int = 5,
        scripts: Scripts | None = None,
        coalesce: bool = True,
        record_form: RecordForm = "positional",
    ) -> None:
        self.client = client
        self.keys = keys
        self.limits = CommitLimits(idempotency_ttl_s, max_attempts_per_line, record_form)
        self.scripts = scripts or Scripts(client)
        # a command's reads and its commit: concurrent calls' share round trips
        self.coalescer = Coalescer(client, enabled=coalesce)

    @classmethod
    def from_settings(
        cls, client: Redis | RedisCluster, settings: Settings, keys: Keys | None = None
    ) -> RedisRepository:
        return cls(
            client,
            keys if keys is not None else Keys(settings.shards),
            idempotency_ttl_s=settings.idempotency_ttl_s,
            max_attempts_per_line=settings.max_attempts_per_line,
            coalesce=settings.redis_coalesce,
            record_form=cast("RecordForm", settings.redis_record_form),  # checked by options
        )

    # -- one request ---------------------------------------------------------------------

    def new_request_id(self, order_id: str, now_ms: int) -> str:
        """A fresh id for a request on ``order_id`` made at ``now_ms``, in the order's shard."""
        return self.keys.new_request_id(order_id, now_ms)

    async def load(self, request_id: str) -> AfterSale | None:
        """The stored record, or None. A malformed id raises ``MalformedRequestId``, a record
        that does not decode ``UndecodableRecord`` (logged and counted)."""
        fields = _hash(await self.coalescer.execute("HGETALL", self.keys.record(request_id)))
        return self._record(request_id, fields) if fields else None

    async def load_many(self, request_ids: list[str]) -> list[AfterSale | None]:
        """Records in the order asked, None where missing; one pipeline. A record that does
        not decode is None too (logged and counted), so one never fails a whole list page or
        timer batch."""
        if not request_ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for request_id in request_ids:
            pipe.hgetall(self.keys.record(request_id))
        rows: list[dict[str, str]] = await pipe.execute()
        records: list[AfterSale | None] = []
        for request_id, row in zip(request_ids, rows, strict=True):
            try:
                records.append(self._record(request_id, row) if row else None)
            except UndecodableRecord:
                records.append(None)
        return records

    def _record(self, request_id: str, fields: dict[str, str]) -> AfterSale:
        try:
            return record_from_fields(request_id, fields)
        except UndecodableRecord as error:
            undecodable("record", self.keys.record(request_id), request_id, error.why)
            raise

    async def idempotent_result(
        self, key: IdempotencyKey, order_id: str
    ) -> IdempotentResult | None:
        """The first result stored under ``key`` on ``order_id``, if any (one pipeline to the
        order's slot; the previous release's key is read beside it). A reference (the version
        an application made) is resolved with one more read, of the request it names: only a
        retry pays for it."""
        shard = self.keys.shard_of_order(order_id)
        replies = await self.coalescer.execute_many(
            [
                ("HMGET", self.keys.idempotency(order_id, *key), *_RESULT),
                ("HMGET", self.keys.legacy_idempotency(shard, key.caller, key.key), *_RESULT),
            ]
        )
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        stored, legacy = replies
        named = _reference_to(stored)
        current = await self.load(named) if named else None
        return _idempotent_result(stored, current) or _legacy_result(legacy, order_id)

    async def load_with_idempotency(
        self, request_id: str, key: IdempotencyKey
    ) -> tuple[AfterSale | None, IdempotentResult | None]:
        """The record and the first result under ``key`` on the record's order, in one round
        trip: one script in the request's slot reads the record, takes its order id and reads
        the key it names (every key of an order shares the slot)."""
        shard = self.keys.shard_of_request(request_id)
        before, after = self.keys.idempotency_around_order(shard, key.caller, key.actor, key.key)
        names = [
            self.keys.record(request_id),
            self.keys.legacy_idempotency(shard, key.caller, key.key),
        ]
        script = self.scripts.load_with_idempotency
        reply = await self.coalescer.run_script(script, names, [before, after])
        flat, stored, legacy = reply
        if not flat:
            return None, None
        record = self._record(request_id, dict(zip(flat[::2], flat[1::2], strict=True)))
        result = _idempotent_result(stored, record, request_id)
        return record, result or _legacy_result(legacy, record.order_id)

    async def commit(
        self,
        decision: Decision,
        *,
        read_version: int,
        idempotency: IdempotencyKey | None = None,
        body_hash: str = "",
        leased_timer_member: str | None = None,
    ) -> CommitResult:
        """Store ``decision`` in one script if the record is still at ``read_version``.

        Raises ``VersionConflict``, ``IdempotencyKeyReused``, ``LimitExceeded`` (order-line
        rules) or ``PermissionDenied`` (another buyer's order line); nothing is written then.
        With a used idempotency key and the same ``body_hash`` nothing is written and the
        first call's record comes back (``replayed``), or ``IdempotentCallSuperseded`` when
        the request moved on since; otherwise the new version is kept as the key's result.
        """
        keys, args = commit_call(
            self.keys,
            self.limits,
            decision,
            read_version,
            idempotency=idempotency,
            body_hash=body_hash,
            leased_timer_member=leased_timer_member,
        )
        reply: list[str] = await self.coalescer.run_script(self.scripts.commit, keys, args)
        max_attempts = self.limits.max_attempts_per_line
        used = idempotency.key if idempotency else ""
        return commit_result(reply, decision, read_version, used, max_attempts)

    async def commit_many(
        self, steps: Sequence[tuple[Decision, int, str | None]]
    ) -> list[CommitResult | AfterSaleError]:
        """Commit (decision, read_version, leased timer member) steps without idempotency keys
        (the timer worker's batches) in one pipeline; each result or refusal in order."""
        calls = [
            commit_call(self.keys, self.limits, decision, version, leased_timer_member=leased)
            for decision, version, leased in steps
        ]
        replies = await self.scripts.run_many(self.scripts.commit, calls)
        results: list[CommitResult | AfterSaleError] = []
        max_attempts = self.limits.max_attempts_per_line
        for (decision, read_version, _), reply in zip(steps, replies, strict=True):
            try:
                results.append(commit_result(reply, decision, read_version, "", max_attempts))
            except AfterSaleError as refused:
                results.append(refused)
        return results

    # -- reads ---------------------------------------------------------------------------

    async def history_page(self, request_id: str, offset: int = 0, limit: int = 100) -> HistoryPage:
        """The decodable events of ``limit`` entries from ``offset``, oldest first (entry i is
        version i + 1). An entry that does not decode is skipped (logged and counted), so a
        page may come back short, but the next one still starts right after it."""
        if offset < 0 or limit < 1:
            raise InvalidInput("offset" if offset < 0 else "limit", "out of range", "超出范围")
        key = self.keys.history(request_id)
        rows = await self.client.lrange(key, offset, offset + limit)  # one more: a next page?
        events = []
        for position, row in enumerate(rows[:limit], offset):
            try:
                events.append(stored_event(str(row)))
            except UndecodableEntry as error:
                undecodable("history", key, f"{request_id}[{position}]", error)
        return HistoryPage(events, offset + limit if len(rows) > limit else None)

    async def history(
        self, request_id: str, offset: int = 0, limit: int = 100
    ) -> list[StoredEvent]:
        """The decodable events of ``limit`` entries from ``offset`` (``history_page``)."""
        return (await self.history_page(request_id, offset, limit)).events

    async def shop_stats(self, shop_id: str) -> dict[str, int]:
        """The shop's counters summed over all shards (one pipeline)."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            pipe.hgetall(self.keys.stats(shard, shop_id))
        return sum_stats(await pipe.execute())

    async def list_requests(
        self,
        *,
        shop_id: str | None = None,
        buyer_id: str | None = None,
        order_id: str | None = None,
        states: Collection[State] = (),
        page_size: int = 50,
        page_token: str = "",
        created_from_ms: int | None = None,
        created_before_ms: int | None = None,
    ) -> RequestPage:
        """Requests newest first, by the most selective id filter given (order, buyer, shop,
        else all), created in [``created_from_ms``, ``created_before_ms``) when given; the
        other filters and ``states`` are applied to the records. A page may come back short
        with a next token when a state filter is sparse."""
        listing = self.listing_keys(shop_id or "", buyer_id or "", order_id or "")
        if page_size < 1:
            raise InvalidInput("page_size", "must be >= 1", "须 ≥ 1")
        keep = keeper(states, shop_id or "", buyer_id or "")
        after = start_after(page_token, created_before_ms)
        merge = ListingMerge(self.client, listing, after, created_from_ms)
        return RequestPage(*await collect_page(merge, self.load_many, page_size, keep))

    def listing_keys(self, shop_id: str, buyer_id: str, order_id: str) -> list[str]:
        """The listing zsets that hold every request the id filters may match: those of the
        most selective filter given (``listed_by``)."""
        keys = self.keys
        column, value = listed_by(shop_id, buyer_id, order_id)
        if column == "order_id":
            return [keys.order(value)]
        if column == "buyer_id":
            return [keys.buyer(shard, value) for shard in keys.all_shards()]
        if column == "shop_id":
            return [keys.shop(shard, value) for shard in keys.all_shards()]
        return [keys.all_requests(shard) for shard in keys.all_shards()]  # ops: every request


def listed_by(shop_id: str, buyer_id: str, order_id: str) -> tuple[str, str]:
    """The one id filter a listing is read by, as (field, id): the most selective given
    (order, buyer, shop), or ("", "") for every request; ``keeper`` applies the others."""
    if order_id:
        return "order_id", order_id
    if buyer_id:
        return "buyer_id", buyer_id
    if shop_id:
        return "shop_id", shop_id
    return "", ""


class Filterable(Protocol):
    """What a listing filters on: a record, or an archived request's columns."""

    @property
    def state(self) -> State | None: ...
    @property
    def shop_id(self) -> str: ...
    @property
    def buyer_id(self) -> str: ...


def keeper(states: Collection[State], shop_id: str, buyer_id: str) -> Callable[[Filterable], bool]:
    """Whether a listed request matches the filters its listing did not apply."""
    wanted = set(states)

    def keep(record: Filterable) -> bool:
        return (
            (not wanted or record.state in wanted)
            and (not shop_id or record.shop_id == shop_id)
            and (not buyer_id or record.buyer_id == buyer_id)
        )

    return keep


def _hash(reply: Any) -> dict[str, str]:
    """An HGETALL reply as the dict redis-py's ``hgetall`` returns (``execute_command`` of a
    cluster or a pipeline may leave the flat [field, value, …] list); the client decodes
    every reply to ``str``."""
    if isinstance(reply, dict):
        return cast("dict[str, str]", reply)
    return dict(zip(reply[::2], reply[1::2], strict=True))


# An idempotency result's fields: body hash; the record blob (the release before references)
# or the flat JSON (the one before that); the reference: version, event id, request id.
_RESULT = ["h", "d", "r", "v", "e", "i"]


def _legacy_result(stored: list[str | None], order_id: str) -> IdempotentResult | None:
    """A previous release's result (its keys were per caller and shard) counts only on the
    order it was stored for: the same key on another order is another call."""
    result = _idempotent_result(stored, None)
    if result is None or result.record is None or result.record.order_id != order_id:
        return None
    return result


def _reference_to(stored: list[str | None]) -> str:
    """The request an application's reference names ("": none, or not a reference)."""
    if not stored or stored[0] is None or stored[1] is not None or stored[2] is not None:
        return ""
    return stored[5] or ""


def _idempotent_result(
    stored: list[str | None], current: AfterSale | None, request_id: str = ""
) -> IdempotentResult | None:
    """The ``_RESULT`` fields of an idempotency hash as a result (None: the key is unused or
    was not read). A reference is resolved against ``current``, the record of the request it
    names (an application's ``i``, else ``request_id``, the call's) as Redis holds it now."""
    if not stored:
        return None
    body_hash, blob, legacy, version, event_id, named = stored
    if body_hash is None:
        return None
    if blob is not None or legacy is not None:  # an earlier form: the record as committed
        record = decode_record(blob) if blob is not None else result_from_json(legacy or "")
        return IdempotentResult(
            body_hash, record, record.version, event_id or "", record.request_id, current
        )
    if version is None:
        raise ValueError(f"an idempotency result with neither a record nor a version: {stored}")
    rid = named or request_id
    at = int(version)
    same = current is not None and current.request_id == rid and current.version == at
    return IdempotentResult(body_hash, current if same else None, at, event_id or "", rid, current)


__all__ = [
    "AfterSaleRepository",
    "CommitResult",
    "IdempotentResult",
    "RedisRepository",
    "RequestPage",
    "StoredEvent",
]
