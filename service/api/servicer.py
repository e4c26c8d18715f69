# ruff: noqa: N802 - method names are the RPC names of aftersale.v1.AfterSaleService
"""The gRPC servicer: each RPC converts the request, calls one handler, converts the result.

Authentication (``auth.AuthInterceptor``) has run before any method here and made the caller
current; every error raised here becomes a status in ``error_interceptor.ErrorInterceptor``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from aftersale import commands as c
from aftersale.clock import Clock
from aftersale.model import AfterSale
from service.api import convert_allowed, convert_catalog, convert_in, convert_out, convert_reads
from service.api.caller import current_caller
from service.api.convert_stats import shop_stats
from service.api.fields import require_id
from service.api.watch import TransitionWatch
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import aftersale_pb2_grpc
from service.gen.aftersale.v1 import types_pb2 as t
from service.handlers import AfterSaleHandlers, Call

Handler = Callable[[str, Any, Call], Awaitable[AfterSale]]
Context = Any  # grpc.aio.ServicerContext (grpc ships no type hints)


class AfterSaleServicer(aftersale_pb2_grpc.AfterSaleServiceServicer):
    """``aftersale.v1.AfterSaleService`` over the application handlers."""

    def __init__(self, handlers: AfterSaleHandlers, clock: Clock, watch: TransitionWatch) -> None:
        self._h = handlers
        self._clock = clock
        self._watch = watch

    async def _act(
        self, handler: Handler, request: Any, command: Callable[[Any], Any]
    ) -> t.AfterSale:
        """Ids and call first, then the command's own fields: errors name the id first."""
        request_id = convert_in.request_id(request)
        call = convert_in.call_of(request, current_caller())
        record = await handler(request_id, command(request), call)
        return convert_out.after_sale(record)

    # -- buyer ---------------------------------------------------------------------------

    async def CreateAfterSale(
        self, request: pb.CreateAfterSaleRequest, context: Context
    ) -> pb.CreateAfterSaleResponse:
        caller = current_caller()
        call = convert_in.call_of(request, caller)
        record = await self._h.apply(convert_in.apply(request, caller), call)
        return pb.CreateAfterSaleResponse(after_sale=convert_out.after_sale(record))

    async def AcceptNegotiation(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.accept_negotiation, request, lambda _: c.AcceptNegotiation())
        return pb.AcceptNegotiationResponse(after_sale=view)

    async def RejectNegotiation(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.reject_negotiation, request, lambda _: c.RejectNegotiation())
        return pb.RejectNegotiationResponse(after_sale=view)

    async def SupplementEvidence(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.supplement_evidence, request, convert_in.supplement_evidence)
        return pb.SupplementEvidenceResponse(after_sale=view)

    async def ModifyAfterSale(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.modify_application, request, convert_in.modify)
        return pb.ModifyAfterSaleResponse(after_sale=view)

    async def CancelAfterSale(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.cancel, request, lambda _: c.Cancel())
        return pb.CancelAfterSaleResponse(after_sale=view)

    async def SubmitReturnWaybill(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.submit_return_waybill, request, convert_in.waybill)
        return pb.SubmitReturnWaybillResponse(after_sale=view)

    async def EscalateAfterSale(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.escalate, request, convert_in.escalate)
        return pb.EscalateAfterSaleResponse(after_sale=view)

    async def WithdrawEscalation(self, request: Any, context: Context) -> Any:
        view = await self._act(
            self._h.withdraw_escalation, request, lambda _: c.WithdrawEscalation()
        )
        return pb.WithdrawEscalationResponse(after_sale=view)

    async def ConfirmOfflineRefund(self, request: Any, context: Context) -> Any:
        view = await self._act(
            self._h.confirm_offline_refund, request, lambda _: c.ConfirmOfflineRefund()
        )
        return pb.ConfirmOfflineRefundResponse(after_sale=view)

    # -- merchant ------------------------------------------------------------------------

    async def ApproveAfterSale(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.approve, request, convert_in.approve)
        return pb.ApproveAfterSaleResponse(after_sale=view)

    async def SendNegotiation(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.negotiate, request, convert_in.negotiate)
        return pb.SendNegotiationResponse(after_sale=view)

    async def WithdrawNegotiation(self, request: Any, context: Context) -> Any:
        view = await self._act(
            self._h.withdraw_negotiation, request, lambda _: c.WithdrawNegotiation()
        )
        return pb.WithdrawNegotiationResponse(after_sale=view)

    async def RejectAfterSale(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.reject, request, convert_in.reject)
        return pb.RejectAfterSaleResponse(after_sale=view)

    async def ConfirmReceipt(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.confirm_receipt, request, lambda _: c.ConfirmReceipt())
        return pb.ConfirmReceiptResponse(after_sale=view)

    async def UploadRefundProof(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.upload_refund_proof, request, convert_in.upload_refund_proof)
        return pb.UploadRefundProofResponse(after_sale=view)

    async def RecordContactAttempt(self, request: Any, context: Context) -> Any:
        view = await self._act(
            self._h.record_contact_attempt, request, convert_in.record_contact_attempt
        )
        return pb.RecordContactAttemptResponse(after_sale=view)

    async def RequestContactQuota(self, request: Any, context: Context) -> Any:
        view = await self._act(
            self._h.request_contact_quota, request, lambda _: c.RequestContactQuota()
        )
        return pb.RequestContactQuotaResponse(after_sale=view)

    # -- either party, payment, platform ------------------------------------------------------

    async def SubmitProof(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.submit_proof, request, convert_in.submit_proof)
        return pb.SubmitProofResponse(after_sale=view)

    async def ReportRefundResult(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.report_refund_result, request, convert_in.report_refund)
        return pb.ReportRefundResultResponse(after_sale=view)

    async def InterveneAfterSale(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.intervene, request, lambda _: c.Intervene())
        return pb.InterveneAfterSaleResponse(after_sale=view)

    async def RequestProof(self, request: Any, context: Context) -> Any:
        now_ms = self._clock.now_ms()
        view = await self._act(
            self._h.request_proof, request, lambda r: convert_in.request_proof(r, now_ms)
        )
        return pb.RequestProofResponse(after_sale=view)

    async def ResolveDispute(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.resolve_dispute, request, convert_in.resolve)
        return pb.ResolveDisputeResponse(after_sale=view)

    async def RetryRefund(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.retry_refund, request, lambda _: c.RetryRefund())
        return pb.RetryRefundResponse(after_sale=view)

    async def CloseRefund(self, request: Any, context: Context) -> Any:
        view = await self._act(self._h.close_refund, request, lambda _: c.CloseRefund())
        return pb.CloseRefundResponse(after_sale=view)

    async def FireTimer(self, request: Any, context: Context) -> Any:
        caller = current_caller()
        request_id = convert_in.request_id(request)
        call = convert_in.call_of(request, caller)
        record = await self._h.fire_now(request_id, call)
        return pb.FireTimerResponse(after_sale=convert_out.after_sale(record))

    # -- reads ---------------------------------------------------------------------------

    async def GetAfterSale(self, request: Any, context: Context) -> Any:
        record = await self._h.get(convert_in.request_id(request), current_caller().actor)
        return pb.GetAfterSaleResponse(after_sale=convert_out.after_sale(record))

    async def ListAfterSales(self, request: Any, context: Context) -> Any:
        q = convert_reads.list_query(request)
        page = await self._h.list_requests(
            current_caller().actor,
            shop_id=q.shop_id,
            buyer_id=q.buyer_id,
            order_id=q.order_id,
            states=q.states,
            page_size=q.page_size,
            page_token=q.page_token,
        )
        return pb.ListAfterSalesResponse(
            after_sales=[convert_out.after_sale(r) for r in page.records],
            next_page_token=page.next_page_token,
        )

    async def GetHistory(self, request: Any, context: Context) -> Any:
        request_id = convert_in.request_id(request)
        offset, limit = convert_reads.history_page(request)
        stored = await self._h.history(request_id, current_caller().actor, offset, limit + 1)
        return pb.GetHistoryResponse(
            events=[convert_out.transition(s.event, s.event_id) for s in stored[:limit]],
            next_page_token=str(offset + limit) if len(stored) > limit else "",
        )

    async def GetAllowedActions(self, request: Any, context: Context) -> Any:
        actor = current_caller().actor
        request_id = convert_in.request_id(request)
        role = convert_reads.role_asked(request, actor)
        record = await self._h.get(request_id, actor)
        acting = convert_reads.acting_as(role, record, actor)
        verdicts = await self._h.allowed_actions(request_id, acting)
        return convert_allowed.allowed_actions(record, verdicts)

    async def ListNegotiationOptions(self, request: Any, context: Context) -> Any:
        options = convert_catalog.negotiation_options(*convert_reads.option_filters(request))
        return pb.ListNegotiationOptionsResponse(options=options)

    async def ListRejectReasons(self, request: Any, context: Context) -> Any:
        reasons = convert_catalog.reject_reasons(convert_reads.reason_filter(request))
        return pb.ListRejectReasonsResponse(reasons=reasons)

    async def GetShopStats(self, request: Any, context: Context) -> Any:
        shop_id = require_id(request.shop_id, "shop_id")
        counters = await self._h.shop_stats(shop_id, current_caller().actor)
        return pb.GetShopStatsResponse(stats=shop_stats(shop_id, counters))

    async def WatchTransitions(
        self, request: Any, context: Context
    ) -> AsyncGenerator[pb.WatchTransitionsResponse, None]:
        async with aclosing(self._watch.stream(request, current_caller().actor)) as responses:
            async for response in responses:
                yield response
