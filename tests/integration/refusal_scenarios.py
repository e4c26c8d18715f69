"""One way to provoke every refusal reason of ``aftersale.refusals``, from a request brought
there by real actions (``tests.unit.builders.World``) and stored in a real Redis.

A scenario returns (the request or None, the command or None for ops firing the pending
timer, the caller). ``EXEMPT`` names the reasons no caller can get, and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from aftersale.commands import (
    AcceptNegotiation,
    Apply,
    Command,
    ConfirmOfflineRefund,
    ConfirmReceipt,
    Escalate,
    Intervene,
    ModifyApplication,
    Negotiate,
    RecordContactAttempt,
    RefundFailed,
    RefundSucceeded,
    Reject,
    RequestContactQuota,
    RequestProof,
    RetryRefund,
    SubmitProof,
    SupplementEvidence,
    UploadRefundProof,
    WithdrawEscalation,
)
from aftersale.decide import Decision
from aftersale.model import Actor, AfterSale
from aftersale.policy import DAY_MS, Policy
from aftersale.vocabulary import (
    BuyerReason,
    ContactChannel,
    ContactOutcome,
    ProofParty,
    RejectReason,
    State,
)
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.unit.builders import (
    IMAGES,
    MP,
    PAYMENT,
    PLATFORM,
    REFUND,
    RETURN,
    K,
    Opt,
    World,
    buyer,
    merchant,
    refund_id,
)

# Small caps, so that every limit is reached in a few steps.
POLICY = Policy(
    max_evidence_images=12,
    max_contact_attempts=2,
    max_contact_quota_requests=2,
    max_proof_requests=2,
    max_proofs=2,
    max_dispute_proof_images=3,
    max_refund_attempts=2,
)


@dataclass
class StoredWorld(World):
    """A ``World`` whose requests are also committed to Redis (``store``), with request ids
    made as the service makes them."""

    keys: Keys = field(default_factory=lambda: Keys(shards=16))
    decisions: list[Decision] = field(default_factory=list)

    def decide(self, record: AfterSale | None, command: Command, actor: Actor) -> Decision:
        if isinstance(command, Apply):
            made = self.keys.new_request_id(command.order_id, self.now)
            command = replace(command, request_id=made)
        decision = super().decide(record, command, actor)
        self.decisions.append(decision)
        return decision

    async def store(self, repo: RedisRepository) -> None:
        for decision in self.decisions:
            if decision.event is not None:
                await repo.commit(decision, read_version=decision.record.version - 1)
        self.decisions.clear()


Provoked = tuple[AfterSale | None, Command | None, Actor]
Scenario = Callable[[StoredWorld], Provoked]


def _same_line(record: AfterSale, w: World) -> Apply:
    return Apply(
        request_id="",
        order_id=record.order_id,
        sku_id=record.sku_id,
        shop_id=record.shop_id,
        buyer_id=record.buyer_id,
        type=REFUND,
        amount=100,
        paid_amount=record.paid_amount,
        reason=BuyerReason.QUALITY_ISSUE,
        after_sale_deadline_ms=w.now + 15 * DAY_MS,
        evidence_images=IMAGES,
    )


def _modify(record: AfterSale, amount: int) -> ModifyApplication:
    return ModifyApplication(REFUND, amount, BuyerReason.QUALITY_ISSUE, "again", IMAGES)


def _deadline_passed(w: StoredWorld) -> Provoked:
    record = w.applied()
    late = replace(_same_line(record, w), sku_id="sku-other", after_sale_deadline_ms=w.now - 1)
    return None, late, buyer(record)


def _attempt_limit(w: StoredWorld) -> Provoked:
    record = w.applied()
    for i in range(w.policy.max_attempts_per_line - 1):
        record = w.act(record, _modify(record, 5_000 - i), buyer(record))
    return record, _modify(record, 4_000), buyer(record)


def _open_request(w: StoredWorld) -> Provoked:
    record = w.applied()
    return None, _same_line(record, w), buyer(record)


def _refunded_line(w: StoredWorld) -> Provoked:
    record = w.reach(State.MERCHANT_REFUND_SUCCESS)
    return None, _same_line(record, w), buyer(record)


def _round_limit(w: StoredWorld) -> Provoked:
    record = w.applied()
    for _ in range(w.policy.max_negotiation_rounds):
        record = w.failed_negotiation(record, Opt.EVIDENCE_UNCLEAR)
    return record, Negotiate(K.INVITE_VERIFY, Opt.EVIDENCE_UNCLEAR), merchant(record)


def _escalation_closed(w: StoredWorld) -> Provoked:
    record = w.rejected(REFUND)
    w.clock.advance(w.policy.durations.escalation_window_ms + DAY_MS)
    return record, Escalate("too late"), buyer(record)


def _arbitrating(w: StoredWorld) -> AfterSale:
    return w.reach(State.PLATFORM_ARBITRATING)


def _proof_requested(w: StoredWorld) -> AfterSale:
    record = _arbitrating(w)
    return w.act(record, RequestProof(ProofParty.BUYER, "show it"), PLATFORM)


def _proof_deadline(w: StoredWorld) -> Provoked:
    record = _proof_requested(w)
    w.clock.advance(w.policy.durations.proof_deadline_ms + DAY_MS)
    return record, SubmitProof("late"), buyer(record)


def _proof_images(w: StoredWorld) -> Provoked:
    record = _proof_requested(w)
    record = w.act(record, SubmitProof("one", IMAGES), buyer(record))
    return record, SubmitProof("two", IMAGES), buyer(record)


def _proof_requests(w: StoredWorld) -> Provoked:
    record = _arbitrating(w)
    for _ in range(w.policy.max_proof_requests):
        record = w.act(record, RequestProof(ProofParty.BOTH, "more"), PLATFORM)
    return record, RequestProof(ProofParty.BOTH, "again"), PLATFORM


def _proofs(w: StoredWorld) -> Provoked:
    record = _proof_requested(w)
    for _ in range(w.policy.max_proofs):
        record = w.act(record, SubmitProof("look"), buyer(record))
    return record, SubmitProof("more"), buyer(record)


def _evidence_limit(w: StoredWorld) -> Provoked:
    ask = Negotiate(K.INVITE_VERIFY, Opt.EVIDENCE_UNCLEAR)
    record = w.applied()
    record = w.act(record, ask, merchant(record))
    record = w.act(record, SupplementEvidence(("media/more.jpg",) * 9), buyer(record))
    record = w.act(record, ask, merchant(record))
    return record, SupplementEvidence(("media/again.jpg",) * 9), buyer(record)


def _contact_attempts(w: StoredWorld) -> Provoked:
    record = w.applied()
    for _ in range(w.policy.max_contact_attempts):
        record = w.contact_failed(record)
    attempt = RecordContactAttempt(ContactChannel.PHONE, ContactOutcome.NO_ANSWER, w.now)
    return record, attempt, merchant(record)


def _contact_quota(w: StoredWorld) -> Provoked:
    record = w.applied()
    for _ in range(w.policy.max_contact_quota_requests):
        record = w.act(record, RequestContactQuota(), merchant(record))
    return record, RequestContactQuota(), merchant(record)


def _disputes(w: StoredWorld) -> Provoked:
    record = w.rejected(RETURN)
    for _ in range(w.policy.max_disputes):
        record = w.act(record, Escalate("help"), buyer(record))
        record = w.act(record, WithdrawEscalation(), buyer(record))
    return record, Escalate("again"), buyer(record)


def _refund_attempts(w: StoredWorld) -> Provoked:
    record = w.refund_failed()
    while record.refund is not None and record.refund.attempt < w.policy.max_refund_attempts:
        record = w.act(record, RetryRefund(), PLATFORM)
        assert record.refund is not None
        record = w.act(record, RefundFailed(record.refund.refund_id, "again"), PAYMENT)
    return record, RetryRefund(), PLATFORM


def _settled_offline(w: StoredWorld) -> Provoked:
    failed = w.reach(State.PLATFORM_REFUND_FAIL)
    proof = w.act(failed, UploadRefundProof(IMAGES, "paid by bank transfer"), merchant(failed))
    settled = w.act(proof, ConfirmOfflineRefund(), buyer(proof))
    return settled, RefundSucceeded(refund_id(failed)), PAYMENT


def _in_state(state: State, command: Callable[[AfterSale], Command], who: str) -> Scenario:
    def scenario(w: StoredWorld) -> Provoked:
        record = w.reach(state)
        parties = {"buyer": buyer(record), "merchant": merchant(record), "payment": PAYMENT}
        actor = parties.get(who, PLATFORM)
        return record, command(record), actor

    return scenario


def _negotiating(option: Opt, command: Command) -> Scenario:
    def scenario(w: StoredWorld) -> Provoked:
        record = w.negotiating(w.applied(), option)
        return record, command, buyer(record)

    return scenario


def _return_without_address(w: StoredWorld) -> Provoked:
    record = w.applied(type=REFUND, return_address="")
    to_return = ModifyApplication(RETURN, record.amount, BuyerReason.QUALITY_ISSUE, "", IMAGES)
    return record, to_return, buyer(record)


SCENARIOS: dict[str, Scenario] = {
    "INVALID_STATE": _in_state(MP, lambda _: ConfirmReceipt(), "merchant"),
    "NO_PENDING_TIMER": lambda w: (w.reach(State.USER_CANCELD), None, PLATFORM),
    "APPLICATION_DEADLINE_PASSED": _deadline_passed,
    "ATTEMPT_LIMIT": _attempt_limit,
    "LINE_HAS_OPEN_REQUEST": _open_request,
    "LINE_ALREADY_REFUNDED": _refunded_line,
    "ROUND_LIMIT": _round_limit,
    "OPTION_NOT_ALLOWED": _in_state(
        MP, lambda _: Negotiate(K.INVITE_VERIFY, Opt.RETURN_WRONG_ITEM, IMAGES), "merchant"
    ),
    "CONTACT_ATTEMPT_REQUIRED": _in_state(
        MP, lambda _: Negotiate(K.INVITE_VERIFY, Opt.UNABLE_TO_CONTACT, IMAGES), "merchant"
    ),
    "AMOUNT_NOT_ALLOWED": _in_state(
        MP,
        lambda r: Negotiate(
            K.MODIFY_APPLICATION, Opt.AMOUNT_ONLY, IMAGES, proposed_amount=r.amount
        ),
        "merchant",
    ),
    "RETURN_ADDRESS_REQUIRED": _return_without_address,
    "PLAIN_ACCEPT_NOT_ALLOWED": _negotiating(Opt.EVIDENCE_UNCLEAR, AcceptNegotiation()),
    "EVIDENCE_NOT_REQUESTED": _negotiating(Opt.AMOUNT_ONLY, SupplementEvidence(IMAGES)),
    "REJECTION_FORBIDDEN": _in_state(
        MP, lambda _: Reject(RejectReason.REASON_MISMATCH, "no", IMAGES), "merchant"
    ),
    "REASON_NOT_FOR_STATE": _in_state(
        MP, lambda _: Reject(RejectReason.RETURN_ANOMALY, "no", IMAGES), "merchant"
    ),
    "NEGOTIATION_REQUIRED": _in_state(
        MP, lambda _: Reject(RejectReason.EVIDENCE_NOT_PROVIDED, "no", IMAGES), "merchant"
    ),
    "ESCALATION_WINDOW_CLOSED": _escalation_closed,
    "NOT_ESCALATED_BY_BUYER": lambda w: (
        (r := w.act(w.applied(), Intervene("auto"), PLATFORM)),
        WithdrawEscalation(),
        buyer(r),
    ),
    "PROOF_NOT_REQUESTED": lambda w: ((r := _arbitrating(w)), SubmitProof("look"), buyer(r)),
    "PROOF_DEADLINE_PASSED": _proof_deadline,
    "PROOF_IMAGE_LIMIT": _proof_images,
    "PROOF_REQUEST_LIMIT": _proof_requests,
    "PROOF_LIMIT": _proofs,
    "EVIDENCE_LIMIT": _evidence_limit,
    "CONTACT_ATTEMPT_LIMIT": _contact_attempts,
    "CONTACT_QUOTA_LIMIT": _contact_quota,
    "DISPUTE_LIMIT": _disputes,
    "REFUND_ATTEMPT_LIMIT": _refund_attempts,
    "REFUND_ID_MISMATCH": _in_state(
        State.PLATFORM_REFUNDING, lambda r: RefundSucceeded(f"{r.request_id}-R9"), "payment"
    ),
    "REFUND_SETTLED_OFFLINE": _settled_offline,
}

# Reasons no caller can get, and why.
EXEMPT: dict[str, str] = {
    "STALE_TIMER": "only the timer worker fires a timer that moved on, and it drops it",
    "NEGOTIATION_OPEN": "a request with an open negotiation is in USER_WAIT_CONFIRM_UPDATE, "
    "where NEGOTIATE has no transition: INVALID_STATE answers first",
}
