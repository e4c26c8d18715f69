import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AfterSaleStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AFTER_SALE_STATUS_UNSPECIFIED: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_PROCESSING: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_USER_WAIT_CONFIRM_UPDATE: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_REJECT_REFUND: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_REJECT_RETURN: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_USER_WAIT_RETURN: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_WAIT_RECEIPT: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_RETURN_CLOSED: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_PLATFORM_ARBITRATING: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_PLATFORM_REFUNDING: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_PLATFORM_REFUND_FAIL: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_USER_WAIT_CONFIRM: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_OVERDUE_REFUND: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_RETURN_SUCCESS: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_USER_CANCELD: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_FAIL: _ClassVar[AfterSaleStatus]
    AFTER_SALE_STATUS_MERCHANT_REFUND_RETRY_FAIL: _ClassVar[AfterSaleStatus]

class AfterSaleType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AFTER_SALE_TYPE_UNSPECIFIED: _ClassVar[AfterSaleType]
    AFTER_SALE_TYPE_REFUND: _ClassVar[AfterSaleType]
    AFTER_SALE_TYPE_RETURN: _ClassVar[AfterSaleType]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_BUYER: _ClassVar[Role]
    ROLE_MERCHANT: _ClassVar[Role]
    ROLE_PAYMENT: _ClassVar[Role]
    ROLE_PLATFORM: _ClassVar[Role]
    ROLE_SYSTEM: _ClassVar[Role]

class BuyerReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUYER_REASON_UNSPECIFIED: _ClassVar[BuyerReason]
    BUYER_REASON_INCORRECT_SELECTION: _ClassVar[BuyerReason]
    BUYER_REASON_NO_LONGER_WANT: _ClassVar[BuyerReason]
    BUYER_REASON_NO_EXPRESS_INFO: _ClassVar[BuyerReason]
    BUYER_REASON_EMPTY_PACKAGE: _ClassVar[BuyerReason]
    BUYER_REASON_REJECT_RECEIVE_PACKAGE: _ClassVar[BuyerReason]
    BUYER_REASON_NOT_DELIVERED_TOO_LONG: _ClassVar[BuyerReason]
    BUYER_REASON_NOT_MATCH_PRODUCT_DESC: _ClassVar[BuyerReason]
    BUYER_REASON_QUALITY_ISSUE: _ClassVar[BuyerReason]
    BUYER_REASON_SEND_WRONG_GOODS: _ClassVar[BuyerReason]
    BUYER_REASON_THREE_NO_PRODUCT: _ClassVar[BuyerReason]
    BUYER_REASON_FAKE_PRODUCT: _ClassVar[BuyerReason]
    BUYER_REASON_NO_REASON_7_DAYS: _ClassVar[BuyerReason]
    BUYER_REASON_OTHERS: _ClassVar[BuyerReason]

class RefundReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFUND_REASON_UNSPECIFIED: _ClassVar[RefundReason]
    REFUND_REASON_MERCHANT_APPROVED: _ClassVar[RefundReason]
    REFUND_REASON_MERCHANT_TIMEOUT: _ClassVar[RefundReason]
    REFUND_REASON_NEGOTIATION_ACCEPTED: _ClassVar[RefundReason]
    REFUND_REASON_RECEIPT_CONFIRMED: _ClassVar[RefundReason]
    REFUND_REASON_RECEIPT_TIMEOUT: _ClassVar[RefundReason]
    REFUND_REASON_PLATFORM_DISPUTE: _ClassVar[RefundReason]
    REFUND_REASON_PLATFORM_RETRY: _ClassVar[RefundReason]

class NegotiationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NEGOTIATION_KIND_UNSPECIFIED: _ClassVar[NegotiationKind]
    NEGOTIATION_KIND_MODIFY_APPLICATION: _ClassVar[NegotiationKind]
    NEGOTIATION_KIND_INVITE_VERIFY: _ClassVar[NegotiationKind]
    NEGOTIATION_KIND_INVITE_CANCEL: _ClassVar[NegotiationKind]

class NegotiationOption(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NEGOTIATION_OPTION_UNSPECIFIED: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_AMOUNT_ONLY: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_PARTIAL_REFUND: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_RETURN_PARTIAL_REFUND: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_REFUND_WITHOUT_RETURN: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_NEW_PLAN_AGREED: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_EVIDENCE_MISMATCH: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_EVIDENCE_UNCLEAR: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_PERISHABLE_QUALITY_PROOF: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_RETURN_WRONG_ITEM: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_RETURN_MISSING_PARTS: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_RETURN_AFFECTS_RESALE: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_UNABLE_TO_CONTACT: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_AGREED_TO_CANCEL: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_NO_QUALITY_ISSUE_VERIFIED: _ClassVar[NegotiationOption]
    NEGOTIATION_OPTION_RESEND_CORRECT_ITEM: _ClassVar[NegotiationOption]

class NegotiationOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NEGOTIATION_OUTCOME_UNSPECIFIED: _ClassVar[NegotiationOutcome]
    NEGOTIATION_OUTCOME_OPEN: _ClassVar[NegotiationOutcome]
    NEGOTIATION_OUTCOME_ACCEPTED: _ClassVar[NegotiationOutcome]
    NEGOTIATION_OUTCOME_REJECTED: _ClassVar[NegotiationOutcome]
    NEGOTIATION_OUTCOME_TIMED_OUT: _ClassVar[NegotiationOutcome]
    NEGOTIATION_OUTCOME_WITHDRAWN: _ClassVar[NegotiationOutcome]
    NEGOTIATION_OUTCOME_SUPERSEDED: _ClassVar[NegotiationOutcome]
    NEGOTIATION_OUTCOME_EVIDENCE_SUPPLIED: _ClassVar[NegotiationOutcome]

class RejectReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECT_REASON_UNSPECIFIED: _ClassVar[RejectReason]
    REJECT_REASON_AMOUNT_DISAGREEMENT: _ClassVar[RejectReason]
    REJECT_REASON_EVIDENCE_NOT_PROVIDED: _ClassVar[RejectReason]
    REJECT_REASON_NO_QUALITY_ISSUE: _ClassVar[RejectReason]
    REJECT_REASON_BUYER_UNREACHABLE: _ClassVar[RejectReason]
    REJECT_REASON_RETURN_ANOMALY: _ClassVar[RejectReason]
    REJECT_REASON_REASON_MISMATCH: _ClassVar[RejectReason]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_MERCHANT_LIABLE: _ClassVar[Verdict]
    VERDICT_BUYER_LIABLE: _ClassVar[Verdict]
    VERDICT_BOTH_LIABLE: _ClassVar[Verdict]

class CloseReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLOSE_REASON_UNSPECIFIED: _ClassVar[CloseReason]
    CLOSE_REASON_BUYER_CANCELLED: _ClassVar[CloseReason]
    CLOSE_REASON_NEGOTIATED_CANCEL: _ClassVar[CloseReason]
    CLOSE_REASON_ESCALATION_EXPIRED: _ClassVar[CloseReason]
    CLOSE_REASON_DISPUTE_BUYER_LIABLE: _ClassVar[CloseReason]
    CLOSE_REASON_REFUND_CLOSED: _ClassVar[CloseReason]

class ContactChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTACT_CHANNEL_UNSPECIFIED: _ClassVar[ContactChannel]
    CONTACT_CHANNEL_PHONE: _ClassVar[ContactChannel]
    CONTACT_CHANNEL_VOICE: _ClassVar[ContactChannel]
    CONTACT_CHANNEL_WECOM: _ClassVar[ContactChannel]
    CONTACT_CHANNEL_SMS: _ClassVar[ContactChannel]

class ContactOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTACT_OUTCOME_UNSPECIFIED: _ClassVar[ContactOutcome]
    CONTACT_OUTCOME_NO_ANSWER: _ClassVar[ContactOutcome]
    CONTACT_OUTCOME_REFUSED: _ClassVar[ContactOutcome]
    CONTACT_OUTCOME_NO_REPLY: _ClassVar[ContactOutcome]

class ProofParty(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROOF_PARTY_UNSPECIFIED: _ClassVar[ProofParty]
    PROOF_PARTY_BUYER: _ClassVar[ProofParty]
    PROOF_PARTY_MERCHANT: _ClassVar[ProofParty]
    PROOF_PARTY_BOTH: _ClassVar[ProofParty]

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_APPLY: _ClassVar[Action]
    ACTION_APPROVE: _ClassVar[Action]
    ACTION_NEGOTIATE: _ClassVar[Action]
    ACTION_WITHDRAW_NEGOTIATION: _ClassVar[Action]
    ACTION_ACCEPT_NEGOTIATION: _ClassVar[Action]
    ACTION_REJECT_NEGOTIATION: _ClassVar[Action]
    ACTION_SUPPLEMENT_EVIDENCE: _ClassVar[Action]
    ACTION_NEGOTIATION_TIMEOUT: _ClassVar[Action]
    ACTION_REJECT: _ClassVar[Action]
    ACTION_MERCHANT_TIMEOUT: _ClassVar[Action]
    ACTION_MODIFY_APPLICATION: _ClassVar[Action]
    ACTION_CANCEL: _ClassVar[Action]
    ACTION_SUBMIT_RETURN_WAYBILL: _ClassVar[Action]
    ACTION_RETURN_SHIP_TIMEOUT: _ClassVar[Action]
    ACTION_CONFIRM_RECEIPT: _ClassVar[Action]
    ACTION_RECEIPT_TIMEOUT: _ClassVar[Action]
    ACTION_ESCALATE: _ClassVar[Action]
    ACTION_INTERVENE: _ClassVar[Action]
    ACTION_ESCALATION_EXPIRED: _ClassVar[Action]
    ACTION_REQUEST_PROOF: _ClassVar[Action]
    ACTION_SUBMIT_PROOF: _ClassVar[Action]
    ACTION_PROOF_TIMEOUT: _ClassVar[Action]
    ACTION_WITHDRAW_ESCALATION: _ClassVar[Action]
    ACTION_RESOLVE_DISPUTE: _ClassVar[Action]
    ACTION_REFUND_SUCCEEDED: _ClassVar[Action]
    ACTION_REFUND_FAILED: _ClassVar[Action]
    ACTION_UPLOAD_REFUND_PROOF: _ClassVar[Action]
    ACTION_CONFIRM_OFFLINE_REFUND: _ClassVar[Action]
    ACTION_OFFLINE_REFUND_CONFIRM_TIMEOUT: _ClassVar[Action]
    ACTION_OFFLINE_REFUND_TIMEOUT: _ClassVar[Action]
    ACTION_RETRY_REFUND: _ClassVar[Action]
    ACTION_CLOSE_REFUND: _ClassVar[Action]
    ACTION_RECORD_CONTACT_ATTEMPT: _ClassVar[Action]
    ACTION_REQUEST_CONTACT_QUOTA: _ClassVar[Action]
    ACTION_REFUND_REMINDER: _ClassVar[Action]

class TimerKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIMER_KIND_UNSPECIFIED: _ClassVar[TimerKind]
    TIMER_KIND_MERCHANT_HANDLING: _ClassVar[TimerKind]
    TIMER_KIND_NEGOTIATION_REPLY: _ClassVar[TimerKind]
    TIMER_KIND_RETURN_SHIP: _ClassVar[TimerKind]
    TIMER_KIND_RECEIPT: _ClassVar[TimerKind]
    TIMER_KIND_ESCALATION_WINDOW: _ClassVar[TimerKind]
    TIMER_KIND_PROOF_DEADLINE: _ClassVar[TimerKind]
    TIMER_KIND_OFFLINE_REFUND: _ClassVar[TimerKind]
    TIMER_KIND_OFFLINE_REFUND_CONFIRM: _ClassVar[TimerKind]
    TIMER_KIND_REFUND_RESULT: _ClassVar[TimerKind]

class RefundResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFUND_RESULT_UNSPECIFIED: _ClassVar[RefundResult]
    REFUND_RESULT_SUCCEEDED: _ClassVar[RefundResult]
    REFUND_RESULT_FAILED: _ClassVar[RefundResult]

class Signal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNAL_UNSPECIFIED: _ClassVar[Signal]
    SIGNAL_REFUND_REQUESTED: _ClassVar[Signal]
    SIGNAL_CONTACT_QUOTA_REQUESTED: _ClassVar[Signal]
    SIGNAL_REFUND_UNANSWERED: _ClassVar[Signal]
AFTER_SALE_STATUS_UNSPECIFIED: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_PROCESSING: AfterSaleStatus
AFTER_SALE_STATUS_USER_WAIT_CONFIRM_UPDATE: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_REJECT_REFUND: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_REJECT_RETURN: AfterSaleStatus
AFTER_SALE_STATUS_USER_WAIT_RETURN: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_WAIT_RECEIPT: AfterSaleStatus
AFTER_SALE_STATUS_RETURN_CLOSED: AfterSaleStatus
AFTER_SALE_STATUS_PLATFORM_ARBITRATING: AfterSaleStatus
AFTER_SALE_STATUS_PLATFORM_REFUNDING: AfterSaleStatus
AFTER_SALE_STATUS_PLATFORM_REFUND_FAIL: AfterSaleStatus
AFTER_SALE_STATUS_USER_WAIT_CONFIRM: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_OVERDUE_REFUND: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_RETURN_SUCCESS: AfterSaleStatus
AFTER_SALE_STATUS_USER_CANCELD: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_FAIL: AfterSaleStatus
AFTER_SALE_STATUS_MERCHANT_REFUND_RETRY_FAIL: AfterSaleStatus
AFTER_SALE_TYPE_UNSPECIFIED: AfterSaleType
AFTER_SALE_TYPE_REFUND: AfterSaleType
AFTER_SALE_TYPE_RETURN: AfterSaleType
ROLE_UNSPECIFIED: Role
ROLE_BUYER: Role
ROLE_MERCHANT: Role
ROLE_PAYMENT: Role
ROLE_PLATFORM: Role
ROLE_SYSTEM: Role
BUYER_REASON_UNSPECIFIED: BuyerReason
BUYER_REASON_INCORRECT_SELECTION: BuyerReason
BUYER_REASON_NO_LONGER_WANT: BuyerReason
BUYER_REASON_NO_EXPRESS_INFO: BuyerReason
BUYER_REASON_EMPTY_PACKAGE: BuyerReason
BUYER_REASON_REJECT_RECEIVE_PACKAGE: BuyerReason
BUYER_REASON_NOT_DELIVERED_TOO_LONG: BuyerReason
BUYER_REASON_NOT_MATCH_PRODUCT_DESC: BuyerReason
BUYER_REASON_QUALITY_ISSUE: BuyerReason
BUYER_REASON_SEND_WRONG_GOODS: BuyerReason
BUYER_REASON_THREE_NO_PRODUCT: BuyerReason
BUYER_REASON_FAKE_PRODUCT: BuyerReason
BUYER_REASON_NO_REASON_7_DAYS: BuyerReason
BUYER_REASON_OTHERS: BuyerReason
REFUND_REASON_UNSPECIFIED: RefundReason
REFUND_REASON_MERCHANT_APPROVED: RefundReason
REFUND_REASON_MERCHANT_TIMEOUT: RefundReason
REFUND_REASON_NEGOTIATION_ACCEPTED: RefundReason
REFUND_REASON_RECEIPT_CONFIRMED: RefundReason
REFUND_REASON_RECEIPT_TIMEOUT: RefundReason
REFUND_REASON_PLATFORM_DISPUTE: RefundReason
REFUND_REASON_PLATFORM_RETRY: RefundReason
NEGOTIATION_KIND_UNSPECIFIED: NegotiationKind
NEGOTIATION_KIND_MODIFY_APPLICATION: NegotiationKind
NEGOTIATION_KIND_INVITE_VERIFY: NegotiationKind
NEGOTIATION_KIND_INVITE_CANCEL: NegotiationKind
NEGOTIATION_OPTION_UNSPECIFIED: NegotiationOption
NEGOTIATION_OPTION_AMOUNT_ONLY: NegotiationOption
NEGOTIATION_OPTION_PARTIAL_REFUND: NegotiationOption
NEGOTIATION_OPTION_RETURN_PARTIAL_REFUND: NegotiationOption
NEGOTIATION_OPTION_REFUND_WITHOUT_RETURN: NegotiationOption
NEGOTIATION_OPTION_NEW_PLAN_AGREED: NegotiationOption
NEGOTIATION_OPTION_EVIDENCE_MISMATCH: NegotiationOption
NEGOTIATION_OPTION_EVIDENCE_UNCLEAR: NegotiationOption
NEGOTIATION_OPTION_PERISHABLE_QUALITY_PROOF: NegotiationOption
NEGOTIATION_OPTION_RETURN_WRONG_ITEM: NegotiationOption
NEGOTIATION_OPTION_RETURN_MISSING_PARTS: NegotiationOption
NEGOTIATION_OPTION_RETURN_AFFECTS_RESALE: NegotiationOption
NEGOTIATION_OPTION_UNABLE_TO_CONTACT: NegotiationOption
NEGOTIATION_OPTION_AGREED_TO_CANCEL: NegotiationOption
NEGOTIATION_OPTION_NO_QUALITY_ISSUE_VERIFIED: NegotiationOption
NEGOTIATION_OPTION_RESEND_CORRECT_ITEM: NegotiationOption
NEGOTIATION_OUTCOME_UNSPECIFIED: NegotiationOutcome
NEGOTIATION_OUTCOME_OPEN: NegotiationOutcome
NEGOTIATION_OUTCOME_ACCEPTED: NegotiationOutcome
NEGOTIATION_OUTCOME_REJECTED: NegotiationOutcome
NEGOTIATION_OUTCOME_TIMED_OUT: NegotiationOutcome
NEGOTIATION_OUTCOME_WITHDRAWN: NegotiationOutcome
NEGOTIATION_OUTCOME_SUPERSEDED: NegotiationOutcome
NEGOTIATION_OUTCOME_EVIDENCE_SUPPLIED: NegotiationOutcome
REJECT_REASON_UNSPECIFIED: RejectReason
REJECT_REASON_AMOUNT_DISAGREEMENT: RejectReason
REJECT_REASON_EVIDENCE_NOT_PROVIDED: RejectReason
REJECT_REASON_NO_QUALITY_ISSUE: RejectReason
REJECT_REASON_BUYER_UNREACHABLE: RejectReason
REJECT_REASON_RETURN_ANOMALY: RejectReason
REJECT_REASON_REASON_MISMATCH: RejectReason
VERDICT_UNSPECIFIED: Verdict
VERDICT_MERCHANT_LIABLE: Verdict
VERDICT_BUYER_LIABLE: Verdict
VERDICT_BOTH_LIABLE: Verdict
CLOSE_REASON_UNSPECIFIED: CloseReason
CLOSE_REASON_BUYER_CANCELLED: CloseReason
CLOSE_REASON_NEGOTIATED_CANCEL: CloseReason
CLOSE_REASON_ESCALATION_EXPIRED: CloseReason
CLOSE_REASON_DISPUTE_BUYER_LIABLE: CloseReason
CLOSE_REASON_REFUND_CLOSED: CloseReason
CONTACT_CHANNEL_UNSPECIFIED: ContactChannel
CONTACT_CHANNEL_PHONE: ContactChannel
CONTACT_CHANNEL_VOICE: ContactChannel
CONTACT_CHANNEL_WECOM: ContactChannel
CONTACT_CHANNEL_SMS: ContactChannel
CONTACT_OUTCOME_UNSPECIFIED: ContactOutcome
CONTACT_OUTCOME_NO_ANSWER: ContactOutcome
CONTACT_OUTCOME_REFUSED: ContactOutcome
CONTACT_OUTCOME_NO_REPLY: ContactOutcome
PROOF_PARTY_UNSPECIFIED: ProofParty
PROOF_PARTY_BUYER: ProofParty
PROOF_PARTY_MERCHANT: ProofParty
PROOF_PARTY_BOTH: ProofParty
ACTION_UNSPECIFIED: Action
ACTION_APPLY: Action
ACTION_APPROVE: Action
ACTION_NEGOTIATE: Action
ACTION_WITHDRAW_NEGOTIATION: Action
ACTION_ACCEPT_NEGOTIATION: Action
ACTION_REJECT_NEGOTIATION: Action
ACTION_SUPPLEMENT_EVIDENCE: Action
ACTION_NEGOTIATION_TIMEOUT: Action
ACTION_REJECT: Action
ACTION_MERCHANT_TIMEOUT: Action
ACTION_MODIFY_APPLICATION: Action
ACTION_CANCEL: Action
ACTION_SUBMIT_RETURN_WAYBILL: Action
ACTION_RETURN_SHIP_TIMEOUT: Action
ACTION_CONFIRM_RECEIPT: Action
ACTION_RECEIPT_TIMEOUT: Action
ACTION_ESCALATE: Action
ACTION_INTERVENE: Action
ACTION_ESCALATION_EXPIRED: Action
ACTION_REQUEST_PROOF: Action
ACTION_SUBMIT_PROOF: Action
ACTION_PROOF_TIMEOUT: Action
ACTION_WITHDRAW_ESCALATION: Action
ACTION_RESOLVE_DISPUTE: Action
ACTION_REFUND_SUCCEEDED: Action
ACTION_REFUND_FAILED: Action
ACTION_UPLOAD_REFUND_PROOF: Action
ACTION_CONFIRM_OFFLINE_REFUND: Action
ACTION_OFFLINE_REFUND_CONFIRM_TIMEOUT: Action
ACTION_OFFLINE_REFUND_TIMEOUT: Action
ACTION_RETRY_REFUND: Action
ACTION_CLOSE_REFUND: Action
ACTION_RECORD_CONTACT_ATTEMPT: Action
ACTION_REQUEST_CONTACT_QUOTA: Action
ACTION_REFUND_REMINDER: Action
TIMER_KIND_UNSPECIFIED: TimerKind
TIMER_KIND_MERCHANT_HANDLING: TimerKind
TIMER_KIND_NEGOTIATION_REPLY: TimerKind
TIMER_KIND_RETURN_SHIP: TimerKind
TIMER_KIND_RECEIPT: TimerKind
TIMER_KIND_ESCALATION_WINDOW: TimerKind
TIMER_KIND_PROOF_DEADLINE: TimerKind
TIMER_KIND_OFFLINE_REFUND: TimerKind
TIMER_KIND_OFFLINE_REFUND_CONFIRM: TimerKind
TIMER_KIND_REFUND_RESULT: TimerKind
REFUND_RESULT_UNSPECIFIED: RefundResult
REFUND_RESULT_SUCCEEDED: RefundResult
REFUND_RESULT_FAILED: RefundResult
SIGNAL_UNSPECIFIED: Signal
SIGNAL_REFUND_REQUESTED: Signal
SIGNAL_CONTACT_QUOTA_REQUESTED: Signal
SIGNAL_REFUND_UNANSWERED: Signal

class ReturnAddress(_message.Message):
    __slots__ = ("contact_name", "contact_phone", "address")
    CONTACT_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTACT_PHONE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    contact_name: str
    contact_phone: str
    address: str
    def __init__(self, contact_name: _Optional[str] = ..., contact_phone: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class Waybill(_message.Message):
    __slots__ = ("carrier", "waybill_id")
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    WAYBILL_ID_FIELD_NUMBER: _ClassVar[int]
    carrier: str
    waybill_id: str
    def __init__(self, carrier: _Optional[str] = ..., waybill_id: _Optional[str] = ...) -> None: ...

class Negotiation(_message.Message):
    __slots__ = ("round", "kind", "option", "proposed_type", "proposed_amount", "images", "message", "outcome", "handling_state", "sent_at", "ended_at", "merchant_message")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    HANDLING_STATE_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    round: int
    kind: NegotiationKind
    option: NegotiationOption
    proposed_type: AfterSaleType
    proposed_amount: int
    images: _containers.RepeatedScalarFieldContainer[str]
    message: str
    outcome: NegotiationOutcome
    handling_state: AfterSaleStatus
    sent_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    merchant_message: str
    def __init__(self, round: _Optional[int] = ..., kind: _Optional[_Union[NegotiationKind, str]] = ..., option: _Optional[_Union[NegotiationOption, str]] = ..., proposed_type: _Optional[_Union[AfterSaleType, str]] = ..., proposed_amount: _Optional[int] = ..., images: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., outcome: _Optional[_Union[NegotiationOutcome, str]] = ..., handling_state: _Optional[_Union[AfterSaleStatus, str]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., merchant_message: _Optional[str] = ...) -> None: ...

class ContactAttempt(_message.Message):
    __slots__ = ("channel", "outcome", "attempted_at", "screenshots")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTED_AT_FIELD_NUMBER: _ClassVar[int]
    SCREENSHOTS_FIELD_NUMBER: _ClassVar[int]
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at: _timestamp_pb2.Timestamp
    screenshots: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channel: _Optional[_Union[ContactChannel, str]] = ..., outcome: _Optional[_Union[ContactOutcome, str]] = ..., attempted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., screenshots: _Optional[_Iterable[str]] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("reason", "message", "images", "rejected_at")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_AT_FIELD_NUMBER: _ClassVar[int]
    reason: RejectReason
    message: str
    images: _containers.RepeatedScalarFieldContainer[str]
    rejected_at: _timestamp_pb2.Timestamp
    def __init__(self, reason: _Optional[_Union[RejectReason, str]] = ..., message: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ..., rejected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProofRequest(_message.Message):
    __slots__ = ("party", "deadline", "note", "requested_at", "missed_by")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    MISSED_BY_FIELD_NUMBER: _ClassVar[int]
    party: ProofParty
    deadline: _timestamp_pb2.Timestamp
    note: str
    requested_at: _timestamp_pb2.Timestamp
    missed_by: ProofParty
    def __init__(self, party: _Optional[_Union[ProofParty, str]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., missed_by: _Optional[_Union[ProofParty, str]] = ...) -> None: ...

class Proof(_message.Message):
    __slots__ = ("party", "message", "images", "submitted_at")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    party: ProofParty
    message: str
    images: _containers.RepeatedScalarFieldContainer[str]
    submitted_at: _timestamp_pb2.Timestamp
    def __init__(self, party: _Optional[_Union[ProofParty, str]] = ..., message: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Dispute(_message.Message):
    __slots__ = ("escalated_by", "escalated_from", "escalated_at", "message", "images", "proof_requests", "proofs", "verdict", "refund_amount", "resolved_at")
    ESCALATED_BY_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_FROM_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    PROOF_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    PROOFS_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REFUND_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    escalated_by: Role
    escalated_from: AfterSaleStatus
    escalated_at: _timestamp_pb2.Timestamp
    message: str
    images: _containers.RepeatedScalarFieldContainer[str]
    proof_requests: _containers.RepeatedCompositeFieldContainer[ProofRequest]
    proofs: _containers.RepeatedCompositeFieldContainer[Proof]
    verdict: Verdict
    refund_amount: int
    resolved_at: _timestamp_pb2.Timestamp
    def __init__(self, escalated_by: _Optional[_Union[Role, str]] = ..., escalated_from: _Optional[_Union[AfterSaleStatus, str]] = ..., escalated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ..., proof_requests: _Optional[_Iterable[_Union[ProofRequest, _Mapping]]] = ..., proofs: _Optional[_Iterable[_Union[Proof, _Mapping]]] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., refund_amount: _Optional[int] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Refund(_message.Message):
    __slots__ = ("refund_id", "refund_reason", "amount", "failure_reason", "requested_at", "completed_at", "proof_images", "proof_message", "reminders", "flagged_at")
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    REFUND_REASON_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    PROOF_IMAGES_FIELD_NUMBER: _ClassVar[int]
    PROOF_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REMINDERS_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_AT_FIELD_NUMBER: _ClassVar[int]
    refund_id: str
    refund_reason: RefundReason
    amount: int
    failure_reason: str
    requested_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    proof_images: _containers.RepeatedScalarFieldContainer[str]
    proof_message: str
    reminders: int
    flagged_at: _timestamp_pb2.Timestamp
    def __init__(self, refund_id: _Optional[str] = ..., refund_reason: _Optional[_Union[RefundReason, str]] = ..., amount: _Optional[int] = ..., failure_reason: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proof_images: _Optional[_Iterable[str]] = ..., proof_message: _Optional[str] = ..., reminders: _Optional[int] = ..., flagged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PendingTimer(_message.Message):
    __slots__ = ("kind", "action", "due_at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    kind: TimerKind
    action: Action
    due_at: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[TimerKind, str]] = ..., action: _Optional[_Union[Action, str]] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AfterSale(_message.Message):
    __slots__ = ("request_id", "order_id", "sku_id", "shop_id", "buyer_id", "type", "state", "amount", "paid_amount", "reason", "first_reason", "description", "evidence_images", "return_address", "waybill", "negotiation", "negotiations", "contact_attempts", "rejection", "dispute", "refund", "close_reason", "deadline", "pending_timer", "version", "created_at", "updated_at", "after_sale_deadline")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    SHOP_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAID_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIRST_REASON_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_IMAGES_FIELD_NUMBER: _ClassVar[int]
    RETURN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    WAYBILL_FIELD_NUMBER: _ClassVar[int]
    NEGOTIATION_FIELD_NUMBER: _ClassVar[int]
    NEGOTIATIONS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REJECTION_FIELD_NUMBER: _ClassVar[int]
    DISPUTE_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    CLOSE_REASON_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    PENDING_TIMER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    AFTER_SALE_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    type: AfterSaleType
    state: AfterSaleStatus
    amount: int
    paid_amount: int
    reason: BuyerReason
    first_reason: BuyerReason
    description: str
    evidence_images: _containers.RepeatedScalarFieldContainer[str]
    return_address: ReturnAddress
    waybill: Waybill
    negotiation: Negotiation
    negotiations: _containers.RepeatedCompositeFieldContainer[Negotiation]
    contact_attempts: _containers.RepeatedCompositeFieldContainer[ContactAttempt]
    rejection: Rejection
    dispute: Dispute
    refund: Refund
    close_reason: CloseReason
    deadline: _timestamp_pb2.Timestamp
    pending_timer: PendingTimer
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    after_sale_deadline: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., sku_id: _Optional[str] = ..., shop_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., type: _Optional[_Union[AfterSaleType, str]] = ..., state: _Optional[_Union[AfterSaleStatus, str]] = ..., amount: _Optional[int] = ..., paid_amount: _Optional[int] = ..., reason: _Optional[_Union[BuyerReason, str]] = ..., first_reason: _Optional[_Union[BuyerReason, str]] = ..., description: _Optional[str] = ..., evidence_images: _Optional[_Iterable[str]] = ..., return_address: _Optional[_Union[ReturnAddress, _Mapping]] = ..., waybill: _Optional[_Union[Waybill, _Mapping]] = ..., negotiation: _Optional[_Union[Negotiation, _Mapping]] = ..., negotiations: _Optional[_Iterable[_Union[Negotiation, _Mapping]]] = ..., contact_attempts: _Optional[_Iterable[_Union[ContactAttempt, _Mapping]]] = ..., rejection: _Optional[_Union[Rejection, _Mapping]] = ..., dispute: _Optional[_Union[Dispute, _Mapping]] = ..., refund: _Optional[_Union[Refund, _Mapping]] = ..., close_reason: _Optional[_Union[CloseReason, str]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pending_timer: _Optional[_Union[PendingTimer, _Mapping]] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., after_sale_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Actor(_message.Message):
    __slots__ = ("role", "id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    role: Role
    id: str
    def __init__(self, role: _Optional[_Union[Role, str]] = ..., id: _Optional[str] = ...) -> None: ...

class TransitionEvent(_message.Message):
    __slots__ = ("event_id", "request_id", "order_id", "sku_id", "shop_id", "buyer_id", "version", "action", "actor", "from_state", "to_state", "occurred_at", "type", "amount", "refund_reason", "refund_id", "negotiation", "reject_reason", "verdict", "close_reason", "first_reason", "deadline", "proof_party", "signals", "refund_amount", "forced_by")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    SHOP_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFUND_REASON_FIELD_NUMBER: _ClassVar[int]
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    NEGOTIATION_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    CLOSE_REASON_FIELD_NUMBER: _ClassVar[int]
    FIRST_REASON_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    PROOF_PARTY_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    REFUND_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FORCED_BY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    request_id: str
    order_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    version: int
    action: Action
    actor: Actor
    from_state: AfterSaleStatus
    to_state: AfterSaleStatus
    occurred_at: _timestamp_pb2.Timestamp
    type: AfterSaleType
    amount: int
    refund_reason: RefundReason
    refund_id: str
    negotiation: Negotiation
    reject_reason: RejectReason
    verdict: Verdict
    close_reason: CloseReason
    first_reason: BuyerReason
    deadline: _timestamp_pb2.Timestamp
    proof_party: ProofParty
    signals: _containers.RepeatedScalarFieldContainer[Signal]
    refund_amount: int
    forced_by: Actor
    def __init__(self, event_id: _Optional[str] = ..., request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., sku_id: _Optional[str] = ..., shop_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., version: _Optional[int] = ..., action: _Optional[_Union[Action, str]] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., from_state: _Optional[_Union[AfterSaleStatus, str]] = ..., to_state: _Optional[_Union[AfterSaleStatus, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[AfterSaleType, str]] = ..., amount: _Optional[int] = ..., refund_reason: _Optional[_Union[RefundReason, str]] = ..., refund_id: _Optional[str] = ..., negotiation: _Optional[_Union[Negotiation, _Mapping]] = ..., reject_reason: _Optional[_Union[RejectReason, str]] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., close_reason: _Optional[_Union[CloseReason, str]] = ..., first_reason: _Optional[_Union[BuyerReason, str]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proof_party: _Optional[_Union[ProofParty, str]] = ..., signals: _Optional[_Iterable[_Union[Signal, str]]] = ..., refund_amount: _Optional[int] = ..., forced_by: _Optional[_Union[Actor, _Mapping]] = ...) -> None: ...

class AllowedAction(_message.Message):
    __slots__ = ("action", "negotiation_options", "reject_reasons")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    NEGOTIATION_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASONS_FIELD_NUMBER: _ClassVar[int]
    action: Action
    negotiation_options: _containers.RepeatedScalarFieldContainer[NegotiationOption]
    reject_reasons: _containers.RepeatedScalarFieldContainer[RejectReason]
    def __init__(self, action: _Optional[_Union[Action, str]] = ..., negotiation_options: _Optional[_Iterable[_Union[NegotiationOption, str]]] = ..., reject_reasons: _Optional[_Iterable[_Union[RejectReason, str]]] = ...) -> None: ...

class RefusedAction(_message.Message):
    __slots__ = ("action", "reason", "explanation_zh", "explanation_en", "next_step_zh", "next_step_en", "recommended_action", "recommended_options")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_ZH_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_EN_FIELD_NUMBER: _ClassVar[int]
    NEXT_STEP_ZH_FIELD_NUMBER: _ClassVar[int]
    NEXT_STEP_EN_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_ACTION_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    action: Action
    reason: str
    explanation_zh: str
    explanation_en: str
    next_step_zh: str
    next_step_en: str
    recommended_action: Action
    recommended_options: _containers.RepeatedScalarFieldContainer[NegotiationOption]
    def __init__(self, action: _Optional[_Union[Action, str]] = ..., reason: _Optional[str] = ..., explanation_zh: _Optional[str] = ..., explanation_en: _Optional[str] = ..., next_step_zh: _Optional[str] = ..., next_step_en: _Optional[str] = ..., recommended_action: _Optional[_Union[Action, str]] = ..., recommended_options: _Optional[_Iterable[_Union[NegotiationOption, str]]] = ...) -> None: ...

class NegotiationOptionInfo(_message.Message):
    __slots__ = ("kind", "option", "title_zh", "title_en", "allowed_states", "types", "images_required", "message_template_zh", "message_template_en", "evidence_guidance_zh", "evidence_guidance_en", "kind_title_zh", "kind_title_en")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    TITLE_ZH_FIELD_NUMBER: _ClassVar[int]
    TITLE_EN_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_STATES_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    IMAGES_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TEMPLATE_ZH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TEMPLATE_EN_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_GUIDANCE_ZH_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_GUIDANCE_EN_FIELD_NUMBER: _ClassVar[int]
    KIND_TITLE_ZH_FIELD_NUMBER: _ClassVar[int]
    KIND_TITLE_EN_FIELD_NUMBER: _ClassVar[int]
    kind: NegotiationKind
    option: NegotiationOption
    title_zh: str
    title_en: str
    allowed_states: _containers.RepeatedScalarFieldContainer[AfterSaleStatus]
    types: _containers.RepeatedScalarFieldContainer[AfterSaleType]
    images_required: bool
    message_template_zh: str
    message_template_en: str
    evidence_guidance_zh: str
    evidence_guidance_en: str
    kind_title_zh: str
    kind_title_en: str
    def __init__(self, kind: _Optional[_Union[NegotiationKind, str]] = ..., option: _Optional[_Union[NegotiationOption, str]] = ..., title_zh: _Optional[str] = ..., title_en: _Optional[str] = ..., allowed_states: _Optional[_Iterable[_Union[AfterSaleStatus, str]]] = ..., types: _Optional[_Iterable[_Union[AfterSaleType, str]]] = ..., images_required: _Optional[bool] = ..., message_template_zh: _Optional[str] = ..., message_template_en: _Optional[str] = ..., evidence_guidance_zh: _Optional[str] = ..., evidence_guidance_en: _Optional[str] = ..., kind_title_zh: _Optional[str] = ..., kind_title_en: _Optional[str] = ...) -> None: ...

class RejectReasonInfo(_message.Message):
    __slots__ = ("reason", "unlocking_options", "allowed_states", "title_zh", "title_en", "always_forbidden", "evidence_guidance_zh", "evidence_guidance_en")
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNLOCKING_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_STATES_FIELD_NUMBER: _ClassVar[int]
    TITLE_ZH_FIELD_NUMBER: _ClassVar[int]
    TITLE_EN_FIELD_NUMBER: _ClassVar[int]
    ALWAYS_FORBIDDEN_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_GUIDANCE_ZH_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_GUIDANCE_EN_FIELD_NUMBER: _ClassVar[int]
    reason: RejectReason
    unlocking_options: _containers.RepeatedScalarFieldContainer[NegotiationOption]
    allowed_states: _containers.RepeatedScalarFieldContainer[AfterSaleStatus]
    title_zh: str
    title_en: str
    always_forbidden: bool
    evidence_guidance_zh: str
    evidence_guidance_en: str
    def __init__(self, reason: _Optional[_Union[RejectReason, str]] = ..., unlocking_options: _Optional[_Iterable[_Union[NegotiationOption, str]]] = ..., allowed_states: _Optional[_Iterable[_Union[AfterSaleStatus, str]]] = ..., title_zh: _Optional[str] = ..., title_en: _Optional[str] = ..., always_forbidden: _Optional[bool] = ..., evidence_guidance_zh: _Optional[str] = ..., evidence_guidance_en: _Optional[str] = ...) -> None: ...

class NegotiationCount(_message.Message):
    __slots__ = ("option", "outcome", "count")
    OPTION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    option: NegotiationOption
    outcome: NegotiationOutcome
    count: int
    def __init__(self, option: _Optional[_Union[NegotiationOption, str]] = ..., outcome: _Optional[_Union[NegotiationOutcome, str]] = ..., count: _Optional[int] = ...) -> None: ...

class ShopStats(_message.Message):
    __slots__ = ("shop_id", "applications", "rejections", "interventions", "negotiations", "quality_refunds", "non_quality_refunds", "rejection_rate", "dispute_intervention_rate", "quality_refund_rate")
    SHOP_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    INTERVENTIONS_FIELD_NUMBER: _ClassVar[int]
    NEGOTIATIONS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_REFUNDS_FIELD_NUMBER: _ClassVar[int]
    NON_QUALITY_REFUNDS_FIELD_NUMBER: _ClassVar[int]
    REJECTION_RATE_FIELD_NUMBER: _ClassVar[int]
    DISPUTE_INTERVENTION_RATE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_REFUND_RATE_FIELD_NUMBER: _ClassVar[int]
    shop_id: str
    applications: int
    rejections: int
    interventions: int
    negotiations: _containers.RepeatedCompositeFieldContainer[NegotiationCount]
    quality_refunds: int
    non_quality_refunds: int
    rejection_rate: float
    dispute_intervention_rate: float
    quality_refund_rate: float
    def __init__(self, shop_id: _Optional[str] = ..., applications: _Optional[int] = ..., rejections: _Optional[int] = ..., interventions: _Optional[int] = ..., negotiations: _Optional[_Iterable[_Union[NegotiationCount, _Mapping]]] = ..., quality_refunds: _Optional[int] = ..., non_quality_refunds: _Optional[int] = ..., rejection_rate: _Optional[float] = ..., dispute_intervention_rate: _Optional[float] = ..., quality_refund_rate: _Optional[float] = ...) -> None: ...
