"""Every error reason a client can get, in one table: its gRPC code, its ErrorInfo metadata
keys, whether and how to retry, and what to do (``error_details`` renders a status from it;
README "Errors" is this table, printed by ``python -m service.api.errors``).

Adding a reason is one line in :data:`REASONS` (then reprint the README table: a unit test
compares them). A domain refusal's texts are in ``aftersale.refusals``; an API-level error is
raised as ``ApiError(reason, message_en, message_zh, metadata)`` and takes its code from here.

The metadata scheme, for every reason: keys are snake_case; ids under their field's name
(``request_id`` only when a request was named); enum values by their proto name without the
enum's prefix (``MERCHANT_PROCESSING``, ``CONFIRM_RECEIPT``, ``AMOUNT_ONLY``); lists joined with
"," and no spaces; numbers in decimal. Every ErrorInfo has domain ``aftersale.v1``; every
status carries two LocalizedMessage details, ``en-US`` and ``zh-CN``; a retryable one carries
``google.rpc.RetryInfo`` with the delay below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

DOMAIN = "aftersale.v1"
Code: Any = grpc.StatusCode  # grpc ships no type hints
# Every refusal of an action names the request, where it is and what the caller may do now.
REFUSAL_KEYS = "request_id,state,action,allowed_actions"


@dataclass(frozen=True, slots=True)
class Reason:
    """One ErrorInfo reason: its code, metadata keys, retry delay (None: do not retry as is)
    and what a client does about it."""

    code: Any  # grpc.StatusCode
    keys: str  # the ErrorInfo metadata keys, comma-separated
    retry_after_s: float | None
    todo: str


def _refused(keys: str, todo: str) -> Reason:
    return Reason(
        Code.FAILED_PRECONDITION, ",".join(filter(None, (REFUSAL_KEYS, keys))), None, todo
    )


_INVALID, _DENIED = Code.INVALID_ARGUMENT, Code.PERMISSION_DENIED
_UNAVAILABLE, _EXHAUSTED = Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED
_FIX_FIELD = "Fix the field named in BadRequest and `field`; retrying as is fails again."

# fmt: off
REASONS: dict[str, Reason] = {
    # -- INVALID_ARGUMENT: wrong whatever the stored request says (checked before any read)
    "FIELD_REQUIRED": Reason(_INVALID, "field", None, "Fill the field named in `field`."),
    "FIELD_INVALID": Reason(_INVALID, "field", None, _FIX_FIELD),
    "EVIDENCE_REQUIRED": Reason(_INVALID, "field", None, "Upload the evidence images the message names (`images`)."),
    "TOKEN_NOT_ISSUED": Reason(_INVALID, "field", None, "Send back only a cursor or page token this service gave this caller, unchanged."),
    "BODY_UNDECODABLE": Reason(_INVALID, "field", None, "Send a valid protobuf encoding of the request message."),
    # -- UNAUTHENTICATED
    "TOKEN_MISSING": Reason(Code.UNAUTHENTICATED, "", None, "Send `authorization: Bearer <token>`."),
    "TOKEN_INVALID": Reason(Code.UNAUTHENTICATED, "", None, "Use a token from the tokens file."),
    "TOKEN_REPEATED": Reason(Code.UNAUTHENTICATED, "", None, "Send `authorization` once."),
    # -- PERMISSION_DENIED
    "NOT_YOUR_REQUEST": Reason(_DENIED, "request_id", None, "Act only on your own requests (the same answer whether or not the request exists)."),
    "ROLE_NOT_ALLOWED": Reason(_DENIED, "request_id", None, "Call as a role this RPC or action is open to (README \"The API\")."),
    "TOKEN_ROLE_NOT_HELD": Reason(_DENIED, "", None, "Use a token that holds the role, or another `x-actor-role`."),
    "NOT_YOUR_SUBSCRIPTION": Reason(_DENIED, "", None, "Consume only your service's subscriptions, as their role (the same answer whether or not the name exists)."),
    "OUT_OF_SCOPE": Reason(_DENIED, "request_id", None, "Narrow the filter to your own shop, buyer id or role."),
    "FILTER_REQUIRED": Reason(_DENIED, "", None, "Filter by shop, buyer or order."),
    # -- NOT_FOUND, ALREADY_EXISTS, DATA_LOSS
    "REQUEST_NOT_FOUND": Reason(Code.NOT_FOUND, "request_id", None, "Check the id (only ops are told a request does not exist)."),
    "SUBSCRIPTION_NOT_FOUND": Reason(Code.NOT_FOUND, "subscription", None, "Check the name (ListSubscriptions); a consumer's stream ends so when its subscription is deleted."),
    "SUBSCRIPTION_EXISTS": Reason(Code.ALREADY_EXISTS, "subscription", None, "Use the existing definition, or delete it first (its consumers' streams end)."),
    "IDEMPOTENCY_KEY_REUSED": Reason(Code.ALREADY_EXISTS, "idempotency_key", None, "Use a new idempotency key for a different call."),
    "IDEMPOTENT_CALL_SUPERSEDED": Reason(Code.ALREADY_EXISTS, "idempotency_key,request_id,version,event_id", None, "Nothing to redo: the call took effect (`version`, `event_id`); the request moved on since, so read it (GetAfterSale) for its state now."),
    "RECORD_UNREADABLE": Reason(Code.DATA_LOSS, "request_id", None, "Tell ops the request id; the log has the details."),
    # -- ABORTED: a lost race (one without expected_version is retried inside the service)
    "VERSION_CONFLICT": Reason(Code.ABORTED, "request_id,expected_version,actual_version", 0.0, "Re-read the request, decide again, retry with the new expected_version."),
    # -- UNAVAILABLE: nothing was written; retry with the same idempotency key
    "STORAGE_UNAVAILABLE": Reason(_UNAVAILABLE, "error_id", 1.0, "Retry with the same idempotency key (the service config does)."),
    "STORAGE_FULL": Reason(_UNAVAILABLE, "error_id", 5.0, "Retry later with the same idempotency key; ops free memory."),
    "STORAGE_NOT_PERSISTING": Reason(_UNAVAILABLE, "error_id", 5.0, "Retry later with the same idempotency key; ops fix the disk."),
    "ARCHIVE_UNAVAILABLE": Reason(_UNAVAILABLE, "error_id", 1.0, "Retry later: the request or page is in the archive (PostgreSQL), which cannot be reached now; ops restore it."),
    # -- RESOURCE_EXHAUSTED: too many WatchTransitions streams
    "TOO_MANY_STREAMS_FOR_CALLER": Reason(_EXHAUSTED, "limit", 5.0, "Close one of your streams, or retry later."),
    "STREAMS_RESERVED_FOR_OTHER_SERVICES": Reason(_EXHAUSTED, "limit", 5.0, "Retry later."),
    "TOO_MANY_STREAMS": Reason(_EXHAUSTED, "limit", 5.0, "Retry later."),
    # -- OUT_OF_RANGE: a WatchTransitions cursor older than the retained stream
    "CURSOR_TRIMMED": Reason(Code.OUT_OF_RANGE, "oldest_cursor", None, "Resume from `oldest_cursor`, or fill the gap from the request histories."),
    # -- INTERNAL
    "INTERNAL": Reason(Code.INTERNAL, "error_id", None, "Tell ops the error id; the log has the traceback."),
    # -- FAILED_PRECONDITION: what this deployment cannot answer
    "ARCHIVE_DISABLED": Reason(Code.FAILED_PRECONDITION, "field", None, "Ask without `field` (all-time figures), or ask a deployment with an archive (AFTERSALE_ARCHIVE_URL)."),
    # -- FAILED_PRECONDITION: the action's refusals (aftersale.refusals has their texts)
    "INVALID_STATE": _refused("", "Do one of `allowed_actions`, or wait for the request to move."),
    "STALE_TIMER": _refused("", "Nothing: the timer no longer applies."),
    "NO_PENDING_TIMER": _refused("", "Nothing to fire; `action` names the state's timer, if it has one."),
    "APPLICATION_DEADLINE_PASSED": _refused("", "Contact the shop's customer service."),
    "ATTEMPT_LIMIT": _refused("limit,used,order_id,sku_id", "Contact customer service: the order line used its applications and modifications."),
    "LINE_HAS_OPEN_REQUEST": _refused("open_request_id,order_id,sku_id", "Continue with `open_request_id`, or cancel it first."),
    "LINE_ALREADY_REFUNDED": _refused("refunded_request_id,order_id,sku_id", "Nothing more for this order line."),
    "NEGOTIATION_OPEN": _refused("", "Wait for the buyer's answer, or withdraw the negotiation."),
    "ROUND_LIMIT": _refused("limit", "Approve, or reject if a failed negotiation allows it."),
    "OPTION_NOT_ALLOWED": _refused("option,options", "Send one of `options`."),
    "CONTACT_ATTEMPT_REQUIRED": _refused("", "RecordContactAttempt first, then send UNABLE_TO_CONTACT."),
    "AMOUNT_NOT_ALLOWED": _refused("amount", "Propose an amount that fits the option."),
    "RETURN_ADDRESS_REQUIRED": _refused("", "Give `return_address` (ApproveAfterSale, SendNegotiation)."),
    "PLAIN_ACCEPT_NOT_ALLOWED": _refused("", "SupplementEvidence, ModifyAfterSale or CancelAfterSale."),
    "EVIDENCE_NOT_REQUESTED": _refused("", "AcceptNegotiation or RejectNegotiation."),
    "REJECTION_FORBIDDEN": _refused("reject_reason", "Approve, or negotiate AGREED_TO_CANCEL."),
    "REASON_NOT_FOR_STATE": _refused("reject_reason", "Use a reject reason of this state (ListRejectReasons)."),
    "NEGOTIATION_REQUIRED": _refused("reject_reason,options", "Send one of `options`; reject once the buyer refuses it or lets it time out."),
    "ESCALATION_WINDOW_CLOSED": _refused("", "Nothing: the window to escalate has closed."),
    "NOT_ESCALATED_BY_BUYER": _refused("", "Wait for the platform's decision."),
    "PROOF_NOT_REQUESTED": _refused("party", "Wait until the platform asks for proof."),
    "PROOF_DEADLINE_PASSED": _refused("", "Wait for the platform's decision."),
    "PROOF_IMAGE_LIMIT": _refused("limit,used", "Submit fewer images."),
    "PROOF_REQUEST_LIMIT": _refused("limit,used", "Decide on the proof submitted."),
    "PROOF_LIMIT": _refused("limit,used", "Wait for the platform's decision."),
    "EVIDENCE_LIMIT": _refused("limit,used", "Send fewer images, or modify the application."),
    "CONTACT_ATTEMPT_LIMIT": _refused("limit,used", "Send UNABLE_TO_CONTACT with the attempts recorded."),
    "CONTACT_QUOTA_LIMIT": _refused("limit,used", "Use the quotas granted, or negotiate UNABLE_TO_CONTACT."),
    "DISPUTE_LIMIT": _refused("limit,used", "Contact platform customer service."),
    "REFUND_ATTEMPT_LIMIT": _refused("limit,used", "CloseRefund, or have the merchant refund offline."),
    "REFUND_ID_MISMATCH": _refused("refund_id,current_refund_id", "Report the result of `current_refund_id`."),
    "REFUND_SETTLED_OFFLINE": _refused("refund_id", "Reverse the payment and alert ops: the buyer was refunded offline."),
}
# fmt: on


class ApiError(Exception):
    """A refusal of the API layer itself (not the domain's); its code is its reason's."""

    def __init__(
        self,
        reason: str,
        message: str,
        message_zh: str,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = REASONS[reason].code  # an unlisted reason fails here, in its first test
        self.message = message
        self.message_zh = message_zh
        self.metadata = metadata or {}


class Unauthenticated(ApiError):
    """No bearer token, or one the service does not know."""


class ResourceExhausted(ApiError):
    """Too many open streams (``stream_slots``: the reason names the limit)."""


# The published retry policy (a gRPC service config any language's gRPC loads): the codes it
# retries are ``retry_policy_codes()`` (a test keeps them equal).
SERVICE_CONFIG = Path(__file__).resolve().parents[2] / "proto/aftersale/v1/service_config.json"


def retry_channel_options() -> list[tuple[str, Any]]:
    """Channel options that make a Python gRPC client follow the published retry policy
    (none when the file is not there: an install without the repository's protos)."""
    if not SERVICE_CONFIG.is_file():
        return []
    return [("grpc.service_config", SERVICE_CONFIG.read_text()), ("grpc.enable_retries", 1)]


def retry_policy_codes() -> list[str]:
    """The codes the published service config retries: those whose reasons all say "retry
    as is" (ABORTED is not one: its retry needs a fresh read first)."""
    codes = {r.code for r in REASONS.values() if r.retry_after_s is not None}
    as_is = [c for c in codes if all(r.retry_after_s for r in REASONS.values() if r.code == c)]
    return sorted(c.name for c in as_is)


def readme_table() -> str:
    """The README's error table (a unit test keeps the README equal to it)."""
    lines = [
        "| reason | code | metadata keys | retry | what to do |",
        "|---|---|---|---|---|",
    ]
    for name, r in REASONS.items():
        keys = ", ".join(f"`{k}`" for k in r.keys.split(",") if k) or "—"
        if r.retry_after_s is None:
            retry = "no"
        elif r.retry_after_s == 0:
            retry = "after a fresh read (RetryInfo 0 s)"
        else:
            retry = f"yes, after {r.retry_after_s:g} s (RetryInfo)"
        lines.append(f"| `{name}` | {r.code.name} | {keys} | {retry} | {r.todo} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(readme_table())
