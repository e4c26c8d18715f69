"""Timers as data (SPEC §6): which timer runs in each state, when it is due, what it fires.

A request has at most one pending timer. ``timer_after`` computes it after every step;
storage replaces the stored timer with it in the same commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from aftersale.groups import ESCALATION_STATES
from aftersale.model import AfterSale, PendingTimer
from aftersale.policy import Policy, TimerDurations
from aftersale.vocabulary import NEGOTIATION_ANSWERS, Action, State, TimerKind


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """The timer of one state: its kind, the action it fires and the duration that sets it."""

    kind: TimerKind
    action: Action
    duration: str  # a field of TimerDurations
    note: str  # how the due time is set, for the README


_FRESH = "merchant_after_negotiation_ms"

TIMER_TABLE: dict[State, TimerSpec] = {
    State.MERCHANT_PROCESSING: TimerSpec(
        TimerKind.MERCHANT_HANDLING,
        Action.MERCHANT_TIMEOUT,
        "merchant_handling_ms",
        "from the (modified) application; a fresh merchant_after_negotiation_ms after a "
        "negotiation ends",
    ),
    State.USER_WAIT_CONFIRM_UPDATE: TimerSpec(
        TimerKind.NEGOTIATION_REPLY,
        Action.NEGOTIATION_TIMEOUT,
        "negotiation_reply_ms",
        "from sending the negotiation",
    ),
    State.USER_WAIT_RETURN: TimerSpec(
        TimerKind.RETURN_SHIP, Action.RETURN_SHIP_TIMEOUT, "return_ship_ms", "from the approval"
    ),
    State.MERCHANT_WAIT_RECEIPT: TimerSpec(
        TimerKind.RECEIPT,
        Action.RECEIPT_TIMEOUT,
        "receipt_ms",
        "from the waybill; a fresh merchant_after_negotiation_ms after a negotiation ends",
    ),
    State.MERCHANT_REJECT_REFUND: TimerSpec(
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
        "escalation_window_ms",
        "from the rejection; kept through a withdrawn escalation",
    ),
    State.MERCHANT_REJECT_RETURN: TimerSpec(
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
        "escalation_window_ms",
        "from the rejection; kept through a withdrawn escalation",
    ),
    State.RETURN_CLOSED: TimerSpec(
        TimerKind.ESCALATION_WINDOW,
        Action.ESCALATION_EXPIRED,
        "escalation_window_ms",
        "from the missed shipping deadline; kept through a withdrawn escalation",
    ),
    State.PLATFORM_ARBITRATING: TimerSpec(
        TimerKind.PROOF_DEADLINE,
        Action.PROOF_TIMEOUT,
        "proof_deadline_ms",
        "the earliest open proof request's deadline; none while no proof is asked for",
    ),
    State.PLATFORM_REFUNDING: TimerSpec(
        TimerKind.REFUND_RESULT,
        Action.REFUND_REMINDER,
        "refund_reminder_ms",
        "from the refund request, again after each reminder; none once flagged for ops",
    ),
    State.PLATFORM_REFUND_FAIL: TimerSpec(
        TimerKind.OFFLINE_REFUND,
        Action.OFFLINE_REFUND_TIMEOUT,
        "offline_refund_ms",
        "from the failed refund",
    ),
    State.USER_WAIT_CONFIRM: TimerSpec(
        TimerKind.OFFLINE_REFUND_CONFIRM,
        Action.OFFLINE_REFUND_CONFIRM_TIMEOUT,
        "offline_refund_confirm_ms",
        "from the merchant's refund proof",
    ),
}


def duration_ms(durations: TimerDurations, name: str) -> int:
    """The configured duration called ``name``."""
    value = getattr(durations, name)
    assert isinstance(value, int)
    return value


def timer_after(
    before: AfterSale | None, after: AfterSale, action: Action, now_ms: int, policy: Policy
) -> PendingTimer | None:
    """The timer pending once ``action`` took the request from ``before`` to ``after``."""
    spec = TIMER_TABLE.get(after.state)
    if spec is None:
        return None
    if after.state == State.PLATFORM_ARBITRATING:
        return _proof_timer(after, spec)
    if after.refund is not None and after.refund.flagged_at_ms is not None:
        return None  # reminded enough: ops took over (the state has no other timer)
    restarts = action in (Action.MODIFY_APPLICATION, Action.REFUND_REMINDER)
    if before is not None and before.state == after.state and not restarts:
        return before.timer  # a same-state action keeps the clock running
    if after.state in ESCALATION_STATES:
        # The window opened when the request first got here; a withdrawn escalation does not
        # reopen it, and a deadline already past fires at once.
        deadline = after.escalation_deadline_ms
        return PendingTimer(spec.kind, spec.action, max(deadline or now_ms, now_ms))
    # Back in the handling state from a negotiation, the merchant's clock restarts afresh.
    name = _FRESH if action in NEGOTIATION_ANSWERS else spec.duration
    return PendingTimer(spec.kind, spec.action, now_ms + duration_ms(policy.durations, name))


def _proof_timer(after: AfterSale, spec: TimerSpec) -> PendingTimer | None:
    requests = after.dispute.proof_requests if after.dispute else []
    deadlines = [r.deadline_ms for r in requests if r.open_parties]
    return PendingTimer(spec.kind, spec.action, min(deadlines)) if deadlines else None
