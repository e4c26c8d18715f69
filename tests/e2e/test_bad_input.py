"""SPEC §8 over gRPC: bad input gets INVALID_ARGUMENT naming the proto field, an unknown id
NOT_FOUND, a wrong state FAILED_PRECONDITION naming the state and the allowed actions, a stale
version ABORTED, a reused idempotency key ALREADY_EXISTS — and a refused call changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2

from aftersale.policy import DAY_MS
from service.api.auth import METHOD_ROLES
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.support import (
    PAID,
    Api,
    Party,
    Request,
    applied,
    bad_field,
    create_request,
    detail,
    key,
    localized,
    reason_of,
    rpc_error,
    stamp,
    unique,
)
from tests.unit.zh_scan import stray_english

LONG_TEXT = "字" * 501
TEN_IMAGES = [f"media/{i}.jpg" for i in range(10)]
LONG_REF = ["m" * 513]
Build = Callable[[Request], Any]


def raw(number: int) -> Any:
    """An enum number as the wire carries it (the proto may not define it)."""
    return number


def act(kind: type, /, **fields: Any) -> Build:
    """A mutating request on the request under test, with a fresh idempotency key."""
    return lambda req: kind(**{"request_id": req.request_id, "idempotency_key": key(), **fields})


def read(kind: type, /, **fields: Any) -> Build:
    return lambda req: kind(**{"request_id": req.request_id, **fields})


def create(**fields: Any) -> Build:
    def build(req: Request) -> pb.CreateAfterSaleRequest:
        message = create_request(
            order_id=unique("order"), sku_id=unique("sku"), shop_id=req.shop_id, clock=req.api.clock
        )
        for name, value in fields.items():
            if name.startswith("clear_"):
                message.ClearField(name.removeprefix("clear_"))
            elif isinstance(value, list):
                getattr(message, name)[:] = value
            elif hasattr(value, "DESCRIPTOR"):  # a message field: return_address, a time
                getattr(message, name).CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return build


def negotiate(**fields: Any) -> Build:
    defaults: dict[str, Any] = {"kind": t.NEGOTIATION_KIND_MODIFY_APPLICATION}
    defaults |= {"option": t.NEGOTIATION_OPTION_AMOUNT_ONLY, "images": ["media/chat.png"]}
    return act(pb.SendNegotiationRequest, **(defaults | fields))


def modify(**fields: Any) -> Build:
    defaults: dict[str, Any] = {"type": t.AFTER_SALE_TYPE_REFUND, "amount": 5_000}
    defaults |= {"reason": t.BUYER_REASON_NO_LONGER_WANT}
    return act(pb.ModifyAfterSaleRequest, **(defaults | fields))


def contact(**fields: Any) -> Build:
    def build(req: Request) -> pb.RecordContactAttemptRequest:
        defaults: dict[str, Any] = {
            "channel": t.CONTACT_CHANNEL_PHONE,
            "outcome": t.CONTACT_OUTCOME_NO_ANSWER,
            "attempted_at": stamp(req.api.clock.now_ms() - 60_000),
        }
        message: pb.RecordContactAttemptRequest = act(
            pb.RecordContactAttemptRequest, **(defaults | fields)
        )(req)
        return message

    return build


def deadline_at(offset_ms: int) -> Build:
    def build(req: Request) -> pb.RequestProofRequest:
        at = stamp(req.api.clock.now_ms() + offset_ms)
        message: pb.RequestProofRequest = act(
            pb.RequestProofRequest, party=t.PROOF_PARTY_BUYER, deadline_at=at
        )(req)
        return message

    return build


def contact_at(offset_ms: int) -> Build:
    return lambda req: contact(attempted_at=stamp(req.api.clock.now_ms() + offset_ms))(req)


REFUND_OK = {"refund_id": "AS01-R1", "result": t.REFUND_RESULT_SUCCEEDED}

# (rpc, caller, request, the field the BadRequest must name)
CASES: list[tuple[str, str, Build, str]] = [
    # ids and keys, on every kind of RPC
    ("GetAfterSale", "ops", lambda req: pb.GetAfterSaleRequest(), "request_id"),
    ("GetAfterSale", "ops", lambda req: pb.GetAfterSaleRequest(request_id="AS01 x!"), "request_id"),
    ("GetHistory", "ops", lambda req: pb.GetHistoryRequest(request_id="a" * 65), "request_id"),
    (
        "CancelAfterSale",
        "buyer",
        act(pb.CancelAfterSaleRequest, idempotency_key=""),
        "idempotency_key",
    ),
    (
        "CancelAfterSale",
        "buyer",
        act(pb.CancelAfterSaleRequest, expected_version=0),
        "expected_version",
    ),
    ("ApproveAfterSale", "merchant", act(pb.ApproveAfterSaleRequest, request_id=""), "request_id"),
    # CreateAfterSale
    ("CreateAfterSale", "buyer", create(amount=0), "amount"),
    ("CreateAfterSale", "buyer", create(amount=PAID + 1), "amount"),
    ("CreateAfterSale", "buyer", create(paid_amount=0), "paid_amount"),
    ("CreateAfterSale", "buyer", create(order_id="order/1"), "order_id"),
    ("CreateAfterSale", "buyer", create(sku_id=""), "sku_id"),
    ("CreateAfterSale", "buyer", create(type=0), "type"),
    ("CreateAfterSale", "buyer", create(type=99), "type"),
    ("CreateAfterSale", "buyer", create(reason=77), "reason"),
    ("CreateAfterSale", "buyer", create(description=LONG_TEXT), "description"),
    ("CreateAfterSale", "buyer", create(evidence_images=TEN_IMAGES), "evidence_images"),
    ("CreateAfterSale", "buyer", create(evidence_images=LONG_REF), "evidence_images[0]"),
    ("CreateAfterSale", "buyer", create(clear_after_sale_deadline=True), "after_sale_deadline"),
    (
        "CreateAfterSale",
        "buyer",
        create(return_address=t.ReturnAddress(contact_phone="1", address="x")),
        "return_address.contact_name",
    ),
    # buyer actions
    ("ModifyAfterSale", "buyer", modify(amount=PAID + 1), "amount"),
    ("ModifyAfterSale", "buyer", modify(amount=-5), "amount"),
    ("ModifyAfterSale", "buyer", modify(type=3), "type"),
    ("ModifyAfterSale", "buyer", modify(images=TEN_IMAGES), "images"),
    ("SupplementEvidence", "buyer", act(pb.SupplementEvidenceRequest, images=TEN_IMAGES), "images"),
    (
        "SupplementEvidence",
        "buyer",
        act(pb.SupplementEvidenceRequest, message=LONG_TEXT),
        "message",
    ),
    (
        "SubmitReturnWaybill",
        "buyer",
        act(pb.SubmitReturnWaybillRequest, waybill_id="W1"),
        "carrier",
    ),
    (
        "SubmitReturnWaybill",
        "buyer",
        act(pb.SubmitReturnWaybillRequest, carrier="SF", waybill_id="no spaces"),
        "waybill_id",
    ),
    ("EscalateAfterSale", "buyer", act(pb.EscalateAfterSaleRequest, message=LONG_TEXT), "message"),
    ("EscalateAfterSale", "buyer", act(pb.EscalateAfterSaleRequest, images=LONG_REF), "images[0]"),
    # merchant actions
    ("SendNegotiation", "merchant", negotiate(kind=0), "kind"),
    ("SendNegotiation", "merchant", negotiate(option=42), "option"),
    ("SendNegotiation", "merchant", negotiate(proposed_amount=0), "proposed_amount"),
    ("SendNegotiation", "merchant", negotiate(proposed_amount=PAID + 1), "proposed_amount"),
    ("SendNegotiation", "merchant", negotiate(proposed_type=9), "proposed_type"),
    ("SendNegotiation", "merchant", negotiate(message=LONG_TEXT), "message"),
    ("SendNegotiation", "merchant", negotiate(images=TEN_IMAGES), "images"),
    ("RejectAfterSale", "merchant", act(pb.RejectAfterSaleRequest, images=["x"]), "reject_reason"),
    (
        "RejectAfterSale",
        "merchant",
        act(pb.RejectAfterSaleRequest, reject_reason=1, images=TEN_IMAGES),
        "images",
    ),
    ("RecordContactAttempt", "merchant", contact(channel=0), "channel"),
    ("RecordContactAttempt", "merchant", contact(outcome=9), "outcome"),
    ("RecordContactAttempt", "merchant", contact(screenshots=TEN_IMAGES), "screenshots"),
    ("RecordContactAttempt", "merchant", contact_at(DAY_MS), "attempted_at"),
    (
        "UploadRefundProof",
        "merchant",
        act(pb.UploadRefundProofRequest, images=LONG_REF),
        "images[0]",
    ),
    (
        "ApproveAfterSale",
        "merchant",
        act(pb.ApproveAfterSaleRequest, return_address=t.ReturnAddress(contact_name="A")),
        "return_address.contact_phone",
    ),
    ("SubmitProof", "merchant", act(pb.SubmitProofRequest, message=LONG_TEXT), "message"),
    # payment
    ("ReportRefundResult", "payment", act(pb.ReportRefundResultRequest, refund_id="R1"), "result"),
    (
        "ReportRefundResult",
        "payment",
        act(pb.ReportRefundResultRequest, result=t.REFUND_RESULT_FAILED),
        "refund_id",
    ),
    (
        "ReportRefundResult",
        "payment",
        act(pb.ReportRefundResultRequest, **REFUND_OK, failure_reason="x"),
        "failure_reason",
    ),
    # platform
    ("RequestProof", "ops", act(pb.RequestProofRequest), "party"),
    ("RequestProof", "ops", deadline_at(-1), "deadline_at"),
    (
        "RequestProof",
        "ops",
        act(pb.RequestProofRequest, party=1, deadline_in=Duration(seconds=-5)),
        "deadline_in",
    ),
    ("RequestProof", "ops", act(pb.RequestProofRequest, party=1, note=LONG_TEXT), "note"),
    ("ResolveDispute", "ops", act(pb.ResolveDisputeRequest), "verdict"),
    ("ResolveDispute", "ops", act(pb.ResolveDisputeRequest, verdict=3), "refund_amount"),
    (
        "ResolveDispute",
        "ops",
        act(pb.ResolveDisputeRequest, verdict=t.VERDICT_BUYER_LIABLE, refund_amount=100),
        "refund_amount",
    ),
    ("FireTimer", "ops", act(pb.FireTimerRequest, idempotency_key="k e y"), "idempotency_key"),
    # reads
    ("ListAfterSales", "ops", lambda req: pb.ListAfterSalesRequest(states=[raw(99)]), "states[0]"),
    ("ListAfterSales", "ops", lambda req: pb.ListAfterSalesRequest(page_size=-1), "page_size"),
    ("ListAfterSales", "ops", lambda req: pb.ListAfterSalesRequest(buyer_id="b b"), "buyer_id"),
    ("ListAfterSales", "ops", lambda req: pb.ListAfterSalesRequest(page_token="zz"), "page_token"),
    ("GetHistory", "ops", read(pb.GetHistoryRequest, page_token="abc"), "page_token"),
    ("GetAllowedActions", "ops", read(pb.GetAllowedActionsRequest, role=t.ROLE_SYSTEM), "role"),
    ("GetAllowedActions", "ops", read(pb.GetAllowedActionsRequest, role=12), "role"),
    (
        "ListNegotiationOptions",
        "ops",
        lambda req: pb.ListNegotiationOptionsRequest(kind=raw(8)),
        "kind",
    ),
    ("ListRejectReasons", "ops", lambda req: pb.ListRejectReasonsRequest(state=raw(40)), "state"),
    ("GetShopStats", "ops", lambda req: pb.GetShopStatsRequest(), "shop_id"),
]

YEAR_10000 = Timestamp(seconds=253_402_300_800)  # one second past what a Timestamp may hold
# Issue 9 (hardening): Durations and Timestamps out of range, and tokens that reached INTERNAL
# (a RequestProof 10^15 s away was even committed, and no read of the request worked again).
CASES += [
    (
        "RequestProof",
        "ops",
        act(pb.RequestProofRequest, party=1, deadline_in=Duration(seconds=10**15)),
        "deadline_in",
    ),
    (
        "RequestProof",
        "ops",
        act(pb.RequestProofRequest, party=1, deadline_in=Duration(seconds=10**10)),
        "deadline_in",
    ),
    (
        "RequestProof",
        "ops",
        act(pb.RequestProofRequest, party=1, deadline_in=Duration(seconds=5, nanos=-1)),
        "deadline_in",
    ),
    ("RequestProof", "ops", deadline_at(400 * DAY_MS), "deadline_at"),
    (
        "RequestProof",
        "ops",
        act(pb.RequestProofRequest, party=1, deadline_at=YEAR_10000),
        "deadline_at",
    ),
    ("CreateAfterSale", "buyer", create(after_sale_deadline=YEAR_10000), "after_sale_deadline"),
    ("RecordContactAttempt", "merchant", contact(attempted_at=YEAR_10000), "attempted_at"),
    ("GetHistory", "ops", read(pb.GetHistoryRequest, page_token="²"), "page_token"),
    ("GetHistory", "ops", read(pb.GetHistoryRequest, page_token="１"), "page_token"),
]


def party(req: Request, who: str) -> Party:
    return {
        "buyer": req.buyer,
        "merchant": req.merchant,
        "payment": req.api.payment,
        "ops": req.api.ops,
    }[who]


@pytest.mark.parametrize(
    ("rpc", "who", "build", "field"),
    CASES,
    ids=[f"{rpc}-{field}-{i}" for i, (rpc, _, _, field) in enumerate(CASES)],
)
async def test_bad_input_is_invalid_argument_naming_the_field_and_changes_nothing(
    api: Api, rpc: str, who: str, build: Build, field: str
) -> None:
    req = await applied(api)

    error = await rpc_error(getattr(party(req, who), rpc)(build(req)))

    assert bad_field(error) == field, error.details()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert stray_english(localized(error)["zh-CN"]) == [], localized(error)
    assert reason_of(error) in (
        "FIELD_REQUIRED",
        "FIELD_INVALID",
        "EVIDENCE_REQUIRED",
        "TOKEN_NOT_ISSUED",
    )
    assert (await req.view()).version == 1


@pytest.mark.parametrize(
    ("stream_request", "field"),
    [
        (pb.WatchTransitionsRequest(cursor="not-a-cursor"), "cursor"),
        (pb.WatchTransitionsRequest(states=[raw(0)]), "states[0]"),
        (pb.WatchTransitionsRequest(actions=[raw(500)]), "actions[0]"),
        (pb.WatchTransitionsRequest(order_id="o o"), "order_id"),
    ],
)
async def test_bad_watch_requests_are_invalid_argument(
    api: Api, stream_request: pb.WatchTransitionsRequest, field: str
) -> None:
    stream = api.ops.WatchTransitions(stream_request)

    error = await rpc_error(stream.read())

    assert bad_field(error) == field


async def test_unknown_request_ids_are_not_found(api: Api) -> None:
    unknown = await rpc_error(api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id="AS01-NOPE")))
    foreign = await rpc_error(api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id="nope")))
    acting = await rpc_error(
        api.ops.InterveneAfterSale(
            pb.InterveneAfterSaleRequest(request_id="AS02-NOPE", idempotency_key=key())
        )
    )

    for error in (unknown, foreign, acting):
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert reason_of(error) == "REQUEST_NOT_FOUND"


async def test_a_wrong_state_names_the_state_and_the_allowed_actions(api: Api) -> None:
    req = await applied(api)

    error = await rpc_error(
        req.buyer.SubmitReturnWaybill(
            pb.SubmitReturnWaybillRequest(
                request_id=req.request_id, idempotency_key=key(), carrier="SF", waybill_id="W1"
            )
        )
    )

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.reason == "INVALID_STATE"
    assert info.metadata["state"] == "MERCHANT_PROCESSING"
    assert info.metadata["action"] == "SUBMIT_RETURN_WAYBILL"
    assert {"CANCEL", "MODIFY_APPLICATION"} <= set(info.metadata["allowed_actions"].split(","))
    violation = detail(error, error_details_pb2.PreconditionFailure).violations[0]
    assert violation.type == "INVALID_STATE"
    assert violation.subject == f"aftersale/{req.request_id}"
    assert (await req.view()).version == 1


async def test_a_stale_expected_version_is_aborted(api: Api) -> None:
    req = await applied(api)

    error = await rpc_error(
        req.buyer.CancelAfterSale(
            pb.CancelAfterSaleRequest(
                request_id=req.request_id, idempotency_key=key(), expected_version=7
            )
        )
    )
    fire = await rpc_error(
        api.ops.FireTimer(
            pb.FireTimerRequest(
                request_id=req.request_id, idempotency_key=key(), expected_version=3
            )
        )
    )

    for aborted in (error, fire):
        assert aborted.code() == grpc.StatusCode.ABORTED
        info = detail(aborted, error_details_pb2.ErrorInfo)
        assert info.reason == "VERSION_CONFLICT"
        assert info.metadata["actual_version"] == "1"
    assert (await req.view()).version == 1


async def test_a_retry_with_the_same_key_returns_the_first_result_and_a_new_body_is_refused(
    api: Api,
) -> None:
    req = await applied(api)
    same_key = key()
    waybill = pb.ApproveAfterSaleRequest(request_id=req.request_id, idempotency_key=same_key)

    first = await req.merchant.ApproveAfterSale(waybill)
    again = await req.merchant.ApproveAfterSale(waybill)
    other_body = await rpc_error(
        req.merchant.ApproveAfterSale(
            pb.ApproveAfterSaleRequest(
                request_id=req.request_id,
                idempotency_key=same_key,
                return_address=t.ReturnAddress(contact_name="A", contact_phone="1", address="B"),
            )
        )
    )

    assert again.after_sale == first.after_sale
    assert (await req.view()).version == 2
    assert other_body.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason_of(other_body) == "IDEMPOTENCY_KEY_REUSED"


async def test_the_catalogues_are_served_and_filtered(api: Api) -> None:
    everything = await api.ops.ListNegotiationOptions(pb.ListNegotiationOptionsRequest())
    on_receipt = await api.buyer("b1").ListNegotiationOptions(
        pb.ListNegotiationOptionsRequest(state=t.AFTER_SALE_STATUS_MERCHANT_WAIT_RECEIPT)
    )
    reasons = await api.payment.ListRejectReasons(
        pb.ListRejectReasonsRequest(state=t.AFTER_SALE_STATUS_MERCHANT_PROCESSING)
    )

    assert len(everything.options) == 15
    assert t.NEGOTIATION_OPTION_RETURN_WRONG_ITEM in {o.option for o in on_receipt.options}
    assert t.NEGOTIATION_OPTION_AMOUNT_ONLY not in {o.option for o in on_receipt.options}
    forbidden = [r for r in reasons.reasons if r.always_forbidden]
    assert [r.reason for r in forbidden] == [t.REJECT_REASON_REASON_MISMATCH]
    assert t.REJECT_REASON_RETURN_ANOMALY not in {r.reason for r in reasons.reasons}


MUTATING = sorted(
    name
    for name, method in pb.DESCRIPTOR.services_by_name["AfterSaleService"].methods_by_name.items()
    if "idempotency_key" in method.input_type.fields_by_name and name != "CreateAfterSale"
)


def role_party(req: Request, rpc: str) -> Party:
    """A caller the RPC is open to, on the request's side."""
    roles = {r.value for r in METHOD_ROLES[rpc]}
    for role, who in (("BUYER", "buyer"), ("MERCHANT", "merchant"), ("PAYMENT", "payment")):
        if role in roles:
            return party(req, who)
    return party(req, "ops")


@pytest.mark.parametrize("rpc", MUTATING)
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"request_id": ""}, "request_id"),
        ({"request_id": "AS01-é"}, "request_id"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 65}, "idempotency_key"),
        ({"expected_version": -1}, "expected_version"),
    ],
)
async def test_every_mutating_rpc_checks_its_ids_key_and_version(
    api: Api, rpc: str, fields: dict[str, Any], field: str
) -> None:
    req = await applied(api)
    message = getattr(pb, f"{rpc}Request")
    body = {"request_id": req.request_id, "idempotency_key": key(), **fields}

    error = await rpc_error(getattr(role_party(req, rpc), rpc)(message(**body)))

    assert bad_field(error) == field
    assert (await req.view()).version == 1


@pytest.mark.parametrize(
    "rpc",
    [
        "AcceptNegotiation",
        "RejectNegotiation",
        "WithdrawNegotiation",
        "WithdrawEscalation",
        "ConfirmOfflineRefund",
        "ConfirmReceipt",
        "RetryRefund",
        "CloseRefund",
    ],
)
async def test_an_action_from_the_wrong_state_is_failed_precondition_and_changes_nothing(
    api: Api, rpc: str
) -> None:
    req = await applied(api)
    message = getattr(pb, f"{rpc}Request")(request_id=req.request_id, idempotency_key=key())

    error = await rpc_error(getattr(role_party(req, rpc), rpc)(message))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.metadata["state"] == "MERCHANT_PROCESSING"
    assert info.reason in {"INVALID_STATE", "NOT_ESCALATED_BY_BUYER"}
    assert (await req.view()).version == 1


async def test_a_body_that_does_not_decode_is_invalid_argument_without_parser_text(
    api: Api, channel: Any
) -> None:
    raw = channel.unary_unary("/aftersale.v1.AfterSaleService/CancelAfterSale")

    error = await rpc_error(raw(b"\x0a\xff\xff\xff\xff\x0f", metadata=api.ops.metadata))

    assert bad_field(error) == "body"
    assert "aftersale.v1.CancelAfterSaleRequest" in error.details()
    assert "Error parsing" not in error.details()
