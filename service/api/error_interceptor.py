"""The interceptor that applies the error table (``error_details.ERROR_TABLE``) to every after-sale
RPC: whatever a servicer method raises ends the call with the table's status and details.

A request body that does not decode is bad input too (INVALID_ARGUMENT naming ``body``): left
to grpc, it would end as UNKNOWN with the parser's error text."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

import grpc
from grpc_status import rpc_status

from aftersale.exceptions import InvalidInput
from service.api.error_details import rich_status, status_for
from service.api.errors import Code
from service.api.method_handlers import StreamBehavior, UnaryBehavior, rpc_name, wrap_handler
from service.observability.calls import note_status

log = logging.getLogger(__name__)
BODY = "body"


class Undecodable:
    """What the tolerant deserializer hands on for bytes that are not a valid request."""


def tolerant(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse_or_mark(raw: bytes) -> Any:
        try:
            return parse(raw)
        except Exception as exc:
            log.debug("undecodable request body: %s", exc)
            return Undecodable()

    return parse_or_mark


def _undecodable(method: str) -> InvalidInput:
    rule = f"not a valid protobuf encoding of aftersale.v1.{method}Request"
    return InvalidInput(
        BODY, rule, f"请求体不是有效的 aftersale.v1.{method}Request 编码", "BODY_UNDECODABLE"
    )


async def abort_with(context: grpc.aio.ServicerContext, exc: Exception, method: str) -> None:
    """End the RPC with the status the table gives ``exc`` (never with the text of an error
    raised while building that status: the fallback is a bare INTERNAL with an error id)."""
    try:
        status = status_for(exc, method)
    except Exception as broken:
        error_id = secrets.token_hex(8)
        log.error("error mapping failed error_id=%s method=%s", error_id, method, exc_info=broken)
        status = rich_status(Code.INTERNAL, f"internal error (error id {error_id})", [])
    note_status(status)  # the access line's code and reason, the refusal counter's
    await context.abort_with_status(rpc_status.to_status(status))


class ErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Applies :data:`ERROR_TABLE` to every after-sale RPC (install it first: outermost), and
    bounds every unary call to ``call_timeout_s``: a call to a hung Redis, whose client would
    retry for much longer, is answered UNAVAILABLE instead of hanging (the client's own
    deadline, when shorter, still wins)."""

    def __init__(self, call_timeout_s: float = 5.0) -> None:
        self._timeout_s = call_timeout_s

    async def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        handler = await continuation(handler_call_details)
        method = rpc_name(handler_call_details.method)
        if not method:
            return handler
        unary = _unary(method, self._timeout_s)
        return wrap_handler(handler, unary, _stream(method), tolerant)


def _unary(method: str, timeout_s: float) -> Callable[[UnaryBehavior], UnaryBehavior]:
    def around(behavior: UnaryBehavior) -> UnaryBehavior:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                if isinstance(request, Undecodable):
                    raise _undecodable(method)
                async with asyncio.timeout(timeout_s):
                    return await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await abort_with(context, exc, method)

        return call

    return around


def _stream(method: str) -> Callable[[StreamBehavior], StreamBehavior]:
    def around(behavior: StreamBehavior) -> StreamBehavior:
        async def call(
            request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncGenerator[Any, None]:
            try:
                if isinstance(request, Undecodable):
                    raise _undecodable(method)
                async with aclosing(behavior(request, context)) as responses:
                    async for response in responses:
                        yield response
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await abort_with(context, exc, method)

        return call

    return around
