"""Units of the typed errors: a google.rpc.Status with every detail kind the server sends is
decoded into the right class with its fields (the server's own refusals are decoded in
test_flow.py; these cover the codes a healthy test server does not produce on demand)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2 as ed
from google.rpc import status_pb2

from aftersale_client import errors
from aftersale_client.errors import from_rpc_error


class FailedCall(grpc.RpcError):  # type: ignore[misc]  # grpc ships no type hints
    """A failed call as grpc hands it over: code, message, trailers."""

    def __init__(self, code: grpc.StatusCode, message: str, details: list[Message]) -> None:
        packed = []
        for detail in details:
            wrapped = any_pb2.Any()
            wrapped.Pack(detail)
            packed.append(wrapped)
        status = status_pb2.Status(code=code.value[0], message=message, details=packed)
        self._code, self._message = code, message
        self._trailers = (("grpc-status-details-bin", status.SerializeToString()),)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._message

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._trailers


def messages(en: str, zh: str) -> list[Message]:
    return [ed.LocalizedMessage(locale="en-US", message=en),
            ed.LocalizedMessage(locale="zh-CN", message=zh)]  # fmt: skip


def test_unavailable_carries_the_retry_delay_and_the_key() -> None:
    call = FailedCall(grpc.StatusCode.UNAVAILABLE, "storage unavailable", [
        ed.ErrorInfo(reason="STORAGE_UNAVAILABLE", domain="aftersale.v1",
                     metadata={"error_id": "e-1"}),
        *messages("Storage is unavailable.", "存储暂不可用。"),
        ed.RetryInfo(retry_delay=duration_pb2.Duration(seconds=1, nanos=500_000_000)),
    ])  # fmt: skip

    error = from_rpc_error(call, rpc="ApproveAfterSale", idempotency_key="k-1")

    assert isinstance(error, errors.Unavailable) and isinstance(error, errors.AfterSaleError)
    assert (error.reason, error.retry_delay, error.retryable) == ("STORAGE_UNAVAILABLE", 1.5, True)
    assert (error.rpc, error.idempotency_key) == ("ApproveAfterSale", "k-1")
    assert error.message("zh-CN") == "存储暂不可用。"
    assert (
        str(error) == "UNAVAILABLE STORAGE_UNAVAILABLE (ApproveAfterSale): Storage is unavailable."
    )
    assert error.__cause__ is call


def test_aborted_names_both_versions() -> None:
    call = FailedCall(grpc.StatusCode.ABORTED, "stale", [
        ed.ErrorInfo(reason="VERSION_CONFLICT", metadata={
            "request_id": "AS01-x", "expected_version": "3", "actual_version": "4"}),
        ed.RetryInfo(retry_delay=duration_pb2.Duration()),
    ])  # fmt: skip

    error = from_rpc_error(call)

    assert isinstance(error, errors.Aborted)
    assert (error.expected_version, error.actual_version, error.request_id) == (3, 4, "AS01-x")
    assert error.retry_delay == 0.0 and not error.retryable


def test_a_superseded_retry_says_what_the_call_produced() -> None:
    call = FailedCall(grpc.StatusCode.ALREADY_EXISTS, "superseded", [
        ed.ErrorInfo(reason="IDEMPOTENT_CALL_SUPERSEDED", metadata={
            "idempotency_key": "k-1", "request_id": "AS01-x", "version": "3", "event_id": "1-0"}),
    ])  # fmt: skip

    error = from_rpc_error(call)

    assert isinstance(error, errors.AlreadyExists) and error.superseded
    assert (error.request_id, error.version, error.event_id) == ("AS01-x", 3, "1-0")
    assert not from_rpc_error(FailedCall(grpc.StatusCode.ALREADY_EXISTS, "reused", [
        ed.ErrorInfo(reason="IDEMPOTENCY_KEY_REUSED", metadata={"idempotency_key": "k-1"}),
    ])).superseded  # type: ignore[attr-defined]  # fmt: skip


def test_refused_lists_its_allowed_actions_and_violations() -> None:
    call = FailedCall(grpc.StatusCode.FAILED_PRECONDITION, "refused", [
        ed.ErrorInfo(reason="NEGOTIATION_REQUIRED", metadata={
            "request_id": "AS01-x", "state": "MERCHANT_PROCESSING", "action": "REJECT",
            "allowed_actions": "APPROVE,NEGOTIATE", "options": "AMOUNT_ONLY,PARTIAL_REFUND"}),
        ed.PreconditionFailure(violations=[ed.PreconditionFailure.Violation(
            type="NEGOTIATION_REQUIRED", subject="aftersale/AS01-x", description="Negotiate.")]),
        *messages("Negotiate first.", "请先协商。"),
    ])  # fmt: skip

    error = from_rpc_error(call)

    assert isinstance(error, errors.Refused)
    assert error.allowed_actions == ("APPROVE", "NEGOTIATE")
    assert (error.state, error.action) == ("MERCHANT_PROCESSING", "REJECT")
    assert error.violations[0].subject == "aftersale/AS01-x"
    assert error.message("zh") == "请先协商。" and error.message("fr-FR") == "Negotiate first."


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidArgument),
        (grpc.StatusCode.UNAUTHENTICATED, errors.Unauthenticated),
        (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied),
        (grpc.StatusCode.NOT_FOUND, errors.NotFound),
        (grpc.StatusCode.ALREADY_EXISTS, errors.AlreadyExists),
        (grpc.StatusCode.OUT_OF_RANGE, errors.OutOfRange),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, errors.ResourceExhausted),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errors.DeadlineExceeded),
        (grpc.StatusCode.CANCELLED, errors.Cancelled),
        (grpc.StatusCode.DATA_LOSS, errors.DataLoss),
        (grpc.StatusCode.INTERNAL, errors.Internal),
        (grpc.StatusCode.UNKNOWN, errors.Internal),
    ],
)
def test_each_code_has_its_class(code: grpc.StatusCode, kind: type) -> None:
    error = from_rpc_error(FailedCall(code, "plain", []))

    assert type(error) is kind
    assert (error.reason, error.metadata, error.message()) == ("", {}, "plain")


def test_a_bad_request_names_its_fields_and_internal_its_error_id() -> None:
    bad = from_rpc_error(FailedCall(grpc.StatusCode.INVALID_ARGUMENT, "bad", [
        ed.BadRequest(field_violations=[ed.BadRequest.FieldViolation(
            field="images", description="at most 9")]),
    ]))  # fmt: skip
    internal = from_rpc_error(FailedCall(grpc.StatusCode.INTERNAL, "bug", [
        ed.ErrorInfo(reason="INTERNAL", metadata={"error_id": "e-42"}),
    ]))  # fmt: skip

    assert isinstance(bad, errors.InvalidArgument) and bad.field == "images"
    assert isinstance(internal, errors.Internal) and internal.error_id == "e-42"


def test_a_status_that_disagrees_with_the_call_is_not_trusted() -> None:
    call = FailedCall(grpc.StatusCode.NOT_FOUND, "gone", [ed.ErrorInfo(reason="X")])
    call._code = grpc.StatusCode.INTERNAL  # the trailers say NOT_FOUND

    error = from_rpc_error(call)

    assert isinstance(error, errors.Internal) and error.reason == ""
