"""What one RPC is, as it runs: a ``CallRecord`` made current by the observing interceptor
and filled in by the layers inside it (the auth interceptor names the caller, the error
interceptor the status). The access line, the RPC metrics and the log context read it.

A context variable, because grpc.aio runs every RPC in a context of its own: layers never
pass it along, and no call sees another's.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2

from aftersale.vocabulary import Role

CODE_NAMES: dict[int, str] = {code.value[0]: code.name for code in grpc.StatusCode}
REQUEST_ID_MAX = 64  # a caller-sent id is echoed into logs: cut, never trusted for length


@dataclass(slots=True)
class CallRecord:
    """One RPC of ``aftersale.v1.AfterSaleService``: who called, about which request, and
    how it ended. Only these fields reach the access line: never a token or a body."""

    method: str
    streaming: bool = False
    started: float = field(default_factory=time.perf_counter)
    service: str = ""  # the calling service (from its token)
    role: str = ""  # the role it spoke as
    request_id: str = ""  # the after-sale request, when the call names one
    version: int | None = None  # the request's version after the call (writes, reads)
    code: str = ""  # grpc.StatusCode name; "" while running
    reason: str = ""  # the ErrorInfo reason of an error status
    error_id: str = ""  # the id an INTERNAL / UNAVAILABLE error was logged under

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


_current: ContextVar[CallRecord | None] = ContextVar("aftersale_call", default=None)


def current_call() -> CallRecord | None:
    """The RPC being served in this context, if any."""
    return _current.get()


def begin_call(record: CallRecord) -> Any:
    """Make ``record`` current; returns the token :func:`end_call` takes."""
    return _current.set(record)


def end_call(token: Any) -> None:
    _current.reset(token)


def note_caller(service: str, role: Role) -> None:
    """The auth interceptor authenticated the call."""
    record = _current.get()
    if record is not None:
        record.service = service
        record.role = role.value


def note_status(status: Any) -> None:
    """The call ends with ``status`` (a ``google.rpc.Status``): keep its code and the reason
    (and error id) of its ErrorInfo detail."""
    record = _current.get()
    if record is None:
        return
    record.code = CODE_NAMES.get(status.code, "UNKNOWN")
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            record.reason = info.reason
            record.error_id = info.metadata.get("error_id", "")
            break


def request_id_of(message: Any) -> str:
    """The ``request_id`` field of a request message ("" when it has none)."""
    value = getattr(message, "request_id", "")
    return value[:REQUEST_ID_MAX] if isinstance(value, str) else ""
