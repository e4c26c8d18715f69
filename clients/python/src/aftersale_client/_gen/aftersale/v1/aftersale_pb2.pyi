import datetime

from . import types_pb2 as _types_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FlagReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLAG_REASON_UNSPECIFIED: _ClassVar[FlagReason]
    FLAG_REASON_REFUND_UNANSWERED: _ClassVar[FlagReason]
FLAG_REASON_UNSPECIFIED: FlagReason
FLAG_REASON_REFUND_UNANSWERED: FlagReason

class CreateAfterSaleRequest(_message.Message):
    __slots__ = ("idempotency_key", "order_id", "sku_id", "shop_id", "type", "amount", "paid_amount", "reason", "description", "evidence_images", "return_address", "after_sale_deadline")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    SHOP_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAID_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_IMAGES_FIELD_NUMBER: _ClassVar[int]
    RETURN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AFTER_SALE_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    order_id: str
    sku_id: str
    shop_id: str
    type: _types_pb2.AfterSaleType
    amount: int
    paid_amount: int
    reason: _types_pb2.BuyerReason
    description: str
    evidence_images: _containers.RepeatedScalarFieldContainer[str]
    return_address: _types_pb2.ReturnAddress
    after_sale_deadline: _timestamp_pb2.Timestamp
    def __init__(self, idempotency_key: _Optional[str] = ..., order_id: _Optional[str] = ..., sku_id: _Optional[str] = ..., shop_id: _Optional[str] = ..., type: _Optional[_Union[_types_pb2.AfterSaleType, str]] = ..., amount: _Optional[int] = ..., paid_amount: _Optional[int] = ..., reason: _Optional[_Union[_types_pb2.BuyerReason, str]] = ..., description: _Optional[str] = ..., evidence_images: _Optional[_Iterable[str]] = ..., return_address: _Optional[_Union[_types_pb2.ReturnAddress, _Mapping]] = ..., after_sale_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAfterSaleResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class AcceptNegotiationRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class AcceptNegotiationResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class RejectNegotiationRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RejectNegotiationResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class SupplementEvidenceRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "images", "message")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    images: _containers.RepeatedScalarFieldContainer[str]
    message: str
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., images: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ...) -> None: ...

class SupplementEvidenceResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class ModifyAfterSaleRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "type", "amount", "reason", "description", "images")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    type: _types_pb2.AfterSaleType
    amount: int
    reason: _types_pb2.BuyerReason
    description: str
    images: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., type: _Optional[_Union[_types_pb2.AfterSaleType, str]] = ..., amount: _Optional[int] = ..., reason: _Optional[_Union[_types_pb2.BuyerReason, str]] = ..., description: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ...) -> None: ...

class ModifyAfterSaleResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class CancelAfterSaleRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class CancelAfterSaleResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class SubmitReturnWaybillRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "carrier", "waybill_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    WAYBILL_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    carrier: str
    waybill_id: str
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., carrier: _Optional[str] = ..., waybill_id: _Optional[str] = ...) -> None: ...

class SubmitReturnWaybillResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class EscalateAfterSaleRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "message", "images")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    message: str
    images: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., message: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ...) -> None: ...

class EscalateAfterSaleResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class WithdrawEscalationRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class WithdrawEscalationResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class ConfirmOfflineRefundRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ConfirmOfflineRefundResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class ApproveAfterSaleRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "return_address")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    RETURN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    return_address: _types_pb2.ReturnAddress
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., return_address: _Optional[_Union[_types_pb2.ReturnAddress, _Mapping]] = ...) -> None: ...

class ApproveAfterSaleResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class SendNegotiationRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "kind", "option", "proposed_type", "proposed_amount", "images", "message", "return_address")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETURN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    kind: _types_pb2.NegotiationKind
    option: _types_pb2.NegotiationOption
    proposed_type: _types_pb2.AfterSaleType
    proposed_amount: int
    images: _containers.RepeatedScalarFieldContainer[str]
    message: str
    return_address: _types_pb2.ReturnAddress
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., kind: _Optional[_Union[_types_pb2.NegotiationKind, str]] = ..., option: _Optional[_Union[_types_pb2.NegotiationOption, str]] = ..., proposed_type: _Optional[_Union[_types_pb2.AfterSaleType, str]] = ..., proposed_amount: _Optional[int] = ..., images: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., return_address: _Optional[_Union[_types_pb2.ReturnAddress, _Mapping]] = ...) -> None: ...

class SendNegotiationResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class WithdrawNegotiationRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class WithdrawNegotiationResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class RejectAfterSaleRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "reject_reason", "message", "images")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    reject_reason: _types_pb2.RejectReason
    message: str
    images: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., reject_reason: _Optional[_Union[_types_pb2.RejectReason, str]] = ..., message: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ...) -> None: ...

class RejectAfterSaleResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class ConfirmReceiptRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ConfirmReceiptResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class UploadRefundProofRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "images", "message")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    images: _containers.RepeatedScalarFieldContainer[str]
    message: str
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., images: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ...) -> None: ...

class UploadRefundProofResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class RecordContactAttemptRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "channel", "outcome", "attempted_at", "screenshots")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTED_AT_FIELD_NUMBER: _ClassVar[int]
    SCREENSHOTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    channel: _types_pb2.ContactChannel
    outcome: _types_pb2.ContactOutcome
    attempted_at: _timestamp_pb2.Timestamp
    screenshots: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., channel: _Optional[_Union[_types_pb2.ContactChannel, str]] = ..., outcome: _Optional[_Union[_types_pb2.ContactOutcome, str]] = ..., attempted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., screenshots: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordContactAttemptResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class RequestContactQuotaRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RequestContactQuotaResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class SubmitProofRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "message", "images")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    message: str
    images: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., message: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ...) -> None: ...

class SubmitProofResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class ReportRefundResultRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "refund_id", "result", "failure_reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    refund_id: str
    result: _types_pb2.RefundResult
    failure_reason: str
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., refund_id: _Optional[str] = ..., result: _Optional[_Union[_types_pb2.RefundResult, str]] = ..., failure_reason: _Optional[str] = ...) -> None: ...

class ReportRefundResultResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class InterveneAfterSaleRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class InterveneAfterSaleResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class RequestProofRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "party", "deadline_in", "deadline_at", "note")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_IN_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    party: _types_pb2.ProofParty
    deadline_in: _duration_pb2.Duration
    deadline_at: _timestamp_pb2.Timestamp
    note: str
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., party: _Optional[_Union[_types_pb2.ProofParty, str]] = ..., deadline_in: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., deadline_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class RequestProofResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class ResolveDisputeRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version", "verdict", "refund_amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REFUND_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    verdict: _types_pb2.Verdict
    refund_amount: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ..., verdict: _Optional[_Union[_types_pb2.Verdict, str]] = ..., refund_amount: _Optional[int] = ...) -> None: ...

class ResolveDisputeResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class RetryRefundRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RetryRefundResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class CloseRefundRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class CloseRefundResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class FireTimerRequest(_message.Message):
    __slots__ = ("request_id", "idempotency_key", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    idempotency_key: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class FireTimerResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class GetAfterSaleRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class GetAfterSaleResponse(_message.Message):
    __slots__ = ("after_sale",)
    AFTER_SALE_FIELD_NUMBER: _ClassVar[int]
    after_sale: _types_pb2.AfterSale
    def __init__(self, after_sale: _Optional[_Union[_types_pb2.AfterSale, _Mapping]] = ...) -> None: ...

class ListAfterSalesRequest(_message.Message):
    __slots__ = ("shop_id", "buyer_id", "order_id", "states", "page_size", "page_token", "created_from", "created_before")
    SHOP_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    shop_id: str
    buyer_id: str
    order_id: str
    states: _containers.RepeatedScalarFieldContainer[_types_pb2.AfterSaleStatus]
    page_size: int
    page_token: str
    created_from: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, shop_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., order_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_types_pb2.AfterSaleStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., created_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAfterSalesResponse(_message.Message):
    __slots__ = ("after_sales", "next_page_token")
    AFTER_SALES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    after_sales: _containers.RepeatedCompositeFieldContainer[_types_pb2.AfterSale]
    next_page_token: str
    def __init__(self, after_sales: _Optional[_Iterable[_Union[_types_pb2.AfterSale, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetHistoryRequest(_message.Message):
    __slots__ = ("request_id", "page_size", "page_token")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    page_size: int
    page_token: str
    def __init__(self, request_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetHistoryResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_types_pb2.TransitionEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[_types_pb2.TransitionEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetAllowedActionsRequest(_message.Message):
    __slots__ = ("request_id", "role")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    role: _types_pb2.Role
    def __init__(self, request_id: _Optional[str] = ..., role: _Optional[_Union[_types_pb2.Role, str]] = ...) -> None: ...

class GetAllowedActionsResponse(_message.Message):
    __slots__ = ("state", "version", "allowed", "refused")
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    state: _types_pb2.AfterSaleStatus
    version: int
    allowed: _containers.RepeatedCompositeFieldContainer[_types_pb2.AllowedAction]
    refused: _containers.RepeatedCompositeFieldContainer[_types_pb2.RefusedAction]
    def __init__(self, state: _Optional[_Union[_types_pb2.AfterSaleStatus, str]] = ..., version: _Optional[int] = ..., allowed: _Optional[_Iterable[_Union[_types_pb2.AllowedAction, _Mapping]]] = ..., refused: _Optional[_Iterable[_Union[_types_pb2.RefusedAction, _Mapping]]] = ...) -> None: ...

class ListNegotiationOptionsRequest(_message.Message):
    __slots__ = ("state", "type", "kind")
    STATE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    state: _types_pb2.AfterSaleStatus
    type: _types_pb2.AfterSaleType
    kind: _types_pb2.NegotiationKind
    def __init__(self, state: _Optional[_Union[_types_pb2.AfterSaleStatus, str]] = ..., type: _Optional[_Union[_types_pb2.AfterSaleType, str]] = ..., kind: _Optional[_Union[_types_pb2.NegotiationKind, str]] = ...) -> None: ...

class ListNegotiationOptionsResponse(_message.Message):
    __slots__ = ("options",)
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    options: _containers.RepeatedCompositeFieldContainer[_types_pb2.NegotiationOptionInfo]
    def __init__(self, options: _Optional[_Iterable[_Union[_types_pb2.NegotiationOptionInfo, _Mapping]]] = ...) -> None: ...

class ListRejectReasonsRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _types_pb2.AfterSaleStatus
    def __init__(self, state: _Optional[_Union[_types_pb2.AfterSaleStatus, str]] = ...) -> None: ...

class ListRejectReasonsResponse(_message.Message):
    __slots__ = ("reasons",)
    REASONS_FIELD_NUMBER: _ClassVar[int]
    reasons: _containers.RepeatedCompositeFieldContainer[_types_pb2.RejectReasonInfo]
    def __init__(self, reasons: _Optional[_Iterable[_Union[_types_pb2.RejectReasonInfo, _Mapping]]] = ...) -> None: ...

class GetShopStatsRequest(_message.Message):
    __slots__ = ("shop_id", "window", "window_end")
    SHOP_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    shop_id: str
    window: _duration_pb2.Duration
    window_end: _timestamp_pb2.Timestamp
    def __init__(self, shop_id: _Optional[str] = ..., window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetShopStatsResponse(_message.Message):
    __slots__ = ("stats", "window_start", "window_end")
    STATS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    stats: _types_pb2.ShopStats
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    def __init__(self, stats: _Optional[_Union[_types_pb2.ShopStats, _Mapping]] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchTransitionsRequest(_message.Message):
    __slots__ = ("cursor", "from_oldest", "shop_id", "order_id", "states", "actions")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    FROM_OLDEST_FIELD_NUMBER: _ClassVar[int]
    SHOP_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    from_oldest: bool
    shop_id: str
    order_id: str
    states: _containers.RepeatedScalarFieldContainer[_types_pb2.AfterSaleStatus]
    actions: _containers.RepeatedScalarFieldContainer[_types_pb2.Action]
    def __init__(self, cursor: _Optional[str] = ..., from_oldest: _Optional[bool] = ..., shop_id: _Optional[str] = ..., order_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_types_pb2.AfterSaleStatus, str]]] = ..., actions: _Optional[_Iterable[_Union[_types_pb2.Action, str]]] = ...) -> None: ...

class WatchTransitionsResponse(_message.Message):
    __slots__ = ("event", "cursor")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    event: _types_pb2.TransitionEvent
    cursor: str
    def __init__(self, event: _Optional[_Union[_types_pb2.TransitionEvent, _Mapping]] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("read_at", "ready", "redis", "timers", "flagged", "retained_events", "timer_workers", "servers", "subscriptions", "archive")
    READ_AT_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    REDIS_FIELD_NUMBER: _ClassVar[int]
    TIMERS_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    RETAINED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    TIMER_WORKERS_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_FIELD_NUMBER: _ClassVar[int]
    read_at: _timestamp_pb2.Timestamp
    ready: bool
    redis: RedisStatus
    timers: TimerBacklog
    flagged: FlaggedRequests
    retained_events: int
    timer_workers: _containers.RepeatedCompositeFieldContainer[ProcessHeartbeat]
    servers: _containers.RepeatedCompositeFieldContainer[ProcessHeartbeat]
    subscriptions: _containers.RepeatedCompositeFieldContainer[SubscriptionBacklog]
    archive: ArchiveStatus
    def __init__(self, read_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ready: _Optional[bool] = ..., redis: _Optional[_Union[RedisStatus, _Mapping]] = ..., timers: _Optional[_Union[TimerBacklog, _Mapping]] = ..., flagged: _Optional[_Union[FlaggedRequests, _Mapping]] = ..., retained_events: _Optional[int] = ..., timer_workers: _Optional[_Iterable[_Union[ProcessHeartbeat, _Mapping]]] = ..., servers: _Optional[_Iterable[_Union[ProcessHeartbeat, _Mapping]]] = ..., subscriptions: _Optional[_Iterable[_Union[SubscriptionBacklog, _Mapping]]] = ..., archive: _Optional[_Union[ArchiveStatus, _Mapping]] = ...) -> None: ...

class ArchiveStatus(_message.Message):
    __slots__ = ("enabled", "embedded", "reachable", "error", "embedded_restarts", "backfill_done_shards", "archiver_running", "warning")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_RESTARTS_FIELD_NUMBER: _ClassVar[int]
    BACKFILL_DONE_SHARDS_FIELD_NUMBER: _ClassVar[int]
    ARCHIVER_RUNNING_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    embedded: bool
    reachable: bool
    error: str
    embedded_restarts: int
    backfill_done_shards: int
    archiver_running: bool
    warning: str
    def __init__(self, enabled: _Optional[bool] = ..., embedded: _Optional[bool] = ..., reachable: _Optional[bool] = ..., error: _Optional[str] = ..., embedded_restarts: _Optional[int] = ..., backfill_done_shards: _Optional[int] = ..., archiver_running: _Optional[bool] = ..., warning: _Optional[str] = ...) -> None: ...

class SubscriptionBacklog(_message.Message):
    __slots__ = ("name", "pending", "unread", "unread_known", "oldest_unacked_age", "events_lost", "last_lost_at", "last_lost_shard", "last_lost_first_id", "last_lost_last_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    UNREAD_FIELD_NUMBER: _ClassVar[int]
    UNREAD_KNOWN_FIELD_NUMBER: _ClassVar[int]
    OLDEST_UNACKED_AGE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_LOST_FIELD_NUMBER: _ClassVar[int]
    LAST_LOST_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_LOST_SHARD_FIELD_NUMBER: _ClassVar[int]
    LAST_LOST_FIRST_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_LOST_LAST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    pending: int
    unread: int
    unread_known: bool
    oldest_unacked_age: _duration_pb2.Duration
    events_lost: int
    last_lost_at: _timestamp_pb2.Timestamp
    last_lost_shard: int
    last_lost_first_id: str
    last_lost_last_id: str
    def __init__(self, name: _Optional[str] = ..., pending: _Optional[int] = ..., unread: _Optional[int] = ..., unread_known: _Optional[bool] = ..., oldest_unacked_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., events_lost: _Optional[int] = ..., last_lost_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_lost_shard: _Optional[int] = ..., last_lost_first_id: _Optional[str] = ..., last_lost_last_id: _Optional[str] = ...) -> None: ...

class RedisStatus(_message.Message):
    __slots__ = ("reachable", "error", "used_memory_bytes", "max_memory_bytes", "max_memory_policy", "embedded", "embedded_restarts")
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    USED_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MEMORY_POLICY_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_RESTARTS_FIELD_NUMBER: _ClassVar[int]
    reachable: bool
    error: str
    used_memory_bytes: int
    max_memory_bytes: int
    max_memory_policy: str
    embedded: bool
    embedded_restarts: int
    def __init__(self, reachable: _Optional[bool] = ..., error: _Optional[str] = ..., used_memory_bytes: _Optional[int] = ..., max_memory_bytes: _Optional[int] = ..., max_memory_policy: _Optional[str] = ..., embedded: _Optional[bool] = ..., embedded_restarts: _Optional[int] = ...) -> None: ...

class TimerBacklog(_message.Message):
    __slots__ = ("due", "leased", "pending", "oldest_overdue", "live_workers", "unattended")
    DUE_FIELD_NUMBER: _ClassVar[int]
    LEASED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    OLDEST_OVERDUE_FIELD_NUMBER: _ClassVar[int]
    LIVE_WORKERS_FIELD_NUMBER: _ClassVar[int]
    UNATTENDED_FIELD_NUMBER: _ClassVar[int]
    due: int
    leased: int
    pending: int
    oldest_overdue: _containers.RepeatedCompositeFieldContainer[OverdueTimer]
    live_workers: int
    unattended: bool
    def __init__(self, due: _Optional[int] = ..., leased: _Optional[int] = ..., pending: _Optional[int] = ..., oldest_overdue: _Optional[_Iterable[_Union[OverdueTimer, _Mapping]]] = ..., live_workers: _Optional[int] = ..., unattended: _Optional[bool] = ...) -> None: ...

class OverdueTimer(_message.Message):
    __slots__ = ("request_id", "version", "action", "due_at", "overdue")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    version: int
    action: _types_pb2.Action
    due_at: _timestamp_pb2.Timestamp
    overdue: _duration_pb2.Duration
    def __init__(self, request_id: _Optional[str] = ..., version: _Optional[int] = ..., action: _Optional[_Union[_types_pb2.Action, str]] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overdue: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class FlaggedRequests(_message.Message):
    __slots__ = ("count", "requests")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    count: int
    requests: _containers.RepeatedCompositeFieldContainer[FlaggedRequest]
    def __init__(self, count: _Optional[int] = ..., requests: _Optional[_Iterable[_Union[FlaggedRequest, _Mapping]]] = ...) -> None: ...

class FlaggedRequest(_message.Message):
    __slots__ = ("request_id", "reason", "flagged_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reason: FlagReason
    flagged_at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., reason: _Optional[_Union[FlagReason, str]] = ..., flagged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProcessHeartbeat(_message.Message):
    __slots__ = ("process_id", "last_beat", "alive")
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_BEAT_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    process_id: str
    last_beat: _timestamp_pb2.Timestamp
    alive: bool
    def __init__(self, process_id: _Optional[str] = ..., last_beat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alive: _Optional[bool] = ...) -> None: ...
