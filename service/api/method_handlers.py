"""Wrapping a gRPC method handler's behaviour, so an interceptor can run code around every
call of the after-sale service (authentication, the error table) in the call's own context.

The after-sale RPCs take one request: they are unary-unary or unary-stream (an async
generator). ``SubscriptionService.Subscribe`` is bidirectional: its behaviour takes the
request iterator where the others take the request, and is wrapped like a stream. Handlers
of other shapes (client streaming, reflection) are returned unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import grpc

UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
StreamBehavior = Callable[[Any, grpc.aio.ServicerContext], AsyncGenerator[Any, None]]

SERVICE_PREFIX = "/aftersale.v1.AfterSaleService/"
SERVICE_PREFIXES = (SERVICE_PREFIX, "/aftersale.v1.SubscriptionService/")  # names never repeat


def rpc_name(method: str) -> str:
    """``/aftersale.v1.AfterSaleService/GetAfterSale`` → ``GetAfterSale`` (the subscription
    service's RPCs alike); "" for other services."""
    for prefix in SERVICE_PREFIXES:
        if method.startswith(prefix):
            return method.removeprefix(prefix)
    return ""


def wrap_handler(
    handler: Any,
    unary: Callable[[UnaryBehavior], UnaryBehavior],
    stream: Callable[[StreamBehavior], StreamBehavior],
    deserializer: Callable[[Callable[[bytes], Any]], Callable[[bytes], Any]] | None = None,
) -> Any:
    """``handler`` (a ``grpc.RpcMethodHandler``) with its behaviour passed through ``unary`` or
    ``stream`` (and its request deserializer through ``deserializer``, if given);
    request-streaming handlers are returned as they are."""
    if handler is None or (handler.request_streaming and not handler.response_streaming):
        return handler
    parse = handler.request_deserializer
    if deserializer is not None and parse is not None:
        parse = deserializer(parse)
    if handler.request_streaming:
        return grpc.stream_stream_rpc_method_handler(
            stream(handler.stream_stream),
            request_deserializer=parse,
            response_serializer=handler.response_serializer,
        )
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(
            stream(handler.unary_stream),
            request_deserializer=parse,
            response_serializer=handler.response_serializer,
        )
    return grpc.unary_unary_rpc_method_handler(
        unary(handler.unary_unary),
        request_deserializer=parse,
        response_serializer=handler.response_serializer,
    )
