"""Reads that do not care where a request is (SPEC §12): Redis for live work, the archive for
requests that left Redis, one answer either way.

A request in both places (archived, but still inside Redis's retention window) answers from
Redis: Redis holds its latest version, the archive may lag it by the archiver's delay. One
that Redis no longer holds answers from the archive, which keeps it for good.

Listings merge both sources in the listings' order, (created ms, request id) newest first,
and name each request once. The page token stays what it was, the (created ms, request id)
position a page ended on (``listing.encode_page_token``): a keyset position that means the
same in both sources, so a token issued before a request was swept pages on correctly after
it, and tokens issued before the archive existed stay valid.

Without an archive every read is Redis's own, exactly as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection

from aftersale.exceptions import InvalidInput
from aftersale.model import AfterSale
from aftersale.vocabulary import State
from service.archive.reads import ArchiveReads, Listed
from service.storage.listing import (
    MAX_SCAN,
    Entry,
    ListingMerge,
    encode_page_token,
    start_after,
)
from service.storage.ports import AfterSaleRepository, HistoryPage, RequestPage
from service.storage.repository import Filterable, RedisRepository, keeper, listed_by

# A listing position; listed by Redis; the archive's columns for it, when it is archived.
Sourced = tuple[Entry, bool, Listed | None]


class CombinedReads:
    """Records, histories and listings from Redis, and from the archive when there is one."""

    def __init__(self, repository: AfterSaleRepository, archive: ArchiveReads | None) -> None:
        if archive is not None and not isinstance(repository, RedisRepository):
            raise TypeError("merging with the archive reads Redis's listings: a RedisRepository")
        self._repo = repository
        self.archive = archive

    async def load(self, request_id: str) -> AfterSale | None:
        """The record: Redis's, else the archive's; None when neither has it. A malformed id
        is refused by Redis's key layout before the archive is asked."""
        record = await self._repo.load(request_id)
        if record is not None or self.archive is None:
            return record
        return await self.archive.load(request_id)

    async def history_page(
        self, request_id: str, offset: int, limit: int, version: int
    ) -> HistoryPage:
        """A page of the history of a request at ``version``: Redis's, or the archive's when
        Redis no longer has the history (a request has ``version`` events, so an empty page
        before them means its history left Redis, possibly since its record was read)."""
        page = await self._repo.history_page(request_id, offset, limit)
        if self.archive is None or page.events or page.next_offset is not None:
            return page
        if offset >= version:
            return page  # past the last event: empty wherever it is read
        return await self.archive.history_page(request_id, offset, limit)

    async def list_requests(
        self,
        *,
        shop_id: str = "",
        buyer_id: str = "",
        order_id: str = "",
        states: Collection[State] = (),
        page_size: int = 50,
        page_token: str = "",
        created_from_ms: int | None = None,
        created_before_ms: int | None = None,
    ) -> RequestPage:
        """Requests newest first matching every filter, from both sources (``RedisRepository
        .list_requests`` when there is no archive). Like Redis's, a page may come back short
        with a token after ``MAX_SCAN`` positions examined."""
        repo = self._repo
        if self.archive is None:
            return await repo.list_requests(
                shop_id=shop_id,
                buyer_id=buyer_id,
                order_id=order_id,
                states=states,
                page_size=page_size,
                page_token=page_token,
                created_from_ms=created_from_ms,
                created_before_ms=created_before_ms,
            )
        assert isinstance(repo, RedisRepository)  # checked when made
        if page_size < 1:
            raise InvalidInput("page_size", "must be >= 1", "须 ≥ 1")
        after = start_after(page_token, created_before_ms)
        listing = repo.listing_keys(shop_id, buyer_id, order_id)
        live = _LiveSide(ListingMerge(repo.client, listing, after, created_from_ms))
        column, value = listed_by(shop_id, buyer_id, order_id)
        archived = _ArchivedSide(self.archive, column, value, after, created_from_ms)
        return await self._page(live, archived, page_size, keeper(states, shop_id, buyer_id))

    async def _page(
        self,
        live: _LiveSide,
        archived: _ArchivedSide,
        page_size: int,
        keep: Callable[[Filterable], bool],
    ) -> RequestPage:
        records: list[AfterSale] = []
        last: Entry | None = None
        scanned = 0
        cut = False  # stopped inside a batch: more positions certainly follow
        while len(records) < page_size and scanned < MAX_SCAN and not cut:
            batch = await _merged(live, archived, page_size - len(records))
            if not batch:
                break
            scanned += len(batch)
            loaded = await self._records(batch, keep)
            for i, ((entry, _, _), record) in enumerate(zip(batch, loaded, strict=True)):
                last = entry
                if record is None or not keep(record):
                    continue
                records.append(record)
                if len(records) == page_size:
                    cut = i < len(batch) - 1
                    break
        more = last is not None and (cut or not (live.exhausted and archived.exhausted))
        return RequestPage(records, encode_page_token(last) if more and last is not None else "")

    async def _records(
        self, batch: list[Sourced], keep: Callable[[Filterable], bool]
    ) -> list[AfterSale | None]:
        """The record of each position: Redis's where Redis lists it and still holds it, else
        the archive's, unless the archive's columns already say the listing leaves it out.
        Redis is asked about every position: a request it still holds is listed at Redis's
        position only, even if the archive placed it elsewhere (a created time written
        with another precision), so it is never named twice. A Redis record that went
        between the listing read and the load (swept), or that does not decode (logged and
        counted), is read from the archive, which had it first. One read of each side at
        most."""
        assert self.archive is not None
        ids = [entry[1] for entry, _, _ in batch]
        found = dict(zip(ids, await self._repo.load_many(ids), strict=True))
        wanted = [
            e[1]
            for e, _, row in batch
            if row is not None and found.get(e[1]) is None and (row.state is None or keep(row))
        ]
        kept = await self.archive.load_many(wanted) if wanted else {}
        records: list[AfterSale | None] = []
        for (_, rid), live, _ in batch:
            record = found.get(rid)
            records.append((record if live else None) if record is not None else kept.get(rid))
        return records


async def _merged(live: _LiveSide, archived: _ArchivedSide, want: int) -> list[Sourced]:
    """Up to ``want`` next positions of both sources, in order, each once."""
    out: list[Sourced] = []
    while len(out) < want:
        left = want - len(out)
        if live.unread and archived.unread:  # both must be read on: at once
            await asyncio.gather(live.head(left), archived.head(left))
        a, b = await live.head(left), await archived.head(left)
        if a is None and b is None:
            break
        if b is None or (a is not None and a > b.entry):
            out.append((live.pop(), True, None))
        elif a is None or b.entry > a:
            out.append((b.entry, False, archived.pop()))
        else:  # in both: one position, read from Redis
            out.append((live.pop(), True, archived.pop()))
    return out


class _LiveSide:
    """Redis's listing positions (``ListingMerge`` over the shards), one at a time."""

    def __init__(self, merge: ListingMerge) -> None:
        self._merge = merge
        self._buffer: deque[Entry] = deque()

    @property
    def exhausted(self) -> bool:
        return not self._buffer and self._merge.exhausted

    @property
    def unread(self) -> bool:
        """The next position must be read from Redis first."""
        return not self._buffer and not self._merge.exhausted

    async def head(self, want: int) -> Entry | None:
        # ``take`` returns at least one position unless every shard is read to its end.
        while not self._buffer and not self._merge.exhausted:
            self._buffer.extend(await self._merge.take(want))
        return self._buffer[0] if self._buffer else None

    def pop(self) -> Entry:
        return self._buffer.popleft()


class _ArchivedSide:
    """The archive's listing positions, read in chunks from where the last one ended."""

    def __init__(
        self,
        archive: ArchiveReads,
        column: str,
        value: str,
        after: Entry | None,
        lowest: int | None,
    ) -> None:
        self._archive = archive
        self._column, self._value, self._lowest = column, value, lowest
        self._position = after
        self._buffer: deque[Listed] = deque()
        self._done = False

    @property
    def exhausted(self) -> bool:
        return not self._buffer and self._done

    @property
    def unread(self) -> bool:
        """The next position must be read from the archive first."""
        return not self._buffer and not self._done

    async def head(self, want: int) -> Listed | None:
        if not self._buffer and not self._done:
            # One more than wanted, so a page that takes them all knows whether it was last.
            chunk = min(MAX_SCAN, max(16, want + 1))
            rows = await self._archive.listing(
                self._column, self._value, self._position, chunk, self._lowest
            )
            self._done = len(rows) < chunk
            if rows:
                self._position = rows[-1].entry
            self._buffer.extend(rows)
        return self._buffer[0] if self._buffer else None

    def pop(self) -> Listed:
        return self._buffer.popleft()
