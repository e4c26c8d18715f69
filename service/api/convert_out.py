"""Domain records and events → proto messages.

Enum values cross as names: proto name = the proto enum's prefix + the domain member's name
(``AFTER_SALE_STATUS_`` + ``State.MERCHANT_PROCESSING.name``); ``None`` becomes ``*_UNSPECIFIED``.
Times are UTC milliseconds in the domain and ``Timestamp`` here; unset stays unset.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from aftersale.events import NegotiationFacts, TransitionEvent
from aftersale.model import (
    AfterSale,
    ContactAttempt,
    Dispute,
    Negotiation,
    ProofRequest,
    Refund,
)
from aftersale.vocabulary import ProofParty, Role
from service.api.addresses import address_message
from service.gen.aftersale.v1 import types_pb2 as t

STATUS = "AFTER_SALE_STATUS_"
TYPE = "AFTER_SALE_TYPE_"
ACTION = "ACTION_"
OPTION = "NEGOTIATION_OPTION_"


# Reply conversion runs on every RPC, so its two helpers skip what costs without helping:
# ``Enum.name`` is a Python-level descriptor (the names are looked up in a table filled on
# first use), and ``Timestamp.FromMilliseconds`` is Python code setting two fields one by one
# (the constructor takes them at once; the range check stays).
_NAMES: dict[str, dict[Enum, str]] = {}
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_999  # Timestamp's range, 0001–9999


def name(prefix: str, member: Enum | None) -> Any:
    """The proto enum value name for a domain member (``prefix + "UNSPECIFIED"`` for None).

    Typed ``Any``: generated constructors take enum names as strings."""
    names = _NAMES.get(prefix)
    if names is None:
        names = _NAMES[prefix] = {}
    try:
        return names[member]  # type: ignore[index]
    except KeyError:
        text = prefix + (member.name if member is not None else "UNSPECIFIED")
        names[member] = text  # type: ignore[index]
        return text


def stamp(ms: int | None) -> Timestamp | None:
    """UTC milliseconds as a Timestamp; None (and 0, "no time") stays unset."""
    if not ms:
        return None
    if not _MIN_MS <= ms <= _MAX_MS:
        Timestamp().FromMilliseconds(ms)  # raises the library's ValueError
    return Timestamp(seconds=ms // 1000, nanos=ms % 1000 * 1_000_000)


def negotiation(n: Negotiation) -> t.Negotiation:
    return t.Negotiation(
        round=n.round,
        kind=name("NEGOTIATION_KIND_", n.kind),
        option=name(OPTION, n.option),
        proposed_type=name(TYPE, n.proposed_type),
        proposed_amount=n.proposed_amount,
        images=n.images,
        message=n.filled_message,
        merchant_message=n.message,
        outcome=name("NEGOTIATION_OUTCOME_", n.outcome),
        handling_state=name(STATUS, n.handling_state),
        sent_at=stamp(n.sent_at_ms),
        ended_at=stamp(n.ended_at_ms),
    )


def _contact(a: ContactAttempt) -> t.ContactAttempt:
    return t.ContactAttempt(
        channel=name("CONTACT_CHANNEL_", a.channel),
        outcome=name("CONTACT_OUTCOME_", a.outcome),
        attempted_at=stamp(a.attempted_at_ms),
        screenshots=a.screenshots,
    )


def _parties(roles: list[Role]) -> ProofParty | None:
    """BUYER and/or MERCHANT as one proof party (BOTH for the two)."""
    asked = {r for r in roles if r in (Role.BUYER, Role.MERCHANT)}
    if len(asked) == 2:
        return ProofParty.BOTH
    return ProofParty[asked.pop().name] if asked else None


def _proof_request(p: ProofRequest) -> t.ProofRequest:
    return t.ProofRequest(
        party=name("PROOF_PARTY_", p.party),
        deadline=stamp(p.deadline_ms),
        note=p.note,
        requested_at=stamp(p.requested_at_ms),
        missed_by=name("PROOF_PARTY_", _parties(p.missed)),
    )


def _dispute(d: Dispute) -> t.Dispute:
    return t.Dispute(
        escalated_by=name("ROLE_", d.escalated_by),
        escalated_from=name(STATUS, d.escalated_from),
        escalated_at=stamp(d.escalated_at_ms),
        message=d.message,
        proof_requests=[_proof_request(p) for p in d.proof_requests],
        proofs=[
            t.Proof(
                party=name("PROOF_PARTY_", _parties([p.party])),
                message=p.message,
                images=p.images,
                submitted_at=stamp(p.submitted_at_ms),
            )
            for p in d.proofs
        ],
        verdict=name("VERDICT_", d.verdict),
        refund_amount=d.refund_amount,
        resolved_at=stamp(d.resolved_at_ms),
    )


def _refund(r: Refund) -> t.Refund:
    return t.Refund(
        refund_id=r.refund_id,
        refund_reason=name("REFUND_REASON_", r.refund_reason),
        amount=r.amount,
        failure_reason=r.failure_reason,
        requested_at=stamp(r.requested_at_ms),
        completed_at=stamp(r.succeeded_at_ms),
        proof_images=r.offline_proof_images,
        proof_message=r.offline_proof_message,
        reminders=r.reminders,
        flagged_at=stamp(r.flagged_at_ms),
    )


def after_sale(r: AfterSale) -> t.AfterSale:
    """The full view of one request."""
    every = [*r.negotiations, *([r.negotiation] if r.negotiation else [])]
    rounds = [negotiation(n) for n in every]  # the latest is converted once, for both fields
    timer = r.timer
    return t.AfterSale(
        request_id=r.request_id,
        order_id=r.order_id,
        sku_id=r.sku_id,
        shop_id=r.shop_id,
        buyer_id=r.buyer_id,
        type=name(TYPE, r.type),
        state=name(STATUS, r.state),
        amount=r.amount,
        paid_amount=r.paid_amount,
        reason=name("BUYER_REASON_", r.reason),
        first_reason=name("BUYER_REASON_", r.first_reason),
        description=r.description,
        evidence_images=r.evidence,
        return_address=address_message(r.return_address),
        waybill=t.Waybill(carrier=r.waybill.carrier, waybill_id=r.waybill.waybill_id)
        if r.waybill
        else None,
        negotiation=rounds[-1] if rounds else None,
        negotiations=rounds,
        contact_attempts=[_contact(a) for a in r.contact_attempts],
        rejection=t.Rejection(
            reason=name("REJECT_REASON_", r.rejection.reason),
            message=r.rejection.message,
            images=r.rejection.images,
            rejected_at=stamp(r.rejection.rejected_at_ms),
        )
        if r.rejection
        else None,
        dispute=_dispute(r.dispute) if r.dispute else None,
        refund=_refund(r.refund) if r.refund else None,
        close_reason=name("CLOSE_REASON_", r.close_reason),
        deadline=stamp(timer.due_ms) if timer else None,
        pending_timer=t.PendingTimer(
            kind=name("TIMER_KIND_", timer.kind),
            action=name(ACTION, timer.action),
            due_at=stamp(timer.due_ms),
        )
        if timer
        else None,
        version=r.version,
        created_at=stamp(r.created_at_ms),
        updated_at=stamp(r.updated_at_ms),
        after_sale_deadline=stamp(r.after_sale_deadline_ms),
    )


def _event_negotiation(facts: NegotiationFacts) -> t.Negotiation | None:
    if not facts:
        return None
    return t.Negotiation(
        round=facts.round or 0,
        kind=name("NEGOTIATION_KIND_", facts.kind),
        option=name(OPTION, facts.option),
        outcome=name("NEGOTIATION_OUTCOME_", facts.outcome),
        proposed_type=name(TYPE, facts.proposed_type),
        proposed_amount=facts.proposed_amount,
    )


def transition(e: TransitionEvent, event_id: str) -> t.TransitionEvent:
    """One stream or history entry. ``refund_id`` is set with ``refund_reason`` only."""
    return t.TransitionEvent(
        event_id=event_id,
        request_id=e.request_id,
        order_id=e.order_id,
        sku_id=e.sku_id,
        shop_id=e.shop_id,
        buyer_id=e.buyer_id,
        version=e.version,
        action=name(ACTION, e.action),
        actor=t.Actor(role=name("ROLE_", e.actor_role), id=e.actor_id),
        from_state=name(STATUS, e.from_state),
        to_state=name(STATUS, e.to_state),
        occurred_at=stamp(e.occurred_at_ms),
        type=name(TYPE, e.type),
        amount=e.amount,
        refund_reason=name("REFUND_REASON_", e.refund_reason),
        refund_id=e.refund_id if e.refund_reason else "",
        negotiation=_event_negotiation(e.negotiation),
        reject_reason=name("REJECT_REASON_", e.reject_reason),
        verdict=name("VERDICT_", e.verdict),
        close_reason=name("CLOSE_REASON_", e.close_reason),
        first_reason=name("BUYER_REASON_", e.first_reason),
        deadline=stamp(e.deadline_ms),
        signals=[name("SIGNAL_", signal) for signal in e.signals],
        refund_amount=e.refund_amount,
        forced_by=_forced_by(e),
    )


def _forced_by(e: TransitionEvent) -> t.Actor | None:
    forced = e.forced_by
    return t.Actor(role=name("ROLE_", forced.role), id=forced.id) if forced else None
