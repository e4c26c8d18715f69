"""The after-sale state machine (SPEC §2–§3): the one transition table, and how commands run it.

``AfterSaleMachine`` is the only python-statemachine class in the code base. Its states are
the request states of SPEC §2 (state values are the ``State`` enum members) plus ``NEW``, the
pseudo-state before ``apply``: not a request state, never stored. Its events are the actions
of SPEC §3. Final states, sources and targets are written from the named groups of states of
``aftersale.vocabulary``, which the rest of the domain reads too. Conditional transitions are
guarded by named conditions; every transition runs the ``on_transition`` callback
(``aftersale.effects``), which only writes the working copy of the record. The rules
(``aftersale.rules``) run once per command in ``run``, after the table says the action is
possible from the record's state and before ``send``.

A machine is bound to a ``RecordHolder`` and reused: each command swaps its step into the
holder and takes it out again, so the instance holds nothing between commands. Building one
costs far more than a ``send`` (DESIGN §2), so each thread keeps one; when a command ends in
a final state, which stops the instance's engine, the instance gets a new engine.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from functools import reduce
from operator import or_
from typing import Any

from statemachine import State as _State
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed

from aftersale import rules
from aftersale.commands import ResolveDispute
from aftersale.effects import apply_effects
from aftersale.exceptions import InvalidState
from aftersale.groups import (
    CANCELLABLE_STATES,
    ESCALATION_STATES,
    HANDLING_STATES,
    INTERVENABLE_STATES,
    MODIFIABLE_STATES,
    OPEN_STATES,
    REFUND_FAILED_STATES,
    SUCCESS_STATES,
    TERMINAL_STATES,
)
from aftersale.model import AfterSale
from aftersale.refusals import error_for, invalid_state
from aftersale.step import Step
from aftersale.vocabulary import AfterSaleType, NegotiationKind, State, Verdict

NEW_STATE = "NEW"  # the pseudo-state before apply: not a request state, never stored

_SUCCESS_BY_TYPE = {
    AfterSaleType.REFUND: State.MERCHANT_REFUND_SUCCESS,
    AfterSaleType.RETURN: State.MERCHANT_RETURN_SUCCESS,
}

# The request states, built before the class so its transitions can be written from the named
# groups of ``aftersale.vocabulary``; the class body names each one.
_STATES: dict[State, _State] = {s: _State(value=s, final=s in TERMINAL_STATES) for s in State}


def _in(group: Collection[State]) -> tuple[_State, ...]:
    """The machine's states of ``group``, in the order of ``State`` (the table's order)."""
    return tuple(_STATES[s] for s in State if s in group)


def _to_itself(*states: _State) -> Any:
    return reduce(or_, (s.to.itself(internal=True) for s in states))  # type: ignore[no-untyped-call]


def _back_to_handling() -> Any:
    """A negotiation answer's transitions: back to the state the negotiation was sent from
    (``aftersale.table`` checks that exactly the ``NEGOTIATION_ANSWERS`` take them)."""
    waiting = _STATES[State.USER_WAIT_CONFIRM_UPDATE]
    return waiting.to(*_in(HANDLING_STATES), cond="back_to_handling")


class AfterSaleMachine(StateMachine):
    """One after-sale request's lifecycle (售后单状态机)."""

    NEW = _State(value=NEW_STATE, initial=True)
    MERCHANT_PROCESSING = _STATES[State.MERCHANT_PROCESSING]
    USER_WAIT_CONFIRM_UPDATE = _STATES[State.USER_WAIT_CONFIRM_UPDATE]
    MERCHANT_REJECT_REFUND = _STATES[State.MERCHANT_REJECT_REFUND]
    MERCHANT_REJECT_RETURN = _STATES[State.MERCHANT_REJECT_RETURN]
    USER_WAIT_RETURN = _STATES[State.USER_WAIT_RETURN]
    MERCHANT_WAIT_RECEIPT = _STATES[State.MERCHANT_WAIT_RECEIPT]
    RETURN_CLOSED = _STATES[State.RETURN_CLOSED]
    PLATFORM_ARBITRATING = _STATES[State.PLATFORM_ARBITRATING]
    PLATFORM_REFUNDING = _STATES[State.PLATFORM_REFUNDING]
    PLATFORM_REFUND_FAIL = _STATES[State.PLATFORM_REFUND_FAIL]
    USER_WAIT_CONFIRM = _STATES[State.USER_WAIT_CONFIRM]
    MERCHANT_OVERDUE_REFUND = _STATES[State.MERCHANT_OVERDUE_REFUND]
    MERCHANT_REFUND_SUCCESS = _STATES[State.MERCHANT_REFUND_SUCCESS]
    MERCHANT_RETURN_SUCCESS = _STATES[State.MERCHANT_RETURN_SUCCESS]
    USER_CANCELD = _STATES[State.USER_CANCELD]
    MERCHANT_FAIL = _STATES[State.MERCHANT_FAIL]
    MERCHANT_REFUND_RETRY_FAIL = _STATES[State.MERCHANT_REFUND_RETRY_FAIL]

    apply = NEW.to(MERCHANT_PROCESSING)
    approve = MERCHANT_PROCESSING.to(PLATFORM_REFUNDING, cond="is_refund") | (
        MERCHANT_PROCESSING.to(USER_WAIT_RETURN, cond="is_return")
    )
    negotiate = USER_WAIT_CONFIRM_UPDATE.from_(*_in(HANDLING_STATES))
    withdraw_negotiation = _back_to_handling()
    accept_negotiation = (
        USER_WAIT_CONFIRM_UPDATE.to(PLATFORM_REFUNDING, cond="accepted_refund")
        | USER_WAIT_CONFIRM_UPDATE.to(USER_WAIT_RETURN, cond="accepted_return")
        | USER_WAIT_CONFIRM_UPDATE.to(USER_CANCELD, cond="accepted_cancel")
    )
    reject_negotiation = _back_to_handling()
    supplement_evidence = _back_to_handling()
    negotiation_timeout = _back_to_handling()
    reject = (
        MERCHANT_PROCESSING.to(MERCHANT_REJECT_REFUND, cond="is_refund")
        | MERCHANT_PROCESSING.to(MERCHANT_REJECT_RETURN, cond="is_return")
        | MERCHANT_WAIT_RECEIPT.to(MERCHANT_REJECT_RETURN)
    )
    merchant_timeout = MERCHANT_PROCESSING.to(PLATFORM_REFUNDING, cond="is_refund") | (
        MERCHANT_PROCESSING.to(USER_WAIT_RETURN, cond="is_return")
    )
    modify_application = MERCHANT_PROCESSING.from_(*_in(MODIFIABLE_STATES))
    cancel = USER_CANCELD.from_(*_in(CANCELLABLE_STATES))
    submit_return_waybill = USER_WAIT_RETURN.to(MERCHANT_WAIT_RECEIPT)
    return_ship_timeout = USER_WAIT_RETURN.to(RETURN_CLOSED)
    confirm_receipt = PLATFORM_REFUNDING.from_(MERCHANT_WAIT_RECEIPT, USER_WAIT_RETURN)
    receipt_timeout = MERCHANT_WAIT_RECEIPT.to(PLATFORM_REFUNDING)
    escalate = PLATFORM_ARBITRATING.from_(*_in(ESCALATION_STATES))
    intervene = PLATFORM_ARBITRATING.from_(*_in(INTERVENABLE_STATES))
    escalation_expired = USER_CANCELD.from_(*_in(ESCALATION_STATES))
    request_proof = _to_itself(PLATFORM_ARBITRATING)
    submit_proof = _to_itself(PLATFORM_ARBITRATING)
    proof_timeout = _to_itself(PLATFORM_ARBITRATING)
    withdraw_escalation = PLATFORM_ARBITRATING.to(*_in(ESCALATION_STATES), cond="back_to_origin")
    resolve_dispute = PLATFORM_ARBITRATING.to(
        PLATFORM_REFUNDING, cond="merchant_pays"
    ) | PLATFORM_ARBITRATING.to(MERCHANT_FAIL, cond="buyer_liable")
    refund_succeeded = PLATFORM_REFUNDING.to(*_in(SUCCESS_STATES), cond="success_by_type")
    refund_failed = PLATFORM_REFUNDING.to(PLATFORM_REFUND_FAIL)
    upload_refund_proof = USER_WAIT_CONFIRM.from_(*_in(REFUND_FAILED_STATES))
    confirm_offline_refund = USER_WAIT_CONFIRM.to(*_in(SUCCESS_STATES), cond="success_by_type")
    offline_refund_confirm_timeout = USER_WAIT_CONFIRM.to(
        *_in(SUCCESS_STATES), cond="success_by_type"
    )
    offline_refund_timeout = PLATFORM_REFUND_FAIL.to(MERCHANT_OVERDUE_REFUND)
    retry_refund = PLATFORM_REFUNDING.from_(*_in(REFUND_FAILED_STATES))
    close_refund = MERCHANT_OVERDUE_REFUND.to(MERCHANT_REFUND_RETRY_FAIL)
    record_contact_attempt = _to_itself(*_in(OPEN_STATES))
    request_contact_quota = _to_itself(*_in(OPEN_STATES))
    refund_reminder = _to_itself(PLATFORM_REFUNDING)

    # -- conditions: pure functions of the working record and the command ---------------------

    def is_refund(self, step: Step) -> bool:
        """A refund-only request (仅退款)."""
        return step.working.type == AfterSaleType.REFUND

    def is_return(self, step: Step) -> bool:
        """A return-then-refund request (退货退款)."""
        return step.working.type == AfterSaleType.RETURN

    def back_to_handling(self, step: Step, target: _State) -> bool:
        """``target`` is the state the open negotiation was sent from."""
        negotiation = step.working.negotiation
        return negotiation is not None and negotiation.handling_state == target.value

    def accepted_refund(self, step: Step) -> bool:
        """Accepting this modification refunds at once."""
        negotiation = step.working.negotiation
        if negotiation is None or negotiation.kind != NegotiationKind.MODIFY_APPLICATION:
            return False
        new_type = negotiation.proposed_type or step.working.type
        # Goods already back with the merchant: accepting refunds without another return.
        return (
            new_type == AfterSaleType.REFUND
            or negotiation.handling_state == State.MERCHANT_WAIT_RECEIPT
        )

    def accepted_return(self, step: Step) -> bool:
        """Accepting this modification leaves goods to ship back first."""
        negotiation = step.working.negotiation
        return (
            negotiation is not None
            and negotiation.kind == NegotiationKind.MODIFY_APPLICATION
            and not self.accepted_refund(step)
        )

    def accepted_cancel(self, step: Step) -> bool:
        """Accepting this invitation cancels the request."""
        negotiation = step.working.negotiation
        return negotiation is not None and negotiation.kind == NegotiationKind.INVITE_CANCEL

    def back_to_origin(self, step: Step, target: _State) -> bool:
        """``target`` is the state the buyer escalated from."""
        dispute = step.working.dispute
        return dispute is not None and dispute.escalated_from == target.value

    def merchant_pays(self, step: Step) -> bool:
        """The verdict makes the merchant pay all or part of the refund."""
        return not self.buyer_liable(step)

    def buyer_liable(self, step: Step) -> bool:
        """The verdict finds the buyer liable: no refund."""
        command = step.command
        return isinstance(command, ResolveDispute) and command.verdict == Verdict.BUYER_LIABLE

    def success_by_type(self, step: Step, target: _State) -> bool:
        """``target`` is the success state of the request's type."""
        return bool(_SUCCESS_BY_TYPE[step.working.type] == target.value)

    # -- the one callback: compute the new fields ------------------------------------------

    def on_transition(self, step: Step, source: _State, target: _State) -> None:
        """Every transition's one callback: write the action's effects on the working copy."""
        origin = None if source.value == NEW_STATE else State(source.value)
        apply_effects(step, origin, State(target.value))


def _sources() -> dict[str, frozenset[str]]:
    """Each event's source state values, read from the class: the table stays the machine's."""
    sources: dict[str, set[str]] = {}
    for state in AfterSaleMachine.states:
        for transition in state.transitions:
            for event in transition.events:
                sources.setdefault(str(event), set()).add(str(state.value))
    return {event: frozenset(values) for event, values in sources.items()}


_SOURCES = _sources()


class RecordHolder:
    """The machine's model: the step being run (its record's state is the machine's state),
    or nothing between commands."""

    __slots__ = ("step",)

    def __init__(self) -> None:
        self.step: Step | None = None

    @property
    def state(self) -> str:
        record = self.step.record if self.step is not None else None
        return record.state if record is not None else NEW_STATE

    @state.setter
    def state(self, value: str) -> None:
        record = self.step.record if self.step is not None else None
        if record is not None and value != NEW_STATE:
            record.state = State(value)


# -- running one step -----------------------------------------------------------------------

_local = threading.local()


def _reused_machine() -> tuple[AfterSaleMachine, RecordHolder]:
    pair: tuple[AfterSaleMachine, RecordHolder] | None = getattr(_local, "machine", None)
    if pair is None:
        holder = RecordHolder()
        pair = (AfterSaleMachine(model=holder), holder)
        _local.machine = pair
    return pair


def run(step: Step) -> AfterSale:
    """Send ``step.action`` through the machine over ``step.record``; return the new record.

    The rules (``aftersale.rules``) run once, here, before ``send``: only when the machine has
    a transition for the action from the record's state, so a rule's refusal never hides
    INVALID_STATE. (As a validator on every transition they cost a callback dispatch per
    candidate transition; the answer is the same.)"""
    record = step.record
    if (record.state if record is not None else NEW_STATE) not in _SOURCES[step.action.value]:
        raise _invalid_state(step)
    refused = rules.refusal_for(record, step.command, step.actor, step.now_ms, step.policy)
    if refused is not None:
        state = record.state if record else None
        raise error_for(refused, record.request_id if record else "", state, step.action)
    machine, holder = _reused_machine()
    holder.step = step
    try:
        machine.send(step.action.value, step=step)
    except TransitionNotAllowed:  # no condition held: the state does not allow it either
        raise _invalid_state(step) from None
    finally:
        holder.step = None
        # The engine caches the last event's arguments (the step) until the next event; drop
        # them so a reused instance keeps no record between commands.
        machine._engine.clear_cache()
        if machine.is_terminated:
            _restart(machine)
    return step.working


def _restart(machine: AfterSaleMachine) -> None:
    """Give an instance whose engine stopped in a final state a new engine.

    Entering a final state stops the engine for good. The library restores an unpickled
    instance the same way (a new engine over the registered callbacks), which costs a small
    fraction of building an instance; the state still comes from the holder, empty now."""
    machine._engine = machine._get_engine()  # type: ignore[no-untyped-call]
    machine._engine.start()
    if machine.is_terminated:  # a library that no longer allows it: build a new instance
        _local.machine = None


def _invalid_state(step: Step) -> InvalidState:
    from aftersale.table import SOURCES_OF  # noqa: PLC0415 - the table reads this module's class

    record = step.record
    state = record.state if record is not None else None
    sources = tuple(s for s in SOURCES_OF[step.action] if s is not None)
    refused = invalid_state(step.action, state, sources)
    # The actions possible now depend on the guards and the caller: the application layer
    # adds them (``aftersale.allowed``, the same answer as GetAllowedActions).
    error = error_for(refused, record.request_id if record else "", state, step.action)
    assert isinstance(error, InvalidState)
    return error
