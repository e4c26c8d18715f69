"""Proto requests → domain commands, every field checked on the way (``fields``).

One function per mutating RPC returns ``(request_id, command)``; :func:`call_of` builds the
``Call`` (actor, calling service, idempotency key, expected version) they all share. Rules that
need the stored request (amount ≤ paid, images required by an option, the state) are the
domain's: it refuses with InvalidInput or a refusal the error table maps the same way.
"""

from __future__ import annotations

from typing import Any

from aftersale import commands as c
from aftersale.exceptions import InvalidInput
from aftersale.vocabulary import (
    AfterSaleType,
    BuyerReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    ProofParty,
    RejectReason,
    Verdict,
)
from service.api import fields
from service.api.addresses import address_text
from service.api.caller import Caller
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.handlers import Call

RID = "request_id"

# Where a domain field name differs from the proto field of an RPC (InvalidInput raised by the
# domain names the command's field; the client must see the proto's).
PROTO_FIELDS: dict[str, dict[str, str]] = {
    "CreateAfterSale": {
        "evidence": "evidence_images",
        "after_sale_deadline_ms": "after_sale_deadline",
        "buyer_id": "x-actor-id",
    },
    "ModifyAfterSale": {"evidence": "images"},
    "RecordContactAttempt": {"attempted_at_ms": "attempted_at"},
    "RequestProof": {"deadline_ms": "deadline_at"},
}


def proto_field(rpc: str, field: str) -> str:
    """The proto field of ``rpc`` that the domain field ``field`` came from."""
    head, dot, rest = field.partition("[")
    return PROTO_FIELDS.get(rpc, {}).get(head, head) + (dot + rest)


def call_of(request: Any, caller: Caller) -> Call:
    """The call context of a mutating request: idempotency key and expected version."""
    key = fields.require_id(request.idempotency_key, "idempotency_key")
    expected: int | None = None
    if "expected_version" in request.DESCRIPTOR.fields_by_name and request.HasField(
        "expected_version"
    ):
        expected = request.expected_version
        if expected < 1:
            raise InvalidInput("expected_version", "must be at least 1 (versions start at 1)")
    return Call(caller.actor, caller.service, key, expected)


def request_id(request: Any) -> str:
    return fields.require_id(request.request_id, RID)


def apply(request: pb.CreateAfterSaleRequest, caller: Caller) -> c.Apply:
    paid = fields.amount(request.paid_amount, "paid_amount")
    return c.Apply(
        request_id="",  # made by the service
        order_id=fields.require_id(request.order_id, "order_id"),
        sku_id=fields.require_id(request.sku_id, "sku_id"),
        shop_id=fields.require_id(request.shop_id, "shop_id"),
        buyer_id=caller.actor.id,
        type=fields.required_enum(
            t.AfterSaleType, "AFTER_SALE_TYPE_", AfterSaleType, request.type, "type"
        ),
        amount=fields.amount(request.amount, "amount", paid=paid),
        paid_amount=paid,
        reason=fields.required_enum(
            t.BuyerReason, "BUYER_REASON_", BuyerReason, request.reason, "reason"
        ),
        after_sale_deadline_ms=fields.timestamp_ms(request, "after_sale_deadline") or 0,
        description=fields.text(request.description, "description"),
        evidence=fields.images(request.evidence_images, "evidence_images"),
        return_address=(
            address_text(request.return_address, "return_address")
            if request.HasField("return_address")
            else ""
        ),
    )


def supplement_evidence(request: pb.SupplementEvidenceRequest) -> c.SupplementEvidence:
    images = fields.images(request.images, "images")
    return c.SupplementEvidence(images, fields.text(request.message, "message"))


def modify(request: pb.ModifyAfterSaleRequest) -> c.ModifyApplication:
    return c.ModifyApplication(
        type=fields.required_enum(
            t.AfterSaleType, "AFTER_SALE_TYPE_", AfterSaleType, request.type, "type"
        ),
        amount=fields.amount(request.amount, "amount"),
        reason=fields.required_enum(
            t.BuyerReason, "BUYER_REASON_", BuyerReason, request.reason, "reason"
        ),
        description=fields.text(request.description, "description"),
        evidence=fields.images(request.images, "images"),
    )


def waybill(request: pb.SubmitReturnWaybillRequest) -> c.SubmitReturnWaybill:
    carrier = fields.text(request.carrier, "carrier", required=True, limit=fields.MAX_SHORT_TEXT)
    return c.SubmitReturnWaybill(carrier, fields.require_id(request.waybill_id, "waybill_id"))


def escalate(request: pb.EscalateAfterSaleRequest) -> c.Escalate:
    message = fields.text(request.message, "message")
    return c.Escalate(message, fields.images(request.images, "images"))


def approve(request: pb.ApproveAfterSaleRequest) -> c.Approve:
    if not request.HasField("return_address"):
        return c.Approve()
    return c.Approve(address_text(request.return_address, "return_address"))


def negotiate(request: pb.SendNegotiationRequest) -> c.Negotiate:
    proposed_amount = None
    if request.HasField("proposed_amount"):
        proposed_amount = fields.amount(request.proposed_amount, "proposed_amount")
    return c.Negotiate(
        kind=fields.required_enum(
            t.NegotiationKind, "NEGOTIATION_KIND_", NegotiationKind, request.kind, "kind"
        ),
        option=fields.required_enum(
            t.NegotiationOption, "NEGOTIATION_OPTION_", NegotiationOption, request.option, "option"
        ),
        images=fields.images(request.images, "images"),
        message=fields.text(request.message, "message"),
        proposed_type=fields.enum_value(
            t.AfterSaleType,
            "AFTER_SALE_TYPE_",
            AfterSaleType,
            request.proposed_type,
            "proposed_type",
        ),
        proposed_amount=proposed_amount,
    )


def reject(request: pb.RejectAfterSaleRequest) -> c.Reject:
    return c.Reject(
        reason=fields.required_enum(
            t.RejectReason, "REJECT_REASON_", RejectReason, request.reject_reason, "reject_reason"
        ),
        message=fields.text(request.message, "message"),
        images=fields.images(request.images, "images"),
    )


def upload_refund_proof(request: pb.UploadRefundProofRequest) -> c.UploadRefundProof:
    images = fields.images(request.images, "images")
    return c.UploadRefundProof(images, fields.text(request.message, "message"))


def record_contact_attempt(request: pb.RecordContactAttemptRequest) -> c.RecordContactAttempt:
    return c.RecordContactAttempt(
        channel=fields.required_enum(
            t.ContactChannel, "CONTACT_CHANNEL_", ContactChannel, request.channel, "channel"
        ),
        outcome=fields.required_enum(
            t.ContactOutcome, "CONTACT_OUTCOME_", ContactOutcome, request.outcome, "outcome"
        ),
        attempted_at_ms=fields.timestamp_ms(request, "attempted_at") or 0,
        screenshots=fields.images(request.screenshots, "screenshots"),
    )


def submit_proof(request: pb.SubmitProofRequest) -> c.SubmitProof:
    message = fields.text(request.message, "message")
    return c.SubmitProof(message, fields.images(request.images, "images"))


def report_refund(request: pb.ReportRefundResultRequest) -> c.RefundSucceeded | c.RefundFailed:
    refund_id = fields.require_id(request.refund_id, "refund_id", fields.REFUND_ID_PATTERN)
    reason = fields.text(request.failure_reason, "failure_reason")
    if request.result == t.REFUND_RESULT_SUCCEEDED:
        if reason:
            raise InvalidInput("failure_reason", "must be empty when the result is SUCCEEDED")
        return c.RefundSucceeded(refund_id)
    if request.result == t.REFUND_RESULT_FAILED:
        return c.RefundFailed(refund_id, reason)
    if request.result != t.REFUND_RESULT_UNSPECIFIED:
        raise InvalidInput("result", f"unknown value {request.result}", "未知取值")
    raise InvalidInput("result", "required: SUCCEEDED or FAILED", "必填: SUCCEEDED 或 FAILED")


def request_proof(request: pb.RequestProofRequest, now_ms: int) -> c.RequestProof:
    party = fields.required_enum(t.ProofParty, "PROOF_PARTY_", ProofParty, request.party, "party")
    deadline_ms: int | None = None
    which = request.WhichOneof("deadline")
    if which == "deadline_in":
        duration_ms = request.deadline_in.ToMilliseconds()
        if duration_ms <= 0:
            raise InvalidInput("deadline_in", "must be positive", "须为正数")
        deadline_ms = now_ms + duration_ms
    elif which == "deadline_at":
        deadline_ms = fields.timestamp_ms(request, "deadline_at")
        if deadline_ms is not None and deadline_ms <= now_ms:
            raise InvalidInput("deadline_at", "must be in the future", "须为将来的时间")
    return c.RequestProof(party, fields.text(request.note, "note"), deadline_ms)


def resolve(request: pb.ResolveDisputeRequest) -> c.ResolveDispute:
    verdict = fields.required_enum(t.Verdict, "VERDICT_", Verdict, request.verdict, "verdict")
    amount: int | None = None
    if request.HasField("refund_amount"):
        if verdict is Verdict.BUYER_LIABLE:
            raise InvalidInput("refund_amount", "not allowed when the buyer is liable")
        amount = fields.amount(request.refund_amount, "refund_amount")
    elif verdict is Verdict.BOTH_LIABLE:
        raise InvalidInput("refund_amount", "required when both are liable", "双方有责时必填")
    return c.ResolveDispute(verdict, amount)
