"""Section 4: Redis memory per open request and per history entry (INFO ``used_memory``).

``N`` requests are applied through the handlers (with idempotency keys, as the API does), so
each has its record, pending timer, order-line index, shop/buyer/order listings, shop counters,
one history entry, one stream entry and one idempotency result. The footprint is then peeled
layer by layer, each delta divided by ``N``:

* idempotency results (kept for ``idempotency_ttl_s``, a day by default),
* history lists,
* stream entries (the stream is trimmed by length, so this is bounded per shard),
* what remains is the open request itself: record + timer + indexes (+ amortised counters).

Bytes per history entry: the same requests run more transitions (negotiate, reject the
negotiation, again), then the history lists are deleted; delta / entries.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from aftersale import commands as c
from aftersale.clock import SystemClock
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import AfterSaleType, NegotiationKind, NegotiationOption, Role
from bench.flows import IMAGE, PAID
from bench.inprocess import CALLER, apply
from bench.product import Parts, build_parts
from bench.redis_servers import used_memory
from service.handlers import Call


async def _delete_matching(parts: Parts, pattern: str) -> int:
    deleted = 0
    batch: list[str] = []
    async for key in parts.client.scan_iter(match=pattern, count=5_000):
        batch.append(key)
        if len(batch) >= 5_000:
            deleted += await parts.client.unlink(*batch)
            batch = []
    if batch:
        deleted += await parts.client.unlink(*batch)
    return deleted


async def _memory_by_key(parts: Parts, records: list[AfterSale]) -> dict[str, float]:
    """MEMORY USAGE of each key kind a request owns alone (mean over ``records``)."""
    keys = parts.keys
    kinds: dict[str, Callable[[AfterSale], str]] = {
        "record (hash)": lambda r: keys.record(r.request_id),
        "history (list, 1 entry)": lambda r: keys.history(r.request_id),
        "order-line index (hash)": lambda r: keys.line(r.order_id, r.sku_id),
        "order listing (zset, own key)": lambda r: keys.order(r.order_id),
        "buyer listing (zset, own key)": lambda r: keys.buyer(
            keys.shard_of_order(r.order_id), r.buyer_id
        ),
    }
    out: dict[str, float] = {}
    for name, key_of in kinds.items():
        sizes = [await parts.client.memory_usage(key_of(r), samples=0) or 0 for r in records]
        out[name] = round(sum(sizes) / len(sizes), 1)
    return out


async def _settle(url: str) -> int:
    """used_memory after lazy frees have finished (UNLINK frees in the background)."""
    await asyncio.sleep(0.3)
    return used_memory(url)


async def run(redis_url: str, count: int, log: Any) -> dict[str, Any]:
    async with build_parts(redis_url, SystemClock()) as parts:
        await parts.client.flushall()
        # Warm: scripts loaded, connection pool filled, then forget it all but the scripts.
        for i in range(20):
            await apply(parts.handlers, i, "warm", AfterSaleType.REFUND)
        await parts.client.flushall()
        base = await _settle(redis_url)

        records = []
        for i in range(count):
            kind = AfterSaleType.REFUND if i % 2 == 0 else AfterSaleType.RETURN
            records.append(await apply(parts.handlers, i, "mem", kind))
        full = await _settle(redis_url)
        by_key = await _memory_by_key(parts, records[:200])
        tag = "{" + parts.keys.prefix + ":*}"
        # Idempotency results are `{as:NN}:idempotency:…` (the previous release wrote `idem:`).
        await _delete_matching(parts, f"{tag}:idempotency:*")
        await _delete_matching(parts, f"{tag}:idem:*")
        no_idem = await _settle(redis_url)
        await _delete_matching(parts, f"{tag}:hist:*")
        no_hist = await _settle(redis_url)
        for shard in parts.keys.all_shards():
            await parts.client.xtrim(parts.keys.events(shard), maxlen=0, approximate=False)
        core = await _settle(redis_url)

        # History entries: two negotiation rounds (4 more entries) on a fifth of the requests.
        key = itertools.count()
        for record in records[: max(1, count // 5)]:
            merchant = Actor(Role.MERCHANT, record.shop_id)
            buyer = Actor(Role.BUYER, record.buyer_id)
            for _ in range(2):
                negotiate = c.Negotiate(
                    kind=NegotiationKind.MODIFY_APPLICATION,
                    option=NegotiationOption.AMOUNT_ONLY,
                    images=(IMAGE,),
                    proposed_amount=PAID // 2,
                )
                await parts.handlers.handle(
                    record.request_id, negotiate, Call(merchant, CALLER, f"m{next(key)}")
                )
                await parts.handlers.handle(
                    record.request_id, c.RejectNegotiation(), Call(buyer, CALLER, f"m{next(key)}")
                )
        entries = 0
        async for hist in parts.client.scan_iter(match=f"{tag}:hist:*", count=5_000):
            entries += int(await parts.client.llen(hist))
        with_hist = await _settle(redis_url)
        await _delete_matching(parts, f"{tag}:hist:*")
        without_hist = await _settle(redis_url)

    per = {
        "total_with_history_stream_idempotency": (full - base) / count,
        "idempotency_result": (full - no_idem) / count,
        "history_first_entry": (no_idem - no_hist) / count,
        "stream_entry": (no_hist - core) / count,
        "open_request": (core - base) / count,
    }
    per_entry = (with_hist - without_hist) / entries if entries else float("nan")
    log(
        f"  {count} open requests: {per['open_request']:.0f} B each without history/stream/"
        f"idempotency, {per['total_with_history_stream_idempotency']:.0f} B with; "
        f"history entry {per_entry:.0f} B"
    )
    return {
        "requests": count,
        "bytes_per_open_request": {k: round(v, 1) for k, v in per.items()},
        "redis_bytes_per_open_request": round(per["open_request"], 1),
        "bytes_per_history_entry": round(per_entry, 1),
        "history_entries_measured": entries,
        "used_memory_base": base,
        "memory_usage_by_key_bytes": by_key,
    }
