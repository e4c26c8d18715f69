"""Which version of a request the archive holds, marked on its Redis record.

The record hash ``{as:NN}:req:<id>`` gets a field ``a``: the version the archive holds, as a
decimal string. It is set only after the PostgreSQL commit that wrote that version, and only
if the hash still holds that version: the commit script DELs and rewrites the hash on every
new version, which clears ``a``, so ``a == version`` always means "the archive holds this
record as it is now". The retention sweep deletes a terminal request only when it finds
``a == version`` inside the script that deletes (the contract between the archiver and the
sweep: a request that moved after it was archived is never dropped).

Both scripts run in the record's slot (one key, or two keys with one hash tag), so they work
unchanged on Redis Cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster

from service.storage.keys import Keys
from service.storage.scripts import Scripts

ARCHIVED_FIELD = "a"

# MARK — the archive holds ``version`` of this request: say so on its record, if the record
# still is at that version. KEYS 1 record   ARGV 1 version (decimal)   Returns 1 marked, 0 not.
MARK = """
if redis.call('HGET', KEYS[1], 'version') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'a', ARGV[1])
  return 1
end
return 0
"""

# READ — a request as it is now: its record hash and every history row, in one atomic read
# (a commit between two separate reads would give a record and a history of two versions).
# KEYS 1 record  2 history     Returns {record hash [field, value, ...], history rows}.
READ = """
return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
"""


class ArchiveScripts:
    """``MARK`` and ``READ`` registered on one client, run many at a time (one pipeline)."""

    def __init__(self, client: Redis | RedisCluster, keys: Keys) -> None:
        self.keys = keys
        self.scripts = Scripts(client)
        self.mark = client.register_script(MARK)
        self.read = client.register_script(READ)

    async def mark_many(self, marks: Sequence[tuple[str, int]]) -> list[bool]:
        """Mark each (request id, version) archived; whether each was (False: it moved on,
        or it is gone)."""
        calls = [([self.keys.record(rid)], [str(version)]) for rid, version in marks]
        replies = await self.scripts.run_many(self.mark, calls)
        return [bool(reply) for reply in replies]

    async def read_many(self, request_ids: Sequence[str]) -> list[tuple[dict[str, str], list[str]]]:
        """Each request's record hash (empty: no such record) and history rows."""
        calls: list[tuple[list[str], list[str]]] = [
            ([self.keys.record(rid), self.keys.history(rid)], []) for rid in request_ids
        ]
        replies: list[Any] = await self.scripts.run_many(self.read, calls)
        out = []
        for flat, rows in replies:
            fields = {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}
            out.append((fields, [str(row) for row in rows]))
        return out


async def mark_archived(
    client: Redis | RedisCluster, keys: Keys, request_id: str, version: int
) -> bool:
    """Mark ``request_id`` archived at ``version`` if its record is at that version (see the
    module docstring); True when marked."""
    reply = await client.eval(MARK, 1, keys.record(request_id), str(version))
    return bool(reply)
