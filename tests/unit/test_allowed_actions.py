""" "Which actions are allowed now, and why not the others" agrees with ``decide``."""

from __future__ import annotations

from typing import Any

import pytest

from aftersale.allowed import allowed_actions
from aftersale.commands import (
    AcceptNegotiation,
    Approve,
    Cancel,
    CloseRefund,
    Command,
    ConfirmOfflineRefund,
    ConfirmReceipt,
    FireTimer,
    Intervene,
    RejectNegotiation,
    RequestContactQuota,
    RetryRefund,
    WithdrawEscalation,
    WithdrawNegotiation,
)
from aftersale.decide import decide
from aftersale.exceptions import AfterSaleError
from aftersale.groups import TERMINAL_STATES
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import TIMER_ACTIONS, Action, NegotiationOption, Role, State
from tests.unit.builders import (
    NON_TERMINAL,
    PAYMENT,
    PLATFORM,
    SYSTEM,
    TERMINAL,
    World,
    buyer,
    merchant,
)

Opt = NegotiationOption

# Actions whose command needs nothing but the record, so "allowed" can be checked by sending.
NO_ARGUMENTS: dict[Action, Command] = {
    Action.APPROVE: Approve(),
    Action.WITHDRAW_NEGOTIATION: WithdrawNegotiation(),
    Action.ACCEPT_NEGOTIATION: AcceptNegotiation(),
    Action.REJECT_NEGOTIATION: RejectNegotiation(),
    Action.CANCEL: Cancel(),
    Action.CONFIRM_RECEIPT: ConfirmReceipt(),
    Action.INTERVENE: Intervene(),
    Action.WITHDRAW_ESCALATION: WithdrawEscalation(),
    Action.CONFIRM_OFFLINE_REFUND: ConfirmOfflineRefund(),
    Action.RETRY_REFUND: RetryRefund(),
    Action.CLOSE_REFUND: CloseRefund(),
    Action.REQUEST_CONTACT_QUOTA: RequestContactQuota(),
}


def command_for(action: Action, record: AfterSale) -> Command | None:
    if action in TIMER_ACTIONS:
        return FireTimer(action, record.version)
    return NO_ARGUMENTS.get(action)


def everyone(record: AfterSale) -> list[Actor]:
    return [buyer(record), merchant(record), PAYMENT, PLATFORM, SYSTEM]


STATES = [*NON_TERMINAL, *TERMINAL]


def verdicts_for(world: World, record: AfterSale, actor: Actor) -> dict[Action, Any]:
    return {v.action: v for v in allowed_actions(record, actor, world.now, world.policy)}


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.value)
def test_what_is_reported_allowed_succeeds_and_what_is_refused_fails(
    world: World, state: State
) -> None:
    record = world.reach(state)
    checked = 0

    for actor in everyone(record):
        for verdict in allowed_actions(record, actor, world.now, world.policy):
            command = command_for(verdict.action, record)
            if command is None:
                continue
            checked += 1
            if verdict.allowed:
                decision = decide(record, command, actor, world.now, world.policy)
                assert decision.record.version >= record.version, verdict
            else:
                with pytest.raises(AfterSaleError):
                    decide(record, command, actor, world.now, world.policy)

    assert checked > 0


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.value)
def test_every_refusal_carries_a_reason_and_zh_and_en_texts(world: World, state: State) -> None:
    record = world.reach(state)

    for actor in everyone(record):
        for verdict in allowed_actions(record, actor, world.now, world.policy):
            if verdict.allowed:
                assert verdict.refusal is None, verdict
                continue
            refusal = verdict.refusal
            assert refusal is not None, verdict
            assert refusal.reason, verdict
            assert refusal.message_en and refusal.message_zh, verdict
            if record.state not in TERMINAL_STATES and actor.role is not Role.SYSTEM:
                assert refusal.next_step_en and refusal.next_step_zh, verdict


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.value)
def test_each_party_sees_a_verdict_for_each_of_its_actions(world: World, state: State) -> None:
    record = world.reach(state)

    seen = {v.action for v in allowed_actions(record, merchant(record), world.now, world.policy)}

    assert {Action.APPROVE, Action.NEGOTIATE, Action.REJECT} <= seen


def test_nothing_is_allowed_on_a_terminal_request(world: World) -> None:
    record = world.reach(State.MERCHANT_REFUND_SUCCESS)

    allowed = [
        v.action
        for actor in everyone(record)
        for v in allowed_actions(record, actor, world.now, world.policy)
        if v.allowed
    ]

    assert allowed == []


def test_the_merchant_sees_approve_negotiate_and_a_refused_reject_at_first(world: World) -> None:
    record = world.applied()

    verdicts = verdicts_for(world, record, merchant(record))

    assert verdicts[Action.APPROVE].allowed
    assert verdicts[Action.NEGOTIATE].allowed
    reject = verdicts[Action.REJECT]
    assert not reject.allowed
    assert reject.refusal is not None
    assert reject.refusal.reason == "NEGOTIATION_REQUIRED"


def test_after_failed_contact_attempts_a_refused_reject_recommends_unable_to_contact(
    world: World,
) -> None:
    record = world.contact_failed(world.contact_failed(world.applied()))

    verdicts = verdicts_for(world, record, merchant(record))

    reject = verdicts[Action.REJECT]
    assert not reject.allowed
    assert reject.refusal is not None
    advice = f"{reject.refusal.next_step_en} {reject.refusal.next_step_zh}"
    assert "UNABLE_TO_CONTACT" in advice or "无法联系或联系不上买家" in advice, advice


def test_after_a_failed_matching_negotiation_reject_is_allowed(world: World) -> None:
    record = world.failed_negotiation(world.applied(), Opt.AMOUNT_ONLY)

    verdicts = verdicts_for(world, record, merchant(record))

    assert verdicts[Action.REJECT].allowed


def test_the_buyer_is_not_offered_merchant_actions(world: World) -> None:
    record = world.applied()

    verdicts = verdicts_for(world, record, buyer(record))

    assert Action.APPROVE not in verdicts or not verdicts[Action.APPROVE].allowed
    assert verdicts[Action.CANCEL].allowed
