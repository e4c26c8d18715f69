"""Metrics and logs of the archiver (``service.archive.archiver``).

- ``aftersale_archive_events_total``: transition events the archiver handled and acknowledged
  (their request archived at that version or later);
- ``aftersale_archive_requests_total{source}``: request versions written to PostgreSQL, by
  what asked for them: ``events`` (the subscription) or ``backfill``;
- ``aftersale_archive_batches_total``: PostgreSQL transactions that wrote them;
- ``aftersale_archive_lag_seconds``: how long the events of the last batch waited, at most,
  between their commit and their archiving (the archiver keeping up: seconds at most; the
  ``archive`` subscription's backlog in ``GetStatus`` says how many wait);
- ``aftersale_archive_errors_total{stage}``: failures, each logged: ``postgres`` (PostgreSQL
  unreachable or failing: the batch is retried with backoff, nothing is acknowledged),
  ``redis`` (reading, marking or acknowledging: retried), ``request`` (one request that
  PostgreSQL refuses or whose record does not decode: left unacknowledged, so its event is
  delivered again and, after the subscription's max deliveries, becomes a dead letter),
  ``internal`` (anything else: the archiver starts a new session after a backoff).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge

log = logging.getLogger("service.archive")

EVENTS = Counter(
    "aftersale_archive_events", "Transition events the archiver handled and acknowledged"
)
REQUESTS = Counter(
    "aftersale_archive_requests", "Request versions written to the archive", ["source"]
)
BATCHES = Counter("aftersale_archive_batches", "Archive transactions committed")
LAG = Gauge(
    "aftersale_archive_lag_seconds",
    "Longest wait between an event's commit and its archiving, in the last batch",
)
ERRORS = Counter("aftersale_archive_errors", "Archiver failures (logged)", ["stage"])
STAGES = ("postgres", "redis", "request", "internal")
for _stage in STAGES:  # every series from the start, at 0: a rate needs a baseline
    ERRORS.labels(stage=_stage)
for _source in ("events", "backfill"):
    REQUESTS.labels(source=_source)


def failed(stage: str, what: str, error: BaseException, retry_in_s: float | None) -> None:
    """Count a failure and log it (``retry_in_s``: when the same work is tried again)."""
    ERRORS.labels(stage=stage).inc()
    then = f"; retrying in {retry_in_s:.1f}s" if retry_in_s is not None else ""
    log.error("archiver: %s failed (%s: %s)%s", what, type(error).__name__, error, then)
