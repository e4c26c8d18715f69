"""SPEC §11: the seed's four scenarios, every variant, at domain level."""

from __future__ import annotations

import itertools

import pytest

from aftersale.commands import (
    AcceptNegotiation,
    Approve,
    Escalate,
    ModifyApplication,
    Negotiate,
    RecordContactAttempt,
    RefundSucceeded,
    Reject,
    RejectNegotiation,
    RequestContactQuota,
    RequestProof,
    ResolveDispute,
    SubmitProof,
    SubmitReturnWaybill,
    SupplementEvidence,
)
from aftersale.exceptions import NegotiationRequired, RejectionForbidden
from aftersale.model import AfterSale
from aftersale.policy import DAY_MS
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    CloseReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    ProofParty,
    RefundReason,
    RejectReason,
    Role,
    State,
    Verdict,
)
from tests.unit.builders import PAYMENT, PLATFORM, World, buyer, merchant, new_id, refused

Opt = NegotiationOption
Kind = NegotiationKind
CHAT = ("media/chat-agreed-60-yuan.png",)
PARCEL = ("media/parcel-wrong-item-1.jpg", "media/parcel-wrong-item-2.jpg")
CALLS = ("media/call-log-1.png", "media/call-log-2.png")


def assert_contiguous_history(world: World, record: AfterSale) -> None:
    mine = [e for e in world.events if e.request_id == record.request_id]
    assert [e.version for e in mine] == list(range(1, record.version + 1))
    for earlier, later in itertools.pairwise(mine):
        assert later.from_state == earlier.to_state


def paid_out(world: World, record: AfterSale) -> AfterSale:
    assert record.refund is not None
    return world.act(record, RefundSucceeded(record.refund.refund_id), PAYMENT)


# -- 1. wrong refund amount -----------------------------------------------------------------


def amount_story_start(world: World) -> AfterSale:
    """Paid 100 yuan, applied for 100; buyer and merchant settled on 60 in chat."""
    return world.applied(type=AfterSaleType.REFUND, amount=10_000, paid=10_000)


def offer_60(world: World, record: AfterSale) -> AfterSale:
    command = Negotiate(
        Kind.MODIFY_APPLICATION, Opt.AMOUNT_ONLY, CHAT, "as agreed in chat", proposed_amount=6_000
    )
    return world.act(record, command, merchant(record))


def test_wrong_amount_buyer_accepts_and_a_refund_of_60_starts_by_itself(world: World) -> None:
    record = offer_60(world, amount_story_start(world))

    decision = world.decide(record, AcceptNegotiation(), buyer(record))
    done = paid_out(world, decision.record)

    assert decision.record.state is State.PLATFORM_REFUNDING
    refund = decision.record.refund
    assert refund is not None
    assert (refund.amount, refund.refund_reason) == (6_000, RefundReason.NEGOTIATION_ACCEPTED)
    assert decision.event is not None
    assert "refund_requested" in decision.event.signals
    assert done.state is State.MERCHANT_REFUND_SUCCESS
    assert_contiguous_history(world, done)


def test_wrong_amount_buyer_rejects_and_the_merchant_may_reject_with_the_chat_screenshot(
    world: World,
) -> None:
    record = offer_60(world, amount_story_start(world))
    record = world.act(record, RejectNegotiation("I want 100"), buyer(record))

    after = world.act(
        record,
        Reject(RejectReason.AMOUNT_DISAGREEMENT, "we agreed on 60, see chat", CHAT),
        merchant(record),
    )

    assert after.state is State.MERCHANT_REJECT_REFUND
    assert after.rejection is not None
    assert after.rejection.reason is RejectReason.AMOUNT_DISAGREEMENT
    assert_contiguous_history(world, after)


def test_wrong_amount_merchant_rejecting_first_is_refused_and_told_to_negotiate(
    world: World,
) -> None:
    record = amount_story_start(world)

    error = refused(
        world,
        record,
        Reject(RejectReason.AMOUNT_DISAGREEMENT, "we agreed on 60", CHAT),
        merchant(record),
        NegotiationRequired,
    )

    assert isinstance(error, NegotiationRequired)
    advice = f"{error.refusal.next_step_en} {error.refusal.next_step_zh}"
    assert "AMOUNT_ONLY" in advice or "PARTIAL_REFUND" in advice or "仅修改退款金额" in advice


# -- 2. evidence needed ---------------------------------------------------------------------


def test_fresh_fruit_evidence_then_partial_refund(world: World) -> None:
    record = world.applied(type=AfterSaleType.REFUND, amount=8_000, paid=8_000)
    record = world.act(
        record,
        Negotiate(Kind.INVITE_VERIFY, Opt.PERISHABLE_QUALITY_PROOF, message="photo is blurry"),
        merchant(record),
    )
    record = world.act(record, SupplementEvidence(("media/box-open.jpg",), "here"), buyer(record))
    assert record.state is State.MERCHANT_PROCESSING
    record = world.act(
        record,
        Negotiate(
            Kind.MODIFY_APPLICATION,
            Opt.PARTIAL_REFUND,
            ("media/half-spoiled.jpg",),
            "half the box is spoiled",
            proposed_amount=4_000,
        ),
        merchant(record),
    )

    refunding = world.act(record, AcceptNegotiation(), buyer(record))
    done = paid_out(world, refunding)

    assert refunding.refund is not None
    assert refunding.refund.amount == 4_000
    assert [n.outcome for n in refunding.negotiations] == [
        NegotiationOutcome.EVIDENCE_SUPPLIED,
        NegotiationOutcome.ACCEPTED,
    ]
    assert done.state is State.MERCHANT_REFUND_SUCCESS
    assert_contiguous_history(world, done)


def wrong_item_rejected(world: World) -> tuple[AfterSale, int]:
    record = world.applied(type=AfterSaleType.RETURN)
    record = world.act(record, Approve(), merchant(record))
    record = world.act(record, SubmitReturnWaybill("SF", new_id("wb")), buyer(record))
    record = world.act(
        record,
        Negotiate(Kind.INVITE_VERIFY, Opt.RETURN_WRONG_ITEM, PARCEL, "this is not our item"),
        merchant(record),
    )
    record = world.fire(record, Action.NEGOTIATION_TIMEOUT)
    record = world.act(
        record,
        Reject(RejectReason.RETURN_ANOMALY, "wrong item received", PARCEL),
        merchant(record),
    )
    return record, world.now


@pytest.mark.parametrize(
    ("verdict", "end"),
    [
        (Verdict.MERCHANT_LIABLE, State.MERCHANT_RETURN_SUCCESS),
        (Verdict.BUYER_LIABLE, State.MERCHANT_FAIL),
    ],
    ids=["merchant-liable", "buyer-liable"],
)
def test_wrong_item_returned_rejection_escalation_and_platform_verdict(
    world: World, verdict: Verdict, end: State
) -> None:
    record, rejected_ms = wrong_item_rejected(world)
    assert record.state is State.MERCHANT_REJECT_RETURN
    world.clock.set(rejected_ms + 6 * DAY_MS)
    record = world.act(record, Escalate("I sent the right item", PARCEL), buyer(record))
    record = world.act(record, RequestProof(ProofParty.BUYER, "shipping photos"), PLATFORM)
    record = world.act(record, SubmitProof("packing photo", ("media/pack.jpg",)), buyer(record))

    resolved = world.act(record, ResolveDispute(verdict, message="reviewed"), PLATFORM)
    done = paid_out(world, resolved) if resolved.state is State.PLATFORM_REFUNDING else resolved

    assert resolved.dispute is not None
    assert resolved.dispute.verdict is verdict
    if verdict is Verdict.MERCHANT_LIABLE:
        assert resolved.refund is not None
        assert resolved.refund.refund_reason is RefundReason.PLATFORM_DISPUTE
        assert resolved.refund.amount == resolved.amount
    else:
        assert resolved.close_reason is CloseReason.DISPUTE_BUYER_LIABLE
    assert done.state is end
    assert_contiguous_history(world, done)


def test_both_liable_refunds_the_amount_the_platform_sets(world: World) -> None:
    record, _ = wrong_item_rejected(world)
    record = world.act(record, Escalate("partly right", PARCEL), buyer(record))

    resolved = world.act(record, ResolveDispute(Verdict.BOTH_LIABLE, 3_000), PLATFORM)

    assert resolved.state is State.PLATFORM_REFUNDING
    assert resolved.refund is not None
    assert (resolved.refund.amount, resolved.refund.refund_reason) == (
        3_000,
        RefundReason.PLATFORM_DISPUTE,
    )


# -- 3. buyer unreachable -------------------------------------------------------------------


def test_buyer_unreachable_two_failed_calls_then_rejection_with_call_screenshots(
    world: World,
) -> None:
    record = world.applied()
    for channel in (ContactChannel.PHONE, ContactChannel.VOICE):
        record = world.act(
            record,
            RecordContactAttempt(channel, ContactOutcome.NO_ANSWER, world.now, CALLS[:1]),
            merchant(record),
        )
    record = world.act(
        record,
        Negotiate(Kind.INVITE_VERIFY, Opt.UNABLE_TO_CONTACT, CALLS, "please call us"),
        merchant(record),
    )
    record = world.fire(record, Action.NEGOTIATION_TIMEOUT)

    after = world.act(
        record,
        Reject(RejectReason.BUYER_UNREACHABLE, "two calls, no answer", CALLS),
        merchant(record),
    )

    assert len(after.contact_attempts) == 2
    assert after.state is State.MERCHANT_REJECT_REFUND
    assert_contiguous_history(world, after)


def test_merchant_requests_a_contact_quota_for_the_order_system(world: World) -> None:
    record = world.applied()

    decision = world.decide(
        record, RequestContactQuota("contact buyer for after-sale"), merchant(record)
    )

    assert decision.record.state is State.MERCHANT_PROCESSING
    assert decision.record.version == record.version + 1
    assert decision.event is not None
    assert "contact_quota_requested" in decision.event.signals
    assert decision.event.action == "request_contact_quota"
    assert (decision.event.actor_role, decision.event.actor_id) == (
        Role.MERCHANT.value,
        record.shop_id,
    )


# -- 4. reason does not match ---------------------------------------------------------------


def unwanted_but_quality(world: World) -> AfterSale:
    return world.applied(reason=BuyerReason.QUALITY_ISSUE)


def test_rejecting_for_reason_mismatch_is_refused(world: World) -> None:
    record = unwanted_but_quality(world)

    error = refused(
        world,
        record,
        Reject(RejectReason.REASON_MISMATCH, "not a quality issue", CHAT),
        merchant(record),
        RejectionForbidden,
    )

    assert error.reason == "REJECTION_FORBIDDEN"


def test_reason_mismatch_the_merchant_refunds(world: World) -> None:
    record = unwanted_but_quality(world)

    refunding = world.act(record, Approve(), merchant(record))
    done = paid_out(world, refunding)

    assert refunding.refund is not None
    assert refunding.refund.refund_reason is RefundReason.MERCHANT_APPROVED
    assert done.state is State.MERCHANT_REFUND_SUCCESS
    assert done.first_reason is BuyerReason.QUALITY_ISSUE


def test_reason_mismatch_agreed_to_cancel_and_the_buyer_accepts(world: World) -> None:
    record = unwanted_but_quality(world)
    record = world.act(
        record,
        Negotiate(Kind.INVITE_CANCEL, Opt.AGREED_TO_CANCEL, CHAT, "as we agreed"),
        merchant(record),
    )

    after = world.act(record, AcceptNegotiation(), buyer(record))

    assert (after.state, after.close_reason) == (
        State.USER_CANCELD,
        CloseReason.NEGOTIATED_CANCEL,
    )
    assert_contiguous_history(world, after)


def test_reason_mismatch_modifying_the_reason_keeps_the_first_reason(world: World) -> None:
    record = unwanted_but_quality(world)

    after = world.act(
        record,
        ModifyApplication(AfterSaleType.REFUND, record.amount, BuyerReason.NO_LONGER_WANT),
        buyer(record),
    )

    assert after.reason is BuyerReason.NO_LONGER_WANT
    assert after.first_reason is BuyerReason.QUALITY_ISSUE
    assert world.events[-1].first_reason == "QUALITY_ISSUE"
