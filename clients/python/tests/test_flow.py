"""The client against a real server: the quick start's scenario through typed methods, a
refusal as a typed error with its reason, allowed actions and Chinese message, idempotency
keys made per call, metadata set once and overridden per call, and the blocking client."""

from __future__ import annotations

import datetime
import re

import grpc
import pytest

from aftersale_client import (
    Actor,
    AfterSaleClient,
    InvalidArgument,
    PermissionDenied,
    Refused,
    SyncAfterSaleClient,
    Unauthenticated,
)
from aftersale_client.v1 import aftersale_pb2 as pb
from aftersale_client.v1 import types_pb2 as t
from tests.conftest import Server
from tests.support import Parties, applied, deadline, unique

CJK = re.compile(r"[\u4e00-\u9fff]")


async def test_scenario_one_runs_through_the_typed_methods(parties: Parties) -> None:
    created = await applied(parties)
    rid = created.after_sale.request_id

    await parties.shop.send_negotiation(
        request_id=rid,
        kind="NEGOTIATION_KIND_MODIFY_APPLICATION",
        option="NEGOTIATION_OPTION_AMOUNT_ONLY",
        proposed_amount=6000,
        images=["media/chat.png"],
        message="as agreed in chat",
    )
    accepted = await parties.buyer.accept_negotiation(request_id=rid)
    refund_id = accepted.after_sale.refund.refund_id
    paid = await parties.payment.report_refund_result(
        request_id=rid, refund_id=refund_id, result="REFUND_RESULT_SUCCEEDED"
    )
    history = await parties.ops.get_history(request_id=rid)

    assert created.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_PROCESSING
    assert accepted.after_sale.state == t.AFTER_SALE_STATUS_PLATFORM_REFUNDING
    assert (refund_id, accepted.after_sale.refund.amount) == (f"{rid}-R1", 6000)
    assert paid.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS
    assert [e.action for e in history.events] == [
        t.ACTION_APPLY, t.ACTION_NEGOTIATE, t.ACTION_ACCEPT_NEGOTIATION,
        t.ACTION_REFUND_SUCCEEDED,
    ]  # fmt: skip


async def test_a_refusal_is_a_typed_error_with_reason_allowed_actions_and_chinese(
    parties: Parties,
) -> None:
    rid = (await applied(parties)).after_sale.request_id

    with pytest.raises(Refused) as caught:
        await parties.shop.reject_after_sale(
            request_id=rid,
            reject_reason="REJECT_REASON_AMOUNT_DISAGREEMENT",
            message="agreed 60",
            images=["media/chat.png"],
        )
    refused = caught.value
    allowed = await parties.shop.get_allowed_actions(request_id=rid)

    assert refused.reason == "NEGOTIATION_REQUIRED"
    assert (refused.request_id, refused.state, refused.action) == (
        rid, "MERCHANT_PROCESSING", "REJECT"
    )  # fmt: skip
    assert refused.allowed_actions == tuple(
        t.Action.Name(a.action).removeprefix("ACTION_") for a in allowed.allowed
    )
    assert "NEGOTIATE" in refused.allowed_actions and "REJECT" not in refused.allowed_actions
    assert [v.type for v in refused.violations] == ["NEGOTIATION_REQUIRED"]
    chinese = refused.message("zh-CN")
    assert CJK.search(chinese) and chinese != refused.message("en-US")
    assert refused.message("zh") == chinese
    assert refused.idempotency_key  # made for the call, shown so a retry can reuse it
    refusal = next(r for r in allowed.refused if r.action == t.ACTION_REJECT)
    assert refusal.reason == refused.reason


async def test_a_bad_field_is_invalid_argument_naming_the_field(parties: Parties) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await parties.buyer.create_after_sale(
            order_id=parties.order_id, sku_id="SKU-7", shop_id=parties.shop_id,
            type="AFTER_SALE_TYPE_REFUND", amount=-5, paid_amount=10000,
            reason=t.BUYER_REASON_QUALITY_ISSUE, evidence_images=["media/x.jpg"],
            after_sale_deadline=deadline(),
        )  # fmt: skip

    assert caught.value.field == "amount"
    assert [v.field for v in caught.value.field_violations] == ["amount"]
    assert CJK.search(caught.value.message("zh-CN"))


async def test_each_call_gets_its_own_key_and_a_given_key_replays(parties: Parties) -> None:
    rid = (await applied(parties)).after_sale.request_id

    at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)

    first = await contact_attempt(parties, rid, at)
    second = await contact_attempt(parties, rid, at)  # the same body: only the key differs
    kept = await contact_attempt(parties, rid, at, idempotency_key="contact-3")
    replayed = await contact_attempt(parties, rid, at, idempotency_key="contact-3")

    assert [r.after_sale.version for r in (first, second, kept)] == [2, 3, 4]
    assert replayed == kept  # the first result, nothing made twice
    assert len(replayed.after_sale.contact_attempts) == 3


async def contact_attempt(
    parties: Parties, rid: str, at: datetime.datetime, idempotency_key: str | None = None
) -> pb.RecordContactAttemptResponse:
    """The shop records a phone call nobody answered, at ``at``."""
    return await parties.shop.record_contact_attempt(
        request_id=rid,
        idempotency_key=idempotency_key,
        channel="CONTACT_CHANNEL_PHONE",
        outcome="CONTACT_OUTCOME_NO_ANSWER",
        attempted_at=at,
    )


async def test_actor_and_token_are_set_once_and_overridden_per_call(
    server: Server, parties: Parties
) -> None:
    rid = (await applied(parties)).after_sale.request_id
    stranger = Actor.merchant(unique("shop"))

    own = await parties.shop.get_after_sale(request_id=rid)
    with pytest.raises(PermissionDenied) as not_theirs:
        await parties.shop.get_after_sale(request_id=rid, actor=stranger)
    as_ops = await parties.shop.get_status(token=server.tokens["ops"], actor=Actor.platform())
    with pytest.raises(Unauthenticated):
        await parties.shop.get_after_sale(request_id=rid, token="")
    with pytest.raises(Unauthenticated) as repeated:
        await parties.shop.get_after_sale(
            request_id=rid, metadata=[("authorization", f"Bearer {server.tokens['ops']}")]
        )

    assert own.after_sale.shop_id == parties.shop_id
    assert not_theirs.value.reason == "NOT_YOUR_REQUEST"
    assert as_ops.ByteSize() > 0
    assert repeated.value.reason == "TOKEN_REPEATED"  # the extra metadata went out as given


async def test_a_whole_request_message_with_keyword_fields_on_top(parties: Parties) -> None:
    rid = (await applied(parties)).after_sale.request_id
    request = pb.GetAfterSaleRequest(request_id="AS00-elsewhere")

    reply = await parties.shop.get_after_sale(request, request_id=rid)

    assert reply.after_sale.request_id == rid
    assert request.request_id == "AS00-elsewhere"  # the caller's message is left as it was


def test_the_blocking_client_has_the_same_methods(server: Server) -> None:
    shop_id, buyer_id = unique("shop"), unique("buyer")
    with SyncAfterSaleClient(server.address, token=server.tokens["order-system"],
                             actor=Actor.buyer(buyer_id)) as buyer:  # fmt: skip
        created = buyer.create_after_sale(
            order_id=unique("order"), sku_id="SKU-1", shop_id=shop_id,
            type="AFTER_SALE_TYPE_REFUND", amount=100, paid_amount=100,
            reason=t.BUYER_REASON_QUALITY_ISSUE, evidence_images=["media/x.jpg"],
            after_sale_deadline=deadline(),
        )  # fmt: skip
        shop = buyer.acting_as(Actor.merchant(shop_id))
        with pytest.raises(Refused) as caught:
            shop.reject_after_sale(
                request_id=created.after_sale.request_id,
                reject_reason="REJECT_REASON_AMOUNT_DISAGREEMENT",
                message="no",
                images=["media/chat.png"],
            )
        shop.close()  # a view: the channel stays open
        fetched = buyer.get_after_sale(request_id=created.after_sale.request_id)

    assert caught.value.reason == "NEGOTIATION_REQUIRED"
    assert fetched.after_sale.version == 1


async def test_watch_transitions_streams_typed_replies(parties: Parties) -> None:
    rid = (await applied(parties)).after_sale.request_id

    stream = parties.ops.watch_transitions(from_oldest=True, order_id=parties.order_id)
    first = await anext(aiter(stream))
    await stream.aclose()

    assert (first.event.request_id, first.event.action) == (rid, t.ACTION_APPLY)


async def test_a_client_closes_its_channel_and_a_view_does_not(server: Server) -> None:
    client = AfterSaleClient(server.address, token=server.tokens["ops"], actor=Actor.platform())
    view = client.acting_as(Actor.platform("ops-2"))

    await view.close()
    status = await client.get_status()
    await client.close()

    assert status.ByteSize() > 0
    with pytest.raises(grpc.aio.UsageError, match="closed"):
        await client.get_status()
