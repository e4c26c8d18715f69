"""Observability end to end: the metrics endpoint scraped over HTTP while calls are made, the
JSON access line of each RPC, and a traced RPC with its Redis round trips."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from aftersale.policy import HOUR_MS
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import subscriptions_pb2 as sp
from service.gen.aftersale.v1 import types_pb2 as t
from service.observability.endpoint import MetricsBindError
from service.observability.logs import make_handler
from service.observability.tracing import Tracing
from tests.e2e.subscribe_support import new_stub as new_subscription_stub
from tests.e2e.support import Api, applied, key, reason_of, rpc_error

PHONE = "13912345678"
STREET = "88 Quiet Lane, Xihu"


@dataclass(frozen=True)
class Scrape:
    """One scrape of the metrics endpoint: sample values by name and labels."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 if none)."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def label_names(self) -> set[str]:
        return {label for (_, labels) in self.samples for label, _ in labels}


async def scrape(app: App) -> Scrape:
    """GET /metrics over HTTP (off the event loop: the timer gauges are read on it)."""

    def get() -> str:
        url = f"http://{app.metrics_address}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            body: bytes = response.read()
        return body.decode()

    text = await asyncio.to_thread(get)
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return Scrape(samples)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above during the test, as the service writes it (JSON)."""
    out = io.StringIO()
    handler = make_handler("json", out)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def access_lines(out: io.StringIO) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == "service.access"]


def transition(action: str, to_state: str) -> dict[str, str]:
    return {"action": action, "to_state": to_state}


async def test_the_metrics_move_with_calls_transitions_refusals_and_timer_fires(
    app: App, api: Api, clock: FakeClock
) -> None:
    before = await scrape(app)

    req = await applied(api)
    refused = await rpc_error(
        req.merchant.RejectAfterSale(
            pb.RejectAfterSaleRequest(
                request_id=req.request_id,
                idempotency_key=key(),
                reject_reason="REJECT_REASON_AMOUNT_DISAGREEMENT",
                message="agreed 60",
                images=["media/chat.png"],
            )
        )
    )
    clock.advance(49 * HOUR_MS)  # the merchant's 48 hours are up: its timer is overdue
    overdue = await scrape(app)
    fired = await app.worker.run_once()
    after = await scrape(app)

    assert reason_of(refused) == "NEGOTIATION_REQUIRED"
    create = {"grpc_method": "CreateAfterSale", "grpc_code": "OK"}
    reject = {"grpc_method": "RejectAfterSale", "grpc_code": "FAILED_PRECONDITION"}
    assert after.value("grpc_server_started_total", grpc_method="CreateAfterSale") == (
        before.value("grpc_server_started_total", grpc_method="CreateAfterSale") + 1
    )
    assert after.value("grpc_server_handled_total", **create) == (
        before.value("grpc_server_handled_total", **create) + 1
    )
    assert after.value("grpc_server_handled_total", **reject) == (
        before.value("grpc_server_handled_total", **reject) + 1
    )
    assert (
        after.value("grpc_server_handling_seconds_count", grpc_method="CreateAfterSale")
        == before.value("grpc_server_handling_seconds_count", grpc_method="CreateAfterSale") + 1
    )
    refusal = {**reject, "reason": "NEGOTIATION_REQUIRED"}
    assert after.value("aftersale_refusals_total", **refusal) == (
        before.value("aftersale_refusals_total", **refusal) + 1
    )
    applied_ = transition("apply", "MERCHANT_PROCESSING")
    assert after.value("aftersale_transitions_total", **applied_) == (
        before.value("aftersale_transitions_total", **applied_) + 1
    )
    assert overdue.value("aftersale_timer_probe_success") == 1
    assert overdue.value("aftersale_timers_due") == 1
    assert overdue.value("aftersale_timers_oldest_overdue_seconds") == pytest.approx(3600, abs=1)
    assert fired == 1
    timeout = {"action": "merchant_timeout"}
    assert after.value("aftersale_timers_fired_total", **timeout) == (
        before.value("aftersale_timers_fired_total", **timeout) + 1
    )
    assert after.value("aftersale_transitions_total", **timeout) == (
        before.value("aftersale_transitions_total", **timeout) + 1
    )
    assert after.value("aftersale_timers_due") == 0
    assert after.value("aftersale_redis_command_seconds_count", command="EVALSHA") > (
        before.value("aftersale_redis_command_seconds_count", command="EVALSHA")
    )
    assert after.value("aftersale_redis_pool_connections_max") == 64  # the test client's pool
    assert ("aftersale_redis_pool_connections_in_use", frozenset()) in after.samples
    assert after.label_names() <= {
        "grpc_service", "grpc_method", "grpc_type", "grpc_code", "reason", "action",
        "to_state", "command", "error", "reader", "le", "quantile",
        "subscription", "why",  # durable subscriptions' (names ops create, loss causes)
        "read", "outcome",  # the archive's reads (what was read, ok or unavailable)
        "stage", "source",  # the archiver's (failure stages, what asked for a write)
        # prometheus-client's own process and platform collectors
        "version", "implementation", "major", "minor", "patchlevel", "generation",
    }  # fmt: skip


async def test_an_open_watch_stream_shows_in_the_streams_gauge(app: App, api: Api) -> None:
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(from_oldest=True))
    await applied(api)
    first = await asyncio.wait_for(stream.read(), timeout=10)

    while_open = await scrape(app)
    stream.cancel()
    await asyncio.sleep(0)

    assert first is not grpc.aio.EOF
    assert while_open.value("aftersale_watch_streams_open") >= 1
    assert while_open.value("grpc_server_started_total", grpc_type="server_stream") >= 1


async def test_a_subscribe_stream_is_counted_as_a_bidi_rpc_of_the_subscription_service(
    app: App, api: Api, channel: grpc.aio.Channel
) -> None:
    async def opening() -> AsyncIterator[sp.SubscribeRequest]:
        yield sp.SubscribeRequest(open=sp.SubscribeOpen(subscription="nobody-made", consumer="c"))

    metadata = [("authorization", f"Bearer {api.payment_token}")]
    call = new_subscription_stub(channel).Subscribe(opening(), metadata=metadata)
    with pytest.raises(grpc.aio.AioRpcError):
        await call.read()
    await asyncio.sleep(0.05)  # the server's side of the stream ends after the client's

    after = await scrape(app)
    labels = {"grpc_service": "aftersale.v1.SubscriptionService", "grpc_method": "Subscribe"}
    assert after.value("grpc_server_started_total", grpc_type="bidi_stream", **labels) == 1
    assert after.value("grpc_server_handled_total", grpc_type="bidi_stream", **labels) == 1
    assert after.value("grpc_server_started_total", grpc_type="server_stream", **labels) == 0
    assert after.value("aftersale_watch_streams_open") == 0  # WatchTransitions' alone
    assert after.value("aftersale_subscribe_streams_open") == 0  # it ended


async def test_an_open_subscribe_stream_shows_in_its_own_gauge(
    app: App, api: Api, channel: grpc.aio.Channel
) -> None:
    stub = new_subscription_stub(channel)
    ops = [("authorization", f"Bearer {api.ops_token}"), ("x-actor-id", "ops-1")]
    definition = sp.Subscription(name="payment", service="payment", role=t.ROLE_PAYMENT)
    await stub.CreateSubscription(
        sp.CreateSubscriptionRequest(subscription=definition), metadata=ops
    )

    async def opening() -> AsyncIterator[sp.SubscribeRequest]:
        yield sp.SubscribeRequest(open=sp.SubscribeOpen(subscription="payment", consumer="c"))
        await asyncio.Event().wait()  # the consumer stays

    payment = [("authorization", f"Bearer {api.payment_token}")]
    call = stub.Subscribe(opening(), metadata=payment)

    async def gauge_reads(value: float) -> None:
        while (await scrape(app)).value("aftersale_subscribe_streams_open") != value:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(gauge_reads(1), timeout=10)
    assert (await scrape(app)).value("aftersale_watch_streams_open") == 0
    call.cancel()
    await asyncio.wait_for(gauge_reads(0), timeout=10)


async def test_every_rpc_writes_one_json_access_line_and_never_a_secret(
    app: App, api: Api, log_lines: io.StringIO
) -> None:
    req = await applied(api, type="AFTER_SALE_TYPE_RETURN")
    address = t.ReturnAddress(contact_name="Ms Wang", contact_phone=PHONE, address=STREET)
    approved = await req.merchant.ApproveAfterSale(
        pb.ApproveAfterSaleRequest(
            request_id=req.request_id, idempotency_key=key(), return_address=address
        )
    )
    denied = await rpc_error(
        api.buyer("someone-else").GetAfterSale(pb.GetAfterSaleRequest(request_id=req.request_id))
    )

    lines = access_lines(log_lines)
    assert [line["rpc"] for line in lines] == [
        "CreateAfterSale",
        "ApproveAfterSale",
        "GetAfterSale",
    ]
    create, approve, get = lines
    assert approve == approve | {
        "level": "INFO",
        "caller": "order-system",
        "role": "MERCHANT",
        "request_id": req.request_id,
        "version": approved.after_sale.version,
        "code": "OK",
        "reason": "",
    }
    assert isinstance(approve["latency_ms"], float) and approve["latency_ms"] > 0
    assert create["role"] == "BUYER" and create["request_id"] == req.request_id
    assert create["version"] == 1
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert get | {"code": "PERMISSION_DENIED", "reason": "NOT_YOUR_REQUEST"} == get
    assert get["request_id"] == req.request_id and get["version"] is None
    everything = log_lines.getvalue()
    for secret in (api.order_token, PHONE, STREET, "Ms Wang", "a small defect", "Bearer"):
        assert secret not in everything


@pytest.fixture
async def traced(
    settings: Settings, clock: FakeClock, redis: Redis
) -> AsyncIterator[tuple[App, InMemorySpanExporter]]:
    """The service with tracing on, its spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = await build(settings, clock=clock, redis=redis, tracing=Tracing(provider))
    await service.start()
    try:
        yield service, exporter
    finally:
        await service.stop(grace_s=1.0)


async def test_a_traced_rpc_has_a_server_span_with_redis_children_and_logs_its_trace_id(
    traced: tuple[App, InMemorySpanExporter], log_lines: io.StringIO
) -> None:
    app, exporter = traced
    async with grpc.aio.insecure_channel(app.address) as channel:
        api = Api(channel, app.settings.tokens_path, FakeClock())
        req = await applied(api)
        await api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=req.request_id))

    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    create = next(s for s in servers if s.name.endswith("/CreateAfterSale"))
    children = [
        s for s in spans if s.parent is not None and s.parent.span_id == create.context.span_id
    ]
    assert {s.kind for s in children} == {SpanKind.CLIENT}
    assert any(s.name.startswith("EVALSHA") for s in children)  # the commit script
    assert create.attributes is not None and create.attributes["aftersale.request_id"] == (
        req.request_id
    )
    trace_id = format(create.context.trace_id, "032x")
    line = next(line for line in access_lines(log_lines) if line["rpc"] == "CreateAfterSale")
    assert line["trace_id"] == trace_id
    statements = [str((s.attributes or {}).get("db.statement", "")) for s in children]
    assert all(set(st.split()[1:]) <= {"?"} for st in statements)  # no argument recorded


async def test_a_metrics_port_in_use_stops_the_start_with_a_clear_reason(
    settings: Settings, clock: FakeClock, redis: Redis, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = await build(replace(settings, metrics_listen=f"127.0.0.1:{port}"), clock, redis)
        try:
            with pytest.raises(MetricsBindError, match=f"127.0.0.1:{port}"):
                await app.start()
        finally:
            await app.stop(grace_s=0.5)


async def test_with_metrics_off_nothing_listens(
    settings: Settings, clock: FakeClock, redis: Redis
) -> None:
    app = await build(replace(settings, metrics_listen=""), clock, redis)
    await app.start()
    try:
        assert app.metrics is None and app.metrics_address == ""
    finally:
        await app.stop(grace_s=0.5)
