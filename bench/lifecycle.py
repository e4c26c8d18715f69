"""Section ``lifecycle``: Redis memory of finished requests, before and after the retention
sweep (issue 12, item 2), INFO ``used_memory``.

``N`` requests run to their end through the handlers, half each flow (negotiated refund: 4
commits; return: 5), with idempotency keys as the API does. Then, each delta divided by ``N``:

* ``terminal_total``: all a finished request holds the moment it finishes (record, history,
  listings, order-line index, retention queue entry, stream entries, idempotency results);
* ``idempotency_results``: its results, which expire a day after each call;
* ``stream_entries``: its transition events, trimmed after a day (once acknowledged);
* ``inside_retention``: what stays until the sweep (record, history, listings, line index,
  queue entry);
* every request is archived into a PostgreSQL of its own (the archiver's writer, then its
  mark): ``archive_bytes_per_request`` is the archive's tables (rows, indexes, TOAST, after a
  VACUUM) per request, what PostgreSQL grows by for good; then the sweep runs (retention 0)
  until it has nothing left: ``after_sweep``, of which ``order_line_index`` (the line
  hashes, deleted to measure them), ``shop_counters`` (per shop and shard, not per request:
  amortised over the requests) and ``beyond_line_index_and_counters`` (target 0: what is left
  is per shard, not per request: the empty stream keys, the walk positions).

``used_memory_after_sweep`` is Redis' whole ``used_memory`` with the ``N`` requests swept
and their lines still there (the base, an empty Redis with the scripts loaded, beside it).
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.inprocess import one_flow
from bench.product import OffsetClock, Parts, build_parts
from bench.redis_servers import used_memory
from service.archive.identity import archive_identity
from service.archive.marks import mark_archived
from service.archive.migrate import migrate
from service.archive.postgres_server import EmbeddedPostgres
from service.archive.writes import archive_many
from service.storage.codec import record_from_hash
from service.storage.lifecycle import TerminalSweep


async def _settle(url: str) -> int:
    """used_memory after lazy frees have finished (UNLINK frees in the background)."""
    await asyncio.sleep(0.3)
    return used_memory(url)


async def _delete_matching(parts: Parts, pattern: str) -> int:
    deleted, batch = 0, list[str]()
    async for key in parts.client.scan_iter(match=pattern, count=5_000):
        batch.append(key)
        if len(batch) >= 5_000:
            deleted += await parts.client.unlink(*batch)
            batch = []
    if batch:
        deleted += await parts.client.unlink(*batch)
    return deleted


async def _flows(parts: Parts, count: int, concurrency: int) -> int:
    """Run flows 0..count-1 to their end; the commits made."""
    indexes = iter(range(count))
    commits = 0

    async def worker() -> None:
        nonlocal commits
        for index in indexes:
            made = await one_flow(parts.handlers, index, "life")
            commits += made

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return commits


async def _archive(parts: Parts, url: str) -> tuple[int, dict[str, int], str]:
    """What the archiver does: every request (record and history, read from Redis) written
    to PostgreSQL with the archiver's writer, then marked with its marking script; the
    archive's tables' sizes (rows, indexes, TOAST) after a VACUUM."""
    marked = 0
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
        archive = await archive_identity(connection)
        for shard in parts.keys.all_shards():
            ids = await parts.client.zrange(parts.keys.all_requests(shard), 0, -1)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                pipe = parts.client.pipeline(transaction=False)
                for rid in chunk:
                    pipe.hgetall(parts.keys.record(rid))
                    pipe.lrange(parts.keys.history(rid), 0, -1)
                replies = await pipe.execute()
                requests = [
                    (record_from_hash(replies[i]), replies[i + 1])
                    for i in range(0, len(replies), 2)
                ]
                async with connection.transaction():
                    await archive_many(connection, requests)
                for record, _ in requests:
                    marked += await mark_archived(
                        parts.client, parts.keys, record.request_id, record.version, archive
                    )
        await connection.execute("VACUUM ANALYZE")
        sizes = {
            table: int(await connection.fetchval("SELECT pg_total_relation_size($1)", table))
            for table in ("requests", "events")
        }
    finally:
        await connection.close()
    return marked, sizes, archive


async def run(redis_url: str, count: int, log: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as directory:
        postgres = EmbeddedPostgres(Path(directory) / "postgres").start()
        try:
            return await _run(redis_url, postgres.url, count, log)
        finally:
            postgres.stop()


async def _run(redis_url: str, postgres_url: str, count: int, log: Any) -> dict[str, Any]:
    clock = OffsetClock()
    async with build_parts(redis_url, clock) as parts:
        await parts.client.flushall()
        await _flows(parts, 20, 1)  # warm: scripts loaded, pool filled
        await parts.client.flushall()
        base = await _settle(redis_url)

        began = time.perf_counter()
        commits = await _flows(parts, count, concurrency=16)
        flows_s = time.perf_counter() - began
        terminal = await _settle(redis_url)
        keys = parts.keys
        queued = sum([await parts.client.zcard(keys.terminal(s)) for s in keys.all_shards()])
        tag = "{" + keys.prefix + ":*}"
        await _delete_matching(parts, f"{tag}:idempotency:*")
        no_idempotency = await _settle(redis_url)
        for shard in keys.all_shards():
            await parts.client.xtrim(keys.events(shard), maxlen=0, approximate=False)
        inside = await _settle(redis_url)

        marked, archive_sizes, archive = await _archive(parts, postgres_url)
        sweep = TerminalSweep(parts.client, keys, retention_ms=0, batch=100)
        began = time.perf_counter()
        swept = waiting = 0
        for _ in itertools.count():
            result = await sweep.sweep(clock.now_ms(), archive=archive)
            swept, waiting = swept + result.swept, result.waiting
            if result.swept == 0:
                break
        sweep_s = time.perf_counter() - began
        after = await _settle(redis_url)
        left = [key async for key in parts.client.scan_iter(match=f"{tag}:req:*", count=5_000)]
        await _delete_matching(parts, f"{tag}:line:*")
        no_lines = await _settle(redis_url)
        remaining: dict[str, int] = {}
        async for key in parts.client.scan_iter(count=5_000):
            kind = key.split(":")[2] if key.count(":") >= 2 else key
            remaining[kind] = remaining.get(kind, 0) + 1
        await _delete_matching(parts, f"{tag}:stats:*")
        no_counters = await _settle(redis_url)

    per = {
        "terminal_total": (terminal - base) / count,
        "idempotency_results": (terminal - no_idempotency) / count,
        "stream_entries": (no_idempotency - inside) / count,
        "inside_retention": (inside - base) / count,
        "after_sweep": (after - base) / count,
        "order_line_index": (after - no_lines) / count,
        "shop_counters": (no_lines - no_counters) / count,  # per shop and shard, not request
        "beyond_line_index_and_counters": (no_counters - base) / count,
    }
    archive_per = {table: size / count for table, size in archive_sizes.items()}
    log(
        f"  archive: {sum(archive_per.values()):.0f} B per finished request in PostgreSQL "
        f"(requests {archive_per['requests']:.0f} B, events {archive_per['events']:.0f} B, "
        "indexes and TOAST included)"
    )
    log(
        f"  {count} finished requests ({commits} commits, {flows_s:.0f} s): "
        f"{per['terminal_total']:.0f} B each when they finish, {per['inside_retention']:.0f} B "
        f"inside the retention window, {per['after_sweep']:.0f} B after the sweep "
        f"(line index {per['order_line_index']:.0f} B, shop counters "
        f"{per['shop_counters']:.0f} B, the rest {per['beyond_line_index_and_counters']:.0f} B); "
        f"swept {swept} in {sweep_s:.1f} s"
    )
    return {
        "requests": count,
        "commits": commits,
        "flows_s": round(flows_s, 1),
        "queued_terminal": queued,
        "archived_marks": marked,
        "swept": swept,
        "waiting_after_sweep": waiting,
        "records_left": len(left),
        "sweep_s": round(sweep_s, 2),
        "swept_per_s": round(swept / sweep_s, 0) if sweep_s else None,
        "bytes_per_request": {k: round(v, 1) for k, v in per.items()},
        "archive_bytes_per_request": {k: round(v, 1) for k, v in archive_per.items()},
        "archive_bytes_per_request_total": round(sum(archive_per.values()), 1),
        "redis_bytes_per_swept_request_beyond_line_index": round(
            per["after_sweep"] - per["order_line_index"], 1
        ),
        "keys_left_after_sweep_without_lines": remaining,
        "used_memory_base": base,
        "used_memory_finished": terminal,
        "used_memory_after_sweep": after,
    }
