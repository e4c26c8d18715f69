"""SPEC §3 "guard / effect" column and §7 event facts: what each transition writes, beyond
its target state. Money moves only with a ``refund_requested`` signal and a refund id."""

from __future__ import annotations

import pytest

from aftersale.commands import (
    Approve,
    Cancel,
    ConfirmOfflineRefund,
    ConfirmReceipt,
    Intervene,
    Negotiate,
    RecordContactAttempt,
    RefundFailed,
    RefundSucceeded,
    RejectNegotiation,
    ResolveDispute,
    RetryRefund,
    SubmitReturnWaybill,
    UploadRefundProof,
)
from aftersale.exceptions import ActionRefused, EvidenceRequired, InvalidInput
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    CloseReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    RefundReason,
    Role,
    State,
    Verdict,
)
from tests.unit.builders import (
    IMAGES,
    PAID,
    PAYMENT,
    PLATFORM,
    REFUND,
    RETURN,
    World,
    buyer,
    merchant,
    new_id,
    refund_id,
    refused,
)


def test_approving_a_refund_asks_the_payment_service_for_the_full_amount(world: World) -> None:
    record = world.applied(type=REFUND, amount=7_000, paid=PAID)

    decision = world.decide(record, Approve(), merchant(record))

    refund = decision.record.refund
    assert refund is not None
    assert (refund.refund_id, refund.refund_reason, refund.amount, refund.attempt) == (
        f"{record.request_id}-R1",
        RefundReason.MERCHANT_APPROVED,
        7_000,
        1,
    )
    event = decision.event
    assert event is not None
    assert "refund_requested" in event.signals
    assert (event.refund_id, event.refund_reason, event.refund_amount) == (
        refund.refund_id,
        "MERCHANT_APPROVED",
        7_000,
    )


def test_approving_a_return_asks_for_the_parcel_not_for_money(world: World) -> None:
    record = world.applied(type=RETURN)

    decision = world.decide(record, Approve(), merchant(record))

    assert decision.record.refund is None
    assert decision.event is not None
    assert "refund_requested" not in decision.event.signals
    assert decision.record.return_address == record.return_address


@pytest.mark.parametrize(
    ("kind", "target"), [(REFUND, State.PLATFORM_REFUNDING), (RETURN, State.USER_WAIT_RETURN)]
)
def test_merchant_silence_auto_agrees(world: World, kind: AfterSaleType, target: State) -> None:
    record = world.applied(type=kind)

    after = world.fire(record, Action.MERCHANT_TIMEOUT)

    assert after.state is target
    if target is State.PLATFORM_REFUNDING:
        assert after.refund is not None
        assert after.refund.refund_reason is RefundReason.MERCHANT_TIMEOUT
        assert "refund_requested" in world.events[-1].signals


@pytest.mark.parametrize("state", [State.MERCHANT_WAIT_RECEIPT, State.USER_WAIT_RETURN])
def test_confirming_receipt_refunds_with_receipt_confirmed(world: World, state: State) -> None:
    record = world.reach(state)

    after = world.act(record, ConfirmReceipt(), merchant(record))

    assert after.refund is not None
    assert after.refund.refund_reason is RefundReason.RECEIPT_CONFIRMED
    assert "refund_requested" in world.events[-1].signals


def test_receipt_timeout_refunds_with_receipt_timeout(world: World) -> None:
    record = world.reach(State.MERCHANT_WAIT_RECEIPT)

    after = world.fire(record, Action.RECEIPT_TIMEOUT)

    assert after.refund is not None
    assert after.refund.refund_reason is RefundReason.RECEIPT_TIMEOUT


def test_the_waybill_is_recorded(world: World) -> None:
    record = world.reach(State.USER_WAIT_RETURN)
    waybill = new_id("wb")

    after = world.act(record, SubmitReturnWaybill("SF", waybill), buyer(record))

    assert after.waybill is not None
    assert (after.waybill.carrier, after.waybill.waybill_id) == ("SF", waybill)


@pytest.mark.parametrize("state", [State.PLATFORM_REFUND_FAIL, State.MERCHANT_OVERDUE_REFUND])
def test_retrying_a_refund_is_a_new_attempt_with_a_new_refund_id(
    world: World, state: State
) -> None:
    record = world.reach(state)

    decision = world.decide(record, RetryRefund(), PLATFORM)

    refund = decision.record.refund
    assert refund is not None
    assert (refund.refund_id, refund.attempt, refund.refund_reason) == (
        refund_id(record, 2),
        2,
        RefundReason.PLATFORM_RETRY,
    )
    assert decision.event is not None
    assert "refund_requested" in decision.event.signals
    assert decision.event.refund_id == refund_id(record, 2)


def test_a_repeated_refund_success_is_a_no_op(world: World) -> None:
    record = world.reach(State.MERCHANT_REFUND_SUCCESS)

    decision = world.decide(record, RefundSucceeded(refund_id(record)), PAYMENT)

    assert decision.event is None
    assert decision.record == record


def test_a_repeated_refund_failure_is_a_no_op(world: World) -> None:
    record = world.reach(State.PLATFORM_REFUND_FAIL)

    decision = world.decide(record, RefundFailed(refund_id(record), "bank said no"), PAYMENT)

    assert decision.event is None
    assert decision.record == record


def test_a_success_report_after_an_offline_refund_is_refused_as_a_double_payment(
    world: World,
) -> None:
    failed = world.reach(State.PLATFORM_REFUND_FAIL)
    proof = world.act(failed, UploadRefundProof(IMAGES, "paid by bank transfer"), merchant(failed))
    settled = world.act(proof, ConfirmOfflineRefund(), buyer(proof))
    assert settled.state is State.MERCHANT_REFUND_SUCCESS

    error = refused(world, settled, RefundSucceeded(refund_id(failed)), PAYMENT, ActionRefused)

    assert isinstance(error, ActionRefused) and error.reason == "REFUND_SETTLED_OFFLINE"


def test_a_refund_success_for_another_refund_id_is_refused(world: World) -> None:
    record = world.reach(State.PLATFORM_REFUNDING)

    refused(world, record, RefundSucceeded(f"{record.request_id}-R7"), PAYMENT)


def test_a_refund_failure_for_another_refund_id_is_refused(world: World) -> None:
    record = world.reach(State.PLATFORM_REFUNDING)

    refused(world, record, RefundFailed(f"{record.request_id}-R7", "x"), PAYMENT)


def test_the_success_of_the_first_attempt_after_a_retry_does_not_close_the_second(
    world: World,
) -> None:
    record = world.act(world.reach(State.PLATFORM_REFUND_FAIL), RetryRefund(), PLATFORM)

    refused(world, record, RefundSucceeded(refund_id(record, 1)), PAYMENT)


def test_the_merchant_must_attach_images_to_an_offline_refund_proof(world: World) -> None:
    record = world.reach(State.PLATFORM_REFUND_FAIL)

    refused(
        world,
        record,
        UploadRefundProof((), "paid"),
        merchant(record),
        (EvidenceRequired, InvalidInput),
    )


def test_buyer_silence_on_an_offline_refund_counts_as_confirmed(world: World) -> None:
    record = world.reach(State.USER_WAIT_CONFIRM, RETURN)

    after = world.fire(record, Action.OFFLINE_REFUND_CONFIRM_TIMEOUT)

    assert after.state is State.MERCHANT_RETURN_SUCCESS


def test_cancelling_closes_with_buyer_cancelled_and_no_timer(world: World) -> None:
    record = world.applied()

    after = world.act(record, Cancel("changed my mind"), buyer(record))

    assert (after.state, after.close_reason, after.timer) == (
        State.USER_CANCELD,
        CloseReason.BUYER_CANCELLED,
        None,
    )
    assert world.events[-1].close_reason == "BUYER_CANCELLED"


def test_an_unused_escalation_window_closes_the_request(world: World) -> None:
    record = world.rejected(REFUND)

    after = world.fire(record, Action.ESCALATION_EXPIRED)

    assert (after.state, after.close_reason) == (
        State.USER_CANCELD,
        CloseReason.ESCALATION_EXPIRED,
    )


def test_buyer_liable_closes_the_request_without_money(world: World) -> None:
    record = world.reach(State.PLATFORM_ARBITRATING)

    decision = world.decide(record, ResolveDispute(Verdict.BUYER_LIABLE), PLATFORM)

    assert decision.record.state is State.MERCHANT_FAIL
    assert decision.record.refund is None
    assert decision.event is not None
    assert decision.event.verdict == "BUYER_LIABLE"
    assert "refund_requested" not in decision.event.signals


def test_merchant_liable_refunds_the_full_amount_by_default(world: World) -> None:
    record = world.reach(State.PLATFORM_ARBITRATING)

    decision = world.decide(record, ResolveDispute(Verdict.MERCHANT_LIABLE), PLATFORM)

    refund = decision.record.refund
    assert refund is not None
    assert (refund.amount, refund.refund_reason) == (record.amount, RefundReason.PLATFORM_DISPUTE)
    assert decision.event is not None
    assert decision.event.verdict == "MERCHANT_LIABLE"


def test_both_liable_needs_an_amount(world: World) -> None:
    record = world.reach(State.PLATFORM_ARBITRATING)

    refused(world, record, ResolveDispute(Verdict.BOTH_LIABLE), PLATFORM)


@pytest.mark.parametrize("amount", [0, PAID + 1], ids=["zero", "above-paid"])
def test_a_dispute_refund_outside_one_to_paid_is_refused(world: World, amount: int) -> None:
    record = world.reach(State.PLATFORM_ARBITRATING)

    refused(
        world,
        record,
        ResolveDispute(Verdict.MERCHANT_LIABLE, amount),
        PLATFORM,
        (InvalidInput, ActionRefused),
    )


def test_a_contact_attempt_is_recorded_and_bumps_the_version(world: World) -> None:
    record = world.applied()
    attempt = RecordContactAttempt(
        ContactChannel.SMS, ContactOutcome.NO_REPLY, world.now, ("media/sms.png",)
    )

    decision = world.decide(record, attempt, merchant(record))

    after = decision.record
    assert [(c.channel, c.outcome) for c in after.contact_attempts] == [
        (ContactChannel.SMS, ContactOutcome.NO_REPLY)
    ]
    assert (after.state, after.version) == (record.state, record.version + 1)
    assert decision.event is not None
    assert (decision.event.from_state, decision.event.to_state) == (
        "MERCHANT_PROCESSING",
        "MERCHANT_PROCESSING",
    )


def test_the_platform_stepping_in_records_who_escalated_and_from_where(world: World) -> None:
    record = world.reach(State.USER_WAIT_RETURN)

    after = world.act(record, Intervene("auto intervention"), PLATFORM)

    assert after.dispute is not None
    assert (after.dispute.escalated_by, after.dispute.escalated_from) == (
        Role.PLATFORM,
        State.USER_WAIT_RETURN,
    )
    assert after.timer is None


def test_negotiation_events_carry_kind_option_proposal_and_outcome(world: World) -> None:
    record = world.applied(amount=PAID)
    sent = world.decide(
        record,
        Negotiate(
            NegotiationKind.MODIFY_APPLICATION,
            NegotiationOption.AMOUNT_ONLY,
            IMAGES,
            proposed_amount=6_000,
        ),
        merchant(record),
    )

    answered = world.decide(sent.record, RejectNegotiation("no"), buyer(record))

    assert sent.event is not None
    assert answered.event is not None
    facts = [sent.event.negotiation, answered.event.negotiation]
    assert [(f["kind"], f["option"], f["outcome"]) for f in facts] == [
        ("MODIFY_APPLICATION", "AMOUNT_ONLY", "OPEN"),
        ("MODIFY_APPLICATION", "AMOUNT_ONLY", "REJECTED"),
    ]
    assert sent.event.negotiation["proposed_amount"] == 6_000
    assert sent.event.deadline_ms == sent.record.deadline_ms
    assert sent.event.timer_action == "negotiation_timeout"


def test_a_step_that_does_not_touch_the_negotiation_reports_none(world: World) -> None:
    record = world.failed_negotiation(world.applied(), NegotiationOption.EVIDENCE_UNCLEAR)

    decision = world.decide(record, Approve(), merchant(record))

    assert decision.event is not None
    assert decision.event.negotiation == {}
