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
from aftersale.vocabulary import QUALITY_REASONS, Action, BuyerReason, NegotiationOutcome

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
    incr: dict[str, int] = {}
    action = event.action
    if action == Action.APPLY:
        incr[APPLICATIONS] = 1
    elif action == Action.REJECT:
        incr[REJECTIONS] = 1
    elif action in (Action.ESCALATE, Action.INTERVENE):
        incr[INTERVENTIONS] = 1
        incr[f"{INTERVENTIONS}:{action}"] = 1
    option, outcome = event.negotiation.option, event.negotiation.outcome
    if option and action == Action.NEGOTIATE:
        incr[f"negotiations:{option}"] = 1
    elif option and outcome and outcome != NegotiationOutcome.OPEN:
        incr[f"negotiation_outcomes:{option}:{outcome}"] = 1
    if event.to_state in SUCCESS_STATES and event.from_state not in SUCCESS_STATES:
        klass = reason_class(event.first_reason or record.first_reason)
        amount = record.refund.amount if record.refund is not None else event.amount
        incr[REFUNDS] = 1
        incr[f"{REFUNDS}:{klass}"] = 1
        incr[REFUND_FEN] = amount
        incr[f"{REFUND_FEN}:{klass}"] = amount
    return incr


def sum_stats(parts: list[Mapping[str, str]]) -> dict[str, int]:
    """Add up per-shard counter hashes."""
    total: dict[str, int] = {}
    for part in parts:
        for name, value in part.items():
            total[name] = total.get(name, 0) + int(value)
    return total
