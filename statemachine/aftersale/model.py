"""The after-sale record: the only state a request has.

A machine runs over a record, a commit stores it. Records are plain dataclasses; the flat
form (``to_flat`` / ``from_flat``) is a ``dict[str, str]`` for a Redis hash: scalars as
text, nested parts as compact JSON. Times are absolute UTC milliseconds, money integer fen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    CloseReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    ProofParty,
    RefundReason,
    RejectReason,
    Role,
    State,
    TimerKind,
    Verdict,
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a role and the id it acts as (buyer id, shop id, service name, ``timer``)."""

    role: Role
    id: str


@dataclass(slots=True)
class Negotiation:
    """One negotiation round (售后协商) sent by the merchant."""

    round: int
    kind: NegotiationKind
    option: NegotiationOption
    handling_state: State  # where it was sent from; the request returns there
    application_round: int  # which application/modification it answers
    message: str
    images: list[str] = field(default_factory=list)
    proposed_type: AfterSaleType | None = None
    proposed_amount: int | None = None
    outcome: NegotiationOutcome = NegotiationOutcome.OPEN
    sent_at_ms: int = 0
    ended_at_ms: int | None = None
    buyer_images: list[str] = field(default_factory=list)  # evidence supplied in answer
    buyer_message: str = ""


@dataclass(slots=True)
class ContactAttempt:
    """A failed attempt to reach the buyer (seed 3.1)."""

    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at_ms: int
    screenshots: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Rejection:
    reason: RejectReason
    message: str
    images: list[str]
    from_state: State
    rejected_at_ms: int


@dataclass(slots=True)
class ProofRequest:
    party: ProofParty
    deadline_ms: int
    note: str
    requested_at_ms: int
    submitted: list[Role] = field(default_factory=list)  # parties that answered it
    missed: list[Role] = field(default_factory=list)  # parties that let its deadline pass

    @property
    def asked_parties(self) -> list[Role]:
        """The roles this request asks for proof."""
        return [Role.BUYER, Role.MERCHANT] if self.party == ProofParty.BOTH else [Role(self.party)]

    @property
    def open_parties(self) -> list[Role]:
        """The asked parties that have neither answered nor missed the deadline yet."""
        return [r for r in self.asked_parties if r not in self.submitted and r not in self.missed]


@dataclass(slots=True)
class Proof:
    party: Role  # BUYER or MERCHANT
    message: str
    images: list[str]
    submitted_at_ms: int


@dataclass(slots=True)
class Dispute:
    """Platform arbitration (平台介入)."""

    escalated_by: Role  # BUYER (escalate) or PLATFORM (intervene)
    escalated_from: State
    escalated_at_ms: int
    message: str = ""
    proof_requests: list[ProofRequest] = field(default_factory=list)
    proofs: list[Proof] = field(default_factory=list)
    missed_proof: list[Role] = field(default_factory=list)  # parties that let a deadline pass
    verdict: Verdict | None = None
    refund_amount: int | None = None
    resolved_at_ms: int | None = None


@dataclass(slots=True)
class Refund:
    """The refund asked of the payment service; ``refund_id`` is unique per attempt."""

    refund_id: str
    refund_reason: RefundReason
    amount: int
    requested_at_ms: int
    attempt: int = 1
    failure_reason: str = ""
    offline_proof_images: list[str] = field(default_factory=list)
    offline_proof_message: str = ""
    succeeded_at_ms: int | None = None
    failed_at_ms: int | None = None  # when the payment service reported a failure


@dataclass(slots=True)
class Waybill:
    carrier: str
    waybill_id: str
    shipped_at_ms: int


@dataclass(frozen=True, slots=True)
class PendingTimer:
    """The one timer a request has pending: what it waits for, when, and what it fires."""

    kind: TimerKind
    action: Action
    due_ms: int


@dataclass(slots=True)
class AfterSale:
    """One after-sale request (售后单)."""

    request_id: str
    order_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    type: AfterSaleType
    state: State
    amount: int
    paid_amount: int
    reason: BuyerReason
    first_reason: BuyerReason  # the reason of the first application; never changes
    after_sale_deadline_ms: int
    created_at_ms: int
    updated_at_ms: int
    version: int = 0
    description: str = ""
    evidence: list[str] = field(default_factory=list)
    return_address: str = ""
    application_round: int = 1  # 1 for the application, +1 per modification
    waybill: Waybill | None = None
    negotiation: Negotiation | None = None  # the open one, if any
    negotiations: list[Negotiation] = field(default_factory=list)  # every past round
    contact_attempts: list[ContactAttempt] = field(default_factory=list)
    rejection: Rejection | None = None
    escalation_deadline_ms: int | None = None  # keeps running through withdraw_escalation
    dispute: Dispute | None = None
    refund: Refund | None = None
    close_reason: CloseReason | None = None
    timer: PendingTimer | None = None

    @property
    def deadline_ms(self) -> int | None:
        """When the pending timer fires, if one is pending."""
        return self.timer.due_ms if self.timer else None

    @property
    def negotiation_rounds(self) -> int:
        return len(self.negotiations) + (1 if self.negotiation else 0)

    def copy(self) -> AfterSale:
        """A deep copy, so a refused command can never touch the stored record."""
        return AfterSale.from_flat(self.to_flat())

    # -- flat form -------------------------------------------------------------------------

    def to_flat(self) -> dict[str, str]:
        """The record as a ``dict[str, str]`` (a Redis hash). ``None`` fields are left out."""
        flat: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value in ([], ""):
                continue
            if isinstance(value, str | int):  # StrEnum is a str
                flat[f.name] = str(value)
            else:
                flat[f.name] = json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))
        return flat

    @classmethod
    def from_flat(cls, flat: dict[str, str]) -> AfterSale:
        """Inverse of :meth:`to_flat`."""

        def opt(name: str) -> str | None:
            return flat.get(name)

        def load(name: str) -> Any:
            raw = flat.get(name)
            return None if raw is None else json.loads(raw)

        waybill, negotiation, rejection = load("waybill"), load("negotiation"), load("rejection")
        dispute, refund, timer = load("dispute"), load("refund"), load("timer")
        close_reason = opt("close_reason")
        escalation_deadline = opt("escalation_deadline_ms")
        return cls(
            request_id=flat["request_id"],
            order_id=flat["order_id"],
            sku_id=flat["sku_id"],
            shop_id=flat["shop_id"],
            buyer_id=flat["buyer_id"],
            type=AfterSaleType(flat["type"]),
            state=State(flat["state"]),
            amount=int(flat["amount"]),
            paid_amount=int(flat["paid_amount"]),
            reason=BuyerReason(flat["reason"]),
            first_reason=BuyerReason(flat["first_reason"]),
            after_sale_deadline_ms=int(flat["after_sale_deadline_ms"]),
            created_at_ms=int(flat["created_at_ms"]),
            updated_at_ms=int(flat["updated_at_ms"]),
            version=int(flat.get("version", "0")),
            description=flat.get("description", ""),
            evidence=load("evidence") or [],
            return_address=flat.get("return_address", ""),
            application_round=int(flat.get("application_round", "1")),
            waybill=Waybill(**waybill) if waybill else None,
            negotiation=_negotiation(negotiation) if negotiation else None,
            negotiations=[_negotiation(n) for n in load("negotiations") or []],
            contact_attempts=[_contact(c) for c in load("contact_attempts") or []],
            rejection=_rejection(rejection) if rejection else None,
            escalation_deadline_ms=int(escalation_deadline) if escalation_deadline else None,
            dispute=_dispute(dispute) if dispute else None,
            refund=_refund(refund) if refund else None,
            close_reason=CloseReason(close_reason) if close_reason else None,
            timer=_timer(timer) if timer else None,
        )


def _plain(value: Any) -> Any:
    """Dataclasses and lists as JSON-ready values (StrEnum serialises as its text)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in fields(value)
            if getattr(value, f.name) not in (None, [], "")
        }
    return value


def _negotiation(d: dict[str, Any]) -> Negotiation:
    proposed_type = d.get("proposed_type")
    return Negotiation(
        round=d["round"],
        kind=NegotiationKind(d["kind"]),
        option=NegotiationOption(d["option"]),
        handling_state=State(d["handling_state"]),
        application_round=d["application_round"],
        message=d.get("message", ""),
        images=d.get("images", []),
        proposed_type=AfterSaleType(proposed_type) if proposed_type else None,
        proposed_amount=d.get("proposed_amount"),
        outcome=NegotiationOutcome(d["outcome"]),
        sent_at_ms=d.get("sent_at_ms", 0),
        ended_at_ms=d.get("ended_at_ms"),
        buyer_images=d.get("buyer_images", []),
        buyer_message=d.get("buyer_message", ""),
    )


def _contact(d: dict[str, Any]) -> ContactAttempt:
    return ContactAttempt(
        channel=ContactChannel(d["channel"]),
        outcome=ContactOutcome(d["outcome"]),
        attempted_at_ms=d["attempted_at_ms"],
        screenshots=d.get("screenshots", []),
    )


def _rejection(d: dict[str, Any]) -> Rejection:
    return Rejection(
        reason=RejectReason(d["reason"]),
        message=d.get("message", ""),
        images=d.get("images", []),
        from_state=State(d["from_state"]),
        rejected_at_ms=d["rejected_at_ms"],
    )


def _dispute(d: dict[str, Any]) -> Dispute:
    verdict = d.get("verdict")
    return Dispute(
        escalated_by=Role(d["escalated_by"]),
        escalated_from=State(d["escalated_from"]),
        escalated_at_ms=d["escalated_at_ms"],
        message=d.get("message", ""),
        proof_requests=[
            ProofRequest(
                party=ProofParty(p["party"]),
                deadline_ms=p["deadline_ms"],
                note=p.get("note", ""),
                requested_at_ms=p["requested_at_ms"],
                submitted=[Role(r) for r in p.get("submitted", [])],
                missed=[Role(r) for r in p.get("missed", [])],
            )
            for p in d.get("proof_requests", [])
        ],
        proofs=[
            Proof(
                party=Role(p["party"]),
                message=p.get("message", ""),
                images=p.get("images", []),
                submitted_at_ms=p["submitted_at_ms"],
            )
            for p in d.get("proofs", [])
        ],
        missed_proof=[Role(r) for r in d.get("missed_proof", [])],
        verdict=Verdict(verdict) if verdict else None,
        refund_amount=d.get("refund_amount"),
        resolved_at_ms=d.get("resolved_at_ms"),
    )


def _refund(d: dict[str, Any]) -> Refund:
    return Refund(
        refund_id=d["refund_id"],
        refund_reason=RefundReason(d["refund_reason"]),
        amount=d["amount"],
        requested_at_ms=d["requested_at_ms"],
        attempt=d.get("attempt", 1),
        failure_reason=d.get("failure_reason", ""),
        offline_proof_images=d.get("offline_proof_images", []),
        offline_proof_message=d.get("offline_proof_message", ""),
        succeeded_at_ms=d.get("succeeded_at_ms"),
        failed_at_ms=d.get("failed_at_ms"),
    )


def _timer(d: dict[str, Any]) -> PendingTimer:
    return PendingTimer(kind=TimerKind(d["kind"]), action=Action(d["action"]), due_ms=d["due_ms"])
