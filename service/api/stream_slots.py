"""Who may hold the open WatchTransitions streams (one caller must never take them all).

Three limits, per service process:

- ``per_caller``: streams one caller may hold; a caller is the calling service and the party it
  speaks for (a buyer, a shop, an operator), the identity cursors are sealed for;
- ``reserved_per_service``: streams kept free for each calling service of the token file while
  it holds fewer, so however many buyers the order system opens streams for, payment and ops
  still get theirs (clamped to ``total`` shared evenly, so every service can get its share);
- ``total``: every stream; each holds one connection of the streams' own Redis pool, which is
  sized alike (``service.storage.connection.dedicated``).

A stream that would break one is refused with RESOURCE_EXHAUSTED whose reason names the limit
(``TOO_MANY_STREAMS_FOR_CALLER``, ``TOO_MANY_STREAMS``, ``STREAMS_RESERVED_FOR_OTHER_SERVICES``)
and whose metadata says its size; a client may retry later or close a stream of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from service.api.caller import Caller
from service.api.errors import ResourceExhausted
from service.api.sealing import identity


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """The sizes of the three limits (see the module docstring)."""

    total: int = 32
    per_caller: int = 4
    reserved_per_service: int = 4


class StreamSlots:
    """Counts of open streams by caller and by service, and the admission of a new one."""

    def __init__(self, limits: StreamLimits, services: Collection[str] = ()) -> None:
        self.limits = limits
        self.services = frozenset(services)
        # More reserved than there is would leave a service nothing when the others are idle.
        fair = limits.total // len(self.services) if self.services else 0
        self.reserved = min(limits.reserved_per_service, fair)
        self._by_caller: Counter[tuple[str, str, str]] = Counter()
        self._by_service: Counter[str] = Counter()

    @property
    def open(self) -> int:
        """Streams open now."""
        return self._by_service.total()

    @contextmanager
    def slot(self, caller: Caller) -> Iterator[None]:
        """Hold one stream for ``caller`` while the block runs; ResourceExhausted (naming the
        limit) if it may not open one now."""
        who = identity(caller)
        self._admit(who, caller.service)
        self._by_caller[who] += 1
        self._by_service[caller.service] += 1
        try:
            yield
        finally:
            self._by_caller -= Counter({who: 1})  # subtraction drops the entries that reach 0
            self._by_service -= Counter({caller.service: 1})

    def _admit(self, who: tuple[str, str, str], service: str) -> None:
        limits = self.limits
        if self._by_caller[who] >= limits.per_caller:
            raise _refused(
                "TOO_MANY_STREAMS_FOR_CALLER", limits.per_caller,
                f"this caller already holds {limits.per_caller} transition streams, the most "
                "one caller may; close one or retry later",
                f"该调用方已打开 {limits.per_caller} 个订阅(单个调用方上限),请关闭一个或稍后重试",
            )  # fmt: skip
        free = limits.total - self.open
        if free < 1:
            raise _refused(
                "TOO_MANY_STREAMS", limits.total,
                f"at most {limits.total} transition streams are open at once; retry later",
                f"同时打开的订阅数已达上限 {limits.total},请稍后重试",
            )  # fmt: skip
        kept = sum(
            max(0, self.reserved - self._by_service[other])
            for other in self.services
            if other != service
        )
        if free - kept < 1:
            raise _refused(
                "STREAMS_RESERVED_FOR_OTHER_SERVICES", self.reserved,
                "the transition streams still free are kept for other calling services "
                f"({self.reserved} each); retry later",
                f"剩余的订阅名额为其他调用服务保留(每个服务 {self.reserved} 个),请稍后重试",
            )  # fmt: skip


def _refused(reason: str, limit: int, message: str, message_zh: str) -> ResourceExhausted:
    return ResourceExhausted(reason, message, message_zh, metadata={"limit": str(limit)})
