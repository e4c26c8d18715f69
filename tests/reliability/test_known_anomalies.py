"""Product anomalies the reliability tests found, one focused test each.

An open anomaly is a strict xfail: the test states the contract (SPEC or proto) and fails
today; once the product is fixed it passes unexpectedly and fails the run (strict): then drop
its mark and the matching entry of ``KNOWN_ANOMALIES`` (``test_model_based``) or the narrowed
setting (``test_redis_restart``). Fixed anomalies stay as plain regression tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from service.bootstrap import build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.redis_server import EmbeddedRedis
from tests.reliability.client import SyncApi, Who
from tests.reliability.inprocess import ThreadedService

BUYER = Who("BUYER", "anomaly-buyer")
SHOP = Who("MERCHANT", "anomaly-shop")
OPS = Who("PLATFORM", "ops")
PAYMENT = Who("PAYMENT", "pay")


def _apply(service: ThreadedService, api: SyncApi, order: str, kind: t.AfterSaleType) -> str:
    deadline = Timestamp()
    deadline.FromMilliseconds(service.clock.now_ms() + 30 * 86_400_000)
    reply = api.call(
        "CreateAfterSale",
        pb.CreateAfterSaleRequest(
            idempotency_key=f"apply-{order}",
            order_id=order,
            sku_id="sku",
            shop_id=SHOP.id,
            type=kind,
            amount=100,
            paid_amount=100,
            reason=t.BUYER_REASON_QUALITY_ISSUE,
            return_address=t.ReturnAddress(contact_name="R", contact_phone="1", address="1 Rd"),
            after_sale_deadline=deadline,
        ),
        BUYER,
    )
    assert reply.ok, reply.message
    return str(reply.view.request_id)


def test_a_retried_fire_timer_returns_the_first_result(
    threaded_service: ThreadedService, sync_api: SyncApi
) -> None:
    rid = _apply(threaded_service, sync_api, "anomaly-fire", t.AFTER_SALE_TYPE_RETURN)
    fire = pb.FireTimerRequest(request_id=rid, idempotency_key="fire-once")
    first = sync_api.call("FireTimer", fire, OPS)
    assert first.ok and first.view.state == t.AFTER_SALE_STATUS_USER_WAIT_RETURN

    again = sync_api.call("FireTimer", fire, OPS)  # the client lost the first answer

    # Found by the model-based test: the retry fired the *next* timer (return_ship_timeout →
    # RETURN_CLOSED, v3). Fixed in 50e8fe9; kept as a regression test.
    assert again.ok and again.response == first.response


def test_a_repeated_failed_refund_report_returns_the_current_view(
    threaded_service: ThreadedService, sync_api: SyncApi
) -> None:
    rid = _apply(threaded_service, sync_api, "anomaly-refund", t.AFTER_SALE_TYPE_REFUND)
    approved = sync_api.call(
        "ApproveAfterSale", pb.ApproveAfterSaleRequest(request_id=rid, idempotency_key="ok"), SHOP
    )
    refund_id = approved.view.refund.refund_id
    report = pb.ReportRefundResultRequest(
        request_id=rid,
        idempotency_key="report-1",
        refund_id=refund_id,
        result=t.REFUND_RESULT_FAILED,
        failure_reason="card declined",
    )
    first = sync_api.call("ReportRefundResult", report, PAYMENT)
    assert first.ok and first.view.state == t.AFTER_SALE_STATUS_PLATFORM_REFUND_FAIL
    report.idempotency_key = "report-2"  # the payment service restarted and reports again

    again = sync_api.call("ReportRefundResult", report, PAYMENT)

    # Today: FAILED_PRECONDITION "refund_failed is not possible while ... PLATFORM_REFUND_FAIL".
    assert again.ok and again.view.version == first.view.version


async def test_the_timer_worker_survives_a_redis_outage(
    own_redis: Callable[..., EmbeddedRedis], tmp_path: Path
) -> None:
    redis = own_redis()
    settings = Settings(
        redis_url=redis.url,
        data_dir=tmp_path,
        timers_enabled=True,
        timer_max_sleep_s=0.05,
        metrics_listen="",
    )
    app = await build(settings, serve=False)  # what `python -m service timers` runs
    await app.start()
    try:
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(1.5)  # longer than the client's own retries
        await asyncio.to_thread(redis.start)

        ended = asyncio.ensure_future(app.wait())  # returns only if the worker ended
        done, _ = await asyncio.wait({ended}, timeout=2.0)

        # Today: ConnectionError from next_due_ms() in _sleep_until_next_due (outside the
        # loop's try) ends the worker; the process lives on and never fires a timer again.
        assert not done, f"the timer worker ended: {ended.exception()!r}"
        ended.cancel()
    finally:
        with contextlib.suppress(Exception):
            await app.stop(grace_s=1)
