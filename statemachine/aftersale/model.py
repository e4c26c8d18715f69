"""The after-sale record: the only state a request has.

A machine runs over a record, a commit stores it. Records are ``msgspec.Struct`` classes:
mutable, compared field by field, built by keyword or position like dataclasses, and with
``omit_defaults`` so an encoded record carries only the fields that are set (storage encodes
them as one JSON blob: ``service/storage/codec.py``). Times are absolute UTC milliseconds,
money integer fen.
"""

from __future__ import annotations

import msgspec

from aftersale.guide import OPTION_TEXTS
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


class Actor(msgspec.Struct, frozen=True):
    """Who acts: a role and the id it acts as (buyer id, shop id, service name, ``timer``)."""

    role: Role
    id: str


class Negotiation(msgspec.Struct, omit_defaults=True):
    """One negotiation round (售后协商) sent by the merchant."""

    round: int
    kind: NegotiationKind
    option: NegotiationOption
    handling_state: State  # where it was sent from; the request returns there
    application_round: int  # which application/modification it answers
    message: str
    images: list[str] = msgspec.field(default_factory=list)
    proposed_type: AfterSaleType | None = None
    proposed_amount: int | None = None
    outcome: NegotiationOutcome = NegotiationOutcome.OPEN
    sent_at_ms: int = 0
    ended_at_ms: int | None = None
    buyer_images: list[str] = msgspec.field(default_factory=list)  # evidence supplied in answer
    buyer_message: str = ""
    # What the buyer read (商家留言): the option's template in Chinese plus ``message``, the
    # merchant's own text. "" in a record stored before it was kept: ``filled_message``
    # fills it then from the current template.
    filled: str = ""
    return_address: str = ""  # proposed with a plan that makes the request a RETURN

    @property
    def filled_message(self) -> str:
        """The merchant message as the buyer sees it (template + the merchant's text)."""
        return self.filled or fill_message(self.option, self.message)


def fill_message(option: NegotiationOption, appended: str) -> str:
    """The option's auto-filled message (in the buyer's language, zh) with the merchant's
    ``appended`` text on a line of its own."""
    template = OPTION_TEXTS[option].message_zh
    return f"{template}\n{appended}" if appended else template


class ContactAttempt(msgspec.Struct, omit_defaults=True):
    """A failed attempt to reach the buyer (seed 3.1)."""

    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at_ms: int
    screenshots: list[str] = msgspec.field(default_factory=list)


class Rejection(msgspec.Struct, omit_defaults=True):
    reason: RejectReason
    message: str
    images: list[str]
    from_state: State
    rejected_at_ms: int


class ProofRequest(msgspec.Struct, omit_defaults=True):
    party: ProofParty
    deadline_ms: int
    note: str
    requested_at_ms: int
    submitted: list[Role] = msgspec.field(default_factory=list)  # parties that answered it
    missed: list[Role] = msgspec.field(default_factory=list)  # parties that let its deadline pass

    @property
    def asked_parties(self) -> list[Role]:
        """The roles this request asks for proof."""
        return [Role.BUYER, Role.MERCHANT] if self.party == ProofParty.BOTH else [Role(self.party)]

    @property
    def open_parties(self) -> list[Role]:
        """The asked parties that have neither answered nor missed the deadline yet."""
        return [r for r in self.asked_parties if r not in self.submitted and r not in self.missed]


class Proof(msgspec.Struct, omit_defaults=True):
    party: Role  # BUYER or MERCHANT
    message: str
    images: list[str]
    submitted_at_ms: int


class Dispute(msgspec.Struct, omit_defaults=True):
    """Platform arbitration (平台介入)."""

    escalated_by: Role  # BUYER (escalate) or PLATFORM (intervene)
    escalated_from: State
    escalated_at_ms: int
    message: str = ""
    proof_requests: list[ProofRequest] = msgspec.field(default_factory=list)
    proofs: list[Proof] = msgspec.field(default_factory=list)
    # parties that let a deadline pass
    missed_proof: list[Role] = msgspec.field(default_factory=list)
    verdict: Verdict | None = None
    refund_amount: int | None = None
    resolved_at_ms: int | None = None


class Refund(msgspec.Struct, omit_defaults=True):
    """The refund asked of the payment service; ``refund_id`` is unique per attempt."""

    refund_id: str
    refund_reason: RefundReason
    amount: int
    requested_at_ms: int
    attempt: int = 1
    failure_reason: str = ""
    offline_proof_images: list[str] = msgspec.field(default_factory=list)
    offline_proof_message: str = ""
    succeeded_at_ms: int | None = None
    failed_at_ms: int | None = None  # when the payment service reported a failure
    reminders: int = 0  # refund_reminder re-signalled it this many times (no result came)
    flagged_at_ms: int | None = None  # when it was flagged for ops after the last reminder


class Waybill(msgspec.Struct, omit_defaults=True):
    carrier: str
    waybill_id: str
    shipped_at_ms: int


class PendingTimer(msgspec.Struct, frozen=True, omit_defaults=True):
    """The one timer a request has pending: what it waits for, when, and what it fires."""

    kind: TimerKind
    action: Action
    due_ms: int


class AfterSale(msgspec.Struct, omit_defaults=True):
    """One after-sale request (售后单).

    Field order is append-only: storage keeps a record as a JSON array of these fields by
    position (``service/storage/codec.py``), and every record in Redis was written in this
    order. A new field goes last, with a default; a field is never moved or removed (one no
    longer used keeps its place). ``tests/unit/test_record_field_order.py`` pins the order.
    """

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
    evidence: list[str] = msgspec.field(default_factory=list)
    return_address: str = ""
    application_round: int = 1  # 1 for the application, +1 per modification
    waybill: Waybill | None = None
    negotiation: Negotiation | None = None  # the open one, if any
    negotiations: list[Negotiation] = msgspec.field(default_factory=list)  # every past round
    contact_attempts: list[ContactAttempt] = msgspec.field(default_factory=list)
    rejection: Rejection | None = None
    escalation_deadline_ms: int | None = None  # keeps running through withdraw_escalation
    dispute: Dispute | None = None
    refund: Refund | None = None
    close_reason: CloseReason | None = None
    timer: PendingTimer | None = None
    disputes: int = 0  # escalations and interventions so far (capped: SPEC §8)
    contact_quota_requests: int = 0  # capped like every repeated thing a request holds

    @property
    def deadline_ms(self) -> int | None:
        """When the pending timer fires, if one is pending."""
        return self.timer.due_ms if self.timer else None

    @property
    def negotiation_rounds(self) -> int:
        return len(self.negotiations) + (1 if self.negotiation else 0)

    def copy(self) -> AfterSale:
        """A deep copy, so a refused command can never touch the stored record (one
        MessagePack round trip: about 2 µs, and right for every field without a list of
        them to keep up to date)."""
        return _COPY_DECODER.decode(_COPY_ENCODER.encode(self))


_COPY_ENCODER = msgspec.msgpack.Encoder()
_COPY_DECODER = msgspec.msgpack.Decoder(AfterSale)
