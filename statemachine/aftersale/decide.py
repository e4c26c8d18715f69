"""One command against one record: the domain's single entry point for writes.

``decide`` copies the record, runs the machine over the copy with the command, bumps the
version and returns the new record, its transition event and its timer. A refused command
raises (an ``AfterSaleError``) and the stored record is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from aftersale import machine, rules
from aftersale.commands import Apply, Command, FireTimer, RefundFailed, RefundSucceeded, action_of
from aftersale.events import TransitionEvent, transition_event
from aftersale.exceptions import ActionRefused, NotFound, PermissionDenied, StaleTimer
from aftersale.groups import SUCCESS_STATES
from aftersale.model import Actor, AfterSale, PendingTimer
from aftersale.policy import Policy
from aftersale.refusals import refusal
from aftersale.step import Step
from aftersale.timers import timer_after
from aftersale.validation import validate
from aftersale.vocabulary import Action


@dataclass(frozen=True, slots=True)
class Decision:
    """What one command decided: the record to store, its event, the timer it replaces."""

    record: AfterSale  # the new record (version + 1), or the unchanged one for a no-op
    event: TransitionEvent | None  # None: an idempotent no-op (nothing to commit)
    previous_timer: PendingTimer | None  # the timer the commit replaces


def decide(
    record: AfterSale | None,
    command: Command,
    actor: Actor,
    now_ms: int,
    policy: Policy,
    forced_by: Actor | None = None,
) -> Decision:
    """Run ``command`` by ``actor`` at ``now_ms`` over ``record`` (None only for ``Apply``);
    ``forced_by`` is the operator who fires a timer early (recorded in the event).

    Raises ``InvalidInput`` (a field), ``NotFound`` (no record for a non-apply command),
    ``PermissionDenied`` (role or ownership), ``StaleTimer`` (a timer that no longer
    matches) or another ``ActionRefused`` (a guard or the state)."""
    validate(command, record, now_ms, policy, actor)
    if record is None and not isinstance(command, Apply):
        raise NotFound("")
    why = rules.ownership_violation(record, command, actor)
    if why is not None:
        request_id = record.request_id if record else getattr(command, "request_id", "")
        raise PermissionDenied(request_id, f"{actor.role.value}:{actor.id}", why)
    if record is not None and isinstance(command, FireTimer):
        _check_timer(record, command)
    if record is not None and _already_reported(record, command):
        return Decision(record, None, record.timer)

    action = action_of(command)
    step = Step(command, actor, now_ms, policy, record=record.copy() if record else None)
    after = machine.run(step)
    after.version = (record.version if record else 0) + 1
    after.updated_at_ms = now_ms
    after.timer = timer_after(record, after, action, now_ms, policy)
    event = transition_event(
        record, after, action, actor, now_ms, tuple(step.signals), step.touched, forced_by
    )
    return Decision(after, event, record.timer if record else None)


def _check_timer(record: AfterSale, command: FireTimer) -> None:
    timer = record.timer
    if command.version != record.version or timer is None or timer.action != command.timer_action:
        refused = refusal("STALE_TIMER", action=command.timer_action.value)
        raise StaleTimer(record.request_id, record.state, command.timer_action, refused)


def _already_reported(record: AfterSale, command: Command) -> bool:
    """A payment report repeated after it took effect (the payment service retries): a
    success on a request its success completed, a failure already recorded."""
    refund = record.refund
    if refund is None or not isinstance(command, RefundSucceeded | RefundFailed):
        return False
    if command.refund_id != refund.refund_id:
        return False
    if isinstance(command, RefundFailed):
        return refund.failed_at_ms is not None
    if record.state in SUCCESS_STATES and refund.failed_at_ms is not None:
        # Settled offline after this refund failed, and now the payment service says it paid
        # too: the buyer was paid twice. Refuse loudly so the payment service alerts ops.
        raise ActionRefused(
            record.request_id,
            record.state,
            Action.REFUND_SUCCEEDED,
            refusal(
                "REFUND_SETTLED_OFFLINE", refund_id=refund.refund_id, request_id=record.request_id
            ),
        )
    return record.state in SUCCESS_STATES
