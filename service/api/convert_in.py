"""Proto requests → domain commands: the proto's own shapes are checked on the way.

One converter per mutating RPC takes the request and the caller and returns the command;
:func:`call_of` builds the ``Call`` (actor, calling service, idempotency key, expected version)
they all share. Only what is proto-specific is checked here (``fields``: enum numbers,
Timestamps and Durations, the structured address); every rule on a command's fields is the
domain's (``aftersale.validation``), which names fields as the proto does.
"""

from __future__ import annotations

from collections.abc import Callable
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

Convert = Callable[[Any, Caller], c.Command]


def call_of(request: Any, caller: Caller) -> Call:
    """The call context of a mutating request: idempotency key and expected version."""
    key = fields.require_id(request.idempotency_key, "idempotency_key")
    expected: int | None = None
    if "expected_version" in request.DESCRIPTOR.fields_by_name and request.HasField(
        "expected_version"
    ):
        expected = request.expected_version
        if expected < 1:
            raise InvalidInput(
                "expected_version",
                "must be at least 1 (versions start at 1)",
                "须 ≥ 1(版本号从 1 开始)",
            )
    return Call(caller.actor, caller.service, key, expected)


def request_id(request: Any) -> str:
    """The request a call names ("" for a request that makes one)."""
    if "request_id" not in request.DESCRIPTOR.fields_by_name:
        return ""
    return fields.require_id(request.request_id, "request_id")


def bare(command: Callable[[], c.Command]) -> Convert:
    """The converter of an RPC whose command carries nothing but its action."""
    return lambda _request, _caller: command()


def _type(value: int, field: str = "type") -> AfterSaleType:
    return fields.required_enum(t.AfterSaleType, "AFTER_SALE_TYPE_", AfterSaleType, value, field)


def _reason(value: int) -> BuyerReason:
    return fields.required_enum(t.BuyerReason, "BUYER_REASON_", BuyerReason, value, "reason")


def _address(request: Any) -> str:
    if not request.HasField("return_address"):
        return ""
    return address_text(request.return_address, "return_address")


def apply(request: pb.CreateAfterSaleRequest, caller: Caller) -> c.Apply:
    return c.Apply(
        request_id="",  # made by the service
        order_id=request.order_id,
        sku_id=request.sku_id,
        shop_id=request.shop_id,
        buyer_id=caller.actor.id,  # the order system applies for the buyer it names
        type=_type(request.type),
        amount=request.amount,
        paid_amount=request.paid_amount,
        reason=_reason(request.reason),
        after_sale_deadline_ms=fields.timestamp_ms(request, "after_sale_deadline") or 0,
        description=request.description,
        evidence_images=tuple(request.evidence_images),
        return_address=_address(request),
    )


def supplement_evidence(request: pb.SupplementEvidenceRequest, _: Caller) -> c.SupplementEvidence:
    return c.SupplementEvidence(tuple(request.images), request.message)


def modify(request: pb.ModifyAfterSaleRequest, _: Caller) -> c.ModifyApplication:
    return c.ModifyApplication(
        type=_type(request.type),
        amount=request.amount,
        reason=_reason(request.reason),
        description=request.description,
        images=tuple(request.images),
    )


def waybill(request: pb.SubmitReturnWaybillRequest, _: Caller) -> c.SubmitReturnWaybill:
    return c.SubmitReturnWaybill(request.carrier, request.waybill_id)


def escalate(request: pb.EscalateAfterSaleRequest, _: Caller) -> c.Escalate:
    return c.Escalate(request.message, tuple(request.images))


def approve(request: pb.ApproveAfterSaleRequest, _: Caller) -> c.Approve:
    return c.Approve(_address(request))


def negotiate(request: pb.SendNegotiationRequest, _: Caller) -> c.Negotiate:
    return c.Negotiate(
        kind=fields.required_enum(
            t.NegotiationKind, "NEGOTIATION_KIND_", NegotiationKind, request.kind, "kind"
        ),
        option=fields.required_enum(
            t.NegotiationOption, "NEGOTIATION_OPTION_", NegotiationOption, request.option, "option"
        ),
        images=tuple(request.images),
        message=request.message,
        proposed_type=fields.enum_value(
            t.AfterSaleType,
            "AFTER_SALE_TYPE_",
            AfterSaleType,
            request.proposed_type,
            "proposed_type",
        ),
        proposed_amount=(request.proposed_amount if request.HasField("proposed_amount") else None),
        return_address=_address(request),
    )


def reject(request: pb.RejectAfterSaleRequest, _: Caller) -> c.Reject:
    return c.Reject(
        reason=fields.required_enum(
            t.RejectReason, "REJECT_REASON_", RejectReason, request.reject_reason, "reject_reason"
        ),
        message=request.message,
        images=tuple(request.images),
    )


def upload_refund_proof(request: pb.UploadRefundProofRequest, _: Caller) -> c.UploadRefundProof:
    return c.UploadRefundProof(tuple(request.images), request.message)


def record_contact_attempt(
    request: pb.RecordContactAttemptRequest, _: Caller
) -> c.RecordContactAttempt:
    return c.RecordContactAttempt(
        channel=fields.required_enum(
            t.ContactChannel, "CONTACT_CHANNEL_", ContactChannel, request.channel, "channel"
        ),
        outcome=fields.required_enum(
            t.ContactOutcome, "CONTACT_OUTCOME_", ContactOutcome, request.outcome, "outcome"
        ),
        attempted_at_ms=fields.timestamp_ms(request, "attempted_at") or 0,
        screenshots=tuple(request.screenshots),
    )


def submit_proof(request: pb.SubmitProofRequest, _: Caller) -> c.SubmitProof:
    return c.SubmitProof(request.message, tuple(request.images))


def report_refund(
    request: pb.ReportRefundResultRequest, _: Caller
) -> c.RefundSucceeded | c.RefundFailed:
    """One message, two commands: the result enum picks the action."""
    if request.result == t.REFUND_RESULT_SUCCEEDED:
        if request.failure_reason:
            raise InvalidInput(
                "failure_reason", "must be empty when the result is SUCCEEDED", "退款成功时须为空"
            )
        return c.RefundSucceeded(request.refund_id)
    if request.result == t.REFUND_RESULT_FAILED:
        return c.RefundFailed(request.refund_id, request.failure_reason)
    if request.result != t.REFUND_RESULT_UNSPECIFIED:
        raise InvalidInput("result", f"unknown value {request.result}", "未知取值")
    raise InvalidInput(
        "result",
        "required: SUCCEEDED or FAILED",
        "必填:成功(REFUND_RESULT_SUCCEEDED)或失败(REFUND_RESULT_FAILED)",
    )


def request_proof(request: pb.RequestProofRequest, _: Caller) -> c.RequestProof:
    party = fields.required_enum(t.ProofParty, "PROOF_PARTY_", ProofParty, request.party, "party")
    which = request.WhichOneof("deadline")
    within = fields.duration_ms(request, "deadline_in") if which == "deadline_in" else None
    at = fields.timestamp_ms(request, "deadline_at") if which == "deadline_at" else None
    return c.RequestProof(party, request.note, deadline_at_ms=at, deadline_in_ms=within)


def resolve(request: pb.ResolveDisputeRequest, _: Caller) -> c.ResolveDispute:
    verdict = fields.required_enum(t.Verdict, "VERDICT_", Verdict, request.verdict, "verdict")
    amount = request.refund_amount if request.HasField("refund_amount") else None
    return c.ResolveDispute(verdict, amount)
