"""Prometheus metrics of the service (``prometheus_client``'s default registry).

Labels take values from small fixed sets only (never an id, a shop or a key), so no caller
can grow the number of series.

``aftersale_undecodable_entries_total{reader}``: stored entries a reader met and could not
decode, so it skipped them (each one is also in the log, at ERROR, with its key and id):

=============  ============================================================================
reader         skipped
=============  ============================================================================
history        a row of a request's history list (GetHistory pages)
record         a record hash (list pages, timer batches; a direct read answers DATA_LOSS)
stream         a transition stream entry (WatchTransitions, ``TransitionReader``)
subscriber     a stream entry a subscription read (``SubscriptionSession``; acked)
=============  ============================================================================
"""

from __future__ import annotations

import logging
from typing import Literal

from prometheus_client import Counter

log = logging.getLogger(__name__)

Reader = Literal["history", "record", "stream", "subscriber"]
READERS: tuple[Reader, ...] = ("history", "record", "stream", "subscriber")

UNDECODABLE_ENTRIES = Counter(
    "aftersale_undecodable_entries",
    "Stored entries a reader could not decode and skipped (each is logged with its id)",
    ["reader"],
)
for _reader in READERS:  # every series exists from the start, at 0: a rate needs a baseline
    UNDECODABLE_ENTRIES.labels(reader=_reader)


def undecodable(reader: Reader, key: str, entry_id: str, why: object) -> None:
    """Report an entry ``reader`` skipped: count it, and log where it is and why."""
    UNDECODABLE_ENTRIES.labels(reader=reader).inc()
    log.error("undecodable entry skipped reader=%s key=%s id=%s: %s", reader, key, entry_id, why)
