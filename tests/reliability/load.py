"""Concurrent after-sale flows over gRPC, and a payment service that follows the transitions.

A *flow* is one request's life as the order system, the merchant and ops would drive it: each
step picks a plausible action for the current state (or waits, so a timer fires first) and
calls it. A broken call is unknown: it is retried with the same idempotency key until the
service answers definitely (``AsyncApi.call_until_known``). Every OK answer is recorded as an
`Ack` for the checker.

`Payment` is the payment service of SPEC §1: it watches ``WatchTransitions`` from the oldest
event, resumes from its last cursor whenever the stream breaks (server killed), and reports a
result for every refund requested. It reports some refunds twice (idempotent on refund_id) and
decides each refund's result once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from tests.reliability.checker import Ack
from tests.reliability.client import AsyncApi, Reply, Who, path_of

IMAGE = "https://img.example.com/evidence/1.jpg"
OPS = Who("PLATFORM", "ops-1")
PAYMENT = Who("PAYMENT", "pay-1")
# Answers a flow expects now and then: the state moved (a timer fired first), a guard said no.
EXPECTED_REFUSALS = frozenset({"FAILED_PRECONDITION", "ABORTED"})


def state_name(value: int) -> str:
    return t.AfterSaleStatus.Name(value).removeprefix("AFTER_SALE_STATUS_")


def key() -> str:
    return uuid.uuid4().hex


def timestamp_ms(ms: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMilliseconds(ms)
    return stamp


@dataclass
class LoadStats:
    flows_started: int = 0
    flows_terminal: int = 0
    steps: int = 0
    waits: int = 0
    unresolved: set[str] = field(default_factory=set)  # rids with a call never answered
    unexpected: list[str] = field(default_factory=list)  # answers a valid call should not get
    superseded: int = 0  # retries of calls that took effect, told so (the request moved on)


@dataclass
class Flow:
    """One request: its parties and the latest view the flow has."""

    index: int
    order_id: str
    buyer: Who
    merchant: Who
    view: Any = None

    @property
    def rid(self) -> str:
        return str(self.view.request_id) if self.view is not None else ""

    @property
    def state(self) -> str:
        return state_name(self.view.state) if self.view is not None else ""


TERMINAL = frozenset(
    {
        "MERCHANT_REFUND_SUCCESS",
        "MERCHANT_RETURN_SUCCESS",
        "USER_CANCELD",
        "MERCHANT_FAIL",
        "MERCHANT_REFUND_RETRY_FAIL",
    }
)
FAILED = (t.NEGOTIATION_OUTCOME_REJECTED, t.NEGOTIATION_OUTCOME_TIMED_OUT)
REJECT_FOR = {
    t.NEGOTIATION_OPTION_AMOUNT_ONLY: t.REJECT_REASON_AMOUNT_DISAGREEMENT,
    t.NEGOTIATION_OPTION_EVIDENCE_UNCLEAR: t.REJECT_REASON_EVIDENCE_NOT_PROVIDED,
    t.NEGOTIATION_OPTION_NO_QUALITY_ISSUE_VERIFIED: t.REJECT_REASON_NO_QUALITY_ISSUE,
    t.NEGOTIATION_OPTION_RETURN_WRONG_ITEM: t.REJECT_REASON_RETURN_ANOMALY,
    t.NEGOTIATION_OPTION_UNABLE_TO_CONTACT: t.REJECT_REASON_BUYER_UNREACHABLE,
}

Step = tuple[str, Message, Who]


class Load:
    """Runs flows against one server address; collects acks and figures."""

    def __init__(
        self,
        api: AsyncApi,
        rng: random.Random,
        *,
        run_id: str,
        wait_s: tuple[float, float] = (0.3, 2.5),
        max_steps: int = 30,
        passive: float = 0.3,
    ) -> None:
        self.api = api
        self.rng = rng
        self.run_id = run_id
        self.wait_s = wait_s
        self.max_steps = max_steps
        self.passive = passive  # share of flows whose parties never act: timers drive them
        self.acks: list[Ack] = []
        self.stats = LoadStats()
        self.stopping = asyncio.Event()
        self.request_ids: list[str] = []

    # -- calls ---------------------------------------------------------------------------

    async def _call(self, flow: Flow, method: str, request: Message, who: Who) -> Reply:
        reply = await self.api.call_until_known(method, request, who)
        if reply.ok:
            view = reply.view
            self.acks.append(Ack(str(view.request_id), int(view.version), state_name(view.state)))
            flow.view = view
        elif reply.superseded:  # a retry of a call that took effect; the request moved on
            # The client is told which version its call made (not the state it left): an
            # acknowledgement of that version, whose state the answer does not say.
            self.stats.superseded += 1
            told = reply.metadata
            self.acks.append(Ack(told["request_id"], int(told["version"]), state=""))
        elif reply.code in {"UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED"}:
            self.stats.unresolved.add(flow.rid or flow.order_id)
        elif reply.code not in EXPECTED_REFUSALS:
            self.stats.unexpected.append(
                f"{method} as {who.role} in {flow.state or '(new)'} on {flow.rid}: "
                f"{reply.code} {reply.message}"
            )
        return reply

    async def _refresh(self, flow: Flow) -> None:
        reply = await self.api.call_until_known(
            "GetAfterSale", pb.GetAfterSaleRequest(request_id=flow.rid), flow.buyer
        )
        if reply.ok:
            flow.view = reply.view
        else:
            self.stats.unexpected.append(f"GetAfterSale {flow.rid}: {reply.code} {reply.message}")

    # -- one flow --------------------------------------------------------------------------

    async def run_flow(self, index: int) -> None:
        rng = random.Random(self.rng.random())
        flow = Flow(
            index,
            f"o-{self.run_id}-{index}",
            Who("BUYER", f"b-{self.run_id}-{index}"),
            Who("MERCHANT", f"shop-{self.run_id}-{index % 7}"),
        )
        self.stats.flows_started += 1
        paid = rng.randint(100, 100_000)
        kind = rng.choice([t.AFTER_SALE_TYPE_REFUND, t.AFTER_SALE_TYPE_RETURN])
        apply = pb.CreateAfterSaleRequest(
            idempotency_key=key(),
            order_id=flow.order_id,
            sku_id="sku-1",
            shop_id=flow.merchant.id,
            type=kind,
            amount=rng.randint(1, paid),
            paid_amount=paid,
            reason=rng.choice([t.BUYER_REASON_QUALITY_ISSUE, t.BUYER_REASON_NO_LONGER_WANT]),
            description="reliability flow",
            evidence_images=[IMAGE],
            return_address=t.ReturnAddress(
                contact_name="Warehouse", contact_phone="13800000000", address="1 Return Rd"
            ),
            after_sale_deadline=timestamp_ms(int(time.time() * 1000) + 30 * 86_400_000),
        )
        reply = await self._call(flow, "CreateAfterSale", apply, flow.buyer)
        if not reply.ok:
            return
        self.request_ids.append(flow.rid)
        passive = rng.random() < self.passive
        for _ in range(self.max_steps):
            if self.stopping.is_set() or flow.state in TERMINAL:
                break
            self.stats.steps += 1
            step = None if passive else self._choose(flow, rng)
            if step is None:
                self.stats.waits += 1
                with contextlib.suppress(TimeoutError):  # a stop ends the wait early
                    await asyncio.wait_for(self.stopping.wait(), rng.uniform(*self.wait_s))
                await self._refresh(flow)
                continue
            method, request, who = step
            reply = await self._call(flow, method, request, who)
            if not reply.ok:
                await self._refresh(flow)
            await asyncio.sleep(rng.uniform(0, 0.05))
        if flow.state in TERMINAL:
            self.stats.flows_terminal += 1

    def _choose(self, flow: Flow, rng: random.Random) -> Step | None:
        """A weighted pick among the actions that fit the state; None: wait for a timer."""
        options = self._menu(flow, rng)
        total = sum(w for w, _ in options)
        pick = rng.uniform(0, total)
        for weight, make in options:
            pick -= weight
            if pick <= 0:
                return make()
        return None

    def _menu(
        self, flow: Flow, rng: random.Random
    ) -> list[tuple[float, Callable[[], Step | None]]]:
        v, rid, buyer, merchant = flow.view, flow.rid, flow.buyer, flow.merchant
        state = flow.state
        amount = int(v.amount)

        def wait() -> None:
            return None

        def req(method: str, **fields: Any) -> Message:
            cls = getattr(pb, f"{method}Request")
            message: Message = cls(request_id=rid, idempotency_key=key(), **fields)
            return message

        def approve() -> Step:
            return ("ApproveAfterSale", req("ApproveAfterSale"), merchant)

        def negotiate(kind: int, option: int, **extra: Any) -> Callable[[], Step]:
            def make() -> Step:
                images = [IMAGE] if option != t.NEGOTIATION_OPTION_EVIDENCE_UNCLEAR else []
                message = req("SendNegotiation", kind=kind, option=option, images=images, **extra)
                return ("SendNegotiation", message, merchant)

            return make

        def reject() -> Step | None:
            last = v.negotiations[-1] if len(v.negotiations) else None
            if last is None or last.outcome not in FAILED or last.option not in REJECT_FOR:
                return None
            reason = REJECT_FOR[last.option]
            message = req("RejectAfterSale", reject_reason=reason, message="no", images=[IMAGE])
            return ("RejectAfterSale", message, merchant)

        def buyer_call(method: str, **fields: Any) -> Callable[[], Step]:
            return lambda: (method, req(method, **fields), buyer)

        def merchant_call(method: str, **fields: Any) -> Callable[[], Step]:
            return lambda: (method, req(method, **fields), merchant)

        def ops_call(method: str, **fields: Any) -> Callable[[], Step]:
            return lambda: (method, req(method, **fields), OPS)

        def modify() -> Step:
            new_amount = max(1, min(int(v.paid_amount), amount - 1 if amount > 1 else 1))
            message = req(
                "ModifyAfterSale",
                type=v.type,
                amount=new_amount,
                reason=t.BUYER_REASON_NO_LONGER_WANT,
                description="changed my mind",
            )
            return ("ModifyAfterSale", message, buyer)

        def contact() -> Step:
            message = req(
                "RecordContactAttempt",
                channel=t.CONTACT_CHANNEL_PHONE,
                outcome=t.CONTACT_OUTCOME_NO_ANSWER,
                attempted_at=timestamp_ms(int(time.time() * 1000) - 60_000),
                screenshots=[IMAGE],
            )
            return ("RecordContactAttempt", message, merchant)

        def proof(who: Who) -> Callable[[], Step]:
            return lambda: ("SubmitProof", req("SubmitProof", message="proof", images=[IMAGE]), who)

        def resolve() -> Step:
            verdict = rng.choice(
                [t.VERDICT_MERCHANT_LIABLE, t.VERDICT_BUYER_LIABLE, t.VERDICT_BOTH_LIABLE]
            )
            fields: dict[str, Any] = {"verdict": verdict}
            if verdict == t.VERDICT_BOTH_LIABLE:
                fields["refund_amount"] = max(1, amount // 2)
            return ("ResolveDispute", req("ResolveDispute", **fields), OPS)

        modify_kind = t.NEGOTIATION_KIND_MODIFY_APPLICATION
        verify_kind = t.NEGOTIATION_KIND_INVITE_VERIFY
        cancel_kind = t.NEGOTIATION_KIND_INVITE_CANCEL
        if state == "MERCHANT_PROCESSING":
            smaller = max(1, amount // 2) if amount > 1 else 2
            return [
                (3, approve),
                (
                    2,
                    negotiate(
                        modify_kind, t.NEGOTIATION_OPTION_AMOUNT_ONLY, proposed_amount=smaller
                    ),
                ),
                (1, negotiate(verify_kind, t.NEGOTIATION_OPTION_EVIDENCE_UNCLEAR)),
                (1, negotiate(cancel_kind, t.NEGOTIATION_OPTION_NO_QUALITY_ISSUE_VERIFIED)),
                (3, reject),
                (0.5, contact),
                (0.5, modify),
                (0.3, buyer_call("CancelAfterSale")),
                (0.3, ops_call("InterveneAfterSale")),
                (0.3, merchant_call("RequestContactQuota")),
                (2, wait),
            ]
        if state == "USER_WAIT_CONFIRM_UPDATE":
            verify = v.negotiation.kind == verify_kind
            return [
                (0 if verify else 2, buyer_call("AcceptNegotiation")),
                (2, buyer_call("RejectNegotiation")),
                (2 if verify else 0, buyer_call("SupplementEvidence", images=[IMAGE])),
                (1, merchant_call("WithdrawNegotiation")),
                (0.3, modify),
                (0.3, buyer_call("CancelAfterSale")),
                (2, wait),
            ]
        if state in ("MERCHANT_REJECT_REFUND", "MERCHANT_REJECT_RETURN", "RETURN_CLOSED"):
            return [
                (2, buyer_call("EscalateAfterSale", message="please help")),
                (0 if state == "RETURN_CLOSED" else 1, modify),
                (0.5, buyer_call("CancelAfterSale")),
                (2, wait),
            ]
        if state == "USER_WAIT_RETURN":
            return [
                (3, buyer_call("SubmitReturnWaybill", carrier="SF", waybill_id="SF123456")),
                (1, merchant_call("ConfirmReceipt")),
                (0.5, buyer_call("CancelAfterSale")),
                (1, wait),
            ]
        if state == "MERCHANT_WAIT_RECEIPT":
            return [
                (2, merchant_call("ConfirmReceipt")),
                (1, negotiate(verify_kind, t.NEGOTIATION_OPTION_RETURN_WRONG_ITEM)),
                (2, reject),
                (2, wait),
            ]
        if state == "PLATFORM_ARBITRATING":
            party = rng.choice([t.PROOF_PARTY_BUYER, t.PROOF_PARTY_MERCHANT, t.PROOF_PARTY_BOTH])
            return [
                (1, ops_call("RequestProof", party=party, note="send proof")),
                (1, proof(buyer)),
                (1, proof(merchant)),
                (2, resolve),
                (1, buyer_call("WithdrawEscalation")),
                (1, wait),
            ]
        if state == "PLATFORM_REFUND_FAIL":
            return [
                (1, merchant_call("UploadRefundProof", images=[IMAGE], message="paid offline")),
                (1, ops_call("RetryRefund")),
                (2, wait),
            ]
        if state == "MERCHANT_OVERDUE_REFUND":
            return [
                (1, ops_call("RetryRefund")),
                (1, ops_call("CloseRefund")),
                (1, merchant_call("UploadRefundProof", images=[IMAGE], message="paid offline")),
            ]
        if state == "USER_WAIT_CONFIRM":
            return [(1, buyer_call("ConfirmOfflineRefund")), (1, wait)]
        return [(1, wait)]  # PLATFORM_REFUNDING: the payment service answers

    async def run(self, flows: int, concurrency: int) -> None:
        """``flows`` flows, at most ``concurrency`` at once, until done or ``stopping``."""
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with gate:
                if not self.stopping.is_set():
                    await self.run_flow(index)

        await asyncio.gather(*(one(i) for i in range(flows)))


class Payment:
    """The payment service: follows WatchTransitions, reports each requested refund."""

    def __init__(
        self,
        api: AsyncApi,
        rng: random.Random,
        *,
        fail_ratio: float = 0.2,
        repeat_ratio: float = 0.1,
    ) -> None:
        self.api = api
        self.rng = rng
        self.fail_ratio = fail_ratio
        self.repeat_ratio = repeat_ratio
        self.seen: dict[tuple[str, int], int] = {}  # (rid, version) -> deliveries
        self.results: dict[str, t.RefundResult] = {}  # refund_id -> result
        self.acks: list[Ack] = []
        self.reports = 0
        self.refused: dict[str, int] = {}  # refused reports by code (a repeat may be refused)
        self.reconnects = 0
        self.unexpected: list[str] = []
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream = api.channel.unary_stream(
            path_of("WatchTransitions"),
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=pb.WatchTransitionsResponse.FromString,
        )

    @property
    def busy(self) -> bool:
        """Reports are in flight."""
        return bool(self._tasks)

    async def run(self) -> None:
        cursor = ""
        while not self.stopping.is_set():
            request = pb.WatchTransitionsRequest(cursor=cursor, from_oldest=not cursor)
            # Watched as ops, who see every event: the run checks that every version of every
            # request was delivered, and the payment role sees only requests with a refund.
            call = self._stream(request, metadata=self.api.tokens.metadata(OPS))
            try:
                async for message in call:
                    cursor = message.cursor or cursor
                    if message.HasField("event"):
                        self._on_event(message.event)
                    if self.stopping.is_set():
                        call.cancel()
                        break
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.CANCELLED or not self.stopping.is_set():
                    code = error.code()
                    if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                        self.unexpected.append(f"WatchTransitions: {code} {error.details()}")
            self.reconnects += 1
            await asyncio.sleep(0.1)
        for task in list(self._tasks):
            task.cancel()

    def _on_event(self, event: Any) -> None:
        seen_key = (str(event.request_id), int(event.version))
        self.seen[seen_key] = self.seen.get(seen_key, 0) + 1
        if (
            event.refund_id
            and event.refund_reason
            and event.to_state == t.AFTER_SALE_STATUS_PLATFORM_REFUNDING
        ):
            refund_id = str(event.refund_id)
            if refund_id not in self.results:
                failed = self.rng.random() < self.fail_ratio
                self.results[refund_id] = (
                    t.REFUND_RESULT_FAILED if failed else t.REFUND_RESULT_SUCCEEDED
                )
            times = 2 if self.rng.random() < self.repeat_ratio else 1
            for _ in range(times):
                self._spawn(self._report(str(event.request_id), refund_id))

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report(self, rid: str, refund_id: str) -> None:
        await asyncio.sleep(self.rng.uniform(0.05, 0.5))
        result = self.results[refund_id]
        request = pb.ReportRefundResultRequest(
            request_id=rid,
            idempotency_key=key(),
            refund_id=refund_id,
            result=result,
            failure_reason="card declined" if result == t.REFUND_RESULT_FAILED else "",
        )
        reply = await self.api.call_until_known("ReportRefundResult", request, PAYMENT)
        self.reports += 1
        if reply.ok:
            view = reply.view
            self.acks.append(Ack(str(view.request_id), int(view.version), state_name(view.state)))
        elif reply.superseded:  # took effect; told its version (see RandomClient._call)
            told = reply.metadata
            self.acks.append(Ack(told["request_id"], int(told["version"]), state=""))
        else:
            self.refused[reply.code] = self.refused.get(reply.code, 0) + 1
            if reply.code not in EXPECTED_REFUSALS and not reply.superseded:
                self.unexpected.append(
                    f"ReportRefundResult {rid} {refund_id}: {reply.code} {reply.message}"
                )

    async def drain(self, timeout_s: float) -> None:
        """Wait for the reports in flight."""
        deadline = time.monotonic() + timeout_s
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
