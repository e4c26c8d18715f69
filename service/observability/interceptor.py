"""The observing interceptor: per RPC of the after-sale service, the gRPC metrics, the
refusal counter, the access line, and the status on the trace span.

It sits outside the error interceptor (which turns every error into a status and notes it
here, ``calls.note_status``) and inside the OpenTelemetry one when tracing is on, so the
span is current while it logs. No kept library fits: py-grpc-prometheus and
python-grpc-prometheus wrap the synchronous server only, and OpenTelemetry's gRPC
instrumentation records no metrics; this is the one small interceptor instead.

Health and reflection calls are not counted or logged (probes would drown the access log).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from service.api.method_handlers import StreamBehavior, UnaryBehavior, rpc_name, wrap_handler
from service.observability import metrics
from service.observability.calls import (
    CallRecord,
    begin_call,
    end_call,
    request_id_of,
)

access_log = logging.getLogger("service.access")
SERVICE = metrics.SERVICE.full_name
# Server-side errors in the OpenTelemetry sense: the service failed, not the caller.
SERVER_ERRORS = frozenset(
    {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}
)
CODE_VALUES = {code.name: code.value[0] for code in grpc.StatusCode}


class ObservingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Metrics, the access line and the span status of every after-sale RPC (install it
    before the error interceptor: outside it)."""

    async def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        handler = await continuation(handler_call_details)
        method = rpc_name(handler_call_details.method)
        if not method:
            return handler
        return wrap_handler(handler, _unary(method), _stream(method))


def _labels(method: str) -> tuple[str, str, str]:
    """grpc_service, grpc_method and grpc_type of ``method`` (an RPC of ours)."""
    label = metrics.method_label(method)
    service, kind = metrics.RPC_KINDS.get(method, (SERVICE, "unary"))
    return service, label, kind


def _unary(method: str) -> Callable[[UnaryBehavior], UnaryBehavior]:
    service, label, kind = _labels(method)
    started = metrics.rpc_started.labels(service, label, kind)
    seconds = metrics.rpc_seconds.labels(service, label, kind)

    def around(behavior: UnaryBehavior) -> UnaryBehavior:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            record = CallRecord(method, request_id=request_id_of(request))
            token = begin_call(record)
            started.inc()
            try:
                response = await behavior(request, context)
            except BaseException as exc:
                record.code = record.code or _code_of(exc, context)
                raise
            else:
                record.code = "OK"
                _note_response(record, response)
                return response
            finally:
                end_call(token)
                _finish(record, label, seconds)

        return call

    return around


def _stream(method: str) -> Callable[[StreamBehavior], StreamBehavior]:
    service, label, kind = _labels(method)
    started = metrics.rpc_started.labels(service, label, kind)
    seconds = metrics.rpc_seconds.labels(service, label, kind)
    open_now = metrics.STREAMS_OPEN.get(label)  # each streaming RPC has its gauge

    def around(behavior: StreamBehavior) -> StreamBehavior:
        async def call(
            request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncGenerator[Any, None]:
            # Current for the whole stream and never reset: the generator may be closed
            # from elsewhere, and the RPC's context is its own anyway.
            record = CallRecord(method, streaming=True, request_id=request_id_of(request))
            begin_call(record)
            started.inc()
            if open_now is not None:
                open_now.inc()
            try:
                async with aclosing(behavior(request, context)) as responses:
                    async for response in responses:
                        yield response
                record.code = "OK"
            except BaseException as exc:
                record.code = record.code or _code_of(exc, context)
                raise
            finally:
                if open_now is not None:
                    open_now.dec()
                _finish(record, label, seconds)

        return call

    return around


def _code_of(exc: BaseException, context: grpc.aio.ServicerContext) -> str:
    """The code of a call that ended with ``exc`` and no status noted by the error
    interceptor: an abort from elsewhere, a cancellation, a bug."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        remaining = context.time_remaining()
        expired = remaining is not None and remaining <= 0
        return "DEADLINE_EXCEEDED" if expired else "CANCELLED"
    if isinstance(exc, grpc.aio.AbortError):
        code = context.code()
        return str(code.name) if code is not None else "UNKNOWN"
    return "UNKNOWN"


def _note_response(record: CallRecord, response: Any) -> None:
    """The request id and version a write or read answered with."""
    after_sale = getattr(response, "after_sale", None)
    if after_sale is None or not after_sale.request_id:
        return
    record.request_id = after_sale.request_id
    record.version = after_sale.version


_handled: dict[tuple[str, str], Any] = {}  # labelled children, looked up once each


def _finish(record: CallRecord, label: str, seconds: Any) -> None:
    elapsed = record.elapsed_s()
    seconds.observe(elapsed)
    key = (label, record.code)
    handled = _handled.get(key)
    if handled is None:
        service, _, kind = _labels(record.method)
        handled = _handled[key] = metrics.rpc_handled.labels(service, label, kind, record.code)
    handled.inc()
    if record.reason:
        metrics.refusals.labels(label, record.code, metrics.reason_label(record.reason)).inc()
    span = trace.get_current_span()
    if span.is_recording():
        _annotate(span, record)
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(
            "%s %s", record.method, record.code, extra={"fields": _access_fields(record, elapsed)}
        )


def _annotate(span: Any, record: CallRecord) -> None:
    span.set_attribute("rpc.grpc.status_code", CODE_VALUES.get(record.code, 2))
    if record.request_id:
        span.set_attribute("aftersale.request_id", record.request_id)
    if record.reason:
        span.set_attribute("aftersale.reason", record.reason)
    if record.code in SERVER_ERRORS:
        span.set_status(Status(StatusCode.ERROR, f"{record.code} {record.reason}".strip()))


def _access_fields(record: CallRecord, elapsed_s: float) -> dict[str, Any]:
    """The access line: exactly these fields (never a token, an address, a free text)."""
    fields: dict[str, Any] = {
        "rpc": record.method,
        "caller": record.service,
        "role": record.role,
        "request_id": record.request_id,
        "version": record.version,
        "code": record.code,
        "reason": record.reason,
        "latency_ms": round(elapsed_s * 1000, 3),
    }
    if record.error_id:
        fields["error_id"] = record.error_id
    return fields
