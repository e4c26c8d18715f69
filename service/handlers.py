"""Application handlers: load → machine → commit, for every action of SPEC §3.

Every write enters through ``handle`` (or ``fire_pending`` / ``fire_timers`` for timers) and
takes the same path: validate the command, read the record in one round trip, run the
domain's ``decide`` over it, commit the decision in one atomic script. A lost race (the
version moved between read and commit) re-runs the command on the fresh record a few times;
a caller that named ``expected_version`` gets ABORTED instead, because it decided on a view
that is no longer true. Reads never build a machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

import msgspec

from aftersale import commands as c
from aftersale.allowed import ActionVerdict, allowed_actions
from aftersale.clock import Clock
from aftersale.commands import Command, action_of
from aftersale.decide import Decision, decide
from aftersale.exceptions import (
    ActionRefused,
    AfterSaleError,
    Denial,
    IdempotencyKeyReused,
    IdempotentCallSuperseded,
    PermissionDenied,
    StaleTimer,
    VersionConflict,
)
from aftersale.model import Actor, AfterSale
from aftersale.policy import Policy
from aftersale.refusals import error_for, refusal
from aftersale.timers import TIMER_TABLE
from aftersale.validation import validate
from aftersale.vocabulary import Role, State
from service.access import (
    acting_as,
    can_see,
    missing,
    require_visible,
    scope_filters,
    unreadable,
)
from service.archive.combined import CombinedReads
from service.archive.figures import shop_figures
from service.archive.reads import ArchiveDisabled, ArchiveReads
from service.observability.metrics import count_committed
from service.storage.ports import (
    AfterSaleRepository,
    HistoryPage,
    IdempotencyKey,
    IdempotentResult,
    TimerMember,
    UndecodableRecord,
)

log = logging.getLogger(__name__)

# A lost race re-runs the command on the fresh record; jittered backoff spreads a burst of
# writers on one request so each round has a winner instead of a stampede.
MAX_CONFLICT_RETRIES = 10
CONFLICT_BACKOFF_S = 0.002
SYSTEM_ACTOR = Actor(Role.SYSTEM, "timer")
OPS_ONLY = Denial("ROLE_NOT_ALLOWED", "ops only", "仅平台运维可以立即触发定时任务")
FILTER_REQUIRED = Denial(
    "FILTER_REQUIRED", "a filter is required", "须指定店铺、买家或订单作为查询条件"
)
OTHER_SHOP = Denial("OUT_OF_SCOPE", "another shop's figures", "不能查看其他店铺的统计数据")
SHOP_FIGURES = Denial("ROLE_NOT_ALLOWED", "shop figures", "仅商家与平台可以查看店铺统计数据")


@dataclass(frozen=True, slots=True)
class Call:
    """Who calls and how: the acting party, the calling service, idempotency and version."""

    actor: Actor
    caller: str  # the authenticated service name: scopes idempotency keys
    idempotency_key: str
    expected_version: int | None = None

    @property
    def idempotency(self) -> IdempotencyKey:
        """The call's key and whose it is (its scope's order is the request's)."""
        return IdempotencyKey(self.caller, self.actor, self.idempotency_key)


@dataclass(frozen=True, slots=True)
class Page:
    records: list[AfterSale]
    next_page_token: str


class AfterSaleHandlers:
    """The application service: every action and read the API and the timers use."""

    def __init__(
        self,
        repository: AfterSaleRepository,
        clock: Clock,
        policy: Policy,
        archive: ArchiveReads | None = None,
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._policy = policy
        # Reads answer from Redis, and from the archive for requests that left Redis; the
        # write path reads Redis alone (a write acts on live work only).
        self._reads = CombinedReads(repository, archive)

    # -- the write path --------------------------------------------------------------------

    async def handle(self, request_id: str, command: Command, call: Call) -> AfterSale:
        """Run ``command`` for ``call`` on ``request_id``; an ``Apply`` makes the request (its
        ``request_id`` is made here). Bad input is refused before anything is read."""
        now_ms = self._clock.now_ms()
        if isinstance(command, c.Apply):
            new_id = self._repo.new_request_id(command.order_id, now_ms)
            command = replace(command, request_id=new_id)
        validate(command, None, now_ms, self._policy, call.actor)
        if isinstance(command, c.Apply):
            return await self._apply(command, call)
        return await self._run(request_id, command, call)

    async def fire_pending(self, request_id: str, call: Call) -> AfterSale:
        """Ops: fire the request's pending timer now, through the same path as a due one,
        with the call's idempotency key and expected version like any other write."""
        actor = call.actor
        if actor.role is not Role.PLATFORM:
            raise PermissionDenied(request_id, f"{actor.role}:{actor.id}", OPS_ONLY)
        return await self._run(request_id, None, call)

    async def _run(self, request_id: str, command: Command | None, call: Call) -> AfterSale:
        """Run ``command`` for ``call``; ``None`` fires the pending timer (ops, as SYSTEM)."""
        body_hash = _body_hash(request_id, command, call.actor)
        try:
            record, stored = await self._repo.load_with_idempotency(request_id, call.idempotency)
        except UndecodableRecord as error:
            raise unreadable(error, call.actor) from None
        if stored is not None:
            return _replayed(stored, body_hash, call)
        for attempt in range(MAX_CONFLICT_RETRIES):
            if attempt:  # a lost race: decide again on the fresh record, after a jittered pause
                await asyncio.sleep(random.uniform(0, CONFLICT_BACKOFF_S * attempt))
                record = await self._load_or_none(request_id, call.actor)
            if record is None:
                return await self._on_archived(request_id, command, call)
            require_visible(record, call.actor)
            if call.expected_version is not None and call.expected_version != record.version:
                raise VersionConflict(request_id, call.expected_version, record.version)
            try:
                return await self._decide_and_commit(record, command, call, body_hash)
            except ActionRefused as refused:
                raise self._explained(refused, record, call.actor) from None
            except VersionConflict:
                if call.expected_version is not None or attempt == MAX_CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable: the last lost race raises")

    async def _decide_and_commit(
        self, record: AfterSale, command: Command | None, call: Call, body_hash: str
    ) -> AfterSale:
        decision = self._decide(record, command, call)
        if decision.event is None:  # an idempotent no-op: nothing to write
            return decision.record
        return await self._commit(decision, record.version, call, body_hash)

    def _decide(self, record: AfterSale, command: Command | None, call: Call) -> Decision:
        step: Command
        if command is None:  # ops fire the pending timer: the timer acts, the operator is noted
            step, actor, forced_by = _pending(record), SYSTEM_ACTOR, call.actor
        else:
            step, actor, forced_by = command, call.actor, None
        now_ms = self._clock.now_ms()
        return decide(record, step, actor, now_ms, self._policy, forced_by)

    async def _on_archived(self, request_id: str, command: Command | None, call: Call) -> AfterSale:
        """An action on a request Redis does not hold: if the archive has it, it left Redis
        finished, so the action is refused as it was before it left (or is the no-op it was,
        such as a payment result reported again); nothing is written. Otherwise it does not
        exist."""
        archived = await self._archived(request_id, call.actor)
        if archived is None:
            raise missing(request_id, call.actor)
        require_visible(archived, call.actor)
        if call.expected_version is not None and call.expected_version != archived.version:
            raise VersionConflict(request_id, call.expected_version, archived.version)
        try:
            decision = self._decide(archived, command, call)
        except ActionRefused as refused:
            raise self._explained(refused, archived, call.actor) from None
        if decision.event is not None:  # only finished requests leave Redis: not this one
            log.error("archived request %s in %s would move", request_id, archived.state)
            raise missing(request_id, call.actor)
        return decision.record

    async def _archived(self, request_id: str, actor: Actor) -> AfterSale | None:
        archive = self._reads.archive
        if archive is None:
            return None
        try:
            return await archive.load(request_id)
        except UndecodableRecord as error:
            raise unreadable(error, actor) from None

    def _explained(self, refused: ActionRefused, record: AfterSale, actor: Actor) -> ActionRefused:
        """``refused`` with what ``actor`` may do on ``record`` now: the very answer of
        ``GetAllowedActions`` (the same function over the same record), so a client can act
        on a refusal without another call."""
        verdicts = allowed_actions(record, actor, self._clock.now_ms(), self._policy)
        refused.allowed = tuple(v.action for v in verdicts if v.allowed)
        return refused

    async def _apply(self, command: c.Apply, call: Call) -> AfterSale:
        """A buyer's application; the request id is made here and embeds the order's shard."""
        body_hash = _body_hash("", command, call.actor)
        stored = await self._repo.idempotent_result(call.idempotency, command.order_id)
        if stored is not None:
            return _replayed(stored, body_hash, call)
        decision = decide(None, command, call.actor, self._clock.now_ms(), self._policy)
        return await self._commit(decision, 0, call, body_hash)

    async def _commit(
        self, decision: Decision, read_version: int, call: Call, body_hash: str
    ) -> AfterSale:
        result = await self._repo.commit(
            decision,
            read_version=read_version,
            idempotency=call.idempotency,
            body_hash=body_hash,
        )
        count_committed([decision], [result])
        return result.record if result.record is not None else decision.record

    # -- timers ---------------------------------------------------------------------------

    async def fire_timers(self, timers: Sequence[TimerMember]) -> list[bool]:
        """Fire a batch of claimed timers: one read and one commit pipeline for the batch.
        True where the timer fired; False where it was stale (drop it). A timer that failed
        otherwise raises nothing here: it keeps its lease and is retried after it."""
        records = await self._repo.load_many([t.request_id for t in timers])
        now = self._clock.now_ms()
        fired = [False] * len(timers)
        steps: list[tuple[Decision, int, str | None]] = []
        at: list[int] = []
        for i, (timer, record) in enumerate(zip(timers, records, strict=True)):
            if record is None:
                continue
            command = c.FireTimer(timer_action=timer.action, version=timer.version)
            try:
                decision = decide(record, command, SYSTEM_ACTOR, now, self._policy)
            except StaleTimer:
                continue
            steps.append((decision, record.version, timer.member))
            at.append(i)
        results = await self._repo.commit_many(steps) if steps else []
        count_committed((decision for decision, _, _ in steps), results)
        for i, result in zip(at, results, strict=True):
            # A version conflict means the request moved on while we fired: stale now.
            fired[i] = not isinstance(result, AfterSaleError)
        return fired

    def use_archive(self, archive: ArchiveReads) -> None:
        """Answer reads of requests that left Redis from ``archive`` from now on."""
        self._reads = CombinedReads(self._repo, archive)

    # -- reads: never a machine ---------------------------------------------------------------

    async def get(self, request_id: str, actor: Actor) -> AfterSale:
        """The request, if ``actor`` may see it."""
        return await self._load_visible(request_id, actor)

    async def list_requests(
        self,
        actor: Actor,
        *,
        shop_id: str = "",
        buyer_id: str = "",
        order_id: str = "",
        states: frozenset[State] = frozenset(),
        page_size: int = 50,
        page_token: str = "",
        created_from_ms: int | None = None,
        created_before_ms: int | None = None,
    ) -> Page:
        """A page of the requests ``actor`` may see that match the filters, newest first."""
        shop_id, buyer_id = scope_filters(actor, shop_id, buyer_id)
        if not (shop_id or buyer_id or order_id) and actor.role is not Role.PLATFORM:
            raise PermissionDenied("", f"{actor.role}:{actor.id}", FILTER_REQUIRED)
        records, token = await self._reads.list_requests(
            shop_id=shop_id,
            buyer_id=buyer_id,
            order_id=order_id,
            states=states,
            page_size=page_size,
            page_token=page_token,
            created_from_ms=created_from_ms,
            created_before_ms=created_before_ms,
        )
        return Page([r for r in records if can_see(r, actor)], token)

    async def history(
        self, request_id: str, actor: Actor, offset: int = 0, limit: int = 100
    ) -> HistoryPage:
        """A page of the request's events, if ``actor`` may see the request."""
        record = await self._load_visible(request_id, actor)
        return await self._reads.history_page(request_id, offset, limit, record.version)

    async def allowed_actions(
        self, request_id: str, actor: Actor, role: Role
    ) -> tuple[AfterSale, list[ActionVerdict]]:
        """The request and what ``role`` may do on it now (``actor``'s own role, or any role
        for ops), from one read."""
        record = await self._load_visible(request_id, actor)
        acting = acting_as(role, record, actor)
        return record, allowed_actions(record, acting, self._clock.now_ms(), self._policy)

    async def shop_stats(self, shop_id: str, actor: Actor) -> dict[str, int]:
        """The shop's all-time counters (Redis), if ``actor`` may see them."""
        _require_shop_figures(shop_id, actor)
        return await self._repo.shop_stats(shop_id)

    async def shop_stats_window(
        self, shop_id: str, actor: Actor, length_ms: int, end_ms: int | None = None
    ) -> tuple[dict[str, int], int, int]:
        """The shop's counters over the ``length_ms`` before ``end_ms`` (None: now), from the
        archive, if ``actor`` may see them; with the window's [start, end) in ms."""
        _require_shop_figures(shop_id, actor)
        archive = self._reads.archive
        if archive is None:
            raise ArchiveDisabled("window")
        end = self._clock.now_ms() if end_ms is None else end_ms
        start = max(0, end - length_ms)
        return await shop_figures(archive, shop_id, start, end), start, end

    async def _load_or_none(self, request_id: str, actor: Actor) -> AfterSale | None:
        try:
            return await self._repo.load(request_id)
        except UndecodableRecord as error:
            raise unreadable(error, actor) from None

    async def _load_visible(self, request_id: str, actor: Actor) -> AfterSale:
        """The record for a read, wherever it is, if ``actor`` may see it."""
        try:
            record = await self._reads.load(request_id)
        except UndecodableRecord as error:
            raise unreadable(error, actor) from None
        if record is None:
            raise missing(request_id, actor)
        require_visible(record, actor)
        return record

    @property
    def repository(self) -> AfterSaleRepository:
        return self._repo


def _require_shop_figures(shop_id: str, actor: Actor) -> None:
    """Merchants see their own shop's figures, ops every shop's; nobody else any."""
    if actor.role is Role.MERCHANT and actor.id != shop_id:
        raise PermissionDenied("", f"MERCHANT:{actor.id}", OTHER_SHOP)
    if actor.role not in (Role.MERCHANT, Role.PLATFORM):
        raise PermissionDenied("", f"{actor.role}:{actor.id}", SHOP_FIGURES)


def _pending(record: AfterSale) -> c.FireTimer:
    """The command that fires the record's pending timer (refused when none is pending)."""
    if record.timer is None:
        # Name the timer of the request's state, if it has one (none pending: it ran already).
        spec = TIMER_TABLE.get(record.state)
        refused = refusal("NO_PENDING_TIMER", state=record.state)
        raise error_for(refused, record.request_id, record.state, spec.action if spec else None)
    return c.FireTimer(timer_action=record.timer.action, version=record.version)


def _body_hash(request_id: str, command: Command | None, actor: Actor) -> str:
    """What the caller sent, and who sent it: a key retried by another party is not a retry."""
    body: dict[str, object] = {"request_id": request_id, "actor": f"{actor.role}:{actor.id}"}
    if command is None:
        body["action"] = "fire_timer"
    else:
        # to_builtins, not asdict: the same JSON (enums as their values, tuples as lists) for a
        # tenth of the CPU; the stored hashes stay valid (tests/unit/test_body_hash.py).
        body |= {"action": action_of(command).value, **msgspec.to_builtins(command)}
    if isinstance(command, c.Apply):
        body.pop("request_id", None)  # made by the service, not part of what the caller sent
    raw = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _replayed(stored: IdempotentResult, body_hash: str, call: Call) -> AfterSale:
    """The first result of a retried call. A replay passes the authorization the call would:
    a party that may not see the request learns nothing from its key, not even that it is
    used (the same refusal as acting on a request that is not theirs). A call whose request
    moved on since (or left Redis) took effect, but its answer is kept nowhere:
    ``IdempotentCallSuperseded`` says so, with the version and event it made. (With no record
    left to check, the key itself is the proof: its name holds the actor who used it.)"""
    seen = stored.record or stored.current
    if seen is not None:
        require_visible(seen, call.actor)
    if stored.body_hash != body_hash:
        raise IdempotencyKeyReused(call.idempotency_key)
    if stored.record is None:
        raise IdempotentCallSuperseded(
            call.idempotency_key, stored.request_id, stored.version, stored.event_id
        )
    return stored.record
