"""The after-sale vocabulary of SPEC §2–§5: every name the code, proto and docs share.

Enums are ``StrEnum`` so a value is its own wire and storage form (``"REFUND"``).
"""

from __future__ import annotations

from enum import StrEnum


class AfterSaleType(StrEnum):
    REFUND = "REFUND"  # 仅退款
    RETURN = "RETURN"  # 退货退款
    # EXCHANGE (换货) is a later extension: a new member plus its transitions.


class Role(StrEnum):
    BUYER = "BUYER"
    MERCHANT = "MERCHANT"
    PAYMENT = "PAYMENT"
    PLATFORM = "PLATFORM"
    SYSTEM = "SYSTEM"


class State(StrEnum):
    MERCHANT_PROCESSING = "MERCHANT_PROCESSING"
    USER_WAIT_CONFIRM_UPDATE = "USER_WAIT_CONFIRM_UPDATE"
    MERCHANT_REJECT_REFUND = "MERCHANT_REJECT_REFUND"
    MERCHANT_REJECT_RETURN = "MERCHANT_REJECT_RETURN"
    USER_WAIT_RETURN = "USER_WAIT_RETURN"
    MERCHANT_WAIT_RECEIPT = "MERCHANT_WAIT_RECEIPT"
    RETURN_CLOSED = "RETURN_CLOSED"
    PLATFORM_ARBITRATING = "PLATFORM_ARBITRATING"
    PLATFORM_REFUNDING = "PLATFORM_REFUNDING"
    PLATFORM_REFUND_FAIL = "PLATFORM_REFUND_FAIL"
    USER_WAIT_CONFIRM = "USER_WAIT_CONFIRM"
    MERCHANT_OVERDUE_REFUND = "MERCHANT_OVERDUE_REFUND"
    MERCHANT_REFUND_SUCCESS = "MERCHANT_REFUND_SUCCESS"
    MERCHANT_RETURN_SUCCESS = "MERCHANT_RETURN_SUCCESS"
    USER_CANCELD = "USER_CANCELD"  # the platform's spelling
    MERCHANT_FAIL = "MERCHANT_FAIL"
    MERCHANT_REFUND_RETRY_FAIL = "MERCHANT_REFUND_RETRY_FAIL"


STATE_ZH: dict[State, str] = {
    State.MERCHANT_PROCESSING: "商家受理中",
    State.USER_WAIT_CONFIRM_UPDATE: "待用户处理商家协商",
    State.MERCHANT_REJECT_REFUND: "商家拒绝退款",
    State.MERCHANT_REJECT_RETURN: "商家拒绝退货退款",
    State.USER_WAIT_RETURN: "待买家退货",
    State.MERCHANT_WAIT_RECEIPT: "待商家收货",
    State.RETURN_CLOSED: "退货退款关闭",
    State.PLATFORM_ARBITRATING: "平台介入中",
    State.PLATFORM_REFUNDING: "平台退款中",
    State.PLATFORM_REFUND_FAIL: "平台退款失败",
    State.USER_WAIT_CONFIRM: "待用户确认",
    State.MERCHANT_OVERDUE_REFUND: "商家逾期未退款",
    State.MERCHANT_REFUND_SUCCESS: "退款完成",
    State.MERCHANT_RETURN_SUCCESS: "退货退款完成",
    State.USER_CANCELD: "用户取消申请",
    State.MERCHANT_FAIL: "售后关闭",
    State.MERCHANT_REFUND_RETRY_FAIL: "商家打款失败,客服关闭",
}


class Action(StrEnum):
    """The machine's events (SPEC §3), snake_case as the machine names them."""

    APPLY = "apply"
    APPROVE = "approve"
    NEGOTIATE = "negotiate"
    WITHDRAW_NEGOTIATION = "withdraw_negotiation"
    ACCEPT_NEGOTIATION = "accept_negotiation"
    REJECT_NEGOTIATION = "reject_negotiation"
    SUPPLEMENT_EVIDENCE = "supplement_evidence"
    NEGOTIATION_TIMEOUT = "negotiation_timeout"
    REJECT = "reject"
    MERCHANT_TIMEOUT = "merchant_timeout"
    MODIFY_APPLICATION = "modify_application"
    CANCEL = "cancel"
    SUBMIT_RETURN_WAYBILL = "submit_return_waybill"
    RETURN_SHIP_TIMEOUT = "return_ship_timeout"
    CONFIRM_RECEIPT = "confirm_receipt"
    RECEIPT_TIMEOUT = "receipt_timeout"
    ESCALATE = "escalate"
    INTERVENE = "intervene"
    ESCALATION_EXPIRED = "escalation_expired"
    REQUEST_PROOF = "request_proof"
    SUBMIT_PROOF = "submit_proof"
    PROOF_TIMEOUT = "proof_timeout"
    WITHDRAW_ESCALATION = "withdraw_escalation"
    RESOLVE_DISPUTE = "resolve_dispute"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    UPLOAD_REFUND_PROOF = "upload_refund_proof"
    CONFIRM_OFFLINE_REFUND = "confirm_offline_refund"
    OFFLINE_REFUND_CONFIRM_TIMEOUT = "offline_refund_confirm_timeout"
    OFFLINE_REFUND_TIMEOUT = "offline_refund_timeout"
    RETRY_REFUND = "retry_refund"
    CLOSE_REFUND = "close_refund"
    RECORD_CONTACT_ATTEMPT = "record_contact_attempt"
    REQUEST_CONTACT_QUOTA = "request_contact_quota"
    REFUND_REMINDER = "refund_reminder"


# Who may take each action (SPEC §3 "actor" column). SYSTEM actions are timer-only.
ACTION_ROLES: dict[Action, frozenset[Role]] = {
    Action.APPLY: frozenset({Role.BUYER}),
    Action.APPROVE: frozenset({Role.MERCHANT}),
    Action.NEGOTIATE: frozenset({Role.MERCHANT}),
    Action.WITHDRAW_NEGOTIATION: frozenset({Role.MERCHANT}),
    Action.ACCEPT_NEGOTIATION: frozenset({Role.BUYER}),
    Action.REJECT_NEGOTIATION: frozenset({Role.BUYER}),
    Action.SUPPLEMENT_EVIDENCE: frozenset({Role.BUYER}),
    Action.NEGOTIATION_TIMEOUT: frozenset({Role.SYSTEM}),
    Action.REJECT: frozenset({Role.MERCHANT}),
    Action.MERCHANT_TIMEOUT: frozenset({Role.SYSTEM}),
    Action.MODIFY_APPLICATION: frozenset({Role.BUYER}),
    Action.CANCEL: frozenset({Role.BUYER}),
    Action.SUBMIT_RETURN_WAYBILL: frozenset({Role.BUYER}),
    Action.RETURN_SHIP_TIMEOUT: frozenset({Role.SYSTEM}),
    Action.CONFIRM_RECEIPT: frozenset({Role.MERCHANT}),
    Action.RECEIPT_TIMEOUT: frozenset({Role.SYSTEM}),
    Action.ESCALATE: frozenset({Role.BUYER}),
    Action.INTERVENE: frozenset({Role.PLATFORM}),
    Action.ESCALATION_EXPIRED: frozenset({Role.SYSTEM}),
    Action.REQUEST_PROOF: frozenset({Role.PLATFORM}),
    Action.SUBMIT_PROOF: frozenset({Role.BUYER, Role.MERCHANT}),
    Action.PROOF_TIMEOUT: frozenset({Role.SYSTEM}),
    Action.WITHDRAW_ESCALATION: frozenset({Role.BUYER}),
    Action.RESOLVE_DISPUTE: frozenset({Role.PLATFORM}),
    Action.REFUND_SUCCEEDED: frozenset({Role.PAYMENT}),
    Action.REFUND_FAILED: frozenset({Role.PAYMENT}),
    Action.UPLOAD_REFUND_PROOF: frozenset({Role.MERCHANT}),
    Action.CONFIRM_OFFLINE_REFUND: frozenset({Role.BUYER}),
    Action.OFFLINE_REFUND_CONFIRM_TIMEOUT: frozenset({Role.SYSTEM}),
    Action.OFFLINE_REFUND_TIMEOUT: frozenset({Role.SYSTEM}),
    Action.RETRY_REFUND: frozenset({Role.PLATFORM}),
    Action.CLOSE_REFUND: frozenset({Role.PLATFORM}),
    Action.RECORD_CONTACT_ATTEMPT: frozenset({Role.MERCHANT}),
    Action.REQUEST_CONTACT_QUOTA: frozenset({Role.MERCHANT}),
    Action.REFUND_REMINDER: frozenset({Role.SYSTEM}),
}
TIMER_ACTIONS: frozenset[Action] = frozenset(
    a for a, roles in ACTION_ROLES.items() if roles == {Role.SYSTEM}
)
# The answers that end a negotiation and return the request to the state it was sent from,
# where the merchant's clock restarts afresh.
NEGOTIATION_ANSWERS: frozenset[Action] = frozenset(
    {
        Action.WITHDRAW_NEGOTIATION,
        Action.REJECT_NEGOTIATION,
        Action.SUPPLEMENT_EVIDENCE,
        Action.NEGOTIATION_TIMEOUT,
    }
)


class Signal(StrEnum):
    """What an event asks of a consumer, beside the state change (SPEC §7)."""

    REFUND_REQUESTED = "refund_requested"  # the payment service is to pay the event's refund
    # No payment result came after every reminder: ops must find out what happened to the money.
    REFUND_UNANSWERED = "refund_unanswered"
    CONTACT_QUOTA_REQUESTED = "contact_quota_requested"  # for the order system


class BuyerReason(StrEnum):
    INCORRECT_SELECTION = "INCORRECT_SELECTION"
    NO_LONGER_WANT = "NO_LONGER_WANT"
    NO_EXPRESS_INFO = "NO_EXPRESS_INFO"
    EMPTY_PACKAGE = "EMPTY_PACKAGE"
    REJECT_RECEIVE_PACKAGE = "REJECT_RECEIVE_PACKAGE"
    NOT_DELIVERED_TOO_LONG = "NOT_DELIVERED_TOO_LONG"
    NOT_MATCH_PRODUCT_DESC = "NOT_MATCH_PRODUCT_DESC"
    QUALITY_ISSUE = "QUALITY_ISSUE"
    SEND_WRONG_GOODS = "SEND_WRONG_GOODS"
    THREE_NO_PRODUCT = "THREE_NO_PRODUCT"
    FAKE_PRODUCT = "FAKE_PRODUCT"
    NO_REASON_7_DAYS = "NO_REASON_7_DAYS"
    OTHERS = "OTHERS"


QUALITY_REASONS: frozenset[BuyerReason] = frozenset(
    {
        BuyerReason.QUALITY_ISSUE,
        BuyerReason.NOT_MATCH_PRODUCT_DESC,
        BuyerReason.SEND_WRONG_GOODS,
        BuyerReason.THREE_NO_PRODUCT,
        BuyerReason.FAKE_PRODUCT,
        BuyerReason.EMPTY_PACKAGE,
    }
)


class RefundReason(StrEnum):
    """Why money moved; on every refund."""

    MERCHANT_APPROVED = "MERCHANT_APPROVED"
    MERCHANT_TIMEOUT = "MERCHANT_TIMEOUT"
    NEGOTIATION_ACCEPTED = "NEGOTIATION_ACCEPTED"
    RECEIPT_CONFIRMED = "RECEIPT_CONFIRMED"
    RECEIPT_TIMEOUT = "RECEIPT_TIMEOUT"
    PLATFORM_DISPUTE = "PLATFORM_DISPUTE"
    PLATFORM_RETRY = "PLATFORM_RETRY"


class NegotiationKind(StrEnum):
    MODIFY_APPLICATION = "MODIFY_APPLICATION"  # 修改买家售后申请
    INVITE_VERIFY = "INVITE_VERIFY"  # 邀请买家核实与补充凭证
    INVITE_CANCEL = "INVITE_CANCEL"  # 已协商一致,邀请买家取消售后


class NegotiationOption(StrEnum):
    AMOUNT_ONLY = "AMOUNT_ONLY"
    PARTIAL_REFUND = "PARTIAL_REFUND"
    RETURN_PARTIAL_REFUND = "RETURN_PARTIAL_REFUND"
    REFUND_WITHOUT_RETURN = "REFUND_WITHOUT_RETURN"
    NEW_PLAN_AGREED = "NEW_PLAN_AGREED"
    EVIDENCE_MISMATCH = "EVIDENCE_MISMATCH"
    EVIDENCE_UNCLEAR = "EVIDENCE_UNCLEAR"
    PERISHABLE_QUALITY_PROOF = "PERISHABLE_QUALITY_PROOF"
    RETURN_WRONG_ITEM = "RETURN_WRONG_ITEM"
    RETURN_MISSING_PARTS = "RETURN_MISSING_PARTS"
    RETURN_AFFECTS_RESALE = "RETURN_AFFECTS_RESALE"
    UNABLE_TO_CONTACT = "UNABLE_TO_CONTACT"
    AGREED_TO_CANCEL = "AGREED_TO_CANCEL"
    NO_QUALITY_ISSUE_VERIFIED = "NO_QUALITY_ISSUE_VERIFIED"
    RESEND_CORRECT_ITEM = "RESEND_CORRECT_ITEM"


class NegotiationOutcome(StrEnum):
    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    TIMED_OUT = "TIMED_OUT"
    WITHDRAWN = "WITHDRAWN"
    SUPERSEDED = "SUPERSEDED"
    EVIDENCE_SUPPLIED = "EVIDENCE_SUPPLIED"


# Outcomes that show the buyer refused or went silent: only these unlock a rejection (SPEC §5).
FAILED_OUTCOMES: frozenset[NegotiationOutcome] = frozenset(
    {NegotiationOutcome.REJECTED, NegotiationOutcome.TIMED_OUT}
)


class RejectReason(StrEnum):
    AMOUNT_DISAGREEMENT = "AMOUNT_DISAGREEMENT"
    EVIDENCE_NOT_PROVIDED = "EVIDENCE_NOT_PROVIDED"
    NO_QUALITY_ISSUE = "NO_QUALITY_ISSUE"
    BUYER_UNREACHABLE = "BUYER_UNREACHABLE"
    RETURN_ANOMALY = "RETURN_ANOMALY"
    REASON_MISMATCH = "REASON_MISMATCH"


class Verdict(StrEnum):
    MERCHANT_LIABLE = "MERCHANT_LIABLE"
    BUYER_LIABLE = "BUYER_LIABLE"
    BOTH_LIABLE = "BOTH_LIABLE"


class CloseReason(StrEnum):
    BUYER_CANCELLED = "BUYER_CANCELLED"
    NEGOTIATED_CANCEL = "NEGOTIATED_CANCEL"
    ESCALATION_EXPIRED = "ESCALATION_EXPIRED"
    DISPUTE_BUYER_LIABLE = "DISPUTE_BUYER_LIABLE"
    REFUND_CLOSED = "REFUND_CLOSED"


class ContactChannel(StrEnum):
    PHONE = "PHONE"
    VOICE = "VOICE"
    WECOM = "WECOM"
    SMS = "SMS"


class ContactOutcome(StrEnum):
    NO_ANSWER = "NO_ANSWER"
    REFUSED = "REFUSED"
    NO_REPLY = "NO_REPLY"


class ProofParty(StrEnum):
    BUYER = "BUYER"
    MERCHANT = "MERCHANT"
    BOTH = "BOTH"


class TimerKind(StrEnum):
    """The durable timers of SPEC §6, named by what they wait for."""

    MERCHANT_HANDLING = "MERCHANT_HANDLING"
    NEGOTIATION_REPLY = "NEGOTIATION_REPLY"
    RETURN_SHIP = "RETURN_SHIP"
    RECEIPT = "RECEIPT"
    ESCALATION_WINDOW = "ESCALATION_WINDOW"
    PROOF_DEADLINE = "PROOF_DEADLINE"
    OFFLINE_REFUND = "OFFLINE_REFUND"
    OFFLINE_REFUND_CONFIRM = "OFFLINE_REFUND_CONFIRM"
    REFUND_RESULT = "REFUND_RESULT"  # the payment service reports on the refund
