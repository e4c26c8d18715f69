"""The archiver's backfill: requests already in Redis whose events may have been trimmed.

The ``archive`` subscription starts at the oldest *retained* event, so a request whose events
were trimmed before the subscription existed (a data set older than the archive, or one kept
across a subscription deleted and made again) would reach the archive only with its next
transition, and a finished one never. The backfill walks every shard's listing of requests
(``{as:NN}:requests``, by creation time) and archives each request as it is now.

Cheap: a request whose record says the archive holds its version (``a == version``) costs one
script call in a pipeline and no PostgreSQL work; a page is one ZRANGEBYSCORE; once a shard is
done, a start reads one hash (``{as}:archive:backfill``) and skips it.

Resumable: after each page the shard's position (``<created ms>|<request id>`` of the last
request archived) is saved in that hash, and a restart resumes after it. A request created
later is delivered by the subscription anyway; the walk stops at the creation time the
backfill started at (plus ``SKEW_MS`` for clocks of other replicas), so it ends under load.

Shared: a shard is walked only by the archiver that holds the subscription's lease on it
(``SubscriptionSession.held``), so competing archivers split the backfill as they split the
events, and whoever takes a shard over resumes from its saved position.

Again after a loss: when the streams' hard cap trimmed events before the archiver
acknowledged them (PostgreSQL down for long: the subscription's loss mark counts them), a
request whose last events were among them would never be archived. The backfill watches the
``archive`` subscription's loss count (every ``LOSS_CHECK_S``) and starts over when it grew
(the count it started at is the hash's ``losses`` field).

Again for another archive: the progress is kept with the identity of the archive it was made
against (the hash's ``identity`` field, ``service.archive.identity``). When the archive's
identity differs (it was wiped and migrated again, replaced by a new cluster, or the URL
points elsewhere), the requests the saved progress counts as archived are not in this archive,
and their marks name the old one (the sweep keeps them): the backfill starts over and archives
every request still in Redis into this archive, which marks them for it (logged at WARNING).
It checks at every start and with every poll (``POLL_S`` while walking, ``LOSS_CHECK_S`` once
done): one one-row SELECT. Progress saved by the previous release names no identity: it is
started over too, which marks again every request it had marked with a version alone. A walk
saves a page's position only while the hash still names the archive it started in, so an
archiver walking while another started over never writes its old position over the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from service.archive.requests import RequestArchiver
from service.storage.keys import Keys
from service.storage.retention import loss_mark
from service.storage.subscription_session import SubscriptionSession

log = logging.getLogger("service.archive")
DONE = "done"
SKEW_MS = 60_000
POLL_S = 1.0  # how soon a shard taken over starts its backfill
LOSS_CHECK_S = 60.0
LOSSES = "losses"  # the hash field: the subscription's loss count the backfill started at
IDENTITY = "identity"  # the hash field: the identity of the archive the progress was made in


def position(raw: str | None) -> tuple[int, str] | None:
    """A saved position ``<ms>|<id>`` (None: from the start)."""
    if not raw or "|" not in raw:
        return None
    ms, _, request_id = raw.partition("|")
    return int(ms), request_id


class Backfill:
    """Walks the shards a session holds until every shard is done."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        archiver: RequestArchiver,
        now_ms: Callable[[], int],
        *,
        page: int = 500,
        batch: int = 256,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.archiver = archiver
        self.now_ms = now_ms
        self.page = page
        self.batch = batch
        self.archived = 0  # requests this backfill looked at (archived now, or already)
        self.identity: str | None = None  # the archive's identity the progress is made in

    async def progress(self) -> dict[int, str]:
        """Each shard's saved state: a position, ``done``, or absent (not started)."""
        raw: dict[str, str] = await self.redis.hgetall(self.keys.archive_backfill())
        return {int(shard): value for shard, value in raw.items() if shard.isdigit()}

    async def _lost_more(self, subscription: str) -> bool:
        """Whether ``subscription`` lost events since the backfill started; if so, the
        backfill starts over, remembering the count."""
        mark = await self.redis.hget(self.keys.subscription_losses(), subscription)
        lost = loss_mark(mark).count if mark is not None else 0
        seen = await self.redis.hget(self.keys.archive_backfill(), LOSSES)
        if lost <= int(seen or 0):
            return False
        log.error("archive backfill: the %s subscription lost %d events to the streams' hard "
                  "cap: the backfill starts over", subscription, lost - int(seen or 0))  # fmt: skip
        await self.reset()
        await self.redis.hset(self.keys.archive_backfill(), LOSSES, str(lost))
        return True

    async def _archive_changed(self) -> bool:
        """Whether the archive's identity differs from the one the saved progress was made
        against; if so (and there is progress), the backfill starts over, remembering it."""
        archiver = self.archiver
        identity = await archiver.retrying(
            "postgres", "reading the archive's identity", archiver.read_identity
        )
        key = self.keys.archive_backfill()
        seen = await self.redis.hget(key, IDENTITY)
        if seen == identity:
            self.identity = identity
            return False
        started = bool(await self.progress())
        if started:
            log.warning("the archive changed identity (the backfill's progress was made in %s, "
                        "the archive is now %s): the backfill starts over, every request still "
                        "in Redis is archived again into it", seen or "an archive of the "
                        "previous release", identity)  # fmt: skip
            losses = await self.redis.hget(key, LOSSES)
            await self.reset()
            if losses is not None:  # the loss count still holds: no second restart for it
                await self.redis.hset(key, LOSSES, losses)
        await self.redis.hset(key, IDENTITY, identity)
        self.identity = identity
        return started

    async def reset(self) -> None:
        """Start over (the subscription was made again: events may be missing)."""
        await self.redis.delete(self.keys.archive_backfill())

    async def run(self, session: SubscriptionSession) -> None:
        """Backfill the shards ``session`` reads until all are done, then watch for losses
        (see the module docstring), until the archiver stops."""
        until_ms = self.now_ms() + SKEW_MS
        stopping = self.archiver.stopping
        finished = False
        while not stopping.is_set():
            lost = await self._lost_more(session.name)  # first: its reset drops the identity
            if await self._archive_changed() or lost:
                until_ms, finished = self.now_ms() + SKEW_MS, False
            state = await self.progress()
            if all(state.get(s) == DONE for s in self.keys.all_shards()):
                if not finished:
                    log.info("archive backfill: every shard is done")
                    finished = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), LOSS_CHECK_S)
                continue
            mine = [s for s, since in session.held.items() if since is None]
            for shard in sorted(mine):
                if state.get(shard) != DONE and shard in session.held:
                    await self._shard(shard, position(state.get(shard)), until_ms, session)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), POLL_S)

    async def _shard(
        self, shard: int, after: tuple[int, str] | None, until_ms: int,
        session: SubscriptionSession,
    ) -> None:  # fmt: skip
        key = self.keys.all_requests(shard)
        while shard in session.held:
            ids, last = await self._page(key, after, until_ms)
            if not await self._still_for(self.identity):
                return  # another archiver started over for another archive: not ours to save
            if last is None:
                await self.redis.hset(self.keys.archive_backfill(), str(shard), DONE)
                log.debug("archive backfill: shard %d done", shard)
                return
            for start in range(0, len(ids), self.batch):
                failed = await self.archiver.archive(ids[start : start + self.batch], "backfill")
                if failed:  # reported one by one; their next transition archives them
                    log.error("archive backfill: shard %d: %d requests not archived: %s",
                              shard, len(failed), ", ".join(sorted(failed)[:5]))  # fmt: skip
            self.archived += len(ids)
            after = last
            saved = f"{last[0]}|{last[1]}"
            if not await self._still_for(self.identity):
                return
            await self.redis.hset(self.keys.archive_backfill(), str(shard), saved)

    async def _still_for(self, identity: str | None) -> bool:
        """Whether the saved progress is still that of the archive ``identity`` (the one
        this walk started in); one HGET a page."""
        return bool(await self.redis.hget(self.keys.archive_backfill(), IDENTITY) == identity)

    async def _page(
        self, key: str, after: tuple[int, str] | None, until_ms: int
    ) -> tuple[list[str], tuple[int, str] | None]:
        """The next ids after ``after`` (by creation ms, then id, as the zset orders them)
        and the position of the last one; (``[]``, None) at the end."""
        low: str | int = "-inf" if after is None else after[0]
        want = self.page
        while True:
            rows = await self.redis.zrangebyscore(
                key, low, until_ms, start=0, num=want, withscores=True
            )
            fresh = [
                (str(member), int(score))
                for member, score in rows
                if after is None or int(score) > after[0] or str(member) > after[1]
            ]
            if fresh or len(rows) < want:
                break
            want *= 2  # a page of requests created in the same ms, all done: look further
        if not fresh:
            return [], None
        return [member for member, _ in fresh], (fresh[-1][1], fresh[-1][0])
