"""The after-sale state machine (SPEC §2–§3): the one transition table, and how commands run it.

``AfterSaleMachine`` is the only python-statemachine class in the code base. Its states are
the request states of SPEC §2 (state values are the ``State`` enum members) plus ``NEW``, the
pseudo-state before ``apply``: not a request state, never stored. Its events are the actions
of SPEC §3. Conditional transitions are guarded by named conditions; every transition runs
the ``check_rules`` validator (``aftersale.rules``) and the ``on_transition`` callback
(``aftersale.effects``), which only writes the working copy of the record.

A machine is bound to a ``RecordHolder`` and reused: each command swaps its step into the
holder and takes it out again, so the instance holds nothing between commands. Building one
costs far more than a ``send`` (DESIGN §2), so each thread keeps one; when a command ends in
a final state, which stops the instance's engine, the instance gets a new engine.
"""

from __future__ import annotations

import threading
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
from aftersale.model import AfterSale
from aftersale.refusals import error_for, invalid_state
from aftersale.step import Step
from aftersale.vocabulary import (
    ACTION_ROLES,
    Action,
    AfterSaleType,
    NegotiationKind,
    State,
    Verdict,
)

NEW_STATE = "NEW"  # the pseudo-state before apply: not a request state, never stored

_CHECK = {"validators": "check_rules"}
_SUCCESS_BY_TYPE = {
    AfterSaleType.REFUND: State.MERCHANT_REFUND_SUCCESS,
    AfterSaleType.RETURN: State.MERCHANT_RETURN_SUCCESS,
}


def _to_itself(*states: _State) -> Any:
    return reduce(or_, (s.to.itself(internal=True, **_CHECK) for s in states))  # type: ignore[no-untyped-call]


class AfterSaleMachine(StateMachine):
    """One after-sale request's lifecycle (售后单状态机)."""

    NEW = _State(value=NEW_STATE, initial=True)
    MERCHANT_PROCESSING = _State(value=State.MERCHANT_PROCESSING)
    USER_WAIT_CONFIRM_UPDATE = _State(value=State.USER_WAIT_CONFIRM_UPDATE)
    MERCHANT_REJECT_REFUND = _State(value=State.MERCHANT_REJECT_REFUND)
    MERCHANT_REJECT_RETURN = _State(value=State.MERCHANT_REJECT_RETURN)
    USER_WAIT_RETURN = _State(value=State.USER_WAIT_RETURN)
    MERCHANT_WAIT_RECEIPT = _State(value=State.MERCHANT_WAIT_RECEIPT)
    RETURN_CLOSED = _State(value=State.RETURN_CLOSED)
    PLATFORM_ARBITRATING = _State(value=State.PLATFORM_ARBITRATING)
    PLATFORM_REFUNDING = _State(value=State.PLATFORM_REFUNDING)
    PLATFORM_REFUND_FAIL = _State(value=State.PLATFORM_REFUND_FAIL)
    USER_WAIT_CONFIRM = _State(value=State.USER_WAIT_CONFIRM)
    MERCHANT_OVERDUE_REFUND = _State(value=State.MERCHANT_OVERDUE_REFUND)
    MERCHANT_REFUND_SUCCESS = _State(value=State.MERCHANT_REFUND_SUCCESS, final=True)
    MERCHANT_RETURN_SUCCESS = _State(value=State.MERCHANT_RETURN_SUCCESS, final=True)
    USER_CANCELD = _State(value=State.USER_CANCELD, final=True)
    MERCHANT_FAIL = _State(value=State.MERCHANT_FAIL, final=True)
    MERCHANT_REFUND_RETRY_FAIL = _State(value=State.MERCHANT_REFUND_RETRY_FAIL, final=True)

    _open = (
        MERCHANT_PROCESSING,
        USER_WAIT_CONFIRM_UPDATE,
        MERCHANT_REJECT_REFUND,
        MERCHANT_REJECT_RETURN,
        USER_WAIT_RETURN,
        MERCHANT_WAIT_RECEIPT,
        RETURN_CLOSED,
        PLATFORM_ARBITRATING,
        PLATFORM_REFUNDING,
        PLATFORM_REFUND_FAIL,
        USER_WAIT_CONFIRM,
        MERCHANT_OVERDUE_REFUND,
    )
    _rejected = (MERCHANT_REJECT_REFUND, MERCHANT_REJECT_RETURN)
    _handling = (MERCHANT_PROCESSING, MERCHANT_WAIT_RECEIPT)
    _success = (MERCHANT_REFUND_SUCCESS, MERCHANT_RETURN_SUCCESS)

    apply = NEW.to(MERCHANT_PROCESSING, **_CHECK)
    approve = MERCHANT_PROCESSING.to(PLATFORM_REFUNDING, cond="is_refund", **_CHECK) | (
        MERCHANT_PROCESSING.to(USER_WAIT_RETURN, cond="is_return", **_CHECK)
    )
    negotiate = USER_WAIT_CONFIRM_UPDATE.from_(*_handling, **_CHECK)
    withdraw_negotiation = USER_WAIT_CONFIRM_UPDATE.to(
        *_handling, cond="back_to_handling", **_CHECK
    )
    accept_negotiation = (
        USER_WAIT_CONFIRM_UPDATE.to(PLATFORM_REFUNDING, cond="accepted_refund", **_CHECK)
        | USER_WAIT_CONFIRM_UPDATE.to(USER_WAIT_RETURN, cond="accepted_return", **_CHECK)
        | USER_WAIT_CONFIRM_UPDATE.to(USER_CANCELD, cond="accepted_cancel", **_CHECK)
    )
    reject_negotiation = USER_WAIT_CONFIRM_UPDATE.to(*_handling, cond="back_to_handling", **_CHECK)
    supplement_evidence = USER_WAIT_CONFIRM_UPDATE.to(*_handling, cond="back_to_handling", **_CHECK)
    negotiation_timeout = USER_WAIT_CONFIRM_UPDATE.to(*_handling, cond="back_to_handling", **_CHECK)
    reject = (
        MERCHANT_PROCESSING.to(MERCHANT_REJECT_REFUND, cond="is_refund", **_CHECK)
        | MERCHANT_PROCESSING.to(MERCHANT_REJECT_RETURN, cond="is_return", **_CHECK)
        | MERCHANT_WAIT_RECEIPT.to(MERCHANT_REJECT_RETURN, **_CHECK)
    )
    merchant_timeout = MERCHANT_PROCESSING.to(PLATFORM_REFUNDING, cond="is_refund", **_CHECK) | (
        MERCHANT_PROCESSING.to(USER_WAIT_RETURN, cond="is_return", **_CHECK)
    )
    modify_application = MERCHANT_PROCESSING.from_(
        MERCHANT_PROCESSING, USER_WAIT_CONFIRM_UPDATE, *_rejected, **_CHECK
    )
    cancel = USER_CANCELD.from_(
        MERCHANT_PROCESSING,
        USER_WAIT_CONFIRM_UPDATE,
        *_rejected,
        USER_WAIT_RETURN,
        RETURN_CLOSED,
        **_CHECK,
    )
    submit_return_waybill = USER_WAIT_RETURN.to(MERCHANT_WAIT_RECEIPT, **_CHECK)
    return_ship_timeout = USER_WAIT_RETURN.to(RETURN_CLOSED, **_CHECK)
    confirm_receipt = PLATFORM_REFUNDING.from_(MERCHANT_WAIT_RECEIPT, USER_WAIT_RETURN, **_CHECK)
    receipt_timeout = MERCHANT_WAIT_RECEIPT.to(PLATFORM_REFUNDING, **_CHECK)
    escalate = PLATFORM_ARBITRATING.from_(*_rejected, RETURN_CLOSED, **_CHECK)
    # Not from PLATFORM_ARBITRATING (the platform is already in) nor PLATFORM_REFUNDING (the
    # money is in flight: the payment service's answer must land, or a paid refund is lost).
    intervene = PLATFORM_ARBITRATING.from_(
        MERCHANT_PROCESSING,
        USER_WAIT_CONFIRM_UPDATE,
        *_rejected,
        USER_WAIT_RETURN,
        MERCHANT_WAIT_RECEIPT,
        RETURN_CLOSED,
        PLATFORM_REFUND_FAIL,
        USER_WAIT_CONFIRM,
        MERCHANT_OVERDUE_REFUND,
        **_CHECK,
    )
    escalation_expired = USER_CANCELD.from_(*_rejected, RETURN_CLOSED, **_CHECK)
    request_proof = _to_itself(PLATFORM_ARBITRATING)
    submit_proof = _to_itself(PLATFORM_ARBITRATING)
    proof_timeout = _to_itself(PLATFORM_ARBITRATING)
    withdraw_escalation = PLATFORM_ARBITRATING.to(
        *_rejected, RETURN_CLOSED, cond="back_to_origin", **_CHECK
    )
    resolve_dispute = PLATFORM_ARBITRATING.to(
        PLATFORM_REFUNDING, cond="merchant_pays", **_CHECK
    ) | PLATFORM_ARBITRATING.to(MERCHANT_FAIL, cond="buyer_liable", **_CHECK)
    refund_succeeded = PLATFORM_REFUNDING.to(*_success, cond="success_by_type", **_CHECK)
    refund_failed = PLATFORM_REFUNDING.to(PLATFORM_REFUND_FAIL, **_CHECK)
    upload_refund_proof = USER_WAIT_CONFIRM.from_(
        PLATFORM_REFUND_FAIL, MERCHANT_OVERDUE_REFUND, **_CHECK
    )
    confirm_offline_refund = USER_WAIT_CONFIRM.to(*_success, cond="success_by_type", **_CHECK)
    offline_refund_confirm_timeout = USER_WAIT_CONFIRM.to(
        *_success, cond="success_by_type", **_CHECK
    )
    offline_refund_timeout = PLATFORM_REFUND_FAIL.to(MERCHANT_OVERDUE_REFUND, **_CHECK)
    retry_refund = PLATFORM_REFUNDING.from_(PLATFORM_REFUND_FAIL, MERCHANT_OVERDUE_REFUND, **_CHECK)
    close_refund = MERCHANT_OVERDUE_REFUND.to(MERCHANT_REFUND_RETRY_FAIL, **_CHECK)
    record_contact_attempt = _to_itself(*_open)
    request_contact_quota = _to_itself(*_open)
    del _open, _rejected, _handling, _success

    # -- guards: pure functions of the working record and the command -------------------------

    def check_rules(self, step: Step) -> None:
        """Validator of every transition: SPEC §3–§5 and §8 through ``aftersale.rules``."""
        if step.checked:
            return
        refused = rules.refusal_for(step.record, step.command, step.actor, step.now_ms, step.policy)
        if refused is not None:
            record = step.record
            state = record.state if record else None
            raise error_for(refused, record.request_id if record else "", state, step.action)
        step.checked = True

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


def run(step: Step, *, reuse: bool = True) -> AfterSale:
    """Send ``step.action`` through the machine over ``step.record``; return the new record.

    ``reuse=False`` builds a machine for this one step (the slow path, kept for comparison)."""
    if reuse:
        machine, holder = _reused_machine()
    else:
        holder = RecordHolder()
        machine = AfterSaleMachine(model=holder)
    holder.step = step
    try:
        machine.send(step.action.value, step=step)
    except TransitionNotAllowed:
        raise _invalid_state(machine, step) from None
    finally:
        holder.step = None
        # The engine caches the last event's arguments (the step) until the next event; drop
        # them so a reused instance keeps no record between commands.
        machine._engine.clear_cache()
        if reuse and machine.is_terminated:
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


def _invalid_state(machine: AfterSaleMachine, step: Step) -> InvalidState:
    record = step.record
    state = record.state if record is not None else None
    role = step.actor.role
    events = (Action(event.id) for event in machine.allowed_events)
    allowed = tuple(dict.fromkeys(a for a in events if role in ACTION_ROLES[a]))
    refused = invalid_state(step.action, state, allowed)
    error = error_for(refused, record.request_id if record else "", state, step.action, allowed)
    assert isinstance(error, InvalidState)
    return error
