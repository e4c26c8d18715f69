"""What each action writes on the working copy of the record (SPEC §3), once its guards passed.

The machine's callback calls ``apply_effects``; nothing here decides *whether* an action may
happen (``aftersale.rules``) or *where* it goes (the machine's table). Dispute and money
effects live in ``aftersale.disputes`` and ``aftersale.refunds``.
"""

from __future__ import annotations

from aftersale import commands as c
from aftersale.catalog import Proposal, negotiation_spec
from aftersale.disputes import DISPUTE_EFFECTS
from aftersale.model import (
    AfterSale,
    ContactAttempt,
    Negotiation,
    Rejection,
    Waybill,
    fill_message,
)
from aftersale.refunds import REFUND_EFFECTS, request_refund
from aftersale.step import Effect, Step
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    CloseReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    RejectReason,
    Signal,
    State,
)


def apply_effects(step: Step, source: State | None, target: State) -> None:
    """Write the effects of ``step.action`` moving the request from ``source`` to ``target``
    (``source`` None: the request does not exist yet)."""
    if isinstance(step.command, c.Apply):
        step.record = _open(step.command, target, step.now_ms)
        return
    assert source is not None
    record = step.working
    effect = _EFFECTS.get(step.action)
    if effect is not None:
        effect(step, record, source)
    if target == State.PLATFORM_REFUNDING and source != target:
        request_refund(step, record)


def _open(command: c.Apply, state: State, now_ms: int) -> AfterSale:
    return AfterSale(
        request_id=command.request_id,
        order_id=command.order_id,
        sku_id=command.sku_id,
        shop_id=command.shop_id,
        buyer_id=command.buyer_id,
        type=AfterSaleType(command.type),
        state=state,
        amount=command.amount,
        paid_amount=command.paid_amount,
        reason=BuyerReason(command.reason),
        first_reason=BuyerReason(command.reason),
        after_sale_deadline_ms=command.after_sale_deadline_ms,
        created_at_ms=now_ms,
        updated_at_ms=now_ms,
        description=command.description,
        evidence=list(command.evidence_images),
        return_address=command.return_address,
    )


def _approve(step: Step, record: AfterSale, _: State) -> None:
    assert isinstance(step.command, c.Approve)
    if step.command.return_address:
        record.return_address = step.command.return_address


def _negotiate(step: Step, record: AfterSale, source: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.Negotiate)
    to_refund = negotiation_spec(cmd.option).proposal == Proposal.TO_REFUND
    proposed_type = AfterSaleType.REFUND if to_refund else cmd.proposed_type
    negotiation = Negotiation(
        round=record.negotiation_rounds + 1,
        kind=NegotiationKind(cmd.kind),
        option=NegotiationOption(cmd.option),
        handling_state=source,
        application_round=record.application_round,
        message=cmd.message,  # what the merchant appended to the option's text
        filled=fill_message(NegotiationOption(cmd.option), cmd.message),
        images=list(cmd.images),
        proposed_type=AfterSaleType(proposed_type) if proposed_type else None,
        proposed_amount=cmd.proposed_amount,
        sent_at_ms=step.now_ms,
        return_address=cmd.return_address,
    )
    step.send_negotiation(negotiation)


def _accept(step: Step, record: AfterSale, _: State) -> None:
    negotiation = step.end_negotiation(NegotiationOutcome.ACCEPTED)
    if negotiation.kind == NegotiationKind.MODIFY_APPLICATION:
        record.type = negotiation.proposed_type or record.type
        record.amount = negotiation.proposed_amount or record.amount
        record.return_address = negotiation.return_address or record.return_address
    elif negotiation.kind == NegotiationKind.INVITE_CANCEL:
        record.close_reason = CloseReason.NEGOTIATED_CANCEL


def _answer(outcome: NegotiationOutcome) -> Effect:
    def answer(step: Step, record: AfterSale, _: State) -> None:
        negotiation = step.end_negotiation(outcome)
        cmd = step.command
        if isinstance(cmd, c.RejectNegotiation | c.SupplementEvidence):
            negotiation.buyer_message = cmd.message
        if isinstance(cmd, c.SupplementEvidence):
            negotiation.buyer_images = list(cmd.images)
            record.evidence.extend(cmd.images)

    return answer


def _reject(step: Step, record: AfterSale, source: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.Reject)
    reason = RejectReason(cmd.reason)
    record.rejection = Rejection(reason, cmd.message, list(cmd.images), source, step.now_ms)
    _open_escalation_window(step, record, source)


def _open_escalation_window(step: Step, record: AfterSale, _: State) -> None:
    record.escalation_deadline_ms = step.now_ms + step.policy.durations.escalation_window_ms


def _modify(step: Step, record: AfterSale, _: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.ModifyApplication)
    step.supersede_negotiation()
    record.type = AfterSaleType(cmd.type)
    record.amount = cmd.amount
    record.reason = BuyerReason(cmd.reason)  # first_reason stays: the shop is rated by it
    record.description = cmd.description
    record.evidence = list(cmd.images)
    record.application_round += 1
    record.rejection = None
    record.escalation_deadline_ms = None


def _close(reason: CloseReason) -> Effect:
    def close(step: Step, record: AfterSale, _: State) -> None:
        step.supersede_negotiation()
        record.close_reason = reason

    return close


def _waybill(step: Step, record: AfterSale, _: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.SubmitReturnWaybill)
    record.waybill = Waybill(cmd.carrier, cmd.waybill_id, step.now_ms)


def _contact_attempt(step: Step, record: AfterSale, _: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.RecordContactAttempt)
    channel, outcome = ContactChannel(cmd.channel), ContactOutcome(cmd.outcome)
    attempt = ContactAttempt(channel, outcome, cmd.attempted_at_ms, list(cmd.screenshots))
    record.contact_attempts.append(attempt)


def _contact_quota(step: Step, record: AfterSale, _: State) -> None:
    record.contact_quota_requests += 1
    step.signals.append(Signal.CONTACT_QUOTA_REQUESTED)


_EFFECTS: dict[Action, Effect] = {
    Action.APPROVE: _approve,
    Action.NEGOTIATE: _negotiate,
    Action.WITHDRAW_NEGOTIATION: _answer(NegotiationOutcome.WITHDRAWN),
    Action.ACCEPT_NEGOTIATION: _accept,
    Action.REJECT_NEGOTIATION: _answer(NegotiationOutcome.REJECTED),
    Action.SUPPLEMENT_EVIDENCE: _answer(NegotiationOutcome.EVIDENCE_SUPPLIED),
    Action.NEGOTIATION_TIMEOUT: _answer(NegotiationOutcome.TIMED_OUT),
    Action.REJECT: _reject,
    Action.MODIFY_APPLICATION: _modify,
    Action.CANCEL: _close(CloseReason.BUYER_CANCELLED),
    Action.SUBMIT_RETURN_WAYBILL: _waybill,
    Action.RETURN_SHIP_TIMEOUT: _open_escalation_window,
    Action.ESCALATION_EXPIRED: _close(CloseReason.ESCALATION_EXPIRED),
    Action.CLOSE_REFUND: _close(CloseReason.REFUND_CLOSED),
    Action.RECORD_CONTACT_ATTEMPT: _contact_attempt,
    Action.REQUEST_CONTACT_QUOTA: _contact_quota,
    **DISPUTE_EFFECTS,
    **REFUND_EFFECTS,
}
