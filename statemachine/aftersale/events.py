"""Transition events (SPEC §7): one per version bump, the facts a subscriber needs without a
read back. The stream position (event id) is assigned by storage, not here."""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from aftersale.model import Actor, AfterSale, Negotiation
from aftersale.vocabulary import Action, Role, Signal


@dataclass(frozen=True, slots=True)
class TransitionEvent:
    request_id: str
    order_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    version: int
    action: str  # an Action value
    actor_role: str
    actor_id: str
    from_state: str  # "" for apply
    to_state: str
    occurred_at_ms: int
    type: str
    amount: int
    first_reason: str
    refund_reason: str = ""
    refund_id: str = ""
    refund_amount: int = 0
    negotiation: dict[str, Any] = field(default_factory=dict)  # kind, option, proposal, outcome
    reject_reason: str = ""
    verdict: str = ""
    close_reason: str = ""
    deadline_ms: int = 0  # 0: no timer pending
    timer_action: str = ""
    # extra facts for a consumer, e.g. {"refund_requested": "1"} or {"contact_quota_requested": "1"}
    signals: tuple[str, ...] = ()

    @property
    def actor(self) -> Actor:
        return Actor(Role(self.actor_role), self.actor_id)

    def to_flat(self) -> dict[str, str]:
        """Stream entry fields (XADD). Empty values are left out to keep entries small."""
        flat: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in ("", 0, None, (), {}) and f.name not in ("version", "amount"):
                continue
            if isinstance(value, dict):
                flat[f.name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            elif isinstance(value, tuple):
                flat[f.name] = ",".join(value)
            else:
                flat[f.name] = str(value)
        return flat

    @classmethod
    def from_flat(cls, flat: dict[str, str]) -> TransitionEvent:
        ints = {"version", "occurred_at_ms", "amount", "refund_amount", "deadline_ms"}
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in flat:
                if f.default is MISSING and f.default_factory is MISSING:
                    kwargs[f.name] = ""  # to_flat leaves out an empty text (from_state of apply)
                continue
            raw = flat[f.name]
            if f.name in ints:
                kwargs[f.name] = int(raw)
            elif f.name == "negotiation":
                kwargs[f.name] = json.loads(raw)
            elif f.name == "signals":
                kwargs[f.name] = tuple(s for s in raw.split(",") if s)
            else:
                kwargs[f.name] = raw
        return cls(**kwargs)


def transition_event(
    before: AfterSale | None,
    after: AfterSale,
    action: Action,
    actor: Actor,
    now_ms: int,
    signals: tuple[str, ...] = (),
    touched: Negotiation | None = None,
) -> TransitionEvent:
    """The event for the step ``before`` → ``after`` (``after.version`` already bumped), which
    sent or ended the negotiation ``touched`` (``Step.touched``)."""
    negotiation: dict[str, Any] = {}
    if touched is not None:
        negotiation = {
            "round": touched.round,
            "kind": touched.kind.value,
            "option": touched.option.value,
            "outcome": touched.outcome.value,
        }
        if touched.proposed_type is not None:
            negotiation["proposed_type"] = touched.proposed_type.value
        if touched.proposed_amount is not None:
            negotiation["proposed_amount"] = touched.proposed_amount
    money_moves = Signal.REFUND_REQUESTED in signals
    refund = after.refund
    return TransitionEvent(
        request_id=after.request_id,
        order_id=after.order_id,
        sku_id=after.sku_id,
        shop_id=after.shop_id,
        buyer_id=after.buyer_id,
        version=after.version,
        action=action.value,
        actor_role=actor.role.value,
        actor_id=actor.id,
        from_state=before.state.value if before else "",
        to_state=after.state.value,
        occurred_at_ms=now_ms,
        type=after.type.value,
        amount=after.amount,
        first_reason=after.first_reason.value,
        refund_reason=refund.refund_reason.value if refund and money_moves else "",
        refund_id=refund.refund_id if refund else "",
        refund_amount=refund.amount if refund and money_moves else 0,
        negotiation=negotiation,
        reject_reason=(
            after.rejection.reason.value if after.rejection and action == Action.REJECT else ""
        ),
        verdict=(
            after.dispute.verdict.value
            if after.dispute and after.dispute.verdict and action == Action.RESOLVE_DISPUTE
            else ""
        ),
        close_reason=after.close_reason.value if after.close_reason else "",
        deadline_ms=after.timer.due_ms if after.timer else 0,
        timer_action=after.timer.action.value if after.timer else "",
        signals=signals,
    )
