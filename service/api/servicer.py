# ruff: noqa: N802 - method names are the RPC names of aftersale.v1.AfterSaleService
"""The gRPC servicer: each RPC converts the request, calls one handler, converts the result.

The mutating RPCs are not written out one by one: each row of ``writes.WRITES`` becomes a
method that converts the request to its command and calls ``AfterSaleHandlers.handle``.

Authentication (``auth.AuthInterceptor``) has run before any method here and made the caller
current; every error raised here becomes a status in ``error_interceptor.ErrorInterceptor``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from aftersale.model import AfterSale
from service.api import convert_allowed, convert_catalog, convert_in, convert_out, convert_reads
from service.api.caller import current_caller
from service.api.convert_stats import shop_stats, stats_window, window_bound
from service.api.convert_status import status_limit, status_response
from service.api.fields import require_id
from service.api.sealing import Sealer
from service.api.watch import TransitionWatch
from service.api.writes import WRITES, WriteRpc
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import aftersale_pb2_grpc
from service.handlers import AfterSaleHandlers
from service.observability.undecodable import undecodable
from service.status import StatusReader

Context = Any  # grpc.aio.ServicerContext (grpc ships no type hints)


class AfterSaleServicer(aftersale_pb2_grpc.AfterSaleServiceServicer):
    """``aftersale.v1.AfterSaleService`` over the application handlers."""

    def __init__(
        self,
        handlers: AfterSaleHandlers,
        watch: TransitionWatch,
        sealer: Sealer,
        status: StatusReader | None = None,
    ) -> None:
        self._h = handlers
        self._watch = watch
        self._sealer = sealer
        self._status = status

    async def _write(self, rpc: WriteRpc, request: Any) -> Any:
        """Every mutating RPC: ids and call first (errors name the id first), then the
        command; the response carries the new record."""
        caller = current_caller()
        request_id = convert_in.request_id(request)
        call = convert_in.call_of(request, caller)
        record = await self._h.handle(request_id, rpc.convert(request, caller), call)
        return rpc.response(after_sale=convert_out.after_sale(record))

    async def FireTimer(self, request: Any, context: Context) -> Any:
        caller = current_caller()
        request_id = convert_in.request_id(request)
        call = convert_in.call_of(request, caller)
        record = await self._h.fire_pending(request_id, call)
        return pb.FireTimerResponse(after_sale=convert_out.after_sale(record))

    # -- reads ---------------------------------------------------------------------------

    async def GetAfterSale(self, request: Any, context: Context) -> Any:
        record = await self._h.get(convert_in.request_id(request), current_caller().actor)
        return pb.GetAfterSaleResponse(after_sale=convert_out.after_sale(record))

    async def ListAfterSales(self, request: Any, context: Context) -> Any:
        caller = current_caller()
        q = convert_reads.list_query(request)
        page = await self._h.list_requests(
            caller.actor,
            shop_id=q.shop_id,
            buyer_id=q.buyer_id,
            order_id=q.order_id,
            states=q.states,
            page_size=q.page_size,
            page_token=convert_reads.open_page_token(self._sealer, q, caller),
            created_from_ms=q.created_from_ms,
            created_before_ms=q.created_before_ms,
        )
        next_token = convert_reads.seal_page_token(self._sealer, q, caller, page.next_page_token)
        return pb.ListAfterSalesResponse(
            after_sales=_views(page.records), next_page_token=next_token
        )

    async def GetHistory(self, request: Any, context: Context) -> Any:
        request_id = convert_in.request_id(request)
        offset, limit = convert_reads.history_page(request)
        page = await self._h.history(request_id, current_caller().actor, offset, limit)
        return pb.GetHistoryResponse(
            events=[convert_out.transition(s.event, s.event_id) for s in page.events],
            next_page_token=str(page.next_offset) if page.next_offset is not None else "",
        )

    async def GetAllowedActions(self, request: Any, context: Context) -> Any:
        actor = current_caller().actor
        request_id = convert_in.request_id(request)
        role = convert_reads.role_asked(request, actor)
        record, verdicts = await self._h.allowed_actions(request_id, actor, role)
        return convert_allowed.allowed_actions(record, verdicts)

    async def ListNegotiationOptions(self, request: Any, context: Context) -> Any:
        options = convert_catalog.negotiation_options(*convert_reads.option_filters(request))
        return pb.ListNegotiationOptionsResponse(options=options)

    async def ListRejectReasons(self, request: Any, context: Context) -> Any:
        reasons = convert_catalog.reject_reasons(convert_reads.reason_filter(request))
        return pb.ListRejectReasonsResponse(reasons=reasons)

    async def GetShopStats(self, request: Any, context: Context) -> Any:
        shop_id = require_id(request.shop_id, "shop_id")
        window = stats_window(request)
        actor = current_caller().actor
        if window is None:
            counters = await self._h.shop_stats(shop_id, actor)
            return pb.GetShopStatsResponse(stats=shop_stats(shop_id, counters))
        counters, start, end = await self._h.shop_stats_window(shop_id, actor, *window)
        return pb.GetShopStatsResponse(
            stats=shop_stats(shop_id, counters),
            window_start=window_bound(start),
            window_end=window_bound(end),
        )

    async def GetStatus(self, request: Any, context: Context) -> Any:
        limit = status_limit(request)
        if self._status is None:  # a server built without its ops parts
            raise NotImplementedError("GetStatus needs a StatusReader")
        return status_response(await self._status.read(limit))

    async def WatchTransitions(
        self, request: Any, context: Context
    ) -> AsyncGenerator[pb.WatchTransitionsResponse, None]:
        async with aclosing(self._watch.stream(request, current_caller())) as responses:
            async for response in responses:
                yield response


def _views(records: list[AfterSale]) -> list[Any]:
    """The records of a list page as views. One that decoded but cannot be shown (a number
    past int64, a time past year 9999: no commit writes those) is skipped and reported like an
    undecodable one, so it never fails the page for the others."""
    views = []
    for record in records:
        try:
            views.append(convert_out.after_sale(record))
        except (ValueError, TypeError, OverflowError) as error:
            undecodable("record", "(list page)", record.request_id, error)
    return views


def _write_method(rpc: WriteRpc) -> Callable[..., Awaitable[Any]]:
    async def method(self: AfterSaleServicer, request: Any, context: Context) -> Any:
        return await self._write(rpc, request)

    return method


# The mutating RPCs are the rows of ``writes.WRITES``: one generic method each.
for _name, _rpc in WRITES.items():
    setattr(AfterSaleServicer, _name, _write_method(_rpc))
