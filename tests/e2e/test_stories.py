"""SPEC §11: the seed's four scenarios, every variant, end to end over gRPC."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2

from aftersale.clock import FakeClock
from aftersale.policy import DAY_MS, HOUR_MS
from service.bootstrap import App
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from tests.e2e.support import Api, Request, applied, detail, key, localized, rpc_error, stamp

CHAT = ["media/chat-agreed-60-yuan.png"]
PARCEL = ["media/parcel-wrong-item-1.jpg", "media/parcel-wrong-item-2.jpg"]
CALLS = ["media/call-log-1.png", "media/call-log-2.png"]


async def history(req: Request) -> list[t.TransitionEvent]:
    reply = await req.api.ops.GetHistory(pb.GetHistoryRequest(request_id=req.request_id))
    events: list[t.TransitionEvent] = list(reply.events)
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    return events


async def paid_out(req: Request, view: t.AfterSale) -> t.AfterSale:
    """The payment service reports the refund paid."""
    reply = await req.api.payment.ReportRefundResult(
        pb.ReportRefundResultRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            refund_id=view.refund.refund_id,
            result=t.REFUND_RESULT_SUCCEEDED,
        )
    )
    paid: t.AfterSale = reply.after_sale
    return paid


def negotiation(
    req: Request, kind: str, option: str, **fields: object
) -> pb.SendNegotiationRequest:
    return pb.SendNegotiationRequest(
        request_id=req.request_id,
        idempotency_key=key(),
        kind=f"NEGOTIATION_KIND_{kind}",
        option=f"NEGOTIATION_OPTION_{option}",
        **fields,  # type: ignore[arg-type]
    )


def rejection(req: Request, reason: str, images: list[str]) -> pb.RejectAfterSaleRequest:
    return pb.RejectAfterSaleRequest(
        request_id=req.request_id,
        idempotency_key=key(),
        reject_reason=f"REJECT_REASON_{reason}",
        message="see the attached evidence",
        images=images,
    )


def answer(req: Request, message: type) -> object:
    return message(request_id=req.request_id, idempotency_key=key())


# -- 1. wrong refund amount -----------------------------------------------------------------


async def test_wrong_amount_buyer_accepts_and_a_refund_of_60_starts_by_itself(api: Api) -> None:
    req = await applied(api, amount=10_000, paid=10_000)

    sent = await req.merchant.SendNegotiation(
        negotiation(req, "MODIFY_APPLICATION", "AMOUNT_ONLY", proposed_amount=6_000, images=CHAT)
    )
    accepted = await req.buyer.AcceptNegotiation(answer(req, pb.AcceptNegotiationRequest))

    assert sent.after_sale.state == t.AFTER_SALE_STATUS_USER_WAIT_CONFIRM_UPDATE
    view = accepted.after_sale
    assert view.state == t.AFTER_SALE_STATUS_PLATFORM_REFUNDING
    assert view.amount == 6_000
    assert view.refund.amount == 6_000
    assert view.refund.refund_reason == t.REFUND_REASON_NEGOTIATION_ACCEPTED
    last = (await history(req))[-1]
    assert last.action == t.ACTION_ACCEPT_NEGOTIATION
    assert last.refund_reason == t.REFUND_REASON_NEGOTIATION_ACCEPTED
    assert last.refund_id == view.refund.refund_id
    assert list(last.signals) == [t.SIGNAL_REFUND_REQUESTED]
    assert last.refund_amount == 6_000
    done = await paid_out(req, view)
    assert done.state == t.AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS


async def test_wrong_amount_buyer_rejects_and_the_merchant_may_reject_with_the_chat_screenshot(
    api: Api,
) -> None:
    req = await applied(api)
    await req.merchant.SendNegotiation(
        negotiation(req, "MODIFY_APPLICATION", "AMOUNT_ONLY", proposed_amount=6_000, images=CHAT)
    )

    back = await req.buyer.RejectNegotiation(answer(req, pb.RejectNegotiationRequest))
    rejected = await req.merchant.RejectAfterSale(rejection(req, "AMOUNT_DISAGREEMENT", CHAT))

    assert back.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_PROCESSING
    assert back.after_sale.negotiation.outcome == t.NEGOTIATION_OUTCOME_REJECTED
    view = rejected.after_sale
    assert view.state == t.AFTER_SALE_STATUS_MERCHANT_REJECT_REFUND
    assert view.rejection.reason == t.REJECT_REASON_AMOUNT_DISAGREEMENT
    assert list(view.rejection.images) == CHAT
    assert view.pending_timer.action == t.ACTION_ESCALATION_EXPIRED


async def test_wrong_amount_merchant_rejecting_first_is_refused_and_told_to_negotiate(
    api: Api,
) -> None:
    req = await applied(api)

    error = await rpc_error(
        req.merchant.RejectAfterSale(rejection(req, "AMOUNT_DISAGREEMENT", CHAT))
    )

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.reason == "NEGOTIATION_REQUIRED"
    assert info.domain == "aftersale.v1"
    assert info.metadata["state"] == "MERCHANT_PROCESSING"
    assert info.metadata["action"] == "REJECT"
    messages = localized(error)
    assert "AMOUNT_ONLY" in messages["en-US"]
    assert "仅修改退款金额" in messages["zh-CN"]
    assert (await req.view()).version == 1  # a refused call changes nothing
    allowed = await req.merchant.GetAllowedActions(
        pb.GetAllowedActionsRequest(request_id=req.request_id)
    )
    refused = {r.action: r for r in allowed.refused}
    assert refused[t.ACTION_REJECT].reason == "NEGOTIATION_REQUIRED"
    assert refused[t.ACTION_REJECT].recommended_action == t.ACTION_NEGOTIATE
    assert t.NEGOTIATION_OPTION_AMOUNT_ONLY in refused[t.ACTION_REJECT].recommended_options


# -- 2. evidence needed ----------------------------------------------------------------------


async def test_fresh_fruit_evidence_then_partial_refund(api: Api) -> None:
    req = await applied(api, reason="BUYER_REASON_QUALITY_ISSUE")

    await req.merchant.SendNegotiation(
        negotiation(req, "INVITE_VERIFY", "PERISHABLE_QUALITY_PROOF", message="clearer photos")
    )
    supplied = await req.buyer.SupplementEvidence(
        pb.SupplementEvidenceRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            images=["media/box-top.jpg", "media/box-inside.jpg"],
        )
    )
    await req.merchant.SendNegotiation(
        negotiation(req, "MODIFY_APPLICATION", "PARTIAL_REFUND", proposed_amount=5_000, images=CHAT)
    )
    accepted = await req.buyer.AcceptNegotiation(answer(req, pb.AcceptNegotiationRequest))

    assert supplied.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_PROCESSING
    assert supplied.after_sale.negotiation.outcome == t.NEGOTIATION_OUTCOME_EVIDENCE_SUPPLIED
    assert "media/box-inside.jpg" in supplied.after_sale.evidence_images
    view = accepted.after_sale
    assert view.state == t.AFTER_SALE_STATUS_PLATFORM_REFUNDING
    assert view.refund.amount == 5_000
    assert (await paid_out(req, view)).state == t.AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS


async def test_wrong_item_returned_buyer_times_out_rejection_escalation_and_platform_verdict(
    api: Api, app: App, clock: FakeClock
) -> None:
    req = await applied(api, type="AFTER_SALE_TYPE_RETURN")
    await req.merchant.ApproveAfterSale(answer(req, pb.ApproveAfterSaleRequest))
    await req.buyer.SubmitReturnWaybill(
        pb.SubmitReturnWaybillRequest(
            request_id=req.request_id, idempotency_key=key(), carrier="SF", waybill_id="SF123456"
        )
    )
    await req.merchant.SendNegotiation(
        negotiation(req, "INVITE_VERIFY", "RETURN_WRONG_ITEM", images=PARCEL)
    )

    clock.advance(48 * HOUR_MS + 1)
    fired = await app.worker.run_once()  # the buyer let the negotiation time out
    timed_out = await req.view()
    rejected = await req.merchant.RejectAfterSale(rejection(req, "RETURN_ANOMALY", PARCEL))
    clock.advance(6 * DAY_MS)  # inside the 7-day escalation window
    escalated = await req.buyer.EscalateAfterSale(
        pb.EscalateAfterSaleRequest(
            request_id=req.request_id, idempotency_key=key(), message="it was the right item"
        )
    )
    await api.ops.RequestProof(
        pb.RequestProofRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            party=t.PROOF_PARTY_BUYER,
            note="a photo of the item you shipped",
        )
    )
    await req.buyer.SubmitProof(
        pb.SubmitProofRequest(
            request_id=req.request_id, idempotency_key=key(), images=["media/shipped.jpg"]
        )
    )
    resolved = await api.ops.ResolveDispute(
        pb.ResolveDisputeRequest(
            request_id=req.request_id, idempotency_key=key(), verdict=t.VERDICT_MERCHANT_LIABLE
        )
    )

    assert fired == 1
    assert timed_out.state == t.AFTER_SALE_STATUS_MERCHANT_WAIT_RECEIPT
    assert timed_out.negotiation.outcome == t.NEGOTIATION_OUTCOME_TIMED_OUT
    assert rejected.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_REJECT_RETURN
    assert escalated.after_sale.state == t.AFTER_SALE_STATUS_PLATFORM_ARBITRATING
    assert escalated.after_sale.dispute.escalated_by == t.ROLE_BUYER
    view = resolved.after_sale
    assert view.state == t.AFTER_SALE_STATUS_PLATFORM_REFUNDING
    assert view.dispute.verdict == t.VERDICT_MERCHANT_LIABLE
    assert view.refund.refund_reason == t.REFUND_REASON_PLATFORM_DISPUTE
    assert [p.party for p in view.dispute.proofs] == [t.PROOF_PARTY_BUYER]
    assert (await paid_out(req, view)).state == t.AFTER_SALE_STATUS_MERCHANT_RETURN_SUCCESS


# -- 3. buyer unreachable --------------------------------------------------------------------


async def test_buyer_unreachable_two_failed_calls_then_rejection_with_call_screenshots(
    api: Api, clock: FakeClock
) -> None:
    req = await applied(api)
    too_early = await rpc_error(
        req.merchant.SendNegotiation(
            negotiation(req, "INVITE_VERIFY", "UNABLE_TO_CONTACT", images=CALLS)
        )
    )
    for channel, screenshot in (("PHONE", CALLS[0]), ("VOICE", CALLS[1])):
        await req.merchant.RecordContactAttempt(
            pb.RecordContactAttemptRequest(
                request_id=req.request_id,
                idempotency_key=key(),
                channel=f"CONTACT_CHANNEL_{channel}",
                outcome=t.CONTACT_OUTCOME_NO_ANSWER,
                attempted_at=stamp(clock.now_ms() - 60_000),
                screenshots=[screenshot],
            )
        )
    quota = await req.merchant.RequestContactQuota(answer(req, pb.RequestContactQuotaRequest))
    await req.merchant.SendNegotiation(
        negotiation(req, "INVITE_VERIFY", "UNABLE_TO_CONTACT", images=CALLS)
    )

    fired = await api.ops.FireTimer(answer(req, pb.FireTimerRequest))  # the buyer never answers
    rejected = await req.merchant.RejectAfterSale(rejection(req, "BUYER_UNREACHABLE", CALLS))

    assert too_early.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert quota.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_PROCESSING
    assert len(quota.after_sale.contact_attempts) == 2
    assert fired.after_sale.negotiation.outcome == t.NEGOTIATION_OUTCOME_TIMED_OUT
    assert rejected.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_REJECT_REFUND
    assert rejected.after_sale.rejection.reason == t.REJECT_REASON_BUYER_UNREACHABLE
    events = await history(req)
    actions = [e.action for e in events]
    assert actions.count(t.ACTION_RECORD_CONTACT_ATTEMPT) == 2
    quota_events = [e for e in events if e.action == t.ACTION_REQUEST_CONTACT_QUOTA]
    assert [list(e.signals) for e in quota_events] == [[t.SIGNAL_CONTACT_QUOTA_REQUESTED]]
    assert t.ACTION_NEGOTIATION_TIMEOUT in actions


# -- 4. reason does not match ----------------------------------------------------------------


async def test_rejecting_for_reason_mismatch_is_refused_then_the_merchant_refunds(
    api: Api,
) -> None:
    req = await applied(api, reason="BUYER_REASON_QUALITY_ISSUE")

    error = await rpc_error(req.merchant.RejectAfterSale(rejection(req, "REASON_MISMATCH", CHAT)))
    approved = await req.merchant.ApproveAfterSale(answer(req, pb.ApproveAfterSaleRequest))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert detail(error, error_details_pb2.ErrorInfo).reason == "REJECTION_FORBIDDEN"
    assert approved.after_sale.version == 2  # the refused rejection wrote nothing
    assert approved.after_sale.state == t.AFTER_SALE_STATUS_PLATFORM_REFUNDING
    assert approved.after_sale.refund.refund_reason == t.REFUND_REASON_MERCHANT_APPROVED


async def test_reason_mismatch_agreed_to_cancel_and_the_buyer_accepts(api: Api) -> None:
    req = await applied(api, reason="BUYER_REASON_QUALITY_ISSUE")

    await req.merchant.SendNegotiation(
        negotiation(req, "INVITE_CANCEL", "AGREED_TO_CANCEL", images=CHAT)
    )
    accepted = await req.buyer.AcceptNegotiation(answer(req, pb.AcceptNegotiationRequest))

    assert accepted.after_sale.state == t.AFTER_SALE_STATUS_USER_CANCELD
    assert accepted.after_sale.close_reason == t.CLOSE_REASON_NEGOTIATED_CANCEL
    assert not accepted.after_sale.HasField("pending_timer")


async def test_reason_mismatch_modifying_the_reason_keeps_the_first_reason(api: Api) -> None:
    req = await applied(api, reason="BUYER_REASON_QUALITY_ISSUE")

    modified = await req.buyer.ModifyAfterSale(
        pb.ModifyAfterSaleRequest(
            request_id=req.request_id,
            idempotency_key=key(),
            type=t.AFTER_SALE_TYPE_REFUND,
            amount=10_000,
            reason=t.BUYER_REASON_NO_LONGER_WANT,
        )
    )

    view = modified.after_sale
    assert view.reason == t.BUYER_REASON_NO_LONGER_WANT
    assert view.first_reason == t.BUYER_REASON_QUALITY_ISSUE
    assert (await history(req))[-1].first_reason == t.BUYER_REASON_QUALITY_ISSUE
