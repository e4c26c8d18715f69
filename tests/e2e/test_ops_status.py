"""The ops status (GetStatus, ``python -m service status``; SPEC §13) over a real server: the
timer backlog and the oldest overdue timer by request id, a refund flagged for ops, and no
live timer worker while the server runs without one, which it warns about."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging

import grpc
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.policy import HOUR_MS
from service.__main__ import main
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.health_support import eventually
from tests.e2e.support import Api, Request, applied, key, rpc_error


async def flagged_refund(api: Api, app: App) -> Request:
    """A request whose refund the payment service never answers: after three reminders it
    is flagged for ops (and has no timer left)."""
    req = await applied(api)
    await req.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
    )
    for _ in range(3):
        api.clock.advance(2 * HOUR_MS + 1)
        await app.worker.run_once()
    return req


async def test_the_status_shows_the_backlog_an_overdue_timer_a_flagged_refund_and_no_worker(
    api: Api, app: App
) -> None:
    flagged = await flagged_refund(api, app)
    waiting = await applied(api)  # its merchant_handling timer is due in 48 h
    api.clock.advance(48 * HOUR_MS + 1)  # ... and now overdue: no worker runs here

    status = await api.ops.GetStatus(pb.GetStatusRequest())

    assert status.ready and status.redis.reachable and not status.redis.embedded
    assert status.redis.used_memory_bytes > 0
    assert status.timers.due == 1 and status.timers.leased == 0
    overdue = status.timers.oldest_overdue[0]
    assert (overdue.request_id, overdue.action) == (waiting.request_id, t.ACTION_MERCHANT_TIMEOUT)
    assert overdue.overdue.ToMilliseconds() == 1
    assert status.flagged.count == 1
    assert [(f.request_id, f.reason) for f in status.flagged.requests] == [
        (flagged.request_id, pb.FLAG_REASON_REFUND_UNANSWERED)
    ]
    assert status.retained_events == 6  # two applications, an approval, three reminders
    assert (status.timers.live_workers, status.timers.unattended) == (0, True)
    assert list(status.timer_workers) == []
    assert app.ops.oversight is not None
    assert [s.process_id for s in status.servers if s.alive] == [app.ops.oversight.server_id]


async def test_the_payment_services_late_answer_takes_a_request_off_the_flagged_list(
    api: Api, app: App
) -> None:
    req = await flagged_refund(api, app)
    view = await req.view()

    await api.payment.ReportRefundResult(
        pb.ReportRefundResultRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            refund_id=view.refund.refund_id,
            result=t.REFUND_RESULT_SUCCEEDED,
        )
    )
    status = await api.ops.GetStatus(pb.GetStatusRequest())

    assert status.flagged.count == 0 and list(status.flagged.requests) == []


async def test_only_ops_may_read_the_status(api: Api) -> None:
    error = await rpc_error(api.merchant("shop-1").GetStatus(pb.GetStatusRequest()))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_status_command_prints_the_status_as_json(
    api: Api, app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    await applied(api)
    api.clock.advance(48 * HOUR_MS + 1)
    tokens = str(app.settings.tokens_path)

    status = await asyncio.to_thread(
        main, ["status", "--address", app.address, "--tokens", tokens, "--limit", "5"]
    )
    printed = json.loads(capsys.readouterr().out)

    assert status == 0
    assert printed["timers"]["due"] == "1"
    assert printed["timers"]["unattended"] is True
    assert printed["flagged"]["count"] == "0"  # zeros are printed too


async def test_a_server_without_a_timer_worker_warns_when_timers_are_due(
    settings: Settings, clock: FakeClock, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    quick = dataclasses.replace(settings, timer_heartbeat_s=0.1, timer_absent_warning_s=0.3)
    app = await build(quick, clock=clock, redis=redis)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(app.address) as channel:
            await applied(Api(channel, quick.tokens_path, clock))
            clock.advance(48 * HOUR_MS + 1)

            with caplog.at_level(logging.WARNING, logger="service.oversight"):

                async def warned() -> bool:
                    return "no timer worker alive" in caplog.text

                await eventually(warned, 10, "the warning about unfired timers")
    finally:
        await app.stop(grace_s=1.0)

    assert "AFTERSALE_TIMERS=0 here: run `python -m service timers`" in caplog.text
    assert REGISTRY.get_sample_value("aftersale_timers_unattended") == 1.0
    assert REGISTRY.get_sample_value("aftersale_timer_workers_alive") == 0.0
