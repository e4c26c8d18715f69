"""SPEC §6 timers, §8 limits and bad input, §9 who may do what, and the escalation window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from aftersale.commands import (
    Apply,
    Approve,
    Cancel,
    Command,
    Escalate,
    FireTimer,
    Intervene,
    ModifyApplication,
    Negotiate,
    RecordContactAttempt,
    RefundFailed,
    RefundSucceeded,
    Reject,
    RequestProof,
    SubmitProof,
    SubmitReturnWaybill,
    UploadRefundProof,
    WithdrawEscalation,
)
from aftersale.exceptions import (
    ActionRefused,
    AfterSaleError,
    InvalidInput,
    PermissionDenied,
)
from aftersale.model import Actor, AfterSale
from aftersale.policy import DAY_MS, HOUR_MS, Policy, TimerDurations
from aftersale.timers import TIMER_TABLE
from aftersale.vocabulary import (
    Action,
    BuyerReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    ProofParty,
    RejectReason,
    Role,
    State,
    TimerKind,
)
from tests.unit.builders import (
    IMAGES,
    MP,
    PAID,
    PAYMENT,
    PLATFORM,
    REFUND,
    RETURN,
    SPEC_DURATIONS_MS,
    STEP_MS,
    SYSTEM,
    TERMINAL,
    World,
    buyer,
    merchant,
    negotiation_for,
    new_id,
    refund_id,
    refused,
    rejection,
)

Opt = NegotiationOption


def test_policy_defaults_are_the_spec_durations_and_limits() -> None:
    durations = TimerDurations()
    policy = Policy()

    assert {name: getattr(durations, f"{name}_ms") for name in SPEC_DURATIONS_MS} == (
        SPEC_DURATIONS_MS
    )
    assert (policy.max_negotiation_rounds, policy.max_attempts_per_line) == (3, 5)
    assert (policy.max_text_chars, policy.max_images, policy.max_dispute_proof_images) == (
        500,
        9,
        20,
    )


# -- timers per state (SPEC §6) -----------------------------------------------------------


@dataclass(frozen=True)
class TimerCase:
    name: str
    setup: Callable[[World], tuple[AfterSale | None, Command, Actor]]
    kind: TimerKind
    action: Action
    duration: str  # the TimerDurations field, without _ms

    def __str__(self) -> str:
        return self.name


def _apply(world: World) -> tuple[AfterSale | None, Command, Actor]:
    shop, who = new_id("shop"), new_id("buyer")
    command = Apply(
        new_id("rq"),
        new_id("order"),
        new_id("sku"),
        shop,
        who,
        REFUND,
        PAID,
        PAID,
        BuyerReason.QUALITY_ISSUE,
        world.now + 30 * DAY_MS,
    )
    return None, command, Actor(Role.BUYER, who)


def _negotiate(world: World) -> tuple[AfterSale | None, Command, Actor]:
    record = world.applied()
    return record, negotiation_for(Opt.EVIDENCE_UNCLEAR, record), merchant(record)


def _approve_return(world: World) -> tuple[AfterSale | None, Command, Actor]:
    record = world.applied(type=RETURN)
    return record, Approve(), merchant(record)


def _ship(world: World) -> tuple[AfterSale | None, Command, Actor]:
    record = world.reach(State.USER_WAIT_RETURN)
    return record, SubmitReturnWaybill("SF", new_id("wb")), buyer(record)


def _reject(world: World) -> tuple[AfterSale | None, Command, Actor]:
    record = world.failed_negotiation(world.applied(), Opt.EVIDENCE_UNCLEAR)
    return record, rejection(RejectReason.EVIDENCE_NOT_PROVIDED), merchant(record)


def _ship_timeout(world: World) -> tuple[AfterSale | None, Command, Actor]:
    record = world.reach(State.USER_WAIT_RETURN)
    assert record.timer is not None
    world.clock.set(record.timer.due_ms - STEP_MS)
    return record, FireTimer(Action.RETURN_SHIP_TIMEOUT, record.version), SYSTEM


def _request_proof(world: World) -> tuple[AfterSale | None, Command, Actor]:
    record = world.reach(State.PLATFORM_ARBITRATING)
    return record, RequestProof(ProofParty.BUYER, "photos"), PLATFORM


def _refund_failed(world: World) -> tuple[AfterSale | None, Command, Actor]:
    record = world.reach(State.PLATFORM_REFUNDING)
    return record, RefundFailed(refund_id(record), "account frozen"), PAYMENT


def _upload_proof(world: World) -> tuple[AfterSale | None, Command, Actor]:
    record = world.reach(State.PLATFORM_REFUND_FAIL)
    return record, UploadRefundProof(IMAGES, "paid by bank transfer"), merchant(record)


TIMER_CASES = [
    TimerCase(
        "apply", _apply, TimerKind.MERCHANT_HANDLING, Action.MERCHANT_TIMEOUT, "merchant_handling"
    ),
    TimerCase(
        "negotiate",
        _negotiate,
        TimerKind.NEGOTIATION_REPLY,
        Action.NEGOTIATION_TIMEOUT,
        "negotiation_reply",
    ),
    TimerCase(
        "approve-return",
        _approve_return,
        TimerKind.RETURN_SHIP,
        Action.RETURN_SHIP_TIMEOUT,
        "return_ship",
    ),
    TimerCase("ship", _ship, TimerKind.RECEIPT, Action.RECEIPT_TIMEOUT, "receipt"),
    TimerCase(
        "reject",
        _reject,
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
        "escalation_window",
    ),
    TimerCase(
        "return-ship-timeout",
        _ship_timeout,
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
        "escalation_window",
    ),
    TimerCase(
        "request-proof",
        _request_proof,
        TimerKind.PROOF_DEADLINE,
        Action.PROOF_TIMEOUT,
        "proof_deadline",
    ),
    TimerCase(
        "refund-failed",
        _refund_failed,
        TimerKind.OFFLINE_REFUND,
        Action.OFFLINE_REFUND_TIMEOUT,
        "offline_refund",
    ),
    TimerCase(
        "upload-refund-proof",
        _upload_proof,
        TimerKind.OFFLINE_REFUND_CONFIRM,
        Action.OFFLINE_REFUND_CONFIRM_TIMEOUT,
        "offline_refund_confirm",
    ),
]

# Distinct odd durations, so a timer computed from the wrong field cannot pass by accident.
CUSTOM = TimerDurations(
    merchant_handling_ms=11 * HOUR_MS + 1,
    negotiation_reply_ms=13 * HOUR_MS + 2,
    merchant_after_negotiation_ms=17 * HOUR_MS + 3,
    return_ship_ms=2 * DAY_MS + 4,
    receipt_ms=3 * DAY_MS + 5,
    escalation_window_ms=4 * DAY_MS + 6,
    proof_deadline_ms=5 * DAY_MS + 7,
    offline_refund_ms=6 * DAY_MS + 8,
    offline_refund_confirm_ms=8 * DAY_MS + 9,
)


@pytest.mark.parametrize("durations", [TimerDurations(), CUSTOM], ids=["default", "custom"])
@pytest.mark.parametrize("case", TIMER_CASES, ids=str)
def test_each_state_arms_its_timer_for_the_policy_duration(
    world: World, case: TimerCase, durations: TimerDurations
) -> None:
    world.policy = Policy(durations=durations)
    record, command, actor = case.setup(world)

    decision = world.decide(record, command, actor)

    timer = decision.record.timer
    assert timer is not None
    assert (timer.kind, timer.action) == (case.kind, case.action)
    assert timer.due_ms == world.now + getattr(durations, f"{case.duration}_ms")
    assert decision.event is not None
    assert (decision.event.deadline_ms, decision.event.timer_action) == (
        timer.due_ms,
        case.action.value,
    )


def test_a_failed_negotiation_arms_the_merchant_timer_from_its_own_duration(
    world: World,
) -> None:
    world.policy = Policy(durations=CUSTOM)
    record = world.negotiating(world.applied(), Opt.AMOUNT_ONLY)

    after = world.fire(record, Action.NEGOTIATION_TIMEOUT)

    assert after.timer is not None
    assert after.timer.action is Action.MERCHANT_TIMEOUT
    assert after.timer.due_ms == world.now + CUSTOM.merchant_after_negotiation_ms


def test_a_proof_request_with_its_own_deadline_fires_then(world: World) -> None:
    record = world.reach(State.PLATFORM_ARBITRATING)
    deadline = world.now + 36 * HOUR_MS

    after = world.act(record, RequestProof(ProofParty.MERCHANT, "invoice", deadline), PLATFORM)

    assert after.timer is not None
    assert (after.timer.action, after.timer.due_ms) == (Action.PROOF_TIMEOUT, deadline)


@pytest.mark.parametrize(
    "state",
    [
        State.PLATFORM_ARBITRATING,
        State.MERCHANT_OVERDUE_REFUND,
        *TERMINAL,
    ],
    ids=lambda s: s.value,
)
def test_states_without_a_timer_have_none_pending(world: World, state: State) -> None:
    record = world.reach(state)

    assert record.timer is None
    assert record.deadline_ms is None


def test_a_timer_for_another_action_is_stale(world: World) -> None:
    record = world.applied()

    error = refused(
        world, record, FireTimer(Action.RECEIPT_TIMEOUT, record.version), SYSTEM, ActionRefused
    )

    assert error.reason == "STALE_TIMER"


def test_a_timer_set_at_an_older_version_is_stale(world: World) -> None:
    first = world.applied()
    record = world.negotiating(first, Opt.EVIDENCE_UNCLEAR)

    error = refused(
        world, record, FireTimer(Action.MERCHANT_TIMEOUT, first.version), SYSTEM, ActionRefused
    )

    assert error.reason == "STALE_TIMER"


def test_a_timer_of_the_right_action_but_an_old_version_is_stale(world: World) -> None:
    record = world.negotiating(world.applied(), Opt.EVIDENCE_UNCLEAR)
    assert record.timer is not None

    error = refused(
        world,
        record,
        FireTimer(Action.NEGOTIATION_TIMEOUT, record.version - 1),
        SYSTEM,
        ActionRefused,
    )

    assert error.reason == "STALE_TIMER"


def test_firing_the_pending_timer_twice_does_nothing_the_second_time(world: World) -> None:
    record = world.applied()
    fire = FireTimer(Action.MERCHANT_TIMEOUT, record.version)
    after = world.act(record, fire, SYSTEM)

    error = refused(world, after, fire, SYSTEM, ActionRefused)

    assert error.reason in {"STALE_TIMER", "INVALID_STATE"}


# -- escalation window --------------------------------------------------------------------


def rejected_at(world: World) -> tuple[AfterSale, int]:
    record = world.rejected(REFUND)
    return record, world.now


def test_rejection_opens_a_seven_day_escalation_window(world: World) -> None:
    record, rejected_ms = rejected_at(world)

    assert record.escalation_deadline_ms == rejected_ms + 7 * DAY_MS
    assert record.deadline_ms == rejected_ms + 7 * DAY_MS


def test_buyer_escalates_one_millisecond_before_the_window_closes(world: World) -> None:
    record, rejected_ms = rejected_at(world)
    world.clock.set(rejected_ms + 7 * DAY_MS - 1 - STEP_MS)

    after = world.act(record, Escalate("unfair", IMAGES), buyer(record))

    assert after.state is State.PLATFORM_ARBITRATING
    assert after.dispute is not None
    assert (after.dispute.escalated_by, after.dispute.escalated_from) == (
        Role.BUYER,
        State.MERCHANT_REJECT_REFUND,
    )


def test_buyer_cannot_escalate_one_millisecond_after_the_window_closed(world: World) -> None:
    record, rejected_ms = rejected_at(world)
    world.clock.set(rejected_ms + 7 * DAY_MS + 1 - STEP_MS)

    refused(world, record, Escalate("late", IMAGES), buyer(record), ActionRefused)


def test_escalation_window_after_return_closed_also_lasts_seven_days(world: World) -> None:
    record = world.fire(world.reach(State.USER_WAIT_RETURN), Action.RETURN_SHIP_TIMEOUT)
    closed_ms = world.now
    world.clock.set(closed_ms + 7 * DAY_MS + 1 - STEP_MS)

    refused(world, record, Escalate("late", IMAGES), buyer(record), ActionRefused)


def test_withdrawing_an_escalation_returns_to_the_rejection_and_the_window_keeps_running(
    world: World,
) -> None:
    record, rejected_ms = rejected_at(world)
    world.clock.advance(DAY_MS)
    record = world.act(record, Escalate("unfair", IMAGES), buyer(record))
    world.clock.advance(2 * DAY_MS)

    after = world.act(record, WithdrawEscalation(), buyer(record))

    assert after.state is State.MERCHANT_REJECT_REFUND
    assert after.escalation_deadline_ms == rejected_ms + 7 * DAY_MS
    assert after.timer is not None
    assert (after.timer.action, after.timer.due_ms) == (
        Action.ESCALATION_EXPIRED,
        rejected_ms + 7 * DAY_MS,
    )


def test_after_withdrawing_the_buyer_cannot_escalate_past_the_original_window(
    world: World,
) -> None:
    record, rejected_ms = rejected_at(world)
    record = world.act(record, Escalate("unfair", IMAGES), buyer(record))
    record = world.act(record, WithdrawEscalation(), buyer(record))
    world.clock.set(rejected_ms + 7 * DAY_MS + 1 - STEP_MS)

    refused(world, record, Escalate("again", IMAGES), buyer(record), ActionRefused)


def test_buyer_cannot_withdraw_an_intervention_the_platform_started(world: World) -> None:
    record = world.act(world.applied(), Intervene("auto"), PLATFORM)

    refused(world, record, WithdrawEscalation(), buyer(record), (ActionRefused, PermissionDenied))


# -- first reason and attempts ------------------------------------------------------------


def test_first_reason_never_changes_across_modifications(world: World) -> None:
    record = world.applied(reason=BuyerReason.QUALITY_ISSUE)
    for reason in (BuyerReason.NO_LONGER_WANT, BuyerReason.OTHERS):
        record = world.act(record, ModifyApplication(REFUND, 9_000, reason), buyer(record))

    assert (record.reason, record.first_reason) == (BuyerReason.OTHERS, BuyerReason.QUALITY_ISSUE)
    assert all(e.first_reason == "QUALITY_ISSUE" for e in world.events)


def test_a_modification_counts_as_an_attempt(world: World) -> None:
    record = world.applied()

    after = world.act(
        record, ModifyApplication(REFUND, 9_000, BuyerReason.NO_LONGER_WANT), buyer(record)
    )

    assert after.application_round == record.application_round + 1


# -- bad input (SPEC §8) ------------------------------------------------------------------


def apply_command(world: World, **changes: object) -> tuple[Apply, Actor]:
    _, command, _ = _apply(world)
    assert isinstance(command, Apply)
    command = replace(command, **changes)  # type: ignore[arg-type]
    return command, Actor(Role.BUYER, command.buyer_id)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": PAID + 1}, "amount"),
        ({"description": "x" * 501}, "description"),
        ({"evidence_images": tuple(f"media/{i}.jpg" for i in range(10))}, "evidence_images"),
        ({"evidence_images": ("m" * 513,)}, "evidence_images[0]"),
        ({"request_id": ""}, "request_id"),
        ({"request_id": "r" * 65}, "request_id"),
        ({"request_id": "has space"}, "request_id"),
        ({"order_id": "o/1"}, "order_id"),
        ({"sku_id": "sku.1"}, "sku_id"),
        ({"shop_id": "店铺"}, "shop_id"),
    ],
    ids=[
        "amount-zero",
        "amount-above-paid",
        "description-501",
        "ten-images",
        "image-ref-513",
        "empty-request-id",
        "long-request-id",
        "request-id-space",
        "order-id-slash",
        "sku-id-dot",
        "shop-id-non-ascii",
    ],
)
def test_apply_with_bad_input_is_refused_naming_the_field(
    world: World, changes: dict[str, object], field: str
) -> None:
    command, actor = apply_command(world, **changes)

    error = refused(world, None, command, actor, InvalidInput)

    assert isinstance(error, InvalidInput)
    assert error.field == field


def test_a_buyer_id_breaking_the_id_rule_is_refused(world: World) -> None:
    command, _ = apply_command(world, buyer_id="b" * 65)

    error = refused(world, None, command, Actor(Role.BUYER, command.buyer_id), InvalidInput)

    assert isinstance(error, InvalidInput)
    assert error.field == "buyer_id"


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 1},
        {"amount": PAID},
        {"description": "x" * 500},
        {"evidence_images": tuple(f"media/{i}.jpg" for i in range(9))},
        {"evidence_images": ("m" * 512,)},
        {"request_id": "R_-" + "9" * 61},
    ],
    ids=["amount-one", "amount-paid", "description-500", "nine-images", "ref-512", "id-64"],
)
def test_apply_at_each_limit_is_accepted(world: World, changes: dict[str, object]) -> None:
    command, actor = apply_command(world, **changes)

    record = world.act(None, command, actor)

    assert record.state is MP


def test_apply_after_the_lines_after_sale_deadline_is_refused(world: World) -> None:
    command, actor = apply_command(world, after_sale_deadline_ms=world.now)

    refused(world, None, command, actor, (ActionRefused, InvalidInput))


@pytest.mark.parametrize("amount", [0, PAID + 1], ids=["zero", "above-paid"])
def test_a_modification_outside_one_to_paid_is_refused(world: World, amount: int) -> None:
    record = world.applied()

    error = refused(
        world,
        record,
        ModifyApplication(REFUND, amount, BuyerReason.QUALITY_ISSUE),
        buyer(record),
        InvalidInput,
    )

    assert isinstance(error, InvalidInput)
    assert error.field == "amount"


def test_a_negotiation_message_over_500_characters_is_refused(world: World) -> None:
    record = world.applied()
    command = Negotiate(NegotiationKind.INVITE_VERIFY, Opt.EVIDENCE_UNCLEAR, message="x" * 501)

    error = refused(world, record, command, merchant(record), InvalidInput)

    assert isinstance(error, InvalidInput)
    assert error.field == "message"


def test_a_cancel_message_over_500_characters_is_refused(world: World) -> None:
    record = world.applied()

    error = refused(world, record, Cancel("x" * 501), buyer(record), InvalidInput)

    assert isinstance(error, InvalidInput)
    assert error.field == "message"


def test_a_contact_attempt_with_ten_screenshots_is_refused(world: World) -> None:
    record = world.applied()
    shots = tuple(f"media/{i}.png" for i in range(10))
    command = RecordContactAttempt(ContactChannel.SMS, ContactOutcome.NO_REPLY, world.now, shots)

    error = refused(world, record, command, merchant(record), InvalidInput)

    assert isinstance(error, InvalidInput)
    assert error.field == "screenshots"


def test_approving_a_return_without_any_return_address_is_refused(world: World) -> None:
    record = world.applied(type=RETURN)
    record.return_address = ""  # stored before a RETURN had to carry one

    refused(world, record, Approve(), merchant(record), (ActionRefused, InvalidInput))


def test_approving_a_return_with_a_given_address_uses_it(world: World) -> None:
    record = world.applied(type=RETURN)

    after = world.act(record, Approve("Return desk, 9 Other Road"), merchant(record))

    assert (after.state, after.return_address) == (
        State.USER_WAIT_RETURN,
        "Return desk, 9 Other Road",
    )


# -- dispute proof (SPEC §3) --------------------------------------------------------------


def arbitrating(world: World, party: ProofParty) -> AfterSale:
    record = world.reach(State.PLATFORM_ARBITRATING)
    return world.act(record, RequestProof(party, "show us"), PLATFORM)


def test_only_the_party_asked_submits_proof(world: World) -> None:
    record = arbitrating(world, ProofParty.BUYER)

    refused(
        world,
        record,
        SubmitProof("invoice", IMAGES),
        merchant(record),
        (ActionRefused, PermissionDenied),
    )


def test_the_party_asked_submits_proof(world: World) -> None:
    record = arbitrating(world, ProofParty.MERCHANT)

    after = world.act(record, SubmitProof("invoice", IMAGES), merchant(record))

    assert after.state is State.PLATFORM_ARBITRATING
    assert after.dispute is not None
    assert [(p.party, tuple(p.images)) for p in after.dispute.proofs] == [(Role.MERCHANT, IMAGES)]


def test_nobody_submits_proof_before_the_platform_asks(world: World) -> None:
    record = world.reach(State.PLATFORM_ARBITRATING)

    refused(
        world, record, SubmitProof("x", IMAGES), buyer(record), (ActionRefused, PermissionDenied)
    )


def test_proof_text_over_500_characters_is_refused(world: World) -> None:
    record = arbitrating(world, ProofParty.BUYER)

    error = refused(world, record, SubmitProof("x" * 501, IMAGES), buyer(record), InvalidInput)

    assert isinstance(error, InvalidInput)
    assert error.field == "message"


def test_proof_images_are_capped_at_twenty_over_the_whole_dispute(world: World) -> None:
    nine = tuple(f"media/p{i}.jpg" for i in range(9))
    record = arbitrating(world, ProofParty.BUYER)
    record = world.act(record, SubmitProof("first", nine), buyer(record))
    record = world.act(record, RequestProof(ProofParty.MERCHANT, "yours"), PLATFORM)
    record = world.act(record, SubmitProof("second", nine), merchant(record))
    record = world.act(record, RequestProof(ProofParty.BUYER, "more"), PLATFORM)

    refused(world, record, SubmitProof("too many", nine[:3]), buyer(record), AfterSaleError)
    after = world.act(record, SubmitProof("just fits", nine[:2]), buyer(record))

    assert after.dispute is not None
    assert sum(len(p.images) for p in after.dispute.proofs) == 20


def test_proof_timeout_records_the_party_that_missed_its_deadline(world: World) -> None:
    record = arbitrating(world, ProofParty.BOTH)
    record = world.act(record, SubmitProof("invoice", IMAGES), merchant(record))

    after = world.fire(record, Action.PROOF_TIMEOUT)

    assert after.state is State.PLATFORM_ARBITRATING
    assert after.dispute is not None
    assert after.dispute.missed_proof == [Role.BUYER]
    assert after.version == record.version + 1


# -- who may do what (SPEC §9) ------------------------------------------------------------


def test_a_buyer_cannot_act_on_another_buyers_request(world: World) -> None:
    record = world.applied()

    refused(world, record, Cancel(), Actor(Role.BUYER, new_id("buyer")), PermissionDenied)


def test_a_merchant_cannot_act_on_another_shops_request(world: World) -> None:
    record = world.applied()

    refused(world, record, Approve(), Actor(Role.MERCHANT, new_id("shop")), PermissionDenied)


@pytest.mark.parametrize(
    "actor",
    [PAYMENT, PLATFORM, SYSTEM],
    ids=["payment", "platform", "system"],
)
def test_only_the_merchant_approves(world: World, actor: Actor) -> None:
    record = world.applied()

    refused(world, record, Approve(), actor, PermissionDenied)


def test_the_buyer_cannot_approve_their_own_request(world: World) -> None:
    record = world.applied()

    refused(world, record, Approve(), buyer(record), PermissionDenied)


def test_only_the_payment_service_reports_refund_results(world: World) -> None:
    record = world.reach(State.PLATFORM_REFUNDING)

    refused(world, record, RefundSucceeded(refund_id(record)), merchant(record), PermissionDenied)


def test_only_the_system_fires_timers(world: World) -> None:
    record = world.applied()

    refused(
        world,
        record,
        FireTimer(Action.MERCHANT_TIMEOUT, record.version),
        merchant(record),
        PermissionDenied,
    )


def test_a_merchant_cannot_apply_on_a_buyers_behalf(world: World) -> None:
    command, _ = apply_command(world)

    refused(world, None, command, Actor(Role.MERCHANT, command.shop_id), PermissionDenied)


def test_a_buyer_cannot_apply_as_another_buyer(world: World) -> None:
    command, _ = apply_command(world)

    refused(world, None, command, Actor(Role.BUYER, new_id("buyer")), PermissionDenied)


def test_the_platform_cannot_reject_on_the_merchants_behalf(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.NO_QUALITY_ISSUE_VERIFIED)

    refused(
        world,
        record,
        Reject(RejectReason.NO_QUALITY_ISSUE, "x", IMAGES),
        PLATFORM,
        PermissionDenied,
    )


# -- the timer table (SPEC §6) ------------------------------------------------------------

SPEC_TIMERS: dict[State, tuple[TimerKind, Action, str]] = {
    State.MERCHANT_PROCESSING: (
        TimerKind.MERCHANT_HANDLING,
        Action.MERCHANT_TIMEOUT,
        "merchant_handling_ms",
    ),
    State.USER_WAIT_CONFIRM_UPDATE: (
        TimerKind.NEGOTIATION_REPLY,
        Action.NEGOTIATION_TIMEOUT,
        "negotiation_reply_ms",
    ),
    State.USER_WAIT_RETURN: (TimerKind.RETURN_SHIP, Action.RETURN_SHIP_TIMEOUT, "return_ship_ms"),
    State.MERCHANT_WAIT_RECEIPT: (TimerKind.RECEIPT, Action.RECEIPT_TIMEOUT, "receipt_ms"),
    State.MERCHANT_REJECT_REFUND: (
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
        "escalation_window_ms",
    ),
    State.MERCHANT_REJECT_RETURN: (
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
        "escalation_window_ms",
    ),
    State.RETURN_CLOSED: (
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
        "escalation_window_ms",
    ),
    State.PLATFORM_ARBITRATING: (
        TimerKind.PROOF_DEADLINE,
        Action.PROOF_TIMEOUT,
        "proof_deadline_ms",
    ),
    State.PLATFORM_REFUNDING: (
        TimerKind.REFUND_RESULT,
        Action.REFUND_REMINDER,
        "refund_reminder_ms",
    ),
    State.PLATFORM_REFUND_FAIL: (
        TimerKind.OFFLINE_REFUND,
        Action.OFFLINE_REFUND_TIMEOUT,
        "offline_refund_ms",
    ),
    State.USER_WAIT_CONFIRM: (
        TimerKind.OFFLINE_REFUND_CONFIRM,
        Action.OFFLINE_REFUND_CONFIRM_TIMEOUT,
        "offline_refund_confirm_ms",
    ),
}


def test_the_timer_table_is_the_spec_table() -> None:
    served = {state: (s.kind, s.action, s.duration) for state, s in TIMER_TABLE.items()}

    assert served == SPEC_TIMERS


def test_a_same_state_action_keeps_the_pending_timer_firing(world: World) -> None:
    record = world.applied()
    due = record.deadline_ms
    record = world.contact_failed(record)
    assert record.deadline_ms == due

    after = world.fire(record, Action.MERCHANT_TIMEOUT)

    assert after.state is State.PLATFORM_REFUNDING
