"""Reading transition events the previous release wrote: the flat form.

Until events became proto JSON (``event_codec``), a stream entry held every non-empty field
of the domain event as its own entry field, each value as its text (enum values such as
``approve`` and ``PLATFORM_REFUNDING``, signals comma-separated, the negotiation facts as a
compact JSON object); the version and the amount were always there. A history row was the
same fields as one JSON object plus ``event_id``. Entries and rows in that form stay readable
here until they are trimmed; nothing writes this form any more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar

from aftersale.events import NegotiationFacts, TransitionEvent
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    CloseReason,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    RefundReason,
    RejectReason,
    Role,
    Signal,
    State,
    Verdict,
)

_E = TypeVar("_E")


def _optional(parse: Callable[[str], _E], value: str | None) -> _E | None:
    return None if value is None else parse(value)


def negotiation_from_json(raw: str) -> NegotiationFacts:
    """The facts of the form's ``negotiation`` field (only those present)."""
    data: dict[str, Any] = json.loads(raw)
    return NegotiationFacts(
        round=data.get("round"),
        kind=_optional(NegotiationKind, data.get("kind")),
        option=_optional(NegotiationOption, data.get("option")),
        outcome=_optional(NegotiationOutcome, data.get("outcome")),
        proposed_type=_optional(AfterSaleType, data.get("proposed_type")),
        proposed_amount=data.get("proposed_amount"),
    )


# The empty value of a required field the writer left out (any other text: ""); how each
# value's text parses (any other: as text).
_LEFT_OUT: dict[str, object] = {"from_state": None, "occurred_at_ms": 0}
_PARSE: dict[str, Callable[[str], object]] = {
    "version": int,
    "action": Action,
    "actor_role": Role,
    "from_state": State,
    "to_state": State,
    "occurred_at_ms": int,
    "type": AfterSaleType,
    "amount": int,
    "first_reason": BuyerReason,
    "refund_reason": RefundReason,
    "refund_amount": int,
    "negotiation": negotiation_from_json,
    "reject_reason": RejectReason,
    "verdict": Verdict,
    "close_reason": CloseReason,
    "deadline_ms": int,
    "timer_action": Action,
    "signals": lambda raw: tuple(Signal(s) for s in raw.split(",") if s),
}


def event_from_flat(flat: Mapping[str, str]) -> TransitionEvent:
    """The event of a flat entry, every value parsed once. A field it does not find is left
    "" (or its empty value), for ``decoding.check_event`` to refuse if it is required."""
    kwargs: dict[str, Any] = {}
    for f in fields(TransitionEvent):
        if f.name in flat:
            kwargs[f.name] = _PARSE.get(f.name, str)(flat[f.name])
        elif f.default is MISSING and f.default_factory is MISSING:
            kwargs[f.name] = _LEFT_OUT.get(f.name, "")
    return TransitionEvent(**kwargs)
