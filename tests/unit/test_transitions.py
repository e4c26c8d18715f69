"""SPEC §3: every row of the action table, from every listed source state, and every action
refused from every other state. Records reach their source state through real actions."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from aftersale.commands import (
    AcceptNegotiation,
    Apply,
    Approve,
    Cancel,
    CloseRefund,
    Command,
    ConfirmOfflineRefund,
    ConfirmReceipt,
    Escalate,
    FireTimer,
    Intervene,
    ModifyApplication,
    Negotiate,
    RecordContactAttempt,
    RefundFailed,
    RefundSucceeded,
    RejectNegotiation,
    RequestContactQuota,
    RequestProof,
    ResolveDispute,
    RetryRefund,
    SubmitProof,
    SubmitReturnWaybill,
    SupplementEvidence,
    UploadRefundProof,
    WithdrawEscalation,
    WithdrawNegotiation,
)
from aftersale.exceptions import ActionRefused, AfterSaleError, InvalidState
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import (
    TIMER_ACTIONS,
    Action,
    AfterSaleType,
    BuyerReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    ProofParty,
    RejectReason,
    State,
    Verdict,
)
from tests.unit.builders import (
    IMAGES,
    MP,
    MWR,
    NON_TERMINAL,
    PAYMENT,
    PLATFORM,
    REFUND,
    RETURN,
    RETURN_ADDRESS,
    SPEC_TABLE,
    STEP_MS,
    SYSTEM,
    TERMINAL,
    UNDECIDED_SOURCES,
    UWCU,
    World,
    buyer,
    merchant,
    negotiation_for,
    new_id,
    refund_id,
    rejection,
)

S = State
Opt = NegotiationOption
Setup = Callable[[World], tuple[AfterSale, Command, Actor]]


@dataclass(frozen=True)
class Row:
    action: Action
    source: State
    target: State
    setup: Setup
    label: str = ""

    @property
    def id(self) -> str:
        suffix = f"-{self.label}" if self.label else ""
        return f"{self.action.value}-{self.source.value}{suffix}"


def timer(action: Action) -> Callable[[AfterSale], tuple[Command, Actor]]:
    return lambda record: (FireTimer(action, record.version), SYSTEM)


def row(
    action: Action,
    source: State,
    target: State,
    reach: Callable[[World], AfterSale],
    command: Callable[[AfterSale], tuple[Command, Actor]],
    label: str = "",
) -> Row:
    def setup(world: World) -> tuple[AfterSale, Command, Actor]:
        record = reach(world)
        return (record, *command(record))

    return Row(action, source, target, setup, label)


def by_merchant(command: Command) -> Callable[[AfterSale], tuple[Command, Actor]]:
    return lambda record: (command, merchant(record))


def by_buyer(command: Command) -> Callable[[AfterSale], tuple[Command, Actor]]:
    return lambda record: (command, buyer(record))


def by(command: Command, actor: Actor) -> Callable[[AfterSale], tuple[Command, Actor]]:
    return lambda _record: (command, actor)


def negotiating_from(handling: State, option: NegotiationOption) -> Callable[[World], AfterSale]:
    def reach(world: World) -> AfterSale:
        start = world.applied(type=REFUND) if handling is MP else world.receiving()
        return world.negotiating(start, option)

    return reach


def negotiating_return(option: NegotiationOption) -> Callable[[World], AfterSale]:
    return lambda world: world.negotiating(world.applied(type=RETURN), option)


def in_state(state: State, type: AfterSaleType | None = None) -> Callable[[World], AfterSale]:
    return lambda world: world.reach(state, type)


def escalated_from(state: State) -> Callable[[World], AfterSale]:
    def reach(world: World) -> AfterSale:
        record = world.reach(state)
        return world.act(record, Escalate("please help", IMAGES), buyer(record))

    return reach


def proof_requested(party: ProofParty) -> Callable[[World], AfterSale]:
    def reach(world: World) -> AfterSale:
        record = world.reach(S.PLATFORM_ARBITRATING)
        return world.act(record, RequestProof(party, "photos of the item"), PLATFORM)

    return reach


def failed_then(
    start: Callable[[World], AfterSale], option: NegotiationOption
) -> Callable[[World], AfterSale]:
    return lambda world: world.failed_negotiation(start(world), option)


def modification(record: AfterSale) -> tuple[Command, Actor]:
    command = ModifyApplication(record.type, record.amount - 100, BuyerReason.NO_LONGER_WANT)
    return command, buyer(record)


def contact_attempt(record: AfterSale) -> tuple[Command, Actor]:
    attempt = RecordContactAttempt(
        ContactChannel.WECOM, ContactOutcome.NO_REPLY, record.updated_at_ms, ("media/chat.png",)
    )
    return attempt, merchant(record)


def paid_back(record: AfterSale) -> tuple[Command, Actor]:
    return RefundSucceeded(refund_id(record)), PAYMENT


def payment_failed(record: AfterSale) -> tuple[Command, Actor]:
    return RefundFailed(refund_id(record), "bank refused"), PAYMENT


ROWS: list[Row] = [
    row(Action.APPROVE, MP, S.PLATFORM_REFUNDING, in_state(MP, REFUND), by_merchant(Approve())),
    row(
        Action.APPROVE,
        MP,
        S.USER_WAIT_RETURN,
        in_state(MP, RETURN),
        by_merchant(Approve()),
        "RETURN",
    ),
    row(
        Action.NEGOTIATE,
        MP,
        UWCU,
        in_state(MP),
        lambda r: (negotiation_for(Opt.EVIDENCE_UNCLEAR, r), merchant(r)),
    ),
    row(
        Action.NEGOTIATE,
        MWR,
        UWCU,
        in_state(MWR),
        lambda r: (negotiation_for(Opt.RETURN_WRONG_ITEM, r), merchant(r)),
    ),
    row(
        Action.WITHDRAW_NEGOTIATION,
        UWCU,
        MP,
        negotiating_from(MP, Opt.EVIDENCE_UNCLEAR),
        by_merchant(WithdrawNegotiation()),
        "from-MP",
    ),
    row(
        Action.WITHDRAW_NEGOTIATION,
        UWCU,
        MWR,
        negotiating_from(MWR, Opt.RETURN_WRONG_ITEM),
        by_merchant(WithdrawNegotiation()),
        "from-MWR",
    ),
    row(
        Action.ACCEPT_NEGOTIATION,
        UWCU,
        S.PLATFORM_REFUNDING,
        negotiating_from(MP, Opt.AMOUNT_ONLY),
        by_buyer(AcceptNegotiation()),
        "AMOUNT_ONLY-REFUND",
    ),
    row(
        Action.ACCEPT_NEGOTIATION,
        UWCU,
        S.USER_WAIT_RETURN,
        negotiating_return(Opt.AMOUNT_ONLY),
        by_buyer(AcceptNegotiation()),
        "AMOUNT_ONLY-RETURN-not-shipped",
    ),
    row(
        Action.ACCEPT_NEGOTIATION,
        UWCU,
        S.PLATFORM_REFUNDING,
        negotiating_return(Opt.REFUND_WITHOUT_RETURN),
        by_buyer(AcceptNegotiation()),
        "REFUND_WITHOUT_RETURN",
    ),
    row(
        Action.ACCEPT_NEGOTIATION,
        UWCU,
        S.PLATFORM_REFUNDING,
        negotiating_from(MWR, Opt.RETURN_PARTIAL_REFUND),
        by_buyer(AcceptNegotiation()),
        "RETURN_PARTIAL_REFUND-received",
    ),
    row(
        Action.ACCEPT_NEGOTIATION,
        UWCU,
        S.USER_CANCELD,
        negotiating_from(MP, Opt.AGREED_TO_CANCEL),
        by_buyer(AcceptNegotiation()),
        "AGREED_TO_CANCEL-from-MP",
    ),
    row(
        Action.ACCEPT_NEGOTIATION,
        UWCU,
        S.USER_CANCELD,
        negotiating_from(MWR, Opt.RESEND_CORRECT_ITEM),
        by_buyer(AcceptNegotiation()),
        "RESEND_CORRECT_ITEM-from-MWR",
    ),
    row(
        Action.REJECT_NEGOTIATION,
        UWCU,
        MP,
        negotiating_from(MP, Opt.AMOUNT_ONLY),
        by_buyer(RejectNegotiation("no")),
        "from-MP",
    ),
    row(
        Action.REJECT_NEGOTIATION,
        UWCU,
        MWR,
        negotiating_from(MWR, Opt.RETURN_MISSING_PARTS),
        by_buyer(RejectNegotiation("no")),
        "from-MWR",
    ),
    row(
        Action.SUPPLEMENT_EVIDENCE,
        UWCU,
        MP,
        negotiating_from(MP, Opt.PERISHABLE_QUALITY_PROOF),
        by_buyer(SupplementEvidence(IMAGES, "clearer photos")),
        "from-MP",
    ),
    row(
        Action.SUPPLEMENT_EVIDENCE,
        UWCU,
        MWR,
        negotiating_from(MWR, Opt.RETURN_WRONG_ITEM),
        by_buyer(SupplementEvidence(IMAGES, "this is what I sent")),
        "from-MWR",
    ),
    row(
        Action.NEGOTIATION_TIMEOUT,
        UWCU,
        MP,
        negotiating_from(MP, Opt.EVIDENCE_MISMATCH),
        timer(Action.NEGOTIATION_TIMEOUT),
        "from-MP",
    ),
    row(
        Action.NEGOTIATION_TIMEOUT,
        UWCU,
        MWR,
        negotiating_from(MWR, Opt.RETURN_AFFECTS_RESALE),
        timer(Action.NEGOTIATION_TIMEOUT),
        "from-MWR",
    ),
    row(
        Action.REJECT,
        MP,
        S.MERCHANT_REJECT_REFUND,
        failed_then(in_state(MP, REFUND), Opt.EVIDENCE_UNCLEAR),
        by_merchant(rejection(RejectReason.EVIDENCE_NOT_PROVIDED)),
        "REFUND",
    ),
    row(
        Action.REJECT,
        MP,
        S.MERCHANT_REJECT_RETURN,
        failed_then(in_state(MP, RETURN), Opt.EVIDENCE_UNCLEAR),
        by_merchant(rejection(RejectReason.EVIDENCE_NOT_PROVIDED)),
        "RETURN",
    ),
    row(
        Action.REJECT,
        MWR,
        S.MERCHANT_REJECT_RETURN,
        failed_then(in_state(MWR), Opt.RETURN_WRONG_ITEM),
        by_merchant(rejection(RejectReason.RETURN_ANOMALY)),
    ),
    row(
        Action.MERCHANT_TIMEOUT,
        MP,
        S.PLATFORM_REFUNDING,
        in_state(MP, REFUND),
        timer(Action.MERCHANT_TIMEOUT),
        "REFUND",
    ),
    row(
        Action.MERCHANT_TIMEOUT,
        MP,
        S.USER_WAIT_RETURN,
        in_state(MP, RETURN),
        timer(Action.MERCHANT_TIMEOUT),
        "RETURN",
    ),
    *(
        row(Action.MODIFY_APPLICATION, source, MP, in_state(source), modification)
        for source in (MP, UWCU, S.MERCHANT_REJECT_REFUND, S.MERCHANT_REJECT_RETURN)
    ),
    *(
        row(Action.CANCEL, source, S.USER_CANCELD, in_state(source), by_buyer(Cancel("bye")))
        for source in (
            MP,
            UWCU,
            S.MERCHANT_REJECT_REFUND,
            S.MERCHANT_REJECT_RETURN,
            S.USER_WAIT_RETURN,
            S.RETURN_CLOSED,
        )
    ),
    row(
        Action.SUBMIT_RETURN_WAYBILL,
        S.USER_WAIT_RETURN,
        MWR,
        in_state(S.USER_WAIT_RETURN),
        lambda r: (SubmitReturnWaybill("SF", new_id("wb")), buyer(r)),
    ),
    row(
        Action.RETURN_SHIP_TIMEOUT,
        S.USER_WAIT_RETURN,
        S.RETURN_CLOSED,
        in_state(S.USER_WAIT_RETURN),
        timer(Action.RETURN_SHIP_TIMEOUT),
    ),
    row(
        Action.CONFIRM_RECEIPT,
        MWR,
        S.PLATFORM_REFUNDING,
        in_state(MWR),
        by_merchant(ConfirmReceipt()),
    ),
    row(
        Action.CONFIRM_RECEIPT,
        S.USER_WAIT_RETURN,
        S.PLATFORM_REFUNDING,
        in_state(S.USER_WAIT_RETURN),
        by_merchant(ConfirmReceipt()),
        "early-refund",
    ),
    row(
        Action.RECEIPT_TIMEOUT,
        MWR,
        S.PLATFORM_REFUNDING,
        in_state(MWR),
        timer(Action.RECEIPT_TIMEOUT),
    ),
    *(
        row(
            Action.ESCALATE,
            source,
            S.PLATFORM_ARBITRATING,
            in_state(source),
            by_buyer(Escalate("unfair", IMAGES)),
        )
        for source in (S.MERCHANT_REJECT_REFUND, S.MERCHANT_REJECT_RETURN, S.RETURN_CLOSED)
    ),
    *(
        row(
            Action.INTERVENE,
            source,
            S.PLATFORM_ARBITRATING,
            in_state(source),
            by(Intervene("auto"), PLATFORM),
        )
        for source in NON_TERMINAL
        if source not in (S.PLATFORM_ARBITRATING, S.PLATFORM_REFUNDING)
    ),
    *(
        row(
            Action.ESCALATION_EXPIRED,
            source,
            S.USER_CANCELD,
            in_state(source),
            timer(Action.ESCALATION_EXPIRED),
        )
        for source in (S.MERCHANT_REJECT_REFUND, S.MERCHANT_REJECT_RETURN, S.RETURN_CLOSED)
    ),
    row(
        Action.REQUEST_PROOF,
        S.PLATFORM_ARBITRATING,
        S.PLATFORM_ARBITRATING,
        in_state(S.PLATFORM_ARBITRATING),
        by(RequestProof(ProofParty.BOTH, "photos"), PLATFORM),
    ),
    row(
        Action.SUBMIT_PROOF,
        S.PLATFORM_ARBITRATING,
        S.PLATFORM_ARBITRATING,
        proof_requested(ProofParty.BUYER),
        by_buyer(SubmitProof("here", IMAGES)),
        "BUYER",
    ),
    row(
        Action.SUBMIT_PROOF,
        S.PLATFORM_ARBITRATING,
        S.PLATFORM_ARBITRATING,
        proof_requested(ProofParty.MERCHANT),
        by_merchant(SubmitProof("here", IMAGES)),
        "MERCHANT",
    ),
    row(
        Action.PROOF_TIMEOUT,
        S.PLATFORM_ARBITRATING,
        S.PLATFORM_ARBITRATING,
        proof_requested(ProofParty.BOTH),
        timer(Action.PROOF_TIMEOUT),
    ),
    *(
        row(
            Action.WITHDRAW_ESCALATION,
            S.PLATFORM_ARBITRATING,
            origin,
            escalated_from(origin),
            by_buyer(WithdrawEscalation()),
            f"to-{origin.value}",
        )
        for origin in (S.MERCHANT_REJECT_REFUND, S.MERCHANT_REJECT_RETURN, S.RETURN_CLOSED)
    ),
    row(
        Action.RESOLVE_DISPUTE,
        S.PLATFORM_ARBITRATING,
        S.PLATFORM_REFUNDING,
        in_state(S.PLATFORM_ARBITRATING),
        by(ResolveDispute(Verdict.MERCHANT_LIABLE), PLATFORM),
        "MERCHANT_LIABLE",
    ),
    row(
        Action.RESOLVE_DISPUTE,
        S.PLATFORM_ARBITRATING,
        S.PLATFORM_REFUNDING,
        in_state(S.PLATFORM_ARBITRATING),
        by(ResolveDispute(Verdict.BOTH_LIABLE, refund_amount=3_000), PLATFORM),
        "BOTH_LIABLE",
    ),
    row(
        Action.RESOLVE_DISPUTE,
        S.PLATFORM_ARBITRATING,
        S.MERCHANT_FAIL,
        in_state(S.PLATFORM_ARBITRATING),
        by(ResolveDispute(Verdict.BUYER_LIABLE), PLATFORM),
        "BUYER_LIABLE",
    ),
    row(
        Action.REFUND_SUCCEEDED,
        S.PLATFORM_REFUNDING,
        S.MERCHANT_REFUND_SUCCESS,
        in_state(S.PLATFORM_REFUNDING, REFUND),
        paid_back,
        "REFUND",
    ),
    row(
        Action.REFUND_SUCCEEDED,
        S.PLATFORM_REFUNDING,
        S.MERCHANT_RETURN_SUCCESS,
        in_state(S.PLATFORM_REFUNDING, RETURN),
        paid_back,
        "RETURN",
    ),
    row(
        Action.REFUND_FAILED,
        S.PLATFORM_REFUNDING,
        S.PLATFORM_REFUND_FAIL,
        in_state(S.PLATFORM_REFUNDING),
        payment_failed,
    ),
    *(
        row(
            Action.UPLOAD_REFUND_PROOF,
            source,
            S.USER_WAIT_CONFIRM,
            in_state(source),
            by_merchant(UploadRefundProof(IMAGES, "transferred by bank")),
        )
        for source in (S.PLATFORM_REFUND_FAIL, S.MERCHANT_OVERDUE_REFUND)
    ),
    *(
        row(
            Action.CONFIRM_OFFLINE_REFUND,
            S.USER_WAIT_CONFIRM,
            target,
            in_state(S.USER_WAIT_CONFIRM, kind),
            by_buyer(ConfirmOfflineRefund()),
            kind.value,
        )
        for kind, target in (
            (REFUND, S.MERCHANT_REFUND_SUCCESS),
            (RETURN, S.MERCHANT_RETURN_SUCCESS),
        )
    ),
    *(
        row(
            Action.OFFLINE_REFUND_CONFIRM_TIMEOUT,
            S.USER_WAIT_CONFIRM,
            target,
            in_state(S.USER_WAIT_CONFIRM, kind),
            timer(Action.OFFLINE_REFUND_CONFIRM_TIMEOUT),
            kind.value,
        )
        for kind, target in (
            (REFUND, S.MERCHANT_REFUND_SUCCESS),
            (RETURN, S.MERCHANT_RETURN_SUCCESS),
        )
    ),
    row(
        Action.REFUND_REMINDER,
        S.PLATFORM_REFUNDING,
        S.PLATFORM_REFUNDING,
        in_state(S.PLATFORM_REFUNDING),
        timer(Action.REFUND_REMINDER),
    ),
    row(
        Action.OFFLINE_REFUND_TIMEOUT,
        S.PLATFORM_REFUND_FAIL,
        S.MERCHANT_OVERDUE_REFUND,
        in_state(S.PLATFORM_REFUND_FAIL),
        timer(Action.OFFLINE_REFUND_TIMEOUT),
    ),
    *(
        row(
            Action.RETRY_REFUND,
            source,
            S.PLATFORM_REFUNDING,
            in_state(source),
            by(RetryRefund(), PLATFORM),
        )
        for source in (S.PLATFORM_REFUND_FAIL, S.MERCHANT_OVERDUE_REFUND)
    ),
    row(
        Action.CLOSE_REFUND,
        S.MERCHANT_OVERDUE_REFUND,
        S.MERCHANT_REFUND_RETRY_FAIL,
        in_state(S.MERCHANT_OVERDUE_REFUND),
        by(CloseRefund("payment failed for good"), PLATFORM),
    ),
    *(
        row(Action.RECORD_CONTACT_ATTEMPT, source, source, in_state(source), contact_attempt)
        for source in NON_TERMINAL
    ),
    *(
        row(
            Action.REQUEST_CONTACT_QUOTA,
            source,
            source,
            in_state(source),
            by_merchant(RequestContactQuota("contact buyer for after-sale")),
        )
        for source in NON_TERMINAL
    ),
]


def test_the_rows_cover_every_source_and_target_of_the_spec_table() -> None:
    covered = {(r.action, r.source) for r in ROWS}

    expected = {(a, s) for a, sources in SPEC_TABLE.items() for s in sources}

    assert covered == expected
    assert all(r.target in SPEC_TABLE[r.action][r.source] for r in ROWS)
    assert set(SPEC_TABLE) == set(Action) - {Action.APPLY}


@pytest.mark.parametrize("case", ROWS, ids=[r.id for r in ROWS])
def test_each_action_moves_from_each_source_state_to_its_target(world: World, case: Row) -> None:
    record, command, actor = case.setup(world)
    assert record.state is case.source, "the builder did not reach the source state"
    before = record.copy()
    if isinstance(command, FireTimer) and record.timer is not None:
        world.clock.set(max(world.now, record.timer.due_ms - STEP_MS))

    decision = world.decide(record, command, actor)

    assert decision.record.state is case.target
    assert decision.record.version == record.version + 1
    event = decision.event
    assert event is not None
    assert event.version == decision.record.version
    assert event.action == case.action.value
    assert (event.from_state, event.to_state) == (case.source.value, case.target.value)
    assert (event.actor_role, event.actor_id) == (actor.role.value, actor.id)
    assert event.request_id == record.request_id
    assert record == before, "decide mutated its input record"


@pytest.mark.parametrize("kind", [REFUND, RETURN])
def test_apply_creates_version_one_in_merchant_processing(
    world: World, kind: AfterSaleType
) -> None:
    record = world.applied(type=kind)

    assert record.state is S.MERCHANT_PROCESSING
    assert record.version == 1
    assert record.type is kind
    assert [(e.version, e.from_state, e.to_state, e.action) for e in world.events] == [
        (1, None, "MERCHANT_PROCESSING", "apply")
    ]


def sample_command(action: Action, record: AfterSale) -> tuple[Command, Actor]:
    """A well-formed command for ``action`` by the right party, whatever the state."""
    rid = record.refund.refund_id if record.refund else refund_id(record)
    samples: dict[Action, tuple[Command, Actor]] = {
        Action.APPROVE: (Approve(RETURN_ADDRESS), merchant(record)),
        Action.NEGOTIATE: (
            Negotiate(NegotiationKind.INVITE_CANCEL, Opt.AGREED_TO_CANCEL, IMAGES),
            merchant(record),
        ),
        Action.WITHDRAW_NEGOTIATION: (WithdrawNegotiation(), merchant(record)),
        Action.ACCEPT_NEGOTIATION: (AcceptNegotiation(), buyer(record)),
        Action.REJECT_NEGOTIATION: (RejectNegotiation("no"), buyer(record)),
        Action.SUPPLEMENT_EVIDENCE: (SupplementEvidence(IMAGES), buyer(record)),
        Action.REJECT: (rejection(RejectReason.NO_QUALITY_ISSUE), merchant(record)),
        Action.MODIFY_APPLICATION: modification(record),
        Action.CANCEL: (Cancel(), buyer(record)),
        Action.SUBMIT_RETURN_WAYBILL: (SubmitReturnWaybill("SF", "wb-1"), buyer(record)),
        Action.CONFIRM_RECEIPT: (ConfirmReceipt(), merchant(record)),
        Action.ESCALATE: (Escalate("help", IMAGES), buyer(record)),
        Action.INTERVENE: (Intervene(), PLATFORM),
        Action.REQUEST_PROOF: (RequestProof(ProofParty.BUYER), PLATFORM),
        Action.SUBMIT_PROOF: (SubmitProof("proof", IMAGES), buyer(record)),
        Action.WITHDRAW_ESCALATION: (WithdrawEscalation(), buyer(record)),
        Action.RESOLVE_DISPUTE: (ResolveDispute(Verdict.MERCHANT_LIABLE), PLATFORM),
        Action.REFUND_SUCCEEDED: (RefundSucceeded(rid), PAYMENT),
        Action.REFUND_FAILED: (RefundFailed(rid, "x"), PAYMENT),
        Action.UPLOAD_REFUND_PROOF: (UploadRefundProof(IMAGES), merchant(record)),
        Action.CONFIRM_OFFLINE_REFUND: (ConfirmOfflineRefund(), buyer(record)),
        Action.RETRY_REFUND: (RetryRefund(), PLATFORM),
        Action.CLOSE_REFUND: (CloseRefund(), PLATFORM),
        Action.RECORD_CONTACT_ATTEMPT: contact_attempt(record),
        Action.REQUEST_CONTACT_QUOTA: (RequestContactQuota(), merchant(record)),
    }
    if action in TIMER_ACTIONS:
        return FireTimer(action, record.version), SYSTEM
    return samples[action]


# The payment service delivers at least once: a report repeated after it took effect may be
# a no-op (no event, nothing changed) instead of a refusal.
PAYMENT_REPORTS = frozenset({Action.REFUND_SUCCEEDED, Action.REFUND_FAILED})

WRONG_STATE_CASES: list[tuple[Action, State]] = [
    (action, state)
    for action in Action
    if action is not Action.APPLY
    for state in (*NON_TERMINAL, *TERMINAL)
    if state not in SPEC_TABLE[action] and state not in UNDECIDED_SOURCES.get(action, frozenset())
]


@pytest.mark.parametrize(
    ("action", "state"),
    WRONG_STATE_CASES,
    ids=[f"{a.value}-from-{s.value}" for a, s in WRONG_STATE_CASES],
)
def test_each_action_is_refused_from_every_state_the_table_does_not_list(
    world: World, action: Action, state: State
) -> None:
    record = world.reach(state)
    command, actor = sample_command(action, record)
    before = record.copy()

    with pytest.raises(ActionRefused) as caught:
        decision = world.decide(record, command, actor)
        if action in PAYMENT_REPORTS and decision.event is None:
            assert decision.record == before
            pytest.skip("a repeated payment report is an idempotent no-op")

    error = caught.value
    if action in TIMER_ACTIONS:
        assert error.reason in {"INVALID_STATE", "STALE_TIMER"}
    else:
        assert isinstance(error, InvalidState), f"{type(error).__name__}: {error.reason}"
        assert error.reason == "INVALID_STATE"
        assert error.state is state
        assert action not in error.allowed
        listed = {a for a in error.allowed if a is not Action.APPLY}
        assert all(
            state in SPEC_TABLE[a] or state in UNDECIDED_SOURCES.get(a, frozenset()) for a in listed
        ), error.allowed
        if state in TERMINAL:
            assert listed == set()


@pytest.mark.parametrize("state", [*NON_TERMINAL, *TERMINAL], ids=lambda s: s.value)
def test_apply_is_refused_over_an_existing_request(world: World, state: State) -> None:
    record = world.reach(state)
    command = Apply(
        request_id=record.request_id,
        order_id=record.order_id,
        sku_id=record.sku_id,
        shop_id=record.shop_id,
        buyer_id=record.buyer_id,
        type=record.type,
        amount=record.amount,
        paid_amount=record.paid_amount,
        reason=record.reason,
        after_sale_deadline_ms=record.after_sale_deadline_ms,
    )

    with pytest.raises(AfterSaleError):
        world.decide(record, command, buyer(record))


@pytest.mark.parametrize("state", [*NON_TERMINAL, *TERMINAL], ids=lambda s: s.value)
def test_the_path_to_every_state_has_contiguous_versions_and_chained_events(
    world: World, state: State
) -> None:
    record = world.reach(state)

    mine = [e for e in world.events if e.request_id == record.request_id]
    assert [e.version for e in mine] == list(range(1, record.version + 1))
    assert mine[0].from_state is None
    for earlier, later in itertools.pairwise(mine):
        assert later.from_state == earlier.to_state
    assert mine[-1].to_state == state.value == record.state.value
