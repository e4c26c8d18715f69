"""The load-generating side of section 1: one client *process* drives the server over gRPC.

A process holds one ``grpc.aio`` channel and runs one of three modes per command it gets from
the parent (``bench.transitions``):

* ``closed``: ``concurrency`` workers, each running the two realistic flows back to back
  (negotiated refund, return), one RPC at a time per worker;
* ``empty``: the same workers calling ``grpc.health.v1.Health/Check`` on the same server (the
  ceiling: a unary RPC that does no work);
* ``open``: RPCs sent at a fixed rate whatever the latency (open loop, no coordinated omission:
  latency counts from the *scheduled* send time), each the next step of a waiting flow.

Only RPCs that *complete* inside the measured window count; the warm-up before it does not.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import zlib
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import aftersale_pb2_grpc as pb_grpc
from service.gen.aftersale.v1 import types_pb2 as types

PAID = 10_000
IMAGE = "media://bench/evidence-0001.jpg"
MAX_IN_FLIGHT = 4_000  # open loop: past this the server is not keeping up; stop adding
CHANNELS = 4  # connections per client process, so SO_REUSEPORT can spread them over servers
Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Tokens:
    order_system: str  # BUYER and MERCHANT
    payment: str  # PAYMENT


@dataclass(slots=True)
class Flow:
    """One after-sale request going through a flow, one RPC at a time."""

    kind: str  # "refund" (negotiated) or "return"
    order_id: str
    step: int = 0
    request_id: str = ""
    refund_id: str = ""
    keys: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def steps(self) -> int:
        return 4 if self.kind == "refund" else 5


@dataclass(slots=True)
class Tally:
    """What one mode run measured inside its window."""

    latencies: list[float] = field(default_factory=list)  # seconds, completed in window
    errors: dict[str, int] = field(default_factory=dict)
    flows_done: int = 0
    overloaded: int = 0  # open loop: sends skipped because MAX_IN_FLIGHT was reached
    # Every call that finished during the whole run, warm-up included, errors included: the
    # parent divides the CPU the processes used around the run by it (CPU per RPC).
    calls: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Driver:
    """Builds and sends each flow step; identities travel in metadata (``service.api.auth``)."""

    def __init__(self, channel: grpc.aio.Channel, tokens: Tokens, prefix: str) -> None:
        self.stub = pb_grpc.AfterSaleServiceStub(channel)  # type: ignore[no-untyped-call]
        self.health = health_pb2_grpc.HealthStub(channel)
        self.tokens = tokens
        self.prefix = prefix
        self.counter = itertools.count()
        deadline = Timestamp()
        deadline.FromSeconds(int(time.time()) + 30 * 86_400)
        self.deadline = deadline

    def new_flow(self) -> Flow:
        n = next(self.counter)
        return Flow("refund" if n % 2 == 0 else "return", f"{self.prefix}-{n}")

    def _buyer(self, flow: Flow) -> Metadata:
        return (
            ("authorization", f"Bearer {self.tokens.order_system}"),
            ("x-actor-role", "BUYER"),
            ("x-actor-id", f"b-{flow.order_id}"),
        )

    def _merchant(self, flow: Flow) -> Metadata:
        return (
            ("authorization", f"Bearer {self.tokens.order_system}"),
            ("x-actor-role", "MERCHANT"),
            ("x-shop-id", _shop(flow.order_id)),
        )

    def _payment(self) -> Metadata:
        return (("authorization", f"Bearer {self.tokens.payment}"), ("x-actor-role", "PAYMENT"))

    async def check(self) -> None:
        await self.health.Check(health_pb2.HealthCheckRequest(service=""), timeout=30)

    async def send_step(self, flow: Flow) -> None:
        """Send ``flow``'s next RPC and advance it (``flow.step`` wraps to 0 when done)."""
        key = f"{flow.order_id}-{next(flow.keys)}"
        rid = flow.request_id
        stub = self.stub
        response: Any
        if flow.step == 0:
            is_return = flow.kind == "return"
            request = pb.CreateAfterSaleRequest(
                idempotency_key=key,
                order_id=flow.order_id,
                sku_id="sku-1",
                shop_id=_shop(flow.order_id),
                type=types.AFTER_SALE_TYPE_RETURN if is_return else types.AFTER_SALE_TYPE_REFUND,
                amount=PAID,
                paid_amount=PAID,
                reason=types.BUYER_REASON_QUALITY_ISSUE,
                description="the item arrived damaged",
                evidence_images=[IMAGE],
                after_sale_deadline=self.deadline,
            )
            if is_return:
                request.return_address.CopyFrom(
                    types.ReturnAddress(
                        contact_name="Bench Returns",
                        contact_phone="13800000000",
                        address="1 Test Road, Hangzhou 310000",
                    )
                )
            response = await stub.CreateAfterSale(request, metadata=self._buyer(flow))
            flow.request_id = response.after_sale.request_id
        elif flow.kind == "refund" and flow.step == 1:
            response = await stub.SendNegotiation(
                pb.SendNegotiationRequest(
                    request_id=rid,
                    idempotency_key=key,
                    kind=types.NEGOTIATION_KIND_MODIFY_APPLICATION,
                    option=types.NEGOTIATION_OPTION_AMOUNT_ONLY,
                    proposed_amount=PAID * 6 // 10,
                    images=[IMAGE],
                ),
                metadata=self._merchant(flow),
            )
        elif flow.kind == "refund" and flow.step == 2:
            response = await stub.AcceptNegotiation(
                pb.AcceptNegotiationRequest(request_id=rid, idempotency_key=key),
                metadata=self._buyer(flow),
            )
            flow.refund_id = response.after_sale.refund.refund_id
        elif flow.kind == "return" and flow.step == 1:
            response = await stub.ApproveAfterSale(
                pb.ApproveAfterSaleRequest(request_id=rid, idempotency_key=key),
                metadata=self._merchant(flow),
            )
        elif flow.kind == "return" and flow.step == 2:
            response = await stub.SubmitReturnWaybill(
                pb.SubmitReturnWaybillRequest(
                    request_id=rid, idempotency_key=key, carrier="SF", waybill_id="SF1234567890"
                ),
                metadata=self._buyer(flow),
            )
        elif flow.kind == "return" and flow.step == 3:
            response = await stub.ConfirmReceipt(
                pb.ConfirmReceiptRequest(request_id=rid, idempotency_key=key),
                metadata=self._merchant(flow),
            )
            flow.refund_id = response.after_sale.refund.refund_id
        else:
            response = await stub.ReportRefundResult(
                pb.ReportRefundResultRequest(
                    request_id=rid,
                    idempotency_key=key,
                    refund_id=flow.refund_id,
                    result=types.REFUND_RESULT_SUCCEEDED,
                ),
                metadata=self._payment(),
            )
        flow.step = (flow.step + 1) % flow.steps


def _shop(order_id: str) -> str:
    return f"shop-{zlib.crc32(order_id.encode()) % 100}"


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {(exc.details() or '')[:120]}"
    return f"{type(exc).__name__}: {str(exc)[:120]}"


async def closed_loop(
    drivers: list[Driver],
    mode: str,
    concurrency: int,
    start_at: float,
    warmup_s: float,
    window_s: float,
) -> Tally:
    """``concurrency`` workers back to back; counts what completes in the window."""
    tally = Tally()
    loop = asyncio.get_running_loop()
    begin = loop.time() + max(0.0, start_at - time.time())
    measure_from = begin + warmup_s
    stop_at = measure_from + window_s

    async def worker(driver: Driver) -> None:
        await asyncio.sleep(max(0.0, begin - loop.time()))
        flow = driver.new_flow()
        while True:
            sent = loop.time()
            if sent >= stop_at:
                return
            try:
                if mode == "empty":
                    await driver.check()
                else:
                    await driver.send_step(flow)
            except Exception as exc:
                tally.calls += 1
                tally.error(_error_name(exc))
                flow = driver.new_flow()  # the request is in an unknown state: start afresh
                continue
            tally.calls += 1
            done = loop.time()
            if measure_from <= done < stop_at:
                tally.latencies.append(done - sent)
                if mode != "empty" and flow.step == 0:
                    tally.flows_done += 1
            if mode != "empty" and flow.step == 0:
                flow = driver.new_flow()

    await asyncio.gather(*(worker(drivers[i % len(drivers)]) for i in range(concurrency)))
    return tally


async def open_loop(
    drivers: list[Driver], rate: float, start_at: float, warmup_s: float, window_s: float
) -> Tally:
    """RPCs at ``rate``/s on a fixed schedule; latency from the scheduled send time."""
    tally = Tally()
    loop = asyncio.get_running_loop()
    begin = loop.time() + max(0.0, start_at - time.time())
    measure_from = begin + warmup_s
    stop_at = measure_from + window_s
    ready: list[Flow] = []
    in_flight: set[asyncio.Task[None]] = set()

    async def one(driver: Driver, flow: Flow, scheduled: float) -> None:
        try:
            await driver.send_step(flow)
        except Exception as exc:
            tally.calls += 1
            tally.error(_error_name(exc))
            return
        tally.calls += 1
        done = loop.time()
        if measure_from <= scheduled and done < stop_at + 5.0:
            tally.latencies.append(done - scheduled)
        if flow.step == 0:
            if measure_from <= done < stop_at:
                tally.flows_done += 1
        else:
            ready.append(flow)

    interval = 1.0 / rate
    for k in itertools.count():
        scheduled = begin + k * interval
        if scheduled >= stop_at:
            break
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(in_flight) >= MAX_IN_FLIGHT:
            tally.overloaded += 1
            continue
        driver = drivers[k % len(drivers)]
        flow = ready.pop() if ready else driver.new_flow()
        task = asyncio.create_task(one(driver, flow, scheduled))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=10.0)
    return tally


async def serve_commands(conn: Connection, targets: list[str], tokens: Tokens, name: str) -> None:
    # A local subchannel pool per channel: each channel is its own TCP connection. Several
    # targets (service processes on their own ports) get the channels in turn.
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [
        grpc.aio.insecure_channel(targets[i % len(targets)], options=options)
        for i in range(CHANNELS)
    ]
    try:
        for channel in channels:
            await channel.channel_ready()
        runs = itertools.count()
        conn.send("ready")
        while True:
            command: dict[str, Any] = conn.recv()
            if command["mode"] == "exit":
                return
            run = next(runs)
            # One id counter for every driver of this run: order ids stay unique.
            drivers = [Driver(ch, tokens, f"{name}r{run}") for ch in channels]
            for driver in drivers[1:]:
                driver.counter = drivers[0].counter
            try:
                for driver in drivers:
                    await driver.check()
            except grpc.aio.AioRpcError as exc:  # the service is gone: report, do not hang
                tally = Tally()
                tally.error(f"service unreachable before the phase: {_error_name(exc)}")
            else:
                tally = await _run(command, drivers)
            conn.send(
                {
                    "latencies": tally.latencies,
                    "errors": tally.errors,
                    "flows_done": tally.flows_done,
                    "overloaded": tally.overloaded,
                    "calls": tally.calls,
                }
            )
    finally:
        for channel in channels:
            await channel.close()


async def _run(command: dict[str, Any], drivers: list[Driver]) -> Tally:
    if command["mode"] == "open":
        return await open_loop(
            drivers, command["rate"], command["start_at"], command["warmup_s"], command["window_s"]
        )
    return await closed_loop(
        drivers,
        command["mode"],
        command["concurrency"],
        command["start_at"],
        command["warmup_s"],
        command["window_s"],
    )


def client_process(conn: Connection, targets: list[str], tokens: Tokens, name: str) -> None:
    """Entry point of a client process (``multiprocessing``, spawn)."""
    asyncio.run(serve_commands(conn, targets, tokens, name))
