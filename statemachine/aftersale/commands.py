"""Commands: what a caller asks the machine to do, one dataclass per action of SPEC §3.

A command carries only the caller's input, its fields named as the API names them (times in
ms carry a ``_ms`` suffix the API's Timestamp fields do not). Who acts travels beside it as an
``Actor``; when it happens comes from the injected clock. Input shape (lengths, id characters,
counts) is checked by ``aftersale.validation`` before any machine runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from aftersale.vocabulary import (
    Action,
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


@dataclass(frozen=True, slots=True)
class Apply:
    """A buyer's application, created by the order system on the buyer's behalf."""

    action: ClassVar[Action] = Action.APPLY
    request_id: str
    order_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    type: AfterSaleType
    amount: int
    paid_amount: int
    reason: BuyerReason
    after_sale_deadline_ms: int
    description: str = ""
    evidence_images: tuple[str, ...] = ()
    return_address: str = ""  # the shop's default, required later for a RETURN approval


@dataclass(frozen=True, slots=True)
class Approve:
    action: ClassVar[Action] = Action.APPROVE
    return_address: str = ""  # overrides the request's default


@dataclass(frozen=True, slots=True)
class Negotiate:
    action: ClassVar[Action] = Action.NEGOTIATE
    kind: NegotiationKind
    option: NegotiationOption
    images: tuple[str, ...] = ()
    message: str = ""  # appended to the option's auto-filled message
    proposed_type: AfterSaleType | None = None
    proposed_amount: int | None = None
    return_address: str = ""  # for a proposal that makes the request a RETURN


@dataclass(frozen=True, slots=True)
class WithdrawNegotiation:
    action: ClassVar[Action] = Action.WITHDRAW_NEGOTIATION


@dataclass(frozen=True, slots=True)
class AcceptNegotiation:
    action: ClassVar[Action] = Action.ACCEPT_NEGOTIATION


@dataclass(frozen=True, slots=True)
class RejectNegotiation:
    action: ClassVar[Action] = Action.REJECT_NEGOTIATION
    message: str = ""


@dataclass(frozen=True, slots=True)
class SupplementEvidence:
    action: ClassVar[Action] = Action.SUPPLEMENT_EVIDENCE
    images: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True, slots=True)
class Reject:
    """Rejection with evidence (拒绝售后), SPEC §5."""

    action: ClassVar[Action] = Action.REJECT
    reason: RejectReason
    message: str = ""
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModifyApplication:
    action: ClassVar[Action] = Action.MODIFY_APPLICATION
    type: AfterSaleType
    amount: int
    reason: BuyerReason
    description: str = ""
    images: tuple[str, ...] = ()  # the new evidence, replacing the old


@dataclass(frozen=True, slots=True)
class Cancel:
    action: ClassVar[Action] = Action.CANCEL
    message: str = ""


@dataclass(frozen=True, slots=True)
class SubmitReturnWaybill:
    action: ClassVar[Action] = Action.SUBMIT_RETURN_WAYBILL
    carrier: str
    waybill_id: str


@dataclass(frozen=True, slots=True)
class ConfirmReceipt:
    action: ClassVar[Action] = Action.CONFIRM_RECEIPT


@dataclass(frozen=True, slots=True)
class Escalate:
    action: ClassVar[Action] = Action.ESCALATE
    message: str = ""
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Intervene:
    action: ClassVar[Action] = Action.INTERVENE
    message: str = ""


@dataclass(frozen=True, slots=True)
class RequestProof:
    action: ClassVar[Action] = Action.REQUEST_PROOF
    party: ProofParty
    note: str = ""
    # At most one of the two; neither = now + the configured proof deadline. A relative
    # deadline stays relative here, so a retried call is the same command.
    deadline_at_ms: int | None = None
    deadline_in_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SubmitProof:
    action: ClassVar[Action] = Action.SUBMIT_PROOF
    message: str = ""
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WithdrawEscalation:
    action: ClassVar[Action] = Action.WITHDRAW_ESCALATION


@dataclass(frozen=True, slots=True)
class ResolveDispute:
    action: ClassVar[Action] = Action.RESOLVE_DISPUTE
    verdict: Verdict
    refund_amount: int | None = None  # MERCHANT_LIABLE: default full; BOTH_LIABLE: required
    message: str = ""


@dataclass(frozen=True, slots=True)
class RefundSucceeded:
    action: ClassVar[Action] = Action.REFUND_SUCCEEDED
    refund_id: str


@dataclass(frozen=True, slots=True)
class RefundFailed:
    action: ClassVar[Action] = Action.REFUND_FAILED
    refund_id: str
    failure_reason: str = ""


@dataclass(frozen=True, slots=True)
class UploadRefundProof:
    action: ClassVar[Action] = Action.UPLOAD_REFUND_PROOF
    images: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True, slots=True)
class ConfirmOfflineRefund:
    action: ClassVar[Action] = Action.CONFIRM_OFFLINE_REFUND


@dataclass(frozen=True, slots=True)
class RetryRefund:
    action: ClassVar[Action] = Action.RETRY_REFUND


@dataclass(frozen=True, slots=True)
class CloseRefund:
    action: ClassVar[Action] = Action.CLOSE_REFUND
    message: str = ""


@dataclass(frozen=True, slots=True)
class RecordContactAttempt:
    action: ClassVar[Action] = Action.RECORD_CONTACT_ATTEMPT
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at_ms: int
    screenshots: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestContactQuota:
    action: ClassVar[Action] = Action.REQUEST_CONTACT_QUOTA
    message: str = ""


@dataclass(frozen=True, slots=True)
class FireTimer:
    """A due timer firing its action (SYSTEM). ``version`` is the record version it was set at;
    a timer whose version or action no longer matches the record is stale and does nothing."""

    timer_action: Action
    version: int


Command = (
    Apply
    | Approve
    | Negotiate
    | WithdrawNegotiation
    | AcceptNegotiation
    | RejectNegotiation
    | SupplementEvidence
    | Reject
    | ModifyApplication
    | Cancel
    | SubmitReturnWaybill
    | ConfirmReceipt
    | Escalate
    | Intervene
    | RequestProof
    | SubmitProof
    | WithdrawEscalation
    | ResolveDispute
    | RefundSucceeded
    | RefundFailed
    | UploadRefundProof
    | ConfirmOfflineRefund
    | RetryRefund
    | CloseRefund
    | RecordContactAttempt
    | RequestContactQuota
    | FireTimer
)


def action_of_type(command_type: type[Command]) -> Action:
    """The machine event every command of ``command_type`` sends (not ``FireTimer``'s)."""
    action: object = getattr(command_type, "action", None)
    if not isinstance(action, Action):
        raise TypeError(f"{command_type.__name__} sends no fixed action")
    return action


def action_of(command: Command) -> Action:
    """The machine event a command sends."""
    return command.timer_action if isinstance(command, FireTimer) else command.action
