"""Reading what the previous release wrote: the record as a flat hash.

Until the record became one blob (``codec``), a record hash held every field of the record
as its own hash field: scalars as text, nested parts as compact JSON, ``None`` / empty
fields left out. An idempotency result held the same fields as one JSON object (hash field
``r``). Records and results in that form stay readable here until each is rewritten by its
next commit or expires; nothing writes this form any more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aftersale.model import (
    AfterSale,
    ContactAttempt,
    Dispute,
    Negotiation,
    PendingTimer,
    Proof,
    ProofRequest,
    Refund,
    Rejection,
    Waybill,
)
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


def result_from_json(raw: str) -> AfterSale:
    """A previous release's idempotency result: the flat record as one JSON object."""
    return record_from_flat(json.loads(raw))


def record_from_flat(flat: Mapping[str, str]) -> AfterSale:
    """The record of a previous release's record hash (storage-only fields are ignored)."""

    def load(name: str) -> Any:
        raw = flat.get(name)
        return None if raw is None else json.loads(raw)

    waybill, negotiation, rejection = load("waybill"), load("negotiation"), load("rejection")
    dispute, refund, timer = load("dispute"), load("refund"), load("timer")
    close_reason = flat.get("close_reason")
    escalation_deadline = flat.get("escalation_deadline_ms")
    return AfterSale(
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
        # Counters newer than the flat form: a flat record never has them (0), but a hash
        # written with them (tests build one from today's record) keeps them.
        disputes=int(flat.get("disputes", "0")),
        contact_quota_requests=int(flat.get("contact_quota_requests", "0")),
    )


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
        proof_requests=[_proof_request(p) for p in d.get("proof_requests", [])],
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


def _proof_request(p: dict[str, Any]) -> ProofRequest:
    return ProofRequest(
        party=ProofParty(p["party"]),
        deadline_ms=p["deadline_ms"],
        note=p.get("note", ""),
        requested_at_ms=p["requested_at_ms"],
        submitted=[Role(r) for r in p.get("submitted", [])],
        missed=[Role(r) for r in p.get("missed", [])],
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
