"""The periodic trim of the transition streams (``service.storage.retention``), run by every
serving process.

Every ``interval_s`` it trims each shard stream once: soft retention that waits for every
consumer group, then the hard cap. Replicas trimming at the same time is safe (each shard's
trim is one atomic script), and so is a replica that skips a period: the next one catches up.

The commit adds to the streams without a cap (that is work off the hot path), so between two
trims a stream may exceed the cap by what its shard commits in one period: at 1,000
transitions/s over 64 shards and the default 10 s, ≈ 160 entries on 100,000.

A loss (the hard cap trimmed entries a subscription had not acknowledged) is never silent:
the counter ``aftersale_subscription_lost_events_total{subscription, why="hard_cap"}``, an
error log naming the subscription, the shard, how many and their ids, and the subscription's mark in
``{as}:subscriptions:losses`` that ``GetStatus`` shows on every replica. The mark is written
right after the trim; a process that dies between the two leaves that one loss in its log
and metric only.
"""

from __future__ import annotations

import logging

from aftersale.clock import Clock
from service import ops_metrics
from service.observability import subscriptions as subscription_report
from service.periodic import PeriodicLoop
from service.storage.retention import Loss, StreamRetention, Trimmed

log = logging.getLogger(__name__)


class StreamTrimming(PeriodicLoop):
    """The loop described in the module doc; ``start`` it in a serving process."""

    task_name = "stream-trimming"
    what = "stream trim"

    def __init__(self, retention: StreamRetention, clock: Clock, *, interval_s: float) -> None:
        super().__init__(interval_s)
        self.retention = retention
        self._clock = clock

    async def _round(self) -> Trimmed:
        return await self.trim_once()

    async def trim_once(self) -> Trimmed:
        """Trim every shard stream once, and make each loss known."""
        trimmed = await self.retention.trim()
        ops_metrics.stream_entries_trimmed.inc(trimmed.deleted)
        for loss in trimmed.losses:
            await self._lost(loss)
        return trimmed

    async def _lost(self, loss: Loss) -> None:
        where = (
            f"shard {loss.shard} ids {loss.first_id}..{loss.last_id}: the stream reached its "
            f"hard cap (AFTERSALE_STREAM_MAXLEN={self.retention.maxlen}) before the "
            "subscription acknowledged them"
        )
        subscription_report.lost(loss.subscription, "hard_cap", loss.count, where)
        await self.retention.record_loss(loss, self._clock.now_ms())
