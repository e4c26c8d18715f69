"""Every failed call raises one of these, decoded from the ``google.rpc.Status`` details the
server sends (README "Errors": a reason table with the metadata keys of each reason).

    AfterSaleError                 any failed call: .code .reason .metadata .message(locale)
    ├── InvalidArgument            INVALID_ARGUMENT: .field, .field_violations (BadRequest)
    ├── Unauthenticated            UNAUTHENTICATED: no or unknown token
    ├── PermissionDenied           PERMISSION_DENIED: not this caller's to see or do
    ├── NotFound                   NOT_FOUND (ops only: others get PermissionDenied)
    ├── AlreadyExists              ALREADY_EXISTS: an idempotency key reused with another body,
    │                              or a call that took effect and was superseded since:
    │                              .superseded, .version, .event_id (and .request_id)
    ├── Refused                    FAILED_PRECONDITION: a rule refuses it now: .state, .action,
    │                              .allowed_actions, .violations (PreconditionFailure)
    ├── Aborted                    ABORTED: expected_version is stale: re-read, decide again
    ├── OutOfRange                 OUT_OF_RANGE: a cursor past retention: .oldest_cursor
    ├── Unavailable                UNAVAILABLE, after the retry policy gave up: .retry_delay
    ├── ResourceExhausted          RESOURCE_EXHAUSTED (too many streams): .retry_delay
    ├── DeadlineExceeded           DEADLINE_EXCEEDED: the call's timeout passed
    ├── Cancelled                  CANCELLED
    ├── DataLoss                   DATA_LOSS: a stored record does not decode
    └── Internal                   INTERNAL, UNKNOWN and any other code: .error_id for ops

Every one keeps what the server said: ``reason`` and ``metadata`` (ErrorInfo), the messages
by locale (LocalizedMessage ``en-US`` and ``zh-CN``: ``message("zh-CN")``), ``retry_delay``
(RetryInfo, seconds), the decoded ``details``, and the call's ``rpc`` and the
``idempotency_key`` it was sent with (retry a write with that key: it is never made twice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

DOMAIN = "aftersale.v1"
DEFAULT_LOCALE = "en-US"
_DETAIL_TYPES: tuple[type[Message], ...] = (
    error_details_pb2.ErrorInfo,
    error_details_pb2.BadRequest,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.RetryInfo,
    error_details_pb2.LocalizedMessage,
    error_details_pb2.ResourceInfo,
    error_details_pb2.RequestInfo,
    error_details_pb2.QuotaFailure,
    error_details_pb2.DebugInfo,
    error_details_pb2.Help,
)


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One field of the request that is wrong (BadRequest)."""

    field: str
    description: str


@dataclass(frozen=True, slots=True)
class PreconditionViolation:
    """One rule that refused the call (PreconditionFailure): ``type`` is the reason."""

    type: str
    subject: str
    description: str


def _split(value: str) -> tuple[str, ...]:
    """A metadata list: joined with "," and no spaces (README "Errors")."""
    return tuple(part for part in value.split(",") if part)


class AfterSaleError(Exception):
    """A call the server (or the channel) did not answer; see the module docstring."""

    codes: ClassVar[tuple[str, ...]] = ()  # the gRPC codes this class stands for

    def __init__(
        self,
        code: grpc.StatusCode,
        status_message: str,
        *,
        details: Sequence[Message] = (),
        rpc: str = "",
        idempotency_key: str = "",
    ) -> None:
        self.code = code
        self.status_message = status_message
        self.details = tuple(details)
        self.rpc = rpc
        self.idempotency_key = idempotency_key
        info = self._first(error_details_pb2.ErrorInfo)
        self.reason: str = info.reason if info is not None else ""
        self.domain: str = info.domain if info is not None else ""
        self.metadata: Mapping[str, str] = dict(info.metadata) if info is not None else {}
        self.messages: Mapping[str, str] = {
            d.locale: d.message for d in self.details
            if isinstance(d, error_details_pb2.LocalizedMessage)
        }  # fmt: skip
        retry = self._first(error_details_pb2.RetryInfo)
        self.retry_delay: float | None = (
            retry.retry_delay.ToTimedelta().total_seconds() if retry is not None else None
        )
        self.field_violations = tuple(
            FieldViolation(v.field, v.description)
            for d in self.details if isinstance(d, error_details_pb2.BadRequest)
            for v in d.field_violations
        )  # fmt: skip
        self.violations = tuple(
            PreconditionViolation(v.type, v.subject, v.description)
            for d in self.details if isinstance(d, error_details_pb2.PreconditionFailure)
            for v in d.violations
        )  # fmt: skip
        super().__init__(self._summary())

    def _first(self, kind: type[Any]) -> Any:
        return next((d for d in self.details if isinstance(d, kind)), None)

    def _summary(self) -> str:
        head = " ".join(part for part in (self.code.name, self.reason) if part)
        where = f" ({self.rpc})" if self.rpc else ""
        return f"{head}{where}: {self.message()}"

    def message(self, locale: str = DEFAULT_LOCALE) -> str:
        """The server's message in ``locale`` (``zh-CN``, ``en-US``; ``zh`` and ``en`` match
        by language), else in English, else the status message."""
        if locale in self.messages:
            return self.messages[locale]
        language = locale.split("-", maxsplit=1)[0].lower()
        for known, text in self.messages.items():
            if known.split("-")[0].lower() == language:
                return text
        return self.messages.get(DEFAULT_LOCALE, self.status_message)

    @property
    def request_id(self) -> str:
        """The request the error names (empty when none was named)."""
        return self.metadata.get("request_id", "")

    @property
    def retryable(self) -> bool:
        """Whether the same call may be sent again as is (with the same idempotency key)."""
        return self.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)


class InvalidArgument(AfterSaleError):
    """The request is wrong whatever the stored request says: fix the field."""

    codes = ("INVALID_ARGUMENT",)

    @property
    def field(self) -> str:
        """The field at fault (ErrorInfo ``field``, else the first BadRequest violation)."""
        if "field" in self.metadata:
            return self.metadata["field"]
        return self.field_violations[0].field if self.field_violations else ""


class Unauthenticated(AfterSaleError):
    """No bearer token, or one the server does not know."""

    codes = ("UNAUTHENTICATED",)


class PermissionDenied(AfterSaleError):
    """Not this caller's to see or do (the same whether or not the request exists)."""

    codes = ("PERMISSION_DENIED",)


class NotFound(AfterSaleError):
    """No such request or subscription (ops are told; other callers get PermissionDenied)."""

    codes = ("NOT_FOUND",)


class AlreadyExists(AfterSaleError):
    """An idempotency key used before with another body, a subscription that exists, or a
    retried write that took effect but whose request has moved on since (reason
    ``IDEMPOTENT_CALL_SUPERSEDED``: nothing to redo; read the request for its state now)."""

    codes = ("ALREADY_EXISTS",)

    @property
    def superseded(self) -> bool:
        """The call took effect earlier (``version``, ``event_id``); its first reply is gone."""
        return self.reason == "IDEMPOTENT_CALL_SUPERSEDED"

    @property
    def version(self) -> int | None:
        """The version the superseded call produced (its request: ``request_id``)."""
        return _int(self.metadata.get("version"))

    @property
    def event_id(self) -> str:
        """The event the superseded call committed."""
        return self.metadata.get("event_id", "")


class Refused(AfterSaleError):
    """A rule refuses the action now (FAILED_PRECONDITION); ``reason`` says which rule and
    ``allowed_actions`` what the caller may do instead."""

    codes = ("FAILED_PRECONDITION",)

    @property
    def state(self) -> str:
        """The request's state, without the enum prefix (``MERCHANT_PROCESSING``)."""
        return self.metadata.get("state", "")

    @property
    def action(self) -> str:
        """The refused action, without the enum prefix (``REJECT``)."""
        return self.metadata.get("action", "")

    @property
    def allowed_actions(self) -> tuple[str, ...]:
        """What the caller may do now (``GetAllowedActions``'s answer): names without the
        ``ACTION_`` prefix (``APPROVE``, ``SEND_NEGOTIATION``)."""
        return _split(self.metadata.get("allowed_actions", ""))


class Aborted(AfterSaleError):
    """``expected_version`` is stale: re-read the request, decide again."""

    codes = ("ABORTED",)

    @property
    def expected_version(self) -> int | None:
        """The version the call expected."""
        return _int(self.metadata.get("expected_version"))

    @property
    def actual_version(self) -> int | None:
        """The version stored now."""
        return _int(self.metadata.get("actual_version"))


class OutOfRange(AfterSaleError):
    """A cursor older than what the streams retain: resume from ``oldest_cursor``."""

    codes = ("OUT_OF_RANGE",)

    @property
    def oldest_cursor(self) -> str:
        """The oldest cursor the server can resume from."""
        return self.metadata.get("oldest_cursor", "")


class Unavailable(AfterSaleError):
    """The server or its storage cannot serve now, even after the retry policy's attempts:
    send the same call again later (``retry_delay``), with ``idempotency_key``."""

    codes = ("UNAVAILABLE",)


class ResourceExhausted(AfterSaleError):
    """Too many open streams for this caller or its service: retry after ``retry_delay``."""

    codes = ("RESOURCE_EXHAUSTED",)


class DeadlineExceeded(AfterSaleError):
    """The call's timeout passed before an answer (a write may or may not have been made:
    send it again with the same ``idempotency_key`` to know)."""

    codes = ("DEADLINE_EXCEEDED",)


class Cancelled(AfterSaleError):
    """The call was cancelled."""

    codes = ("CANCELLED",)


class DataLoss(AfterSaleError):
    """A stored record does not decode: tell ops the request id."""

    codes = ("DATA_LOSS",)


class Internal(AfterSaleError):
    """A bug, or a code this client does not expect: tell ops ``error_id``."""

    codes = ("INTERNAL", "UNKNOWN", "UNIMPLEMENTED")

    @property
    def error_id(self) -> str:
        """The id under which the server logged the traceback."""
        return self.metadata.get("error_id", "")


def _int(value: str | None) -> int | None:
    return int(value) if value else None


_BY_CODE: dict[str, type[AfterSaleError]] = {
    code: kind for kind in AfterSaleError.__subclasses__() for code in kind.codes
}


def decode_details(error: grpc.RpcError) -> list[Message]:
    """The ``google.rpc.Status`` details of a failed call, unpacked (unknown types left out)."""
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # trailers whose status disagrees with the call's: trust neither
        return []
    if status is None:
        return []
    decoded: list[Message] = []
    for detail in status.details:
        kind = next((k for k in _DETAIL_TYPES if detail.Is(k.DESCRIPTOR)), None)
        if kind is not None:
            message = kind()
            detail.Unpack(message)
            decoded.append(message)
    return decoded


def from_rpc_error(
    error: grpc.RpcError, *, rpc: str = "", idempotency_key: str = ""
) -> AfterSaleError:
    """The typed error for a failed call (``error`` is a grpc or grpc.aio call error)."""
    code: grpc.StatusCode = error.code()
    kind = _BY_CODE.get(code.name, Internal)
    message: str = error.details() or ""
    found = kind(code, message, details=decode_details(error), rpc=rpc,
                 idempotency_key=idempotency_key)  # fmt: skip
    found.__cause__ = error
    return found
