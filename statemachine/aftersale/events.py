"""Transition events (SPEC §7): one per version bump, the facts a subscriber needs without a
read back. The stream position (event id) is assigned by storage, not here, and so is the
stored form (the proto's ``TransitionEvent`` as JSON, ``service/storage/event_codec.py``).

Fields are typed (enums, ``None`` for "not applicable").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

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

_FACTS = ("round", "kind", "option", "outcome", "proposed_type", "proposed_amount")


@dataclass(frozen=True, slots=True, eq=False)
class NegotiationFacts(Mapping[str, object]):
    """The negotiation a step sent or ended; all None when the step touched none.

    It reads as a mapping of the facts present, so the empty facts equal ``{}`` and are
    falsy."""

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

    def __getitem__(self, key: str) -> object:
        value = getattr(self, key) if key in _FACTS else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in _FACTS if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


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
