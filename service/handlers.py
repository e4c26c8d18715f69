"""Application handlers: load → machine → commit, one function per action of SPEC §3.

Every write takes the same path (``_run``): read the record in one round trip, run the
domain's ``decide`` over it, commit the decision in one atomic script. A lost race (the
version moved between read and commit) re-runs the command on the fresh record a few times;
a caller that named ``expected_version`` gets ABORTED instead, because it decided on a view
that is no longer true. Reads never build a machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from aftersale import commands as c
from aftersale.allowed import ActionVerdict, allowed_actions
from aftersale.clock import Clock
from aftersale.commands import Command, action_of
from aftersale.decide import Decision, decide
from aftersale.exceptions import (
    ActionRefused,
    AfterSaleError,
    IdempotencyKeyReused,
    NotFound,
    PermissionDenied,
    Refusal,
    VersionConflict,
)
from aftersale.model import Actor, AfterSale
from aftersale.policy import Policy
from aftersale.vocabulary import Action, Role, State
from service.access import can_see, require_visible, scope_filters
from service.storage.ports import (
    AfterSaleRepository,
    IdempotentResult,
    StoredEvent,
    TimerMember,
)

# A lost race re-runs the command on the fresh record; jittered backoff spreads a burst of
# writers on one request so each round has a winner instead of a stampede.
MAX_CONFLICT_RETRIES = 10
CONFLICT_BACKOFF_S = 0.002
SYSTEM_ACTOR = Actor(Role.SYSTEM, "timer")
STALE_TIMER = "STALE_TIMER"


@dataclass(frozen=True, slots=True)
class Call:
    """Who calls and how: the acting party, the calling service, idempotency and version."""

    actor: Actor
    caller: str  # the authenticated service name: scopes idempotency keys
    idempotency_key: str
    expected_version: int | None = None


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
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._policy = policy

    # -- the write path --------------------------------------------------------------------

    async def _run(self, request_id: str, command: Command | None, call: Call) -> AfterSale:
        """Run ``command`` for ``call``; ``None`` fires the pending timer (ops, as SYSTEM)."""
        body_hash = _body_hash(request_id, command)
        record, stored = await self._repo.load_with_idempotency(
            request_id, call.caller, call.idempotency_key
        )
        if stored is not None:
            return _replayed(stored, body_hash, call.idempotency_key)
        last: VersionConflict | None = None
        for attempt in range(MAX_CONFLICT_RETRIES):
            if attempt:  # a lost race: decide again on the fresh record
                record = await self._repo.load(request_id)
            if record is None:
                raise NotFound(request_id)
            if call.expected_version is not None and call.expected_version != record.version:
                raise VersionConflict(request_id, call.expected_version, record.version)
            step, actor = (command, call.actor) if command else (_pending(record), SYSTEM_ACTOR)
            decision = decide(record, step, actor, self._clock.now_ms(), self._policy)
            if decision.event is None:  # an idempotent no-op: nothing to write
                return decision.record
            try:
                result = await self._repo.commit(
                    decision,
                    read_version=record.version,
                    caller=call.caller,
                    idempotency_key=call.idempotency_key,
                    body_hash=body_hash,
                )
            except VersionConflict as conflict:
                if call.expected_version is not None:
                    raise
                last = conflict
                await asyncio.sleep(random.uniform(0, CONFLICT_BACKOFF_S * (attempt + 1)))
                continue
            return result.record if result.record is not None else decision.record
        assert last is not None  # every iteration that did not return lost a race
        raise last

    async def apply(self, command: c.Apply, call: Call) -> AfterSale:
        """A buyer's application; the request id is made here and embeds the order's shard."""
        body_hash = _body_hash("", command)
        stored = await self._repo.idempotent_result(
            call.caller, call.idempotency_key, command.order_id
        )
        if stored is not None:
            return _replayed(stored, body_hash, call.idempotency_key)
        now = self._clock.now_ms()
        command = replace(command, request_id=self._repo.new_request_id(command.order_id, now))
        decision = decide(None, command, call.actor, now, self._policy)
        result = await self._repo.commit(
            decision,
            read_version=0,
            caller=call.caller,
            idempotency_key=call.idempotency_key,
            body_hash=body_hash,
        )
        return result.record if result.record is not None else decision.record

    async def approve(self, request_id: str, command: c.Approve, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def negotiate(self, request_id: str, command: c.Negotiate, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def withdraw_negotiation(
        self, request_id: str, command: c.WithdrawNegotiation, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def accept_negotiation(
        self, request_id: str, command: c.AcceptNegotiation, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def reject_negotiation(
        self, request_id: str, command: c.RejectNegotiation, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def supplement_evidence(
        self, request_id: str, command: c.SupplementEvidence, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def reject(self, request_id: str, command: c.Reject, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def modify_application(
        self, request_id: str, command: c.ModifyApplication, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def cancel(self, request_id: str, command: c.Cancel, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def submit_return_waybill(
        self, request_id: str, command: c.SubmitReturnWaybill, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def confirm_receipt(
        self, request_id: str, command: c.ConfirmReceipt, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def escalate(self, request_id: str, command: c.Escalate, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def intervene(self, request_id: str, command: c.Intervene, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def request_proof(
        self, request_id: str, command: c.RequestProof, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def submit_proof(self, request_id: str, command: c.SubmitProof, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def withdraw_escalation(
        self, request_id: str, command: c.WithdrawEscalation, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def resolve_dispute(
        self, request_id: str, command: c.ResolveDispute, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def report_refund_result(
        self, request_id: str, command: c.RefundSucceeded | c.RefundFailed, call: Call
    ) -> AfterSale:
        """``refund_succeeded`` or ``refund_failed``; a repeated success report is a no-op."""
        return await self._run(request_id, command, call)

    async def upload_refund_proof(
        self, request_id: str, command: c.UploadRefundProof, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def confirm_offline_refund(
        self, request_id: str, command: c.ConfirmOfflineRefund, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def retry_refund(self, request_id: str, command: c.RetryRefund, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def close_refund(self, request_id: str, command: c.CloseRefund, call: Call) -> AfterSale:
        return await self._run(request_id, command, call)

    async def record_contact_attempt(
        self, request_id: str, command: c.RecordContactAttempt, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    async def request_contact_quota(
        self, request_id: str, command: c.RequestContactQuota, call: Call
    ) -> AfterSale:
        return await self._run(request_id, command, call)

    # -- timers ---------------------------------------------------------------------------

    async def fire_timer(self, timer: TimerMember) -> bool:
        """Fire one claimed timer. False: it was stale; drop it."""
        [fired] = await self.fire_timers([timer])
        return fired

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
            except ActionRefused as refused:
                if refused.reason == STALE_TIMER:
                    continue
                raise
            steps.append((decision, record.version, timer.member))
            at.append(i)
        results = await self._repo.commit_many(steps) if steps else []
        for i, result in zip(at, results, strict=True):
            # A version conflict means the request moved on while we fired: stale now.
            fired[i] = not isinstance(result, AfterSaleError)
        return fired

    async def fire_now(self, request_id: str, call: Call) -> AfterSale:
        """Ops: fire the request's pending timer now, through the same path as a due one,
        with the call's idempotency key and expected version like any other write."""
        actor = call.actor
        if actor.role is not Role.PLATFORM:
            raise PermissionDenied(request_id, f"{actor.role}:{actor.id}", "ops only")
        return await self._run(request_id, None, call)

    # -- reads: never a machine ---------------------------------------------------------------

    async def get(self, request_id: str, actor: Actor) -> AfterSale:
        record = await self._load_visible(request_id, actor)
        return record

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
    ) -> Page:
        shop_id, buyer_id = scope_filters(actor, shop_id, buyer_id)
        if not (shop_id or buyer_id or order_id) and actor.role is not Role.PLATFORM:
            raise PermissionDenied("*", f"{actor.role}:{actor.id}", "a filter is required")
        records, token = await self._repo.list_requests(
            shop_id=shop_id,
            buyer_id=buyer_id,
            order_id=order_id,
            states=states,
            page_size=page_size,
            page_token=page_token,
        )
        return Page([r for r in records if can_see(r, actor)], token)

    async def history(
        self, request_id: str, actor: Actor, offset: int = 0, limit: int = 100
    ) -> list[StoredEvent]:
        await self._load_visible(request_id, actor)
        return await self._repo.history(request_id, offset, limit)

    async def allowed_actions(self, request_id: str, actor: Actor) -> list[ActionVerdict]:
        record = await self._load_visible(request_id, actor)
        return allowed_actions(record, actor, self._clock.now_ms(), self._policy)

    async def shop_stats(self, shop_id: str, actor: Actor) -> dict[str, int]:
        if actor.role is Role.MERCHANT and actor.id != shop_id:
            raise PermissionDenied("*", f"MERCHANT:{actor.id}", "another shop's figures")
        if actor.role not in (Role.MERCHANT, Role.PLATFORM):
            raise PermissionDenied("*", f"{actor.role}:{actor.id}", "shop figures")
        return await self._repo.shop_stats(shop_id)

    async def _load_visible(self, request_id: str, actor: Actor) -> AfterSale:
        record = await self._repo.load(request_id)
        if record is None:
            raise NotFound(request_id)
        require_visible(record, actor)
        return record

    @property
    def repository(self) -> AfterSaleRepository:
        return self._repo

    @property
    def policy(self) -> Policy:
        return self._policy


def _pending(record: AfterSale) -> c.FireTimer:
    """The command that fires the record's pending timer (refused when none is pending)."""
    if record.timer is None:
        raise ActionRefused(
            record.request_id,
            record.state,
            Action.MERCHANT_TIMEOUT,
            Refusal(
                "NO_PENDING_TIMER",
                f"no timer is pending in state {record.state}",
                f"当前状态 {record.state} 没有待触发的计时器",
                "wait for an action that starts a timer",
                "等待会启动计时器的操作",
            ),
        )
    return c.FireTimer(timer_action=record.timer.action, version=record.version)


def _body_hash(request_id: str, command: Command | None) -> str:
    if command is None:
        body: dict[str, object] = {"action": "fire_timer", "request_id": request_id}
    else:
        body = {"action": action_of(command).value, "request_id": request_id, **asdict(command)}
    if isinstance(command, c.Apply):
        body.pop("request_id", None)  # made by the service, not part of what the caller sent
    raw = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _replayed(stored: IdempotentResult, body_hash: str, key: str) -> AfterSale:
    if stored.body_hash != body_hash:
        raise IdempotencyKeyReused(key)
    return stored.record
