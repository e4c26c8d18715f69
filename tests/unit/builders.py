"""Builders for the domain unit tests: a fake clock, the default policy, and records brought to
any state of SPEC §3 by driving real actions through ``decide`` (never by editing ``state``).

Everything here is written from the SPEC, not from the implementation: the option table below is
SPEC §4, the unlocking table SPEC §5, the timer table SPEC §6.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from aftersale.clock import FakeClock
from aftersale.commands import (
    Apply,
    Approve,
    Cancel,
    CloseRefund,
    Command,
    ConfirmReceipt,
    FireTimer,
    Intervene,
    Negotiate,
    RecordContactAttempt,
    RefundFailed,
    RefundSucceeded,
    Reject,
    RejectNegotiation,
    ResolveDispute,
    SubmitReturnWaybill,
    UploadRefundProof,
)
from aftersale.decide import Decision, decide
from aftersale.events import TransitionEvent
from aftersale.exceptions import AfterSaleError
from aftersale.model import Actor, AfterSale
from aftersale.policy import DAY_MS, HOUR_MS, Policy
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    RejectReason,
    Role,
    State,
    Verdict,
)

START_MS = 1_790_000_000_000
STEP_MS = 60_000  # every action happens one minute after the previous one
PAID = 10_000  # 100 yuan in fen
IMAGES: tuple[str, ...] = ("media/evidence-1.jpg", "media/evidence-2.jpg")
RETURN_ADDRESS = "Shop warehouse, 1 Example Road, Hangzhou"

PAYMENT = Actor(Role.PAYMENT, "pay")
PLATFORM = Actor(Role.PLATFORM, "ops-1")
SYSTEM = Actor(Role.SYSTEM, "timer")

Opt = NegotiationOption
K = NegotiationKind
S = State
MP, UWCU, MWR = S.MERCHANT_PROCESSING, S.USER_WAIT_CONFIRM_UPDATE, S.MERCHANT_WAIT_RECEIPT
REFUND, RETURN = AfterSaleType.REFUND, AfterSaleType.RETURN


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One row of the SPEC §4 negotiation catalogue."""

    kind: NegotiationKind
    from_states: frozenset[State]
    images_required: bool
    only_type: AfterSaleType | None = None


SPEC_OPTIONS: dict[NegotiationOption, OptionSpec] = {
    Opt.AMOUNT_ONLY: OptionSpec(K.MODIFY_APPLICATION, frozenset({MP}), True),
    Opt.PARTIAL_REFUND: OptionSpec(K.MODIFY_APPLICATION, frozenset({MP}), True),
    Opt.RETURN_PARTIAL_REFUND: OptionSpec(K.MODIFY_APPLICATION, frozenset({MWR}), True),
    Opt.REFUND_WITHOUT_RETURN: OptionSpec(K.MODIFY_APPLICATION, frozenset({MP}), False, RETURN),
    Opt.NEW_PLAN_AGREED: OptionSpec(K.MODIFY_APPLICATION, frozenset({MP}), True),
    Opt.EVIDENCE_MISMATCH: OptionSpec(K.INVITE_VERIFY, frozenset({MP}), False),
    Opt.EVIDENCE_UNCLEAR: OptionSpec(K.INVITE_VERIFY, frozenset({MP}), False),
    Opt.PERISHABLE_QUALITY_PROOF: OptionSpec(K.INVITE_VERIFY, frozenset({MP}), False),
    Opt.RETURN_WRONG_ITEM: OptionSpec(K.INVITE_VERIFY, frozenset({MWR}), True),
    Opt.RETURN_MISSING_PARTS: OptionSpec(K.INVITE_VERIFY, frozenset({MWR}), True),
    Opt.RETURN_AFFECTS_RESALE: OptionSpec(K.INVITE_VERIFY, frozenset({MWR}), True),
    Opt.UNABLE_TO_CONTACT: OptionSpec(K.INVITE_VERIFY, frozenset({MP, MWR}), True),
    Opt.AGREED_TO_CANCEL: OptionSpec(K.INVITE_CANCEL, frozenset({MP, MWR}), True),
    Opt.NO_QUALITY_ISSUE_VERIFIED: OptionSpec(K.INVITE_CANCEL, frozenset({MP, MWR}), True),
    Opt.RESEND_CORRECT_ITEM: OptionSpec(K.INVITE_CANCEL, frozenset({MWR}), True),
}

# SPEC §5: which failed negotiation unlocks which reject reason, and from where.
SPEC_UNLOCKS: dict[RejectReason, tuple[frozenset[NegotiationOption], frozenset[State]]] = {
    RejectReason.AMOUNT_DISAGREEMENT: (
        frozenset({Opt.AMOUNT_ONLY, Opt.PARTIAL_REFUND}),
        frozenset({MP}),
    ),
    RejectReason.EVIDENCE_NOT_PROVIDED: (
        frozenset({Opt.EVIDENCE_MISMATCH, Opt.EVIDENCE_UNCLEAR, Opt.PERISHABLE_QUALITY_PROOF}),
        frozenset({MP}),
    ),
    RejectReason.NO_QUALITY_ISSUE: (
        frozenset({Opt.NO_QUALITY_ISSUE_VERIFIED}),
        frozenset({MP, MWR}),
    ),
    RejectReason.BUYER_UNREACHABLE: (frozenset({Opt.UNABLE_TO_CONTACT}), frozenset({MP, MWR})),
    RejectReason.RETURN_ANOMALY: (
        frozenset(
            {
                Opt.RETURN_WRONG_ITEM,
                Opt.RETURN_MISSING_PARTS,
                Opt.RETURN_AFFECTS_RESALE,
                Opt.RESEND_CORRECT_ITEM,
            }
        ),
        frozenset({MWR}),
    ),
}

NON_TERMINAL: tuple[State, ...] = (
    S.MERCHANT_PROCESSING,
    S.USER_WAIT_CONFIRM_UPDATE,
    S.MERCHANT_REJECT_REFUND,
    S.MERCHANT_REJECT_RETURN,
    S.USER_WAIT_RETURN,
    S.MERCHANT_WAIT_RECEIPT,
    S.RETURN_CLOSED,
    S.PLATFORM_ARBITRATING,
    S.PLATFORM_REFUNDING,
    S.PLATFORM_REFUND_FAIL,
    S.USER_WAIT_CONFIRM,
    S.MERCHANT_OVERDUE_REFUND,
)
TERMINAL: tuple[State, ...] = (
    S.MERCHANT_REFUND_SUCCESS,
    S.MERCHANT_RETURN_SUCCESS,
    S.USER_CANCELD,
    S.MERCHANT_FAIL,
    S.MERCHANT_REFUND_RETRY_FAIL,
)


def new_id(prefix: str) -> str:
    """A fresh id matching ``[A-Za-z0-9_-]{1,64}``, so no two tests share a request."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def buyer(record: AfterSale) -> Actor:
    return Actor(Role.BUYER, record.buyer_id)


def merchant(record: AfterSale) -> Actor:
    return Actor(Role.MERCHANT, record.shop_id)


def refund_id(record: AfterSale, attempt: int = 1) -> str:
    return f"{record.request_id}-R{attempt}"


def negotiation_for(
    option: NegotiationOption, record: AfterSale, images: tuple[str, ...] = IMAGES
) -> Negotiate:
    """A valid ``negotiate`` for ``option`` on ``record`` (amounts picked inside the range)."""
    kind = SPEC_OPTIONS[option].kind
    match option:
        case Opt.AMOUNT_ONLY:
            return Negotiate(kind, option, images, proposed_amount=record.amount - 1)
        case Opt.PARTIAL_REFUND | Opt.RETURN_PARTIAL_REFUND | Opt.NEW_PLAN_AGREED:
            return Negotiate(kind, option, images, proposed_amount=record.amount // 2)
        case Opt.REFUND_WITHOUT_RETURN:
            return Negotiate(kind, option, images, proposed_type=REFUND)
        case _:
            return Negotiate(kind, option, images)


def rejection(reason: RejectReason, images: tuple[str, ...] = IMAGES) -> Reject:
    return Reject(reason, "see the attached screenshots", images)


@dataclass
class World:
    """A fake clock, a policy and every event ``decide`` produced, for one test."""

    clock: FakeClock = field(default_factory=lambda: FakeClock(START_MS))
    policy: Policy = field(default_factory=Policy)
    events: list[TransitionEvent] = field(default_factory=list)

    @property
    def now(self) -> int:
        return self.clock.now_ms()

    def decide(self, record: AfterSale | None, command: Command, actor: Actor) -> Decision:
        """One minute later, ``actor`` sends ``command``."""
        self.clock.advance(STEP_MS)
        decision = decide(record, command, actor, self.now, self.policy)
        if decision.event is not None:
            self.events.append(decision.event)
        return decision

    def act(self, record: AfterSale | None, command: Command, actor: Actor) -> AfterSale:
        return self.decide(record, command, actor).record

    def applied(
        self,
        *,
        type: AfterSaleType = REFUND,
        amount: int = PAID,
        paid: int = PAID,
        reason: BuyerReason = BuyerReason.QUALITY_ISSUE,
        deadline_ms: int | None = None,
        return_address: str = RETURN_ADDRESS,
    ) -> AfterSale:
        """A fresh request, just applied for by a fresh buyer of a fresh shop."""
        command = Apply(
            request_id=new_id("rq"),
            order_id=new_id("order"),
            sku_id=new_id("sku"),
            shop_id=new_id("shop"),
            buyer_id=new_id("buyer"),
            type=type,
            amount=amount,
            paid_amount=paid,
            reason=reason,
            after_sale_deadline_ms=deadline_ms or self.now + 15 * DAY_MS,
            description="the item arrived scratched",
            evidence_images=IMAGES,
            return_address=return_address,
        )
        return self.act(None, command, Actor(Role.BUYER, command.buyer_id))

    def fire(self, record: AfterSale, action: Action | None = None) -> AfterSale:
        """The pending timer comes due and fires (``action`` asserts which one it is)."""
        assert record.timer is not None, f"no timer pending in {record.state}"
        if action is not None:
            assert record.timer.action == action, record.timer
        self.clock.set(max(self.now, record.timer.due_ms - STEP_MS))
        return self.act(record, FireTimer(record.timer.action, record.version), SYSTEM)

    def contact_failed(self, record: AfterSale) -> AfterSale:
        attempt = RecordContactAttempt(
            ContactChannel.PHONE, ContactOutcome.NO_ANSWER, self.now, ("media/call-log.png",)
        )
        return self.act(record, attempt, merchant(record))

    def negotiating(self, record: AfterSale, option: NegotiationOption) -> AfterSale:
        if option is Opt.UNABLE_TO_CONTACT and not record.contact_attempts:
            record = self.contact_failed(record)
        return self.act(record, negotiation_for(option, record), merchant(record))

    def failed_negotiation(
        self, record: AfterSale, option: NegotiationOption, *, timed_out: bool = False
    ) -> AfterSale:
        """The merchant negotiates ``option``; the buyer refuses (or lets it time out)."""
        record = self.negotiating(record, option)
        if timed_out:
            return self.fire(record, Action.NEGOTIATION_TIMEOUT)
        return self.act(record, RejectNegotiation("no"), buyer(record))

    def receiving(self, type: AfterSaleType = RETURN) -> AfterSale:
        """A RETURN whose parcel is on its way back (MERCHANT_WAIT_RECEIPT)."""
        record = self.applied(type=type)
        record = self.act(record, Approve(), merchant(record))
        return self.act(record, SubmitReturnWaybill("SF", new_id("wb")), buyer(record))

    def rejected(self, type: AfterSaleType) -> AfterSale:
        """Rejected after a failed EVIDENCE_UNCLEAR negotiation (MERCHANT_REJECT_*)."""
        record = self.failed_negotiation(self.applied(type=type), Opt.EVIDENCE_UNCLEAR)
        return self.act(record, rejection(RejectReason.EVIDENCE_NOT_PROVIDED), merchant(record))

    def refunding(self, type: AfterSaleType = REFUND) -> AfterSale:
        if type is REFUND:
            record = self.applied(type=REFUND)
            return self.act(record, Approve(), merchant(record))
        record = self.receiving()
        return self.act(record, ConfirmReceipt(), merchant(record))

    def refund_failed(self, type: AfterSaleType = REFUND) -> AfterSale:
        record = self.refunding(type)
        assert record.refund is not None
        return self.act(record, RefundFailed(record.refund.refund_id, "card closed"), PAYMENT)

    def reach(self, state: State, type: AfterSaleType | None = None) -> AfterSale:
        """A request in ``state``, got there by real actions."""
        kind = type or (RETURN if state in RETURN_ONLY_STATES else REFUND)
        match state:
            case S.MERCHANT_PROCESSING:
                return self.applied(type=kind)
            case S.USER_WAIT_CONFIRM_UPDATE:
                return self.negotiating(self.applied(type=kind), Opt.EVIDENCE_UNCLEAR)
            case S.MERCHANT_REJECT_REFUND:
                return self.rejected(REFUND)
            case S.MERCHANT_REJECT_RETURN:
                return self.rejected(RETURN)
            case S.USER_WAIT_RETURN:
                record = self.applied(type=RETURN)
                return self.act(record, Approve(), merchant(record))
            case S.MERCHANT_WAIT_RECEIPT:
                return self.receiving()
            case S.RETURN_CLOSED:
                return self.fire(self.reach(S.USER_WAIT_RETURN), Action.RETURN_SHIP_TIMEOUT)
            case S.PLATFORM_ARBITRATING:
                return self.act(self.applied(type=kind), Intervene("auto"), PLATFORM)
            case S.PLATFORM_REFUNDING:
                return self.refunding(kind)
            case S.PLATFORM_REFUND_FAIL:
                return self.refund_failed(kind)
            case S.USER_WAIT_CONFIRM:
                record = self.refund_failed(kind)
                return self.act(record, UploadRefundProof(IMAGES, "paid"), merchant(record))
            case S.MERCHANT_OVERDUE_REFUND:
                return self.fire(self.refund_failed(kind), Action.OFFLINE_REFUND_TIMEOUT)
            case S.MERCHANT_REFUND_SUCCESS | S.MERCHANT_RETURN_SUCCESS:
                record = self.refunding(REFUND if state is S.MERCHANT_REFUND_SUCCESS else RETURN)
                assert record.refund is not None
                return self.act(record, RefundSucceeded(record.refund.refund_id), PAYMENT)
            case S.USER_CANCELD:
                record = self.applied(type=kind)
                return self.act(record, Cancel("changed my mind"), buyer(record))
            case S.MERCHANT_FAIL:
                record = self.reach(S.PLATFORM_ARBITRATING, kind)
                return self.act(record, ResolveDispute(Verdict.BUYER_LIABLE), PLATFORM)
            case S.MERCHANT_REFUND_RETRY_FAIL:
                record = self.reach(S.MERCHANT_OVERDUE_REFUND, kind)
                return self.act(record, CloseRefund("gave up"), PLATFORM)
        raise AssertionError(state)


RETURN_ONLY_STATES: frozenset[State] = frozenset(
    {
        S.MERCHANT_REJECT_RETURN,
        S.USER_WAIT_RETURN,
        S.MERCHANT_WAIT_RECEIPT,
        S.RETURN_CLOSED,
        S.MERCHANT_RETURN_SUCCESS,
    }
)

# SPEC §6 defaults, restated here so a changed default in policy.py is caught.
SPEC_DURATIONS_MS: dict[str, int] = {
    "merchant_handling": 48 * HOUR_MS,
    "negotiation_reply": 48 * HOUR_MS,
    "merchant_after_negotiation": 48 * HOUR_MS,
    "return_ship": 7 * DAY_MS,
    "receipt": 10 * DAY_MS,
    "escalation_window": 7 * DAY_MS,
    "proof_deadline": 3 * DAY_MS,
    "offline_refund": 3 * DAY_MS,
    "offline_refund_confirm": 7 * DAY_MS,
    "refund_reminder": 2 * HOUR_MS,
}


def refused(
    world: World,
    record: AfterSale | None,
    command: Command,
    actor: Actor,
    expected: type[AfterSaleError] | tuple[type[AfterSaleError], ...] = AfterSaleError,
) -> AfterSaleError:
    """Assert ``command`` is refused with ``expected`` and that the input record is untouched."""
    before = record.copy() if record is not None else None
    with pytest.raises(expected) as caught:
        world.decide(record, command, actor)
    if record is not None:
        assert record == before, "a refused command changed the record"
    return caught.value


def _from(*sources: State, to: tuple[State, ...]) -> dict[State, frozenset[State]]:
    return {source: frozenset(to) for source in sources}


_REJECTED = (S.MERCHANT_REJECT_REFUND, S.MERCHANT_REJECT_RETURN)
_SUCCESS = (S.MERCHANT_REFUND_SUCCESS, S.MERCHANT_RETURN_SUCCESS)
_SAME_STATE = {state: frozenset({state}) for state in NON_TERMINAL}

# SPEC §3, action -> {source state -> possible targets}. ``apply`` has no source state.
# ``intervene`` from PLATFORM_ARBITRATING is left open (see UNDECIDED_SOURCES).
SPEC_TABLE: dict[Action, dict[State, frozenset[State]]] = {
    Action.APPROVE: _from(MP, to=(S.PLATFORM_REFUNDING, S.USER_WAIT_RETURN)),
    Action.NEGOTIATE: _from(MP, MWR, to=(UWCU,)),
    Action.WITHDRAW_NEGOTIATION: _from(UWCU, to=(MP, MWR)),
    Action.ACCEPT_NEGOTIATION: _from(
        UWCU, to=(S.PLATFORM_REFUNDING, S.USER_WAIT_RETURN, S.USER_CANCELD)
    ),
    Action.REJECT_NEGOTIATION: _from(UWCU, to=(MP, MWR)),
    Action.SUPPLEMENT_EVIDENCE: _from(UWCU, to=(MP, MWR)),
    Action.NEGOTIATION_TIMEOUT: _from(UWCU, to=(MP, MWR)),
    Action.REJECT: {**_from(MP, to=_REJECTED), **_from(MWR, to=(S.MERCHANT_REJECT_RETURN,))},
    Action.MERCHANT_TIMEOUT: _from(MP, to=(S.PLATFORM_REFUNDING, S.USER_WAIT_RETURN)),
    Action.MODIFY_APPLICATION: _from(MP, UWCU, *_REJECTED, to=(MP,)),
    Action.CANCEL: _from(
        MP, UWCU, *_REJECTED, S.USER_WAIT_RETURN, S.RETURN_CLOSED, to=(S.USER_CANCELD,)
    ),
    Action.SUBMIT_RETURN_WAYBILL: _from(S.USER_WAIT_RETURN, to=(MWR,)),
    Action.RETURN_SHIP_TIMEOUT: _from(S.USER_WAIT_RETURN, to=(S.RETURN_CLOSED,)),
    Action.CONFIRM_RECEIPT: _from(MWR, S.USER_WAIT_RETURN, to=(S.PLATFORM_REFUNDING,)),
    Action.RECEIPT_TIMEOUT: _from(MWR, to=(S.PLATFORM_REFUNDING,)),
    Action.ESCALATE: _from(*_REJECTED, S.RETURN_CLOSED, to=(S.PLATFORM_ARBITRATING,)),
    Action.INTERVENE: _from(
        *(s for s in NON_TERMINAL if s not in (S.PLATFORM_ARBITRATING, S.PLATFORM_REFUNDING)),
        to=(S.PLATFORM_ARBITRATING,),
    ),
    Action.ESCALATION_EXPIRED: _from(*_REJECTED, S.RETURN_CLOSED, to=(S.USER_CANCELD,)),
    Action.REQUEST_PROOF: _from(S.PLATFORM_ARBITRATING, to=(S.PLATFORM_ARBITRATING,)),
    Action.SUBMIT_PROOF: _from(S.PLATFORM_ARBITRATING, to=(S.PLATFORM_ARBITRATING,)),
    Action.PROOF_TIMEOUT: _from(S.PLATFORM_ARBITRATING, to=(S.PLATFORM_ARBITRATING,)),
    Action.WITHDRAW_ESCALATION: _from(S.PLATFORM_ARBITRATING, to=(*_REJECTED, S.RETURN_CLOSED)),
    Action.RESOLVE_DISPUTE: _from(
        S.PLATFORM_ARBITRATING, to=(S.PLATFORM_REFUNDING, S.MERCHANT_FAIL)
    ),
    Action.REFUND_SUCCEEDED: _from(S.PLATFORM_REFUNDING, to=_SUCCESS),
    Action.REFUND_FAILED: _from(S.PLATFORM_REFUNDING, to=(S.PLATFORM_REFUND_FAIL,)),
    Action.UPLOAD_REFUND_PROOF: _from(
        S.PLATFORM_REFUND_FAIL, S.MERCHANT_OVERDUE_REFUND, to=(S.USER_WAIT_CONFIRM,)
    ),
    Action.CONFIRM_OFFLINE_REFUND: _from(S.USER_WAIT_CONFIRM, to=_SUCCESS),
    Action.OFFLINE_REFUND_CONFIRM_TIMEOUT: _from(S.USER_WAIT_CONFIRM, to=_SUCCESS),
    Action.OFFLINE_REFUND_TIMEOUT: _from(S.PLATFORM_REFUND_FAIL, to=(S.MERCHANT_OVERDUE_REFUND,)),
    Action.RETRY_REFUND: _from(
        S.PLATFORM_REFUND_FAIL, S.MERCHANT_OVERDUE_REFUND, to=(S.PLATFORM_REFUNDING,)
    ),
    Action.CLOSE_REFUND: _from(S.MERCHANT_OVERDUE_REFUND, to=(S.MERCHANT_REFUND_RETRY_FAIL,)),
    Action.RECORD_CONTACT_ATTEMPT: dict(_SAME_STATE),
    Action.REQUEST_CONTACT_QUOTA: dict(_SAME_STATE),
    Action.REFUND_REMINDER: _from(S.PLATFORM_REFUNDING, to=(S.PLATFORM_REFUNDING,)),
}
# Sources the SPEC leaves open. None left: `intervene` ("any non-terminal") was decided as
# refused under arbitration and while the refund is in flight (README, "Rules we chose").
UNDECIDED_SOURCES: dict[Action, frozenset[State]] = {}
