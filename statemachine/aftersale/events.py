"""Transition events (SPEC §7): one per version bump, the facts a subscriber needs without a
read back. The stream position (event id) is assigned by storage, not here.

Fields are typed (enums, ``None`` for "not applicable"); the stream's flat form keeps every
value as its text, and ``from_flat`` parses it back once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

from aftersale.model import Actor, AfterSale, Negotiation
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
_FACTS = ("round", "kind", "option", "outcome", "proposed_type", "proposed_amount")


@dataclass(frozen=True, slots=True, eq=False)
class NegotiationFacts(Mapping[str, object]):
    """The negotiation a step sent or ended; all None when the step touched none.

    It reads as a mapping of the facts present (the JSON object of the stream form), so the
    empty facts equal ``{}`` and are falsy."""

    round: int | None = None
    kind: NegotiationKind | None = None
    option: NegotiationOption | None = None
    outcome: NegotiationOutcome | None = None
    proposed_type: AfterSaleType | None = None
    proposed_amount: int | None = None

    @classmethod
    def of(cls, negotiation: Negotiation | None) -> NegotiationFacts:
        """The facts of ``negotiation`` as it is now (none for None)."""
        if negotiation is None:
            return cls()
        n = negotiation
        return cls(n.round, n.kind, n.option, n.outcome, n.proposed_type, n.proposed_amount)

    @classmethod
    def from_json(cls, raw: str) -> NegotiationFacts:
        """The inverse of ``to_json``."""
        data: dict[str, Any] = json.loads(raw)
        return cls(
            round=data.get("round"),
            kind=_optional(NegotiationKind, data.get("kind")),
            option=_optional(NegotiationOption, data.get("option")),
            outcome=_optional(NegotiationOutcome, data.get("outcome")),
            proposed_type=_optional(AfterSaleType, data.get("proposed_type")),
            proposed_amount=data.get("proposed_amount"),
        )

    def to_json(self) -> str:
        """The facts present as a compact JSON object, in field order."""
        return json.dumps(dict(self), ensure_ascii=False, separators=(",", ":"))

    def __getitem__(self, key: str) -> object:
        value = getattr(self, key) if key in _FACTS else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in _FACTS if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _optional(parse: Callable[[str], _E], value: str | None) -> _E | None:
    return None if value is None else parse(value)


# The stream form: fields written even when 0; the empty value of a required field to_flat
# left out (any other text: ""); how each value's text parses (any other: as text).
_ALWAYS = frozenset({"version", "amount"})
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
    "negotiation": NegotiationFacts.from_json,
    "reject_reason": RejectReason,
    "verdict": Verdict,
    "close_reason": CloseReason,
    "deadline_ms": int,
    "timer_action": Action,
    "signals": lambda raw: tuple(Signal(s) for s in raw.split(",") if s),
    "forced_by_role": Role,
}


@dataclass(frozen=True, slots=True)
class TransitionEvent:
    """One transition of one request: who did what, from where to where, and its facts."""

    request_id: str
    order_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    version: int
    action: Action
    actor_role: Role
    actor_id: str
    from_state: State | None  # None for apply
    to_state: State
    occurred_at_ms: int
    type: AfterSaleType
    amount: int
    first_reason: BuyerReason
    refund_reason: RefundReason | None = None
    refund_id: str = ""
    refund_amount: int = 0
    negotiation: NegotiationFacts = field(default_factory=NegotiationFacts)
    reject_reason: RejectReason | None = None
    verdict: Verdict | None = None
    close_reason: CloseReason | None = None
    deadline_ms: int = 0  # 0: no timer pending
    timer_action: Action | None = None
    signals: tuple[Signal, ...] = ()  # what the event asks of a consumer
    # A timer ops fired early (FireTimer): the operator who forced it. The actor stays the
    # timer (SYSTEM), since the timer's rule is what ran; this says who made it run now.
    forced_by_role: Role | None = None
    forced_by_id: str = ""

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_role, self.actor_id)

    @property
    def forced_by(self) -> Actor | None:
        """The operator who fired this timer early, if one did."""
        return Actor(self.forced_by_role, self.forced_by_id) if self.forced_by_role else None

    def to_flat(self) -> dict[str, str]:
        """Stream entry fields (XADD), in field order. Empty values are left out to keep
        entries small; the version and the amount are always there."""
        flat: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not value and f.name not in _ALWAYS:
                continue
            if isinstance(value, NegotiationFacts):
                flat[f.name] = value.to_json()
            elif isinstance(value, tuple):
                flat[f.name] = ",".join(value)
            else:
                flat[f.name] = str(value)  # an enum's value, a number's digits
        return flat

    @classmethod
    def from_flat(cls, flat: Mapping[str, str]) -> TransitionEvent:
        """The event of a stream entry (the inverse of ``to_flat``), every value parsed once."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in flat:
                kwargs[f.name] = _PARSE.get(f.name, str)(flat[f.name])
            elif f.default is MISSING and f.default_factory is MISSING:
                kwargs[f.name] = _LEFT_OUT.get(f.name, "")  # to_flat leaves out empty values
        return cls(**kwargs)


def transition_event(
    before: AfterSale | None,
    after: AfterSale,
    action: Action,
    actor: Actor,
    now_ms: int,
    signals: tuple[Signal, ...] = (),
    touched: Negotiation | None = None,
    forced_by: Actor | None = None,
) -> TransitionEvent:
    """The event for the step ``before`` → ``after`` (``after.version`` already bumped), which
    sent or ended the negotiation ``touched`` (``Step.touched``); ``forced_by`` is the operator
    who fired a timer early."""
    money_moves = Signal.REFUND_REQUESTED in signals
    refund = after.refund
    dispute = after.dispute
    return TransitionEvent(
        request_id=after.request_id,
        order_id=after.order_id,
        sku_id=after.sku_id,
        shop_id=after.shop_id,
        buyer_id=after.buyer_id,
        version=after.version,
        action=action,
        actor_role=actor.role,
        actor_id=actor.id,
        from_state=before.state if before else None,
        to_state=after.state,
        occurred_at_ms=now_ms,
        type=after.type,
        amount=after.amount,
        first_reason=after.first_reason,
        refund_reason=refund.refund_reason if refund and money_moves else None,
        refund_id=refund.refund_id if refund else "",
        refund_amount=refund.amount if refund and money_moves else 0,
        negotiation=NegotiationFacts.of(touched),
        reject_reason=after.rejection.reason
        if after.rejection and action == Action.REJECT
        else None,
        verdict=dispute.verdict if dispute and action == Action.RESOLVE_DISPUTE else None,
        close_reason=after.close_reason,
        deadline_ms=after.timer.due_ms if after.timer else 0,
        timer_action=after.timer.action if after.timer else None,
        signals=signals,
        forced_by_role=forced_by.role if forced_by else None,
        forced_by_id=forced_by.id if forced_by else "",
    )
