"""SPEC §3, §6 over gRPC: a refund whose result never comes is re-signalled with the same
refund id and amount, then flagged for ops, and it is visible in the request and its
history; the payment service's late answer still lands."""

from __future__ import annotations

from aftersale.policy import HOUR_MS
from service.bootstrap import App
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.support import Api, applied, key


async def test_an_unanswered_refund_is_re_signalled_then_flagged(api: Api, app: App) -> None:
    req = await applied(api)
    approved = await req.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
    )
    refund = approved.after_sale.refund
    assert approved.after_sale.pending_timer.action == t.ACTION_REFUND_REMINDER

    for _ in range(3):
        api.clock.advance(2 * HOUR_MS + 1)
        await app.worker.run_once()

    view = await req.view()
    history = await api.ops.GetHistory(pb.GetHistoryRequest(request_id=req.request_id))
    reminders = [e for e in history.events if e.action == t.ACTION_REFUND_REMINDER]
    assert view.state == t.AFTER_SALE_STATUS_PLATFORM_REFUNDING
    assert (view.refund.reminders, view.refund.HasField("flagged_at")) == (3, True)
    assert not view.HasField("pending_timer")
    assert len(reminders) == 3
    assert all(t.SIGNAL_REFUND_REQUESTED in e.signals for e in reminders)
    assert {(e.refund_id, e.refund_amount) for e in reminders} == {
        (refund.refund_id, refund.amount)
    }
    assert t.SIGNAL_REFUND_UNANSWERED in reminders[-1].signals
    paid = await api.payment.ReportRefundResult(
        pb.ReportRefundResultRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            refund_id=refund.refund_id,
            result=t.REFUND_RESULT_SUCCEEDED,
        )
    )
    assert paid.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS
