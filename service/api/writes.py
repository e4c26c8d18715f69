"""The mutating RPCs as one table: which commands each may send, how its request becomes one,
and which response carries the new record.

Who may call a write RPC is not written here: it is the domain's ``ACTION_ROLES`` of the
actions its commands send (``WriteRpc.roles``), which the auth interceptor reads. Adding an
action is a row here, its converter in ``convert_in`` and its RPC in the proto.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Any

from aftersale import commands as c
from aftersale.vocabulary import ACTION_ROLES, Role
from service.api import convert_in as to
from service.gen.aftersale.v1 import aftersale_pb2 as pb


@dataclass(frozen=True, slots=True)
class WriteRpc:
    """One mutating RPC of ``aftersale.v1.AfterSaleService``."""

    commands: tuple[type[c.Command], ...]  # what it may send (ReportRefundResult: two)
    convert: to.Convert
    response: Any  # the generated response class; its ``after_sale`` is the new record

    @property
    def roles(self) -> frozenset[Role]:
        """The roles that may take the actions this RPC sends."""
        actions = (c.action_of_type(command) for command in self.commands)
        return reduce(frozenset.union, (ACTION_ROLES[action] for action in actions))


def _only(command: type[c.Command], response: Any) -> WriteRpc:
    """An RPC whose command carries nothing but its action."""
    return WriteRpc((command,), to.bare(command), response)


WRITES: dict[str, WriteRpc] = {
    # buyer (the order system on the buyer's behalf)
    "CreateAfterSale": WriteRpc((c.Apply,), to.apply, pb.CreateAfterSaleResponse),
    "AcceptNegotiation": _only(c.AcceptNegotiation, pb.AcceptNegotiationResponse),
    "RejectNegotiation": _only(c.RejectNegotiation, pb.RejectNegotiationResponse),
    "SupplementEvidence": WriteRpc(
        (c.SupplementEvidence,), to.supplement_evidence, pb.SupplementEvidenceResponse
    ),
    "ModifyAfterSale": WriteRpc((c.ModifyApplication,), to.modify, pb.ModifyAfterSaleResponse),
    "CancelAfterSale": _only(c.Cancel, pb.CancelAfterSaleResponse),
    "SubmitReturnWaybill": WriteRpc(
        (c.SubmitReturnWaybill,), to.waybill, pb.SubmitReturnWaybillResponse
    ),
    "EscalateAfterSale": WriteRpc((c.Escalate,), to.escalate, pb.EscalateAfterSaleResponse),
    "WithdrawEscalation": _only(c.WithdrawEscalation, pb.WithdrawEscalationResponse),
    "ConfirmOfflineRefund": _only(c.ConfirmOfflineRefund, pb.ConfirmOfflineRefundResponse),
    # merchant
    "ApproveAfterSale": WriteRpc((c.Approve,), to.approve, pb.ApproveAfterSaleResponse),
    "SendNegotiation": WriteRpc((c.Negotiate,), to.negotiate, pb.SendNegotiationResponse),
    "WithdrawNegotiation": _only(c.WithdrawNegotiation, pb.WithdrawNegotiationResponse),
    "RejectAfterSale": WriteRpc((c.Reject,), to.reject, pb.RejectAfterSaleResponse),
    "ConfirmReceipt": _only(c.ConfirmReceipt, pb.ConfirmReceiptResponse),
    "UploadRefundProof": WriteRpc(
        (c.UploadRefundProof,), to.upload_refund_proof, pb.UploadRefundProofResponse
    ),
    "RecordContactAttempt": WriteRpc(
        (c.RecordContactAttempt,), to.record_contact_attempt, pb.RecordContactAttemptResponse
    ),
    "RequestContactQuota": _only(c.RequestContactQuota, pb.RequestContactQuotaResponse),
    # either party, payment, platform
    "SubmitProof": WriteRpc((c.SubmitProof,), to.submit_proof, pb.SubmitProofResponse),
    "ReportRefundResult": WriteRpc(
        (c.RefundSucceeded, c.RefundFailed), to.report_refund, pb.ReportRefundResultResponse
    ),
    "InterveneAfterSale": _only(c.Intervene, pb.InterveneAfterSaleResponse),
    "RequestProof": WriteRpc((c.RequestProof,), to.request_proof, pb.RequestProofResponse),
    "ResolveDispute": WriteRpc((c.ResolveDispute,), to.resolve, pb.ResolveDisputeResponse),
    "RetryRefund": _only(c.RetryRefund, pb.RetryRefundResponse),
    "CloseRefund": _only(c.CloseRefund, pb.CloseRefundResponse),
}
