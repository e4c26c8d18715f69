"""The groups of states SPEC §2–§3 speak of, each named once.

The machine writes its final states and transitions from them (``aftersale.machine``), and
the timers, events, refunds and rules read the same groups, so a change to one group is one
edit.
"""

from __future__ import annotations

from aftersale.vocabulary import State

# Groups of states, each named once: the machine's final states and transitions are written
# from them, and the rest of the domain reads the same groups.
TERMINAL_STATES: frozenset[State] = frozenset(
    {
        State.MERCHANT_REFUND_SUCCESS,
        State.MERCHANT_RETURN_SUCCESS,
        State.USER_CANCELD,
        State.MERCHANT_FAIL,
        State.MERCHANT_REFUND_RETRY_FAIL,
    }
)
OPEN_STATES: frozenset[State] = frozenset(State) - TERMINAL_STATES
SUCCESS_STATES: frozenset[State] = frozenset(
    {State.MERCHANT_REFUND_SUCCESS, State.MERCHANT_RETURN_SUCCESS}
)
# Where the merchant handles the request and may negotiate; a negotiation returns here.
HANDLING_STATES: frozenset[State] = frozenset(
    {State.MERCHANT_PROCESSING, State.MERCHANT_WAIT_RECEIPT}
)
REJECTED_STATES: frozenset[State] = frozenset(
    {State.MERCHANT_REJECT_REFUND, State.MERCHANT_REJECT_RETURN}
)
# Where the buyer may ask the platform to step in while the escalation window is open, and
# where a withdrawn escalation returns.
ESCALATION_STATES: frozenset[State] = REJECTED_STATES | {State.RETURN_CLOSED}
# Where the buyer may still change the application: the merchant has not agreed to it.
MODIFIABLE_STATES: frozenset[State] = REJECTED_STATES | {
    State.MERCHANT_PROCESSING,
    State.USER_WAIT_CONFIRM_UPDATE,
}
# Where the buyer may withdraw the request: no refund, arbitration or returned parcel under way.
CANCELLABLE_STATES: frozenset[State] = ESCALATION_STATES | {
    State.MERCHANT_PROCESSING,
    State.USER_WAIT_CONFIRM_UPDATE,
    State.USER_WAIT_RETURN,
}
# Not PLATFORM_ARBITRATING (the platform is already in) nor PLATFORM_REFUNDING (the money is
# in flight: the payment service's answer must land, or a paid refund is lost).
INTERVENABLE_STATES: frozenset[State] = OPEN_STATES - {
    State.PLATFORM_ARBITRATING,
    State.PLATFORM_REFUNDING,
}
# The refund failed: the merchant may refund offline, the platform may retry.
REFUND_FAILED_STATES: frozenset[State] = frozenset(
    {State.PLATFORM_REFUND_FAIL, State.MERCHANT_OVERDUE_REFUND}
)
