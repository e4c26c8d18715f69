"""Shop counters (SPEC §10): which hash fields one transition increments.

A pure function of the event and the new record, so the commit script only adds numbers.
Fields of the per-shard hash ``{as:NN}:stats:<shop_id>`` (``ShopStats`` sums the shards):

=============================================  ==========================================
``applications``                                every ``apply``
``rejections``                                  every ``reject`` (拒绝售后)
``interventions``                               ``escalate`` + ``intervene`` (纠纷介入)
``interventions:escalate|intervene``            the same, by who started it
``negotiations:<OPTION>``                       negotiations sent, per option
``negotiation_outcomes:<OPTION>:<OUTCOME>``     negotiations ended, per option and outcome
``refunds``, ``refunds:QUALITY|OTHER``          refunds completed, by first-reason class
``refund_fen``, ``refund_fen:QUALITY|OTHER``    their amounts (fen)
=============================================  ==========================================

Rates are derived, not stored: rejection rate = rejections / applications, intervention rate
= interventions / applications, quality refund share = refunds:QUALITY / refunds.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersale.events import TransitionEvent
from aftersale.groups import SUCCESS_STATES
from aftersale.model import AfterSale
from aftersale.vocabulary import (
    QUALITY_REASONS,
    Action,
    BuyerReason,
    NegotiationOption,
    NegotiationOutcome,
    State,
)

APPLICATIONS = "applications"
REJECTIONS = "rejections"
INTERVENTIONS = "interventions"
REFUNDS = "refunds"
REFUND_FEN = "refund_fen"
QUALITY = "QUALITY"
OTHER = "OTHER"


def reason_class(first_reason: BuyerReason) -> str:
    """``QUALITY`` for a quality first reason (SPEC §2), else ``OTHER``."""
    return QUALITY if first_reason in QUALITY_REASONS else OTHER


def shop_counter_increments(event: TransitionEvent, record: AfterSale) -> dict[str, int]:
    """The counter fields ``event`` (leading to ``record``) adds to, and by how much."""
    first_reason = event.first_reason or record.first_reason
    facts = event.negotiation
    incr = counted(
        event.action, event.from_state, event.to_state, facts.option, facts.outcome, first_reason
    )
    if REFUNDS in incr:
        klass = reason_class(first_reason)
        amount = record.refund.amount if record.refund is not None else event.amount
        incr[REFUND_FEN] = amount
        incr[f"{REFUND_FEN}:{klass}"] = amount
    return incr


def counted(
    action: Action,
    from_state: State | None,
    to_state: State,
    option: NegotiationOption | None,
    outcome: NegotiationOutcome | None,
    first_reason: BuyerReason,
) -> dict[str, int]:
    """The counter fields one event of these facts adds 1 to (all but the amounts): the one
    definition of the figures, for the live counters and for the archive's windows."""
    incr: dict[str, int] = {}
    if action == Action.APPLY:
        incr[APPLICATIONS] = 1
    elif action == Action.REJECT:
        incr[REJECTIONS] = 1
    elif action in (Action.ESCALATE, Action.INTERVENE):
        incr[INTERVENTIONS] = 1
        incr[f"{INTERVENTIONS}:{action}"] = 1
    if option and action == Action.NEGOTIATE:
        incr[f"negotiations:{option}"] = 1
    elif option and outcome and outcome != NegotiationOutcome.OPEN:
        incr[f"negotiation_outcomes:{option}:{outcome}"] = 1
    if to_state in SUCCESS_STATES and from_state not in SUCCESS_STATES:
        incr[REFUNDS] = 1
        incr[f"{REFUNDS}:{reason_class(first_reason)}"] = 1
    return incr


def sum_stats(parts: list[Mapping[str, str]]) -> dict[str, int]:
    """Add up per-shard counter hashes."""
    total: dict[str, int] = {}
    for part in parts:
        for name, value in part.items():
            total[name] = total.get(name, 0) + int(value)
    return total
