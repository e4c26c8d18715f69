"""The storage ports the handlers, the timer worker and the API depend on (STYLE habit 5).

``RedisRepository`` and ``RedisTimerStore`` implement them; an in-memory fake may implement
the same Protocols for unit tests where I/O is beside the point.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from aftersale.decide import Decision
from aftersale.events import TransitionEvent
from aftersale.exceptions import AfterSaleError
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import Action, State


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What a commit did: its stream id, and whether it was a replay.

    ``replayed``: the idempotency key had been used with the same body; nothing was written,
    ``event_id`` is the first call's and ``record`` the record the first call stored (return
    it to the caller). Otherwise ``record`` is None: the committed decision's record is the
    result.
    """

    event_id: str
    replayed: bool
    record: AfterSale | None = None


class IdempotencyKey(NamedTuple):
    """A caller's idempotency key, and whose: the scope of a key is the calling service and
    the order (a request's order, or the order an application names), and the actor is part
    of what it identifies (SPEC §8). The same key on another order, or from another actor, is
    another call."""

    caller: str  # the authenticated calling service
    actor: Actor
    key: str


class IdempotentResult(NamedTuple):
    """A stored first result: compare ``body_hash`` with the retry's before replaying
    ``record``, the first call's answer.

    The result is a reference (the version the call made); ``record`` is the request's record
    while it is still at that version, else None: the request moved on (or left Redis) and
    the answer is kept nowhere, so the retry is told so (``IdempotentCallSuperseded``).
    ``current`` is the request's record now, if Redis still has it (who may see it)."""

    body_hash: str
    record: AfterSale | None
    version: int = 0  # the version the first call made
    event_id: str = ""  # its event ("": a result of the previous release's form)
    request_id: str = ""
    current: AfterSale | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A transition event with its stream id (the history's and the stream's entries)."""

    event_id: str
    event: TransitionEvent


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Events of one history page, and where the next page starts (None: this is the last).
    Offsets count stored entries, so an entry skipped as undecodable never shifts a page."""

    events: list[StoredEvent]
    next_offset: int | None


class RecordOwner(NamedTuple):
    """Whose a record is: what visibility needs when the rest of it cannot be read."""

    buyer_id: str
    shop_id: str
    has_refund: bool


class UndecodableRecord(Exception):
    """A stored record that does not decode (``why``). ``owner``: whose it is, if that much
    can still be read (None otherwise), so a caller is told only about its own."""

    def __init__(self, request_id: str, owner: RecordOwner | None, why: str) -> None:
        super().__init__(f"after-sale request {request_id} is stored unreadably: {why}")
        # For callers: the id only; ``why`` (the stored form's fault) is for the log.
        self.message = (
            f"after-sale request {request_id} is stored in a form this service cannot read; "
            "operators have it in the log"
        )
        self.request_id = request_id
        self.owner = owner
        self.why = why


class RequestPage(NamedTuple):
    records: list[AfterSale]
    next_page_token: str  # "" = no more


class TimerMember(NamedTuple):
    """A claimed timer: fire ``action`` if the record is still at ``version``.

    ``member`` is the raw timer-set member, to hand back to the store (drop, release) and to
    the commit that fires it. Every commit registers the record's pending timer under the
    record's new version (and removes the previous member), so a member is current exactly
    while the record is at its version.
    """

    request_id: str
    version: int
    action: Action
    member: str


class AfterSaleRepository(Protocol):
    """Records, their commits, and the reads that never build a machine."""

    def new_request_id(self, order_id: str, now_ms: int) -> str:
        """A fresh request id for ``order_id`` made at ``now_ms``; it embeds the order's shard."""
        ...

    async def load(self, request_id: str) -> AfterSale | None:
        """The stored record, or None (one round trip). Malformed ids raise NotFound; a record
        that does not decode raises UndecodableRecord."""
        ...

    async def idempotent_result(
        self, key: IdempotencyKey, order_id: str
    ) -> IdempotentResult | None:
        """The first result stored under ``key`` on ``order_id`` (an application names its
        order before any record exists), in one round trip."""
        ...

    async def load_many(self, request_ids: list[str]) -> list[AfterSale | None]:
        """Records in the order asked, None where missing or undecodable (skipped: logged
        and counted); one round trip."""
        ...

    async def commit_many(
        self, steps: Sequence[tuple[Decision, int, str | None]]
    ) -> list[CommitResult | AfterSaleError]:
        """Commit (decision, read version, leased timer member) steps in one pipeline."""
        ...

    async def load_with_idempotency(
        self, request_id: str, key: IdempotencyKey
    ) -> tuple[AfterSale | None, IdempotentResult | None]:
        """``load``, and the first result stored under ``key`` on the loaded record's order,
        in one round trip (no record: no result)."""
        ...

    async def commit(
        self,
        decision: Decision,
        *,
        read_version: int,
        idempotency: IdempotencyKey | None = None,
        body_hash: str = "",
        leased_timer_member: str | None = None,
    ) -> CommitResult:
        """Store ``decision`` atomically if the record is still at ``read_version``; with an
        idempotency key, the new record is also kept as the key's result (on the record's
        order).

        Raises VersionConflict, IdempotencyKeyReused, LimitExceeded or PermissionDenied (another
        buyer's order line); nothing is written then.
        """
        ...

    async def list_requests(
        self,
        *,
        shop_id: str | None = None,
        buyer_id: str | None = None,
        order_id: str | None = None,
        states: Collection[State] = (),
        page_size: int = 50,
        page_token: str = "",
        created_from_ms: int | None = None,
        created_before_ms: int | None = None,
    ) -> RequestPage:
        """Requests matching the filters, newest first; no id filter lists every request;
        created in [``created_from_ms``, ``created_before_ms``) when given."""
        ...

    async def history_page(self, request_id: str, offset: int = 0, limit: int = 100) -> HistoryPage:
        """The request's transition events, oldest first: the decodable ones of ``limit``
        stored entries from ``offset`` (an undecodable one is skipped: logged and counted)."""
        ...

    async def shop_stats(self, shop_id: str) -> dict[str, int]:
        """The shop's counters (``service.storage.counters``), summed over all shards."""
        ...


class TimerStore(Protocol):
    """Durable timers: what the timer worker and the ops RPCs need. Raw members are
    ``<request_id>|<version>|<action>`` strings (``TimerMember.member``)."""

    async def reclaim_expired(self, now_ms: int) -> int:
        """Move leases that expired by ``now_ms`` back to due (now); returns how many."""
        ...

    async def claim_due(
        self, now_ms: int, lease_ms: int | None = None, batch: int = 200
    ) -> list[TimerMember]:
        """Lease about ``batch`` timers due by ``now_ms`` until now + lease, earliest first.
        A member this service cannot have written is dropped (and logged), never returned."""
        ...

    async def next_due_ms(self) -> int | None:
        """The earliest due time or lease deadline; None if there is none."""
        ...

    async def drop(self, member: str) -> None:
        """Forget a member (pending or leased): stale, or its request is gone."""
        ...

    async def drop_many(self, members: Sequence[str]) -> None:
        """``drop`` each of ``members`` (in one round trip)."""
        ...


class Heartbeats(Protocol):
    """Beats that tell other processes this one is alive (timer workers, servers)."""

    async def beat(self, kind: str, process_id: str) -> None:
        """Record a beat of ``process_id`` (of ``kind``) now."""
        ...

    async def forget(self, kind: str, process_id: str) -> None:
        """``process_id`` stopped cleanly."""
        ...
