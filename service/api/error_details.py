"""Errors → ``google.rpc.Status`` with details (``error_interceptor`` applies it to every RPC);
the reasons, codes and metadata keys are the table in ``errors.REASONS``.

============================  ===================  =============================================
error                         code                 details (google.rpc, in this order)
============================  ===================  =============================================
InvalidInput (+ Evidence-     INVALID_ARGUMENT     BadRequest (field, rule), ErrorInfo, messages
Required)
NotFound                      NOT_FOUND            ResourceInfo, ErrorInfo, messages
PermissionDenied              PERMISSION_DENIED    ErrorInfo (a specific reason), messages
ActionRefused (+ subclasses)  FAILED_PRECONDITION  ErrorInfo (reason = refusal reason, the
                                                   caller's allowed actions), PreconditionFailure,
                                                   messages (+ next step)
VersionConflict               ABORTED              ErrorInfo VERSION_CONFLICT, messages, RetryInfo
IdempotencyKeyReused          ALREADY_EXISTS       ErrorInfo IDEMPOTENCY_KEY_REUSED, messages
IdempotentCallSuperseded      ALREADY_EXISTS       ErrorInfo IDEMPOTENT_CALL_SUPERSEDED, messages
ApiError (Unauthenticated,    its reason's code    ErrorInfo, messages (+ RetryInfo)
ResourceExhausted)
UndecodableRecord             DATA_LOSS            ErrorInfo RECORD_UNREADABLE, messages
ArchiveUnavailable            UNAVAILABLE          ErrorInfo ARCHIVE_UNAVAILABLE, messages,
                                                   RetryInfo
ArchiveDisabled               FAILED_PRECONDITION  ErrorInfo ARCHIVE_DISABLED (field), messages
Redis unreachable             UNAVAILABLE          ErrorInfo STORAGE_UNAVAILABLE, messages,
                                                   RetryInfo
Redis refusing writes         UNAVAILABLE          ErrorInfo STORAGE_FULL (OOM) or
                                                   STORAGE_NOT_PERSISTING (MISCONF), RetryInfo
anything else                 INTERNAL             ErrorInfo INTERNAL + RequestInfo (error id)
============================  ===================  =============================================

"messages" are two LocalizedMessage details, ``en-US`` and ``zh-CN`` (zh names actions, states
and options by their Chinese titles). An unexpected error is logged with its traceback under a
fresh error id; the client gets only that id, never the exception's text.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from redis import exceptions as redis_errors

from aftersale.exceptions import (
    ActionRefused,
    AfterSaleError,
    IdempotencyKeyReused,
    IdempotentCallSuperseded,
    InvalidInput,
    NotFound,
    PermissionDenied,
    VersionConflict,
)
from aftersale.guide import title_zh
from service.api.errors import DOMAIN, REASONS, ApiError, Code
from service.archive.reads import ArchiveDisabled, ArchiveUnavailable
from service.storage.ports import UndecodableRecord

log = logging.getLogger(__name__)


def _info(reason: str, metadata: dict[str, str] | None = None) -> Message:
    """The ErrorInfo; empty values are left out (no ``request_id`` when none was named)."""
    kept = {k: v for k, v in (metadata or {}).items() if v}
    info: Message = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=kept)
    return info


def _messages(en: str, zh: str) -> list[Message]:
    return [
        error_details_pb2.LocalizedMessage(locale="en-US", message=en),
        error_details_pb2.LocalizedMessage(locale="zh-CN", message=zh),
    ]


def _invalid(exc: InvalidInput) -> list[Message]:
    violation = error_details_pb2.BadRequest.FieldViolation(field=exc.field, description=exc.rule)
    return [
        error_details_pb2.BadRequest(field_violations=[violation]),
        _info(exc.reason, {"field": exc.field}),
        *_messages(f"{exc.field}: {exc.rule}", f"{exc.field}: {exc.message_zh}"),
    ]


def _not_found(exc: NotFound) -> list[Message]:
    resource = error_details_pb2.ResourceInfo(
        resource_type=exc.resource_type, resource_name=exc.request_id
    )
    zh = f"{exc.what_zh} {exc.request_id} 不存在"
    return [
        resource,
        _info(exc.info_reason, {exc.key: exc.request_id}),
        *_messages(exc.message, zh),
    ]


def _denied(exc: PermissionDenied) -> list[Message]:
    subject = f"对售后单 {exc.request_id} " if exc.request_id else ""
    zh = f"无权{subject}执行此操作:{exc.why_zh}"
    return [_info(exc.reason, {"request_id": exc.request_id}), *_messages(exc.message, zh)]


def _refused(exc: ActionRefused) -> list[Message]:
    refusal = exc.refusal
    metadata = {
        **refusal.metadata,
        "request_id": exc.request_id,
        "state": exc.state.name if exc.state is not None else "",
        "action": exc.action.name if exc.action is not None else "",
        "allowed_actions": ",".join(a.name for a in exc.allowed),
    }
    violation = error_details_pb2.PreconditionFailure.Violation(
        type=refusal.reason, subject=f"aftersale/{exc.request_id}", description=refusal.message_en
    )
    en, zh = refusal.message_en, refusal.message_zh
    if refusal.next_step_en:
        en, zh = f"{en} Next step: {refusal.next_step_en}", f"{zh}建议:{refusal.next_step_zh}"
    if exc.allowed:
        en += f" Possible now: {', '.join(a.name for a in exc.allowed)}."
        zh += "当前可执行:" + "、".join(f"“{title_zh(a)}”" for a in exc.allowed) + "。"
    return [
        _info(refusal.reason, metadata),
        error_details_pb2.PreconditionFailure(violations=[violation]),
        *_messages(en, zh),
    ]


def _version(exc: VersionConflict) -> list[Message]:
    info = _info(
        "VERSION_CONFLICT",
        {
            "request_id": exc.request_id,
            "expected_version": str(exc.expected),
            "actual_version": str(exc.actual),
        },
    )
    zh = f"售后单 {exc.request_id} 已被修改(期望版本 {exc.expected},当前 {exc.actual}),请重新读取"
    return [info, *_messages(exc.message, zh)]


def _key_reused(exc: IdempotencyKeyReused) -> list[Message]:
    zh = f"幂等键 {exc.key!r} 已用于另一个不同的请求"
    return [
        _info("IDEMPOTENCY_KEY_REUSED", {"idempotency_key": exc.key}),
        *_messages(exc.message, zh),
    ]


def _superseded(exc: IdempotentCallSuperseded) -> list[Message]:
    zh = (
        f"幂等键 {exc.key!r} 对应的调用已生效(售后单 {exc.request_id} 第 {exc.version} 版,"
        f"事件 {exc.event_id}),此后售后单已有新的变化,请重新读取售后单"
    )
    metadata = {
        "idempotency_key": exc.key,
        "request_id": exc.request_id,
        "version": str(exc.version),
        "event_id": exc.event_id,
    }
    return [_info("IDEMPOTENT_CALL_SUPERSEDED", metadata), *_messages(exc.message, zh)]


def _unreadable(exc: UndecodableRecord) -> list[Message]:
    """Only the id: what is wrong with the stored form is in the log, not for the caller."""
    zh = f"售后单 {exc.request_id} 的存储数据无法读取,已记录日志供运维处理"
    info = _info("RECORD_UNREADABLE", {"request_id": exc.request_id})
    return [info, *_messages(exc.message, zh)]


def _archive_unavailable(exc: ArchiveUnavailable) -> list[Message]:
    """Like Redis unreachable: an error id for the caller, the cause in the log."""
    error_id = secrets.token_hex(8)
    log.error("archive unavailable error_id=%s: %s", error_id, exc.__cause__ or exc)
    message = f"archive unavailable, retry later (error id {error_id})"
    zh = f"归档库暂时不可用,请稍后重试(错误编号 {error_id})"
    return [_info("ARCHIVE_UNAVAILABLE", {"error_id": error_id}), *_messages(message, zh)]


def _archive_disabled(exc: ArchiveDisabled) -> list[Message]:
    zh = f"{exc.field} 需要归档库,而本服务未配置归档库"
    return [_info("ARCHIVE_DISABLED", {"field": exc.field}), *_messages(str(exc), zh)]


def _other_domain(exc: AfterSaleError) -> list[Message]:
    return [_info(exc.reason), *_messages(exc.message, exc.message)]


def _api(exc: ApiError) -> list[Message]:
    return [_info(exc.reason, exc.metadata), *_messages(exc.message, exc.message_zh)]


# The table: the first row whose type matches wins (subclasses before their bases).
Row = tuple[type[BaseException], Any, Callable[[Any], list[Message]]]
ERROR_TABLE: tuple[Row, ...] = (
    (InvalidInput, Code.INVALID_ARGUMENT, _invalid),
    (NotFound, Code.NOT_FOUND, _not_found),
    (PermissionDenied, Code.PERMISSION_DENIED, _denied),
    (ActionRefused, Code.FAILED_PRECONDITION, _refused),
    (VersionConflict, Code.ABORTED, _version),
    (IdempotencyKeyReused, Code.ALREADY_EXISTS, _key_reused),
    (IdempotentCallSuperseded, Code.ALREADY_EXISTS, _superseded),
    (UndecodableRecord, Code.DATA_LOSS, _unreadable),
    (ArchiveUnavailable, Code.UNAVAILABLE, _archive_unavailable),
    (ArchiveDisabled, Code.FAILED_PRECONDITION, _archive_disabled),
    (AfterSaleError, Code.FAILED_PRECONDITION, _other_domain),
    (ApiError, Code.UNKNOWN, _api),  # the code is the error's own
)
# Redis cannot serve now, but nothing was lost: the client may retry (with the same
# idempotency key, so a write whose outcome it did not see is not made twice).
UNAVAILABLE_ERRORS = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ReadOnlyError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.MasterDownError,
    TimeoutError,  # the call's own time bound (``CallTimeout``)
)
# Refusals Redis gives for a whole class of writes, found in the reply text because a script
# wraps them ("Error running script ...: -OOM ..."): (marker, reason, en, zh).
STORAGE_REFUSALS = (
    (
        "OOM command not allowed",
        "STORAGE_FULL",
        "storage is out of memory; nothing was written, retry later",
        "存储空间已满,未写入任何数据,请稍后重试",
    ),
    (
        "MISCONF",
        "STORAGE_NOT_PERSISTING",
        "storage cannot persist writes now (disk); nothing was written, retry later",
        "存储暂时无法持久化写入(磁盘),未写入任何数据,请稍后重试",
    ),
)


def _storage_refusal(exc: Exception) -> tuple[str, str, str] | None:
    """(reason, en, zh) when ``exc`` is Redis refusing writes, else None."""
    if not isinstance(exc, redis_errors.ResponseError):
        return None
    # redis-py strips the "OOM" code from a plain command's reply (OutOfMemoryError); a
    # script's reply keeps it inside its text.
    text = f"OOM {exc}" if isinstance(exc, redis_errors.OutOfMemoryError) else str(exc)
    for marker, reason, en, zh in STORAGE_REFUSALS:
        if marker in text:
            return reason, en, zh
    return None


def rich_status(code: Any, message: str, details: list[Message]) -> Any:
    """A google.rpc.Status with ``details`` packed as Any; a RetryInfo is added when the
    ErrorInfo's reason is retryable (``errors.REASONS``)."""
    infos = [d for d in details if isinstance(d, error_details_pb2.ErrorInfo)]
    known = REASONS.get(infos[0].reason) if infos else None
    if known is not None and known.retry_after_s is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(known.retry_after_s * 1000))
        details = [*details, error_details_pb2.RetryInfo(retry_delay=delay)]
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return status_pb2.Status(code=code.value[0], message=message, details=packed)


def status_for(exc: Exception, method: str = "") -> Any:
    """The status a client gets for ``exc``; unexpected errors are logged here."""
    for kind, row_code, details in ERROR_TABLE:
        if isinstance(exc, kind):
            code = exc.code if isinstance(exc, ApiError) else row_code
            log.debug("%s refused: %s %s", method, code.name, exc)  # the access line has it
            return rich_status(code, getattr(exc, "message", str(exc)), details(exc))
    error_id = secrets.token_hex(8)
    refused = _storage_refusal(exc)
    if refused is not None:
        reason, en, zh = refused
        log.error("storage refused error_id=%s method=%s: %s", error_id, method, exc)
        info = _info(reason, {"error_id": error_id})
        message = f"{en} (error id {error_id})"
        zh = f"{zh}(错误编号 {error_id})"
        return rich_status(Code.UNAVAILABLE, message, [info, *_messages(message, zh)])
    if isinstance(exc, UNAVAILABLE_ERRORS):
        log.error("storage unavailable error_id=%s method=%s", error_id, method, exc_info=exc)
        info = _info("STORAGE_UNAVAILABLE", {"error_id": error_id})
        message = f"storage unavailable, retry later (error id {error_id})"
        zh = f"存储暂时不可用,请稍后重试(错误编号 {error_id})"
        return rich_status(Code.UNAVAILABLE, message, [info, *_messages(message, zh)])
    log.error("internal error error_id=%s method=%s", error_id, method, exc_info=exc)
    message = f"internal error (error id {error_id})"
    details_ = [
        _info("INTERNAL", {"error_id": error_id}),
        error_details_pb2.RequestInfo(request_id=error_id),
        *_messages(message, f"服务内部错误(错误编号 {error_id})"),
    ]
    return rich_status(Code.INTERNAL, message, details_)
