"""Merging per-shard listing zsets (score = created ms) into one newest-first sequence.

Order is (score, member) descending, the order ``ZREVRANGEBYSCORE`` returns within a shard.
A page resumes strictly after the (score, member) it ended on, so pages never repeat or skip
an entry even when scores tie; within a merge, shards are read in chunks with one pipeline per
refill.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import deque
from collections.abc import Awaitable, Callable

import msgspec
from redis.asyncio import Redis, RedisCluster

from aftersale.exceptions import InvalidInput
from aftersale.model import AfterSale

Entry = tuple[int, str]  # (score, member)
FOREIGN = "not a page token returned by this service"
FOREIGN_ZH = "不是本服务返回的分页令牌"
MAX_SCORE = 2**53  # scores are created-at milliseconds, exact in a double up to here
MAX_SCAN = 2_000  # listing entries examined per page, so a sparse filter cannot run away


def encode_page_token(entry: Entry) -> str:
    return base64.urlsafe_b64encode(entry_to_bytes(entry)).decode().rstrip("=")


def decode_page_token(token: str) -> Entry | None:
    """The entry a page starts after; None for the first page. InvalidInput if foreign."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, binascii.Error):
        raise InvalidInput("page_token", FOREIGN, FOREIGN_ZH, "TOKEN_NOT_ISSUED") from None
    return entry_from_bytes(raw)


def start_after(token: str, created_before_ms: int | None) -> Entry | None:
    """Where a page starts (strictly after): the page token's position, or, on a first page
    with an upper bound, just below it: nothing is before ``(created_before_ms, "")`` in a
    listing's order but what was created earlier."""
    after = decode_page_token(token)
    if created_before_ms is None:
        return after
    bound = (created_before_ms, "")
    return bound if after is None or after > bound else after


def entry_to_bytes(entry: Entry) -> bytes:
    """A page position as compact JSON ``[score, member]``."""
    return json.dumps(list(entry), separators=(",", ":")).encode()


def entry_from_bytes(raw: bytes) -> Entry:
    """Inverse of ``entry_to_bytes``; InvalidInput("page_token") for anything it cannot have
    made (a score must be a created time: an integer, never ``true``, within 0..2**53)."""
    try:
        score, member = msgspec.json.decode(raw, type=tuple[int, str])
    except msgspec.DecodeError:
        raise InvalidInput("page_token", FOREIGN, FOREIGN_ZH, "TOKEN_NOT_ISSUED") from None
    if not 0 <= score <= MAX_SCORE:
        raise InvalidInput("page_token", FOREIGN, FOREIGN_ZH, "TOKEN_NOT_ISSUED")
    return score, member


class ListingMerge:
    """A k-way merge of ``keys`` (zsets), newest first, strictly after ``after``."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: list[str],
        after: Entry | None = None,
        lowest: int | None = None,
    ) -> None:
        self.client = client
        self._after = after  # fixed: offsets count from the query it bounds
        self._lowest: int | str = "-inf" if lowest is None else lowest  # the least score listed
        self._buffers: dict[str, deque[Entry]] = {key: deque() for key in keys}
        self._offsets = dict.fromkeys(keys, 0)
        self._done: set[str] = set()

    @property
    def exhausted(self) -> bool:
        """Every shard read to its end and every buffered entry taken."""
        return len(self._done) == len(self._buffers) and not any(self._buffers.values())

    async def _refill(self, chunk: int) -> None:
        """Give every shard that may hold more an entry in its buffer."""
        top = "+inf" if self._after is None else self._after[0]
        need = [k for k, buf in self._buffers.items() if not buf and k not in self._done]
        while need:
            pipe = self.client.pipeline(transaction=False)
            for key in need:
                pipe.zrevrangebyscore(
                    key, top, self._lowest, start=self._offsets[key], num=chunk, withscores=True
                )
            replies: list[list[tuple[str, float]]] = await pipe.execute()
            still = []
            for key, rows in zip(need, replies, strict=True):
                self._offsets[key] += len(rows)
                if len(rows) < chunk:
                    self._done.add(key)
                for member, score in rows:
                    entry = (int(score), member)
                    if self._after is None or entry < self._after:
                        self._buffers[key].append(entry)
                if not self._buffers[key] and key not in self._done:
                    still.append(key)  # a whole chunk tied with ``after``: read on
            need = still

    async def take(self, n: int) -> list[Entry]:
        """Up to ``n`` next entries; fewer (possibly none) only at the end or at a refill."""
        # Enough per shard for an even spread and then some; a shard read dry refills alone.
        await self._refill(max(8, 2 * n // len(self._buffers) + 1) if self._buffers else 1)
        out: list[Entry] = []
        while len(out) < n:
            heads = [(buf[0], key) for key, buf in self._buffers.items() if buf]
            if not heads:
                break
            _, key = max(heads)
            out.append(self._buffers[key].popleft())
            if not self._buffers[key] and key not in self._done:
                break  # that shard must be read further before anything else is ordered
        return out


async def collect_page(
    merge: ListingMerge,
    load: Callable[[list[str]], Awaitable[list[AfterSale | None]]],
    page_size: int,
    keep: Callable[[AfterSale], bool],
) -> tuple[list[AfterSale], str]:
    """Up to ``page_size`` records that ``keep`` accepts, and the next page token ("" at the
    end). A page may come back short, with a token, when ``MAX_SCAN`` entries were read."""
    records: list[AfterSale] = []
    last: Entry | None = None
    scanned = 0
    cut = False  # stopped inside a batch: more entries certainly follow
    while len(records) < page_size and scanned < MAX_SCAN and not cut:
        batch = await merge.take(page_size - len(records))
        if not batch:
            break
        scanned += len(batch)
        loaded = await load([member for _, member in batch])
        for i, (entry, record) in enumerate(zip(batch, loaded, strict=True)):
            last = entry
            if record is None or not keep(record):
                continue
            records.append(record)
            if len(records) == page_size:
                cut = i < len(batch) - 1
                break
    more = last is not None and (cut or not merge.exhausted)
    return records, encode_page_token(last) if more and last is not None else ""
