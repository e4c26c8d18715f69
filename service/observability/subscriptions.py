"""Metrics and logs of durable subscriptions (``service.storage.subscriptions``).

``subscription`` label values are subscription names: ops create them (config or the ops
RPC), never a caller, so the number of series stays small.

- ``aftersale_subscription_dead_letters_total{subscription}``: events set aside after too
  many deliveries (each also logged at ERROR with its event id and request id);
- ``aftersale_subscription_lost_events_total{subscription, why}``: events a subscription will
  never deliver: ``hard_cap`` (the shard stream's hard cap trimmed them before the
  subscription acknowledged them; counted exactly by the trim, ``service.trimming``) or
  ``dead_letter_cap`` (the oldest dead letters dropped to make room); each logged at ERROR;
- ``aftersale_subscription_dead_letters{subscription}`` (read at scrape, ``ScrapeProbe``):
  dead letters kept now, what the AftersaleDeadLetters alert watches.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

log = logging.getLogger("service.subscriptions")

DEAD_LETTERED = Counter(
    "aftersale_subscription_dead_letters",
    "Events a subscription set aside after max deliveries without an ack",
    ["subscription"],
)
LOST = Counter(
    "aftersale_subscription_lost_events",
    "Events a subscription will never deliver (trimmed while unacknowledged, or dropped at "
    "the dead-letter cap)",
    ["subscription", "why"],
)


def dead_lettered(subscription: str, event_id: str, request_id: str, deliveries: int) -> None:
    DEAD_LETTERED.labels(subscription).inc()
    log.error(
        "dead letter subscription=%s event_id=%s request_id=%s deliveries=%d: set aside after "
        "max deliveries (ListDeadLetters, ReplayDeadLetters)",
        subscription, event_id, request_id, deliveries,
    )  # fmt: skip


def lost(subscription: str, why: str, count: int, where: str) -> None:
    if count <= 0:
        return
    LOST.labels(subscription, why).inc(count)
    log.error(
        "events lost subscription=%s why=%s count=%d where=%s", subscription, why, count, where
    )
