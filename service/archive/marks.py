"""Which version of a request the archive holds, marked on its Redis record.

The record hash ``{as:NN}:req:<id>`` gets a field ``a``: ``<archive id>:<version>``, which
archive holds which version (the archive's identity, ``service.archive.identity``, and the
version as a decimal string). It is set only after the PostgreSQL commit that wrote that
version, with the identity read in that same transaction, and only if the hash still holds
that version: the commit script DELs and rewrites the hash on every new version, which clears
``a``, so ``a == <id>:<version>`` always means "the archive <id> holds this record as it is
now". The retention sweep deletes a terminal request only when it finds ``a`` equal to the
identity of the archive it read this pass and the record's version, inside the script that
deletes (the contract between the archiver and the sweep: a request that moved after it was
archived, or whose archive was wiped or replaced since, is never dropped).

One field holding both, rather than a field per part: the sweep's check stays one comparison
and the mark one HSET. A mark of the previous release (the version alone, no identity) never
equals it: such a request counts as not archived (kept, safe) until the backfill, which starts
over when its progress names no identity, marks it again.

Every script here names keys of one shard only (one hash tag), so it works unchanged on Redis
Cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster

from service.storage.keys import Keys
from service.storage.scripts import Scripts

ARCHIVED_FIELD = "a"


def archived_mark(archive: str, version: int | str) -> str:
    """The value of ``a`` saying the archive ``archive`` (its identity) holds ``version``
    (the sweep's script builds the same string: ``service.storage.lifecycle.SWEEP``)."""
    return f"{archive}:{version}"


# MARK — the archive holds ``version`` of this request: say so on its record, if the record
# still is at that version. KEYS 1 record   ARGV 1 version (decimal)  2 the mark (archived_mark)
# Returns 1 marked, 0 not.
MARK = """
if redis.call('HGET', KEYS[1], 'version') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'a', ARGV[2])
  return 1
end
return 0
"""

# MARK_MANY — MARK for several requests of one shard in one call.
# KEYS records   ARGV version 1, mark 1, version 2, mark 2, ... in the same order
# Returns {1 or 0, ...}.
MARK_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'version') == ARGV[2 * i - 1] then
    redis.call('HSET', key, 'a', ARGV[2 * i])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""

# READ_MANY — requests of one shard as they are now: each one's record hash and its history
# rows from a position on, in one atomic read (a commit between two separate reads would give
# a record and a history of two versions).
# KEYS record 1, history 1, record 2, history 2, ...   ARGV the first row of each (0: all)
# Returns {{record hash [field, value, ...], history rows}, ...}.
READ_MANY = """
local out = {}
for i = 1, #ARGV do
  out[i] = {redis.call('HGETALL', KEYS[2 * i - 1]),
            redis.call('LRANGE', KEYS[2 * i], ARGV[i], -1)}
end
return out
"""


class ArchiveScripts:
    """``MARK_MANY`` and ``READ_MANY`` registered on one client: one call per shard, all the
    shards' calls in one pipeline."""

    def __init__(self, client: Redis | RedisCluster, keys: Keys) -> None:
        self.keys = keys
        self.scripts = Scripts(client)
        self.mark = client.register_script(MARK_MANY)
        self.read = client.register_script(READ_MANY)

    def _by_shard(self, request_ids: Sequence[str]) -> dict[int, list[int]]:
        """Positions in ``request_ids``, by shard."""
        shards: dict[int, list[int]] = {}
        for position, request_id in enumerate(request_ids):
            shards.setdefault(self.keys.shard_of_request(request_id), []).append(position)
        return shards

    async def mark_many(self, marks: Sequence[tuple[str, int, str]]) -> list[bool]:
        """Mark each (request id, version, archive identity) archived; whether each was
        (False: it moved on, or it is gone)."""
        groups = list(self._by_shard([rid for rid, _, _ in marks]).values())
        calls = []
        for group in groups:
            args: list[str] = []
            for i in group:
                _, version, archive = marks[i]
                args += [str(version), archived_mark(archive, version)]
            calls.append(([self.keys.record(marks[i][0]) for i in group], args))
        replies = await self.scripts.run_many(self.mark, calls)
        out = [False] * len(marks)
        for group, reply in zip(groups, replies, strict=True):
            for i, marked in zip(group, reply, strict=True):
                out[i] = bool(marked)
        return out

    async def read_many(
        self, request_ids: Sequence[str], first_rows: Sequence[int] | None = None
    ) -> list[tuple[dict[str, str], list[str]]]:
        """Each request's record hash (empty: no such record) and history rows (from
        ``first_rows[i]`` on, 0-based; default every row)."""
        firsts = first_rows if first_rows is not None else [0] * len(request_ids)
        groups = list(self._by_shard(request_ids).values())
        calls = []
        for group in groups:
            keys = []
            for i in group:
                keys += [self.keys.record(request_ids[i]), self.keys.history(request_ids[i])]
            calls.append((keys, [str(firsts[i]) for i in group]))
        replies: list[Any] = await self.scripts.run_many(self.read, calls)
        out: list[tuple[dict[str, str], list[str]]] = [({}, [])] * len(request_ids)
        for group, reply in zip(groups, replies, strict=True):
            for i, (flat, rows) in zip(group, reply, strict=True):
                fields = {str(flat[j]): str(flat[j + 1]) for j in range(0, len(flat), 2)}
                out[i] = (fields, [str(row) for row in rows])
        return out


async def mark_archived(
    client: Redis | RedisCluster, keys: Keys, request_id: str, version: int, archive: str
) -> bool:
    """Mark ``request_id`` archived at ``version`` in the archive ``archive`` (its identity)
    if its record is at that version (see the module docstring); True when marked."""
    mark = archived_mark(archive, version)
    reply = await client.eval(MARK, 1, keys.record(request_id), str(version), mark)
    return bool(reply)
