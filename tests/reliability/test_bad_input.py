"""Bad input fuzz: random and malformed field values for every unary RPC (SPEC §8).

Hypothesis fills every field of a request message from its descriptor (``fuzz.messages``):
hostile strings, extreme and negative integers, unknown enum numbers, missing and odd nested
messages. Calls go to the real server, as the right party for the RPC or as anyone else, mostly
against real requests in various states. For every answer:

- never INTERNAL or UNKNOWN (nor any code outside the API's set), never an internal text
  (exception names, tracebacks) in the message;
- INVALID_ARGUMENT carries a google.rpc.BadRequest naming a field;
- a refused call changes nothing: the target's version and history, and every shard stream,
  are as before. An accepted one bumps the version by at most one.

A second test sends raw bodies that are not valid encodings of the request (corrupt wire
format, invalid UTF-8 in string fields).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
import redis as redis_sync
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.keys import Keys
from tests.reliability import fuzz
from tests.reliability.client import UNARY, SyncApi, Who, request_class
from tests.reliability.inprocess import ThreadedService, scale

IMAGE = "https://img.example.com/f.jpg"
ANSWERS = frozenset(
    {
        "OK",
        "INVALID_ARGUMENT",
        "FAILED_PRECONDITION",
        "NOT_FOUND",
        "PERMISSION_DENIED",
        "ABORTED",
        "ALREADY_EXISTS",
        "UNAUTHENTICATED",
    }
)
LEAKS = ("Traceback", "<class", "Exception", "Error parsing", "DecodeError", 'File "')
READS = frozenset(
    {
        "GetAfterSale",
        "ListAfterSales",
        "GetHistory",
        "GetAllowedActions",
        "ListNegotiationOptions",
        "ListRejectReasons",
        "GetShopStats",
        "GetStatus",
    }
)
ROLES = {
    **dict.fromkeys(
        [
            "CreateAfterSale",
            "AcceptNegotiation",
            "RejectNegotiation",
            "SupplementEvidence",
            "ModifyAfterSale",
            "CancelAfterSale",
            "SubmitReturnWaybill",
            "EscalateAfterSale",
            "WithdrawEscalation",
            "ConfirmOfflineRefund",
        ],
        "BUYER",
    ),
    **dict.fromkeys(
        [
            "ApproveAfterSale",
            "SendNegotiation",
            "WithdrawNegotiation",
            "RejectAfterSale",
            "ConfirmReceipt",
            "UploadRefundProof",
            "RecordContactAttempt",
            "RequestContactQuota",
            "SubmitProof",
            "GetShopStats",
        ],
        "MERCHANT",
    ),
    "ReportRefundResult": "PAYMENT",
    **dict.fromkeys(
        ["InterveneAfterSale", "RequestProof", "ResolveDispute", "RetryRefund", "CloseRefund"],
        "PLATFORM",
    ),
    **dict.fromkeys(
        ["FireTimer", "ListAfterSales", "ListNegotiationOptions", "ListRejectReasons"], "PLATFORM"
    ),
    "GetStatus": "PLATFORM",
    **dict.fromkeys(["GetAfterSale", "GetHistory", "GetAllowedActions"], "PLATFORM"),
}
ODD_IDS = ["", " ", "a b", "x" * 65, "AS00-x", "-", "%2F"]  # metadata is ASCII on the wire


@dataclass
class Seeded:
    """A real request the fuzz aims at, and its parties."""

    rid: str
    buyer: str
    shop: str


@dataclass
class FuzzFigures:
    calls: int = 0
    raw_calls: int = 0
    refused: int = 0
    accepted: int = 0


FIGURES = FuzzFigures()
_seeds = itertools.count()


def _ts(ms: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMilliseconds(ms)
    return stamp


class Target:
    """The fuzz's world: seeded requests and how to read their stored state."""

    def __init__(self, service: ThreadedService, api: SyncApi, store: redis_sync.Redis) -> None:
        self.service = service
        self.api = api
        self.store = store
        self.keys = Keys(service.settings.shards)
        self.pool: list[Seeded] = []

    def seed(self, count: int) -> None:
        """``count`` new requests, walked into different states through the API."""
        for _ in range(count):
            n = next(_seeds)
            buyer, shop = f"fz-b{n % 5}", f"fz-s{n % 3}"
            kind = t.AFTER_SALE_TYPE_RETURN if n % 2 else t.AFTER_SALE_TYPE_REFUND
            reply = self.api.call(
                "CreateAfterSale",
                pb.CreateAfterSaleRequest(
                    idempotency_key=f"fz-apply-{n}-{id(self)}",
                    order_id=f"fz-o{n}-{id(self) % 10_000}",
                    sku_id="sku",
                    shop_id=shop,
                    type=kind,
                    amount=500,
                    paid_amount=1000,
                    reason=t.BUYER_REASON_QUALITY_ISSUE,
                    evidence_images=[IMAGE],
                    return_address=t.ReturnAddress(
                        contact_name="R", contact_phone="1", address="1 Rd"
                    ),
                    after_sale_deadline=_ts(self.service.clock.now_ms() + 30 * 86_400_000),
                ),
                Who("BUYER", buyer),
            )
            assert reply.ok, f"seeding: {reply.code} {reply.message}"
            seeded = Seeded(str(reply.view.request_id), buyer, shop)
            self.pool.append(seeded)
            self._walk(seeded, n % 5)

    def _walk(self, seeded: Seeded, depth: int) -> None:
        merchant, buyer = Who("MERCHANT", seeded.shop), Who("BUYER", seeded.buyer)
        steps: list[tuple[str, Message, Who]] = [
            (
                "SendNegotiation",
                pb.SendNegotiationRequest(
                    kind=t.NEGOTIATION_KIND_INVITE_VERIFY,
                    option=t.NEGOTIATION_OPTION_EVIDENCE_UNCLEAR,
                ),
                merchant,
            ),
            ("RejectNegotiation", pb.RejectNegotiationRequest(), buyer),
            ("ApproveAfterSale", pb.ApproveAfterSaleRequest(), merchant),
            ("InterveneAfterSale", pb.InterveneAfterSaleRequest(), Who("PLATFORM", "ops")),
        ]
        for i, (method, request, who) in enumerate(steps[:depth]):
            request.request_id = seeded.rid  # type: ignore[attr-defined]
            request.idempotency_key = f"fz-walk-{seeded.rid}-{i}"  # type: ignore[attr-defined]
            self.api.call(method, request, who)

    def footprint(self, rid: str | None) -> tuple[int, int, tuple[int, ...]]:
        """(version, history length) of ``rid`` and the length of every shard stream."""
        pipe = self.store.pipeline(transaction=False)
        if rid is not None:
            pipe.hget(self.keys.record(rid), "version")
            pipe.llen(self.keys.history(rid))
        for shard in self.keys.all_shards():
            pipe.xlen(self.keys.events(shard))
        rows: list[Any] = pipe.execute()
        if rid is None:
            return 0, 0, tuple(int(x) for x in rows)
        return int(rows[0] or 0), int(rows[1]), tuple(int(x) for x in rows[2:])


def _bad_request_fields(trailers: tuple[tuple[str, Any], ...]) -> list[str]:
    for key, value in trailers:
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    return [v.field for v in bad.field_violations]
    return []


def _identity(data: st.DataObject, method: str, seeded: Seeded | None) -> Who:
    role = ROLES[method]
    if data.draw(st.integers(0, 9), label="twist") < 7 and seeded is not None:
        own = {"BUYER": seeded.buyer, "MERCHANT": seeded.shop}.get(role, "fuzz")
        return Who(role, own)
    role = data.draw(st.sampled_from(["BUYER", "MERCHANT", "PAYMENT", "PLATFORM"]), label="role")
    ids = [*ODD_IDS, "fz-b0", "fz-s0", "ops"]
    return Who(role, data.draw(st.sampled_from(ids), label="actor id"))


def _judge(
    target: Target, method: str, reply: Any, before: Any, after: Any, rid: str | None
) -> None:
    assert reply.code in ANSWERS, f"{method}: {reply.code} ({reply.message})"
    assert not any(leak in reply.message for leak in LEAKS), f"{method} leaks: {reply.message}"
    if reply.code == "INVALID_ARGUMENT":
        fields = _bad_request_fields(reply.trailers)
        assert fields and all(fields), (
            f"{method}: INVALID_ARGUMENT names no field ({reply.message})"
        )
    if reply.ok:
        FIGURES.accepted += 1
        if rid is not None and method not in READS and method != "CreateAfterSale":
            assert after[0] - before[0] in (0, 1), f"{method} moved {rid} v{before[0]}->v{after[0]}"
        return
    FIGURES.refused += 1
    assert after == before, (
        f"{method} was refused ({reply.code}: {reply.message}) but changed storage: "
        f"(version, history, streams) {before[:2]} -> {after[:2]}, "
        f"streams changed: {before[2] != after[2]}"
    )


def _fuzz(target: Target, examples: int) -> None:
    # Strategies are built once, over the ids seeded so far: hypothesis needs them fixed.
    pool_ids = [s.rid for s in target.pool]
    strategies = {
        method: fuzz.messages(request_class(method).DESCRIPTOR, pool_ids)  # type: ignore[arg-type]
        for method in UNARY
    }

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(data=st.data())
    def one_call(data: st.DataObject) -> None:
        method = data.draw(st.sampled_from(UNARY), label="method")
        if FIGURES.calls % 300 == 299:
            target.seed(4)  # keep live, non-terminal requests in the pool
        cls = request_class(method)
        values = data.draw(strategies[method], label="fields")
        request = fuzz.build(cls, values)
        seeded: Seeded | None = None
        aim = data.draw(st.integers(0, 10**6), label="target")
        if "request_id" in cls.DESCRIPTOR.fields_by_name and aim % 10 < 7:
            # the newest requests most often: they are the least likely to be terminal
            seeded = target.pool[-1 - (aim // 10) % min(len(target.pool), 12)]
            request.request_id = seeded.rid  # type: ignore[attr-defined]
        who = _identity(data, method, seeded)
        metadata = None
        if data.draw(st.integers(0, 49), label="auth") == 0:
            metadata = (("authorization", "Bearer not-a-token-of-ours-xxxx"),)
        rid = seeded.rid if seeded else None
        before = target.footprint(rid)
        reply = target.api.call(method, request, who, metadata=metadata)
        FIGURES.calls += 1
        after = target.footprint(rid)
        _judge(target, method, reply, before, after, rid)

    one_call()


def _raw(target: Target, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(data=st.data())
    def one_call(data: st.DataObject) -> None:
        method = data.draw(st.sampled_from(UNARY), label="method")
        descriptor: Any = request_class(method).DESCRIPTOR
        body = data.draw(fuzz.raw_bodies(descriptor), label="body")
        seeded = target.pool[data.draw(st.integers(0, 10**6), label="target") % len(target.pool)]
        who = _identity(data, method, seeded)
        before = target.footprint(seeded.rid)
        reply = target.api.call_raw(method, body, who)
        FIGURES.raw_calls += 1
        after = target.footprint(seeded.rid)
        _judge(target, method, reply, before, after, seeded.rid)

    one_call()


def _report(kind: str) -> None:
    print(
        f"\nbad input ({kind}): {FIGURES.calls} field-fuzzed calls, {FIGURES.raw_calls} raw "
        f"bodies; {FIGURES.accepted} accepted, {FIGURES.refused} refused"
    )


@pytest.fixture
def target(
    threaded_service: ThreadedService, sync_api: SyncApi, sync_redis: redis_sync.Redis
) -> Target:
    world = Target(threaded_service, sync_api, sync_redis)
    world.seed(10)
    return world


def test_bad_field_values_never_fail_internally_nor_change_state(target: Target) -> None:
    _fuzz(target, scale(1000, "RELIABILITY_FUZZ_CALLS"))
    _report("short")


def test_malformed_request_bodies_are_refused_as_bad_input(target: Target) -> None:
    _raw(target, scale(200, "RELIABILITY_RAW_CALLS"))
    _report("short")


@pytest.mark.chaos
def test_bad_field_values_long(target: Target) -> None:
    _fuzz(target, scale(20_000, "RELIABILITY_FUZZ_CALLS"))
    _raw(target, scale(2_000, "RELIABILITY_RAW_CALLS"))
    _report("long")


def test_unknown_token_is_unauthenticated(target: Target) -> None:
    request = pb.GetAfterSaleRequest(request_id=target.pool[0].rid)
    metadata = (("authorization", "Bearer " + "x" * 32), ("x-actor-role", "PLATFORM"))

    reply = target.api.call("GetAfterSale", request, Who("PLATFORM", "ops"), metadata=metadata)

    assert reply.code == "UNAUTHENTICATED"
