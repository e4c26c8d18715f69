"""SPEC §3–§4: the guards on ``negotiate`` and what each answer to a negotiation does."""

from __future__ import annotations

import pytest

from aftersale.commands import (
    AcceptNegotiation,
    ModifyApplication,
    Negotiate,
    RejectNegotiation,
    SupplementEvidence,
    WithdrawNegotiation,
)
from aftersale.exceptions import (
    ActionRefused,
    EvidenceRequired,
    InvalidInput,
    LimitExceeded,
)
from aftersale.model import AfterSale
from aftersale.policy import HOUR_MS, Policy
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    CloseReason,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    RefundReason,
    State,
    TimerKind,
)
from tests.unit.builders import (
    IMAGES,
    MP,
    MWR,
    PAID,
    REFUND,
    RETURN,
    SPEC_OPTIONS,
    UWCU,
    World,
    buyer,
    merchant,
    negotiation_for,
    refund_id,
    refused,
)

Opt = NegotiationOption
Kind = NegotiationKind
FRESH_48H = 48 * HOUR_MS


def handling(world: World, state: State, option: NegotiationOption) -> AfterSale:
    """A request waiting for the merchant in ``state``, of a type the option fits."""
    if state is MWR:
        return world.receiving()
    return world.applied(type=SPEC_OPTIONS[option].only_type or REFUND)


ALLOWED = [(o, s) for o, spec in SPEC_OPTIONS.items() for s in sorted(spec.from_states)]
FORBIDDEN = [
    (o, s) for o, spec in SPEC_OPTIONS.items() for s in (MP, MWR) if s not in spec.from_states
]


def ids(cases: list[tuple[NegotiationOption, State]]) -> list[str]:
    return [f"{o.value}-from-{s.value}" for o, s in cases]


@pytest.mark.parametrize(("option", "state"), ALLOWED, ids=ids(ALLOWED))
def test_merchant_sends_each_option_from_its_handling_states(
    world: World, option: NegotiationOption, state: State
) -> None:
    record = handling(world, state, option)
    if option is Opt.UNABLE_TO_CONTACT:
        record = world.contact_failed(record)

    after = world.act(record, negotiation_for(option, record), merchant(record))

    assert after.state is UWCU
    negotiation = after.negotiation
    assert negotiation is not None
    assert (negotiation.kind, negotiation.option) == (SPEC_OPTIONS[option].kind, option)
    assert negotiation.handling_state is state
    assert negotiation.outcome is NegotiationOutcome.OPEN
    assert negotiation.round == 1
    assert after.negotiation_rounds == 1


@pytest.mark.parametrize(("option", "state"), FORBIDDEN, ids=ids(FORBIDDEN))
def test_merchant_cannot_send_an_option_from_another_state(
    world: World, option: NegotiationOption, state: State
) -> None:
    record = handling(world, state, option)
    if option is Opt.UNABLE_TO_CONTACT:
        record = world.contact_failed(record)

    refused(world, record, negotiation_for(option, record), merchant(record), ActionRefused)


def test_refund_without_return_does_not_fit_a_refund_only_request(world: World) -> None:
    record = world.applied(type=REFUND)

    refused(
        world,
        record,
        negotiation_for(Opt.REFUND_WITHOUT_RETURN, record),
        merchant(record),
        (ActionRefused, InvalidInput),
    )


def test_an_option_sent_under_the_wrong_kind_is_refused(world: World) -> None:
    record = world.applied()
    command = Negotiate(Kind.INVITE_CANCEL, Opt.AMOUNT_ONLY, IMAGES, proposed_amount=5_000)

    refused(world, record, command, merchant(record), (ActionRefused, InvalidInput))


NEEDS_IMAGES = [o for o, spec in SPEC_OPTIONS.items() if spec.images_required]
NO_IMAGES_NEEDED = [o for o, spec in SPEC_OPTIONS.items() if not spec.images_required]


def first_state(option: NegotiationOption) -> State:
    return MP if MP in SPEC_OPTIONS[option].from_states else MWR


@pytest.mark.parametrize("option", NEEDS_IMAGES, ids=lambda o: o.value)
def test_an_option_that_needs_images_is_refused_without_them(
    world: World, option: NegotiationOption
) -> None:
    record = handling(world, first_state(option), option)
    if option is Opt.UNABLE_TO_CONTACT:
        record = world.contact_failed(record)

    error = refused(
        world,
        record,
        negotiation_for(option, record, images=()),
        merchant(record),
        (EvidenceRequired, InvalidInput),
    )

    if isinstance(error, InvalidInput):
        assert error.field == "images"
    else:
        assert error.reason == "EVIDENCE_REQUIRED"


@pytest.mark.parametrize("option", NO_IMAGES_NEEDED, ids=lambda o: o.value)
def test_an_option_that_needs_no_images_is_sent_without_them(
    world: World, option: NegotiationOption
) -> None:
    record = handling(world, first_state(option), option)

    after = world.act(record, negotiation_for(option, record, images=()), merchant(record))

    assert after.state is UWCU


@pytest.mark.parametrize(
    ("current", "proposed"),
    [(PAID, 0), (PAID, -5), (PAID - 100, PAID + 1), (PAID, PAID)],
    ids=["zero", "negative", "above-paid", "unchanged"],
)
def test_amount_only_refuses_an_amount_outside_one_to_paid_or_equal_to_current(
    world: World, current: int, proposed: int
) -> None:
    record = world.applied(amount=current)
    command = Negotiate(Kind.MODIFY_APPLICATION, Opt.AMOUNT_ONLY, IMAGES, proposed_amount=proposed)

    refused(world, record, command, merchant(record), (ActionRefused, InvalidInput))


@pytest.mark.parametrize(
    ("current", "proposed"), [(PAID, 1), (PAID - 100, PAID)], ids=["one-fen", "up-to-paid"]
)
def test_amount_only_accepts_any_other_amount_from_one_to_paid(
    world: World, current: int, proposed: int
) -> None:
    record = world.applied(amount=current)
    command = Negotiate(Kind.MODIFY_APPLICATION, Opt.AMOUNT_ONLY, IMAGES, proposed_amount=proposed)

    after = world.act(record, command, merchant(record))

    assert after.negotiation is not None
    assert after.negotiation.proposed_amount == proposed


def test_amount_only_without_an_amount_is_refused(world: World) -> None:
    record = world.applied()
    command = Negotiate(Kind.MODIFY_APPLICATION, Opt.AMOUNT_ONLY, IMAGES)

    refused(world, record, command, merchant(record), (ActionRefused, InvalidInput))


@pytest.mark.parametrize("proposed", [PAID - 100, PAID - 50], ids=["equal", "higher"])
def test_partial_refund_must_be_below_the_current_amount(world: World, proposed: int) -> None:
    record = world.applied(amount=PAID - 100)
    command = Negotiate(
        Kind.MODIFY_APPLICATION, Opt.PARTIAL_REFUND, IMAGES, proposed_amount=proposed
    )

    refused(world, record, command, merchant(record), (ActionRefused, InvalidInput))


def test_partial_refund_one_fen_below_the_current_amount_is_sent(world: World) -> None:
    record = world.applied(amount=PAID - 100)
    command = Negotiate(
        Kind.MODIFY_APPLICATION, Opt.PARTIAL_REFUND, IMAGES, proposed_amount=PAID - 101
    )

    after = world.act(record, command, merchant(record))

    assert after.state is UWCU


def test_the_fourth_negotiation_round_is_refused_by_default(world: World) -> None:
    record = world.applied()
    for _ in range(3):
        record = world.failed_negotiation(record, Opt.EVIDENCE_UNCLEAR)
    assert record.negotiation_rounds == 3

    refused(
        world,
        record,
        negotiation_for(Opt.EVIDENCE_MISMATCH, record),
        merchant(record),
        LimitExceeded,
    )


def test_the_round_cap_comes_from_the_policy(world: World) -> None:
    world.policy = Policy(max_negotiation_rounds=1)
    record = world.failed_negotiation(world.applied(), Opt.EVIDENCE_UNCLEAR)

    refused(
        world,
        record,
        negotiation_for(Opt.EVIDENCE_UNCLEAR, record),
        merchant(record),
        LimitExceeded,
    )


def test_only_one_negotiation_is_open_at_a_time(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.EVIDENCE_UNCLEAR)

    refused(
        world,
        record,
        negotiation_for(Opt.EVIDENCE_MISMATCH, record),
        merchant(record),
        ActionRefused,
    )


def test_unable_to_contact_needs_a_failed_contact_attempt_first(world: World) -> None:
    record = world.applied()

    refused(
        world,
        record,
        negotiation_for(Opt.UNABLE_TO_CONTACT, record),
        merchant(record),
        ActionRefused,
    )


def test_unable_to_contact_is_sent_after_a_failed_contact_attempt(world: World) -> None:
    record = world.contact_failed(world.applied())

    after = world.act(record, negotiation_for(Opt.UNABLE_TO_CONTACT, record), merchant(record))

    assert after.state is UWCU


def test_a_negotiation_waits_48_hours_for_the_buyer(world: World) -> None:
    record = world.applied()

    after = world.act(record, negotiation_for(Opt.EVIDENCE_UNCLEAR, record), merchant(record))

    assert after.timer is not None
    assert (after.timer.kind, after.timer.action) == (
        TimerKind.NEGOTIATION_REPLY,
        Action.NEGOTIATION_TIMEOUT,
    )
    assert after.timer.due_ms == world.now + FRESH_48H


# -- accepting --------------------------------------------------------------------------------


def test_accepting_an_amount_change_starts_the_refund_of_the_new_amount(world: World) -> None:
    record = world.applied(type=REFUND, amount=PAID)
    record = world.act(
        record,
        Negotiate(Kind.MODIFY_APPLICATION, Opt.AMOUNT_ONLY, IMAGES, proposed_amount=6_000),
        merchant(record),
    )

    decision = world.decide(record, AcceptNegotiation(), buyer(record))

    after = decision.record
    assert after.state is State.PLATFORM_REFUNDING
    assert after.amount == 6_000
    assert after.refund is not None
    assert after.refund.refund_id == refund_id(after)
    assert after.refund.refund_reason is RefundReason.NEGOTIATION_ACCEPTED
    assert after.refund.amount == 6_000
    assert after.negotiation is None
    assert after.negotiations[-1].outcome is NegotiationOutcome.ACCEPTED
    assert decision.event is not None
    assert "refund_requested" in decision.event.signals
    assert (decision.event.refund_id, decision.event.refund_amount) == (refund_id(after), 6_000)
    assert decision.event.refund_reason == "NEGOTIATION_ACCEPTED"


def test_accepting_refund_without_return_turns_the_request_into_a_refund(world: World) -> None:
    record = world.negotiating(world.applied(type=RETURN), Opt.REFUND_WITHOUT_RETURN)

    after = world.act(record, AcceptNegotiation(), buyer(record))

    assert after.type is AfterSaleType.REFUND
    assert after.state is State.PLATFORM_REFUNDING
    assert after.refund is not None
    assert after.refund.refund_reason is RefundReason.NEGOTIATION_ACCEPTED


def test_accepting_a_new_plan_replaces_type_and_amount(world: World) -> None:
    record = world.applied(type=RETURN)
    record = world.act(
        record,
        Negotiate(
            Kind.MODIFY_APPLICATION,
            Opt.NEW_PLAN_AGREED,
            IMAGES,
            proposed_type=AfterSaleType.REFUND,
            proposed_amount=4_000,
        ),
        merchant(record),
    )

    after = world.act(record, AcceptNegotiation(), buyer(record))

    assert (after.type, after.amount, after.state) == (REFUND, 4_000, State.PLATFORM_REFUNDING)
    assert after.refund is not None
    assert after.refund.amount == 4_000


def test_accepting_an_amount_change_on_an_unshipped_return_waits_for_the_parcel(
    world: World,
) -> None:
    record = world.applied(type=RETURN)
    record = world.act(
        record,
        Negotiate(Kind.MODIFY_APPLICATION, Opt.AMOUNT_ONLY, IMAGES, proposed_amount=7_000),
        merchant(record),
    )

    after = world.act(record, AcceptNegotiation(), buyer(record))

    assert (after.state, after.amount, after.type) == (State.USER_WAIT_RETURN, 7_000, RETURN)
    assert after.refund is None


def test_accepting_a_partial_refund_of_a_received_return_starts_the_refund(
    world: World,
) -> None:
    record = world.receiving()
    record = world.act(
        record,
        Negotiate(
            Kind.MODIFY_APPLICATION, Opt.RETURN_PARTIAL_REFUND, IMAGES, proposed_amount=2_500
        ),
        merchant(record),
    )

    after = world.act(record, AcceptNegotiation(), buyer(record))

    assert after.state is State.PLATFORM_REFUNDING
    assert after.amount == 2_500
    assert after.refund is not None
    assert (after.refund.amount, after.refund.refund_reason) == (
        2_500,
        RefundReason.NEGOTIATION_ACCEPTED,
    )


@pytest.mark.parametrize("option", [Opt.AGREED_TO_CANCEL, Opt.NO_QUALITY_ISSUE_VERIFIED])
def test_accepting_an_invitation_to_cancel_closes_the_request(
    world: World, option: NegotiationOption
) -> None:
    record = world.negotiating(world.applied(), option)

    after = world.act(record, AcceptNegotiation(), buyer(record))

    assert after.state is State.USER_CANCELD
    assert after.close_reason is CloseReason.NEGOTIATED_CANCEL
    assert after.refund is None
    assert after.timer is None


@pytest.mark.parametrize("option", [Opt.EVIDENCE_UNCLEAR, Opt.UNABLE_TO_CONTACT])
def test_a_plain_accept_of_an_invitation_to_verify_is_refused_with_a_clear_message(
    world: World, option: NegotiationOption
) -> None:
    record = world.negotiating(world.applied(), option)

    error = refused(world, record, AcceptNegotiation(), buyer(record), ActionRefused)

    assert isinstance(error, ActionRefused)
    text = f"{error.refusal.message_en} {error.refusal.next_step_en}".lower()
    assert "supplement" in text or "evidence" in text
    assert error.refusal.message_zh


# -- the other answers ------------------------------------------------------------------------


def test_buyer_rejecting_returns_to_the_handling_state_with_a_fresh_merchant_timer(
    world: World,
) -> None:
    record = world.negotiating(world.applied(), Opt.AMOUNT_ONLY)

    after = world.act(record, RejectNegotiation("the amount is wrong"), buyer(record))

    assert after.state is MP
    assert after.negotiation is None
    assert after.negotiations[-1].outcome is NegotiationOutcome.REJECTED
    assert after.timer is not None
    assert after.timer.action is Action.MERCHANT_TIMEOUT
    assert after.timer.due_ms == world.now + FRESH_48H


def test_buyer_silence_returns_to_the_handling_state_with_a_fresh_merchant_timer(
    world: World,
) -> None:
    record = world.negotiating(world.applied(), Opt.AMOUNT_ONLY)

    after = world.fire(record, Action.NEGOTIATION_TIMEOUT)

    assert after.state is MP
    assert after.negotiations[-1].outcome is NegotiationOutcome.TIMED_OUT
    assert after.timer is not None
    assert after.timer.action is Action.MERCHANT_TIMEOUT
    assert after.timer.due_ms == world.now + FRESH_48H


def test_merchant_withdrawing_returns_to_the_handling_state_with_a_fresh_merchant_timer(
    world: World,
) -> None:
    record = world.negotiating(world.applied(), Opt.AMOUNT_ONLY)

    after = world.act(record, WithdrawNegotiation(), merchant(record))

    assert after.state is MP
    assert after.negotiations[-1].outcome is NegotiationOutcome.WITHDRAWN
    assert after.timer is not None
    assert after.timer.action is Action.MERCHANT_TIMEOUT
    assert after.timer.due_ms == world.now + FRESH_48H


def test_buyer_supplementing_evidence_appends_it_and_gives_the_merchant_48_hours(
    world: World,
) -> None:
    record = world.negotiating(world.applied(), Opt.PERISHABLE_QUALITY_PROOF)
    photos = ("media/spoiled-half.jpg", "media/box.jpg")

    after = world.act(record, SupplementEvidence(photos, "half the box"), buyer(record))

    assert after.state is MP
    assert after.negotiations[-1].outcome is NegotiationOutcome.EVIDENCE_SUPPLIED
    assert set(photos) <= set(after.evidence)
    assert set(record.evidence) <= set(after.evidence)
    assert after.timer is not None
    assert after.timer.action is Action.MERCHANT_TIMEOUT
    assert after.timer.due_ms == world.now + FRESH_48H


def test_failed_negotiation_at_receipt_gives_the_merchant_a_fresh_48_hours_to_confirm(
    world: World,
) -> None:
    record = world.negotiating(world.receiving(), Opt.RETURN_MISSING_PARTS)

    after = world.act(record, RejectNegotiation("all parts were there"), buyer(record))

    assert after.state is MWR
    assert after.timer is not None
    assert after.timer.action is Action.RECEIPT_TIMEOUT
    assert after.timer.due_ms == world.now + FRESH_48H


def test_supplementing_evidence_needs_at_least_one_image(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.EVIDENCE_UNCLEAR)

    refused(
        world,
        record,
        SupplementEvidence((), "nothing"),
        buyer(record),
        (EvidenceRequired, InvalidInput),
    )


def test_supplementing_evidence_answers_only_an_invitation_to_verify(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.AMOUNT_ONLY)

    refused(world, record, SupplementEvidence(IMAGES), buyer(record), ActionRefused)


def test_a_modification_supersedes_the_open_negotiation(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.EVIDENCE_UNCLEAR)

    after = world.act(
        record, ModifyApplication(REFUND, 8_000, BuyerReason.QUALITY_ISSUE), buyer(record)
    )

    assert after.state is MP
    assert after.negotiation is None
    assert after.negotiations[-1].outcome is NegotiationOutcome.SUPERSEDED
    assert after.amount == 8_000
    assert after.application_round == 2
    assert after.timer is not None
    assert after.timer.action is Action.MERCHANT_TIMEOUT
    assert after.timer.due_ms == world.now + FRESH_48H


def test_the_merchant_text_is_kept_with_the_negotiation(world: World) -> None:
    record = world.applied()
    command = Negotiate(Kind.INVITE_VERIFY, Opt.EVIDENCE_UNCLEAR, message="please show the seam")

    after = world.act(record, command, merchant(record))

    assert after.negotiation is not None
    assert "please show the seam" in after.negotiation.message


def test_only_the_buyer_answers_a_negotiation(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.AMOUNT_ONLY)

    refused(world, record, AcceptNegotiation(), merchant(record))
