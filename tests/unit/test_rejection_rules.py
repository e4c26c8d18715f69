"""SPEC §5: a rejection needs a matching negotiation the buyer refused or let time out, since
the latest application or modification, and evidence; REASON_MISMATCH is never allowed."""

from __future__ import annotations

import pytest

from aftersale.commands import (
    Approve,
    ModifyApplication,
    Reject,
    SubmitReturnWaybill,
    SupplementEvidence,
    WithdrawNegotiation,
)
from aftersale.exceptions import (
    ActionRefused,
    EvidenceRequired,
    InvalidInput,
    NegotiationRequired,
    RejectionForbidden,
)
from aftersale.model import AfterSale
from aftersale.policy import DAY_MS
from aftersale.vocabulary import (
    Action,
    BuyerReason,
    NegotiationOption,
    RejectReason,
    State,
    TimerKind,
)
from tests.unit.builders import (
    IMAGES,
    MP,
    MWR,
    REFUND,
    RETURN,
    SPEC_OPTIONS,
    SPEC_UNLOCKS,
    World,
    buyer,
    merchant,
    new_id,
    refused,
    rejection,
)

Opt = NegotiationOption
Why = RejectReason


def waiting_in(world: World, state: State, option: NegotiationOption) -> AfterSale:
    if state is MWR:
        return world.receiving()
    return world.applied(type=SPEC_OPTIONS[option].only_type or REFUND)


UNLOCKING = [
    (reason, option, state, timed_out)
    for reason, (options, states) in SPEC_UNLOCKS.items()
    for option in sorted(options)
    for state in sorted(states & SPEC_OPTIONS[option].from_states)
    for timed_out in (False, True)
]


@pytest.mark.parametrize(
    ("reason", "option", "state", "timed_out"),
    UNLOCKING,
    ids=[
        f"{r.value}-after-{o.value}-{'TIMED_OUT' if t else 'REJECTED'}-in-{s.value}"
        for r, o, s, t in UNLOCKING
    ],
)
def test_merchant_rejects_after_the_buyer_refused_the_matching_negotiation(
    world: World, reason: RejectReason, option: NegotiationOption, state: State, timed_out: bool
) -> None:
    record = world.failed_negotiation(waiting_in(world, state, option), option, timed_out=timed_out)
    assert record.state is state

    decision = world.decide(record, rejection(reason), merchant(record))

    after = decision.record
    expected = (
        State.MERCHANT_REJECT_REFUND if after.type is REFUND else State.MERCHANT_REJECT_RETURN
    )
    assert after.state is expected
    assert after.rejection is not None
    assert (after.rejection.reason, after.rejection.from_state) == (reason, state)
    assert tuple(after.rejection.images) == IMAGES
    assert after.timer is not None
    assert (after.timer.kind, after.timer.action) == (
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
    )
    assert after.timer.due_ms == world.now + 7 * DAY_MS
    assert decision.event is not None
    assert decision.event.reject_reason == reason.value


FIRST_STATE = {reason: sorted(states)[0] for reason, (_, states) in SPEC_UNLOCKS.items()}


def start(world: World, reason: RejectReason) -> AfterSale:
    """A request waiting for the merchant where ``reason`` could apply."""
    return world.receiving() if FIRST_STATE[reason] is MWR else world.applied()


def assert_told_to_negotiate(error: ActionRefused, reason: RejectReason) -> None:
    assert isinstance(error, NegotiationRequired)
    assert error.reason == "NEGOTIATION_REQUIRED"
    refusal = error.refusal
    assert refusal.message_en and refusal.message_zh
    assert refusal.next_step_en and refusal.next_step_zh
    advice = " ".join([refusal.next_step_en, refusal.next_step_zh, *refusal.metadata.values()])
    options, _ = SPEC_UNLOCKS[reason]
    assert any(o.value in advice for o in options), advice


@pytest.mark.parametrize("reason", list(SPEC_UNLOCKS), ids=lambda r: r.value)
def test_rejecting_without_any_negotiation_is_refused_and_names_the_option_to_send(
    world: World, reason: RejectReason
) -> None:
    record = start(world, reason)

    error = refused(world, record, rejection(reason), merchant(record), NegotiationRequired)

    assert isinstance(error, ActionRefused)
    assert_told_to_negotiate(error, reason)


def test_a_withdrawn_negotiation_does_not_unlock_rejection(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.AMOUNT_ONLY)
    record = world.act(record, WithdrawNegotiation(), merchant(record))

    error = refused(
        world, record, rejection(Why.AMOUNT_DISAGREEMENT), merchant(record), NegotiationRequired
    )

    assert isinstance(error, ActionRefused)
    assert_told_to_negotiate(error, Why.AMOUNT_DISAGREEMENT)


def test_a_superseded_negotiation_does_not_unlock_rejection(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.AMOUNT_ONLY)
    record = world.act(
        record, ModifyApplication(REFUND, 9_000, BuyerReason.QUALITY_ISSUE), buyer(record)
    )

    refused(
        world, record, rejection(Why.AMOUNT_DISAGREEMENT), merchant(record), NegotiationRequired
    )


def test_a_failed_negotiation_from_before_a_modification_does_not_count(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.AMOUNT_ONLY)
    record = world.act(
        record, ModifyApplication(REFUND, 9_000, BuyerReason.QUALITY_ISSUE), buyer(record)
    )

    refused(
        world, record, rejection(Why.AMOUNT_DISAGREEMENT), merchant(record), NegotiationRequired
    )


def test_a_negotiation_after_the_modification_unlocks_rejection_again(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.AMOUNT_ONLY)
    record = world.act(
        record, ModifyApplication(REFUND, 9_000, BuyerReason.QUALITY_ISSUE), buyer(record)
    )
    record = world.failed_negotiation(record, Opt.PARTIAL_REFUND)

    after = world.act(record, rejection(Why.AMOUNT_DISAGREEMENT), merchant(record))

    assert after.state is State.MERCHANT_REJECT_REFUND


def test_supplied_evidence_does_not_unlock_evidence_not_provided(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.EVIDENCE_UNCLEAR)
    record = world.act(record, SupplementEvidence(IMAGES, "sharper"), buyer(record))

    refused(
        world, record, rejection(Why.EVIDENCE_NOT_PROVIDED), merchant(record), NegotiationRequired
    )


def test_a_failed_negotiation_of_another_option_does_not_unlock_the_reason(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.EVIDENCE_UNCLEAR)

    error = refused(
        world, record, rejection(Why.AMOUNT_DISAGREEMENT), merchant(record), NegotiationRequired
    )

    assert isinstance(error, ActionRefused)
    assert_told_to_negotiate(error, Why.AMOUNT_DISAGREEMENT)


def test_a_rejection_without_evidence_images_is_refused(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.AMOUNT_ONLY)

    error = refused(
        world,
        record,
        rejection(Why.AMOUNT_DISAGREEMENT, images=()),
        merchant(record),
        (EvidenceRequired, InvalidInput),
    )

    if isinstance(error, InvalidInput):
        assert error.field == "images"
    else:
        assert error.reason == "EVIDENCE_REQUIRED"


def test_a_rejection_with_ten_images_is_refused(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.AMOUNT_ONLY)
    ten = tuple(f"media/{i}.jpg" for i in range(10))

    error = refused(
        world,
        record,
        rejection(Why.AMOUNT_DISAGREEMENT, images=ten),
        merchant(record),
        InvalidInput,
    )

    assert isinstance(error, InvalidInput)
    assert error.field == "images"


def test_a_rejection_message_over_500_characters_is_refused(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.AMOUNT_ONLY)
    command = Reject(Why.AMOUNT_DISAGREEMENT, "x" * 501, IMAGES)

    error = refused(world, record, command, merchant(record), InvalidInput)

    assert isinstance(error, InvalidInput)
    assert error.field == "message"


def test_rejecting_for_reason_mismatch_is_forbidden_from_the_start(world: World) -> None:
    record = world.applied(reason=BuyerReason.QUALITY_ISSUE)

    error = refused(
        world, record, rejection(Why.REASON_MISMATCH), merchant(record), RejectionForbidden
    )

    assert isinstance(error, ActionRefused)
    assert error.reason == "REJECTION_FORBIDDEN"
    assert error.refusal.message_en and error.refusal.message_zh
    assert error.refusal.next_step_en and error.refusal.next_step_zh


@pytest.mark.parametrize("option", list(SPEC_OPTIONS), ids=lambda o: o.value)
def test_rejecting_for_reason_mismatch_stays_forbidden_after_any_failed_negotiation(
    world: World, option: NegotiationOption
) -> None:
    state = MP if MP in SPEC_OPTIONS[option].from_states else MWR
    record = world.failed_negotiation(waiting_in(world, state, option), option)

    refused(world, record, rejection(Why.REASON_MISMATCH), merchant(record), RejectionForbidden)


def test_amount_disagreement_is_refused_once_the_return_is_on_its_way(world: World) -> None:
    record = world.failed_negotiation(world.applied(type=RETURN), Opt.AMOUNT_ONLY)
    record = world.act(record, Approve(), merchant(record))
    record = world.act(record, SubmitReturnWaybill("SF", new_id("wb")), buyer(record))
    assert record.state is MWR

    refused(world, record, rejection(Why.AMOUNT_DISAGREEMENT), merchant(record), ActionRefused)


def test_evidence_not_provided_is_refused_once_the_return_is_on_its_way(world: World) -> None:
    record = world.failed_negotiation(world.applied(type=RETURN), Opt.EVIDENCE_UNCLEAR)
    record = world.act(record, Approve(), merchant(record))
    record = world.act(record, SubmitReturnWaybill("SF", new_id("wb")), buyer(record))

    refused(world, record, rejection(Why.EVIDENCE_NOT_PROVIDED), merchant(record), ActionRefused)


def test_return_anomaly_is_refused_before_anything_was_returned(world: World) -> None:
    record = world.failed_negotiation(world.applied(type=RETURN), Opt.EVIDENCE_UNCLEAR)

    refused(world, record, rejection(Why.RETURN_ANOMALY), merchant(record), ActionRefused)


def test_the_unlock_is_spent_by_the_rejection_it_allowed(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.AMOUNT_ONLY)
    record = world.act(record, rejection(Why.AMOUNT_DISAGREEMENT), merchant(record))
    record = world.act(
        record, ModifyApplication(REFUND, 9_500, BuyerReason.QUALITY_ISSUE), buyer(record)
    )
    assert record.state is MP

    refused(
        world, record, rejection(Why.AMOUNT_DISAGREEMENT), merchant(record), NegotiationRequired
    )
