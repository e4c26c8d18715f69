"""The money effects (SPEC §2–§3): a new refund whenever the request enters
PLATFORM_REFUNDING, and what payment reports and offline refunds record on it."""

from __future__ import annotations

from aftersale import commands as c
from aftersale.model import AfterSale, Refund
from aftersale.step import Effect, Step
from aftersale.vocabulary import Action, RefundReason, Signal, State

# Why money moves when an action takes the request into PLATFORM_REFUNDING. Which actions do
# is the machine's fact: ``aftersale.table`` checks at import that these are exactly those.
REFUND_REASONS: dict[Action, RefundReason] = {
    Action.APPROVE: RefundReason.MERCHANT_APPROVED,
    Action.MERCHANT_TIMEOUT: RefundReason.MERCHANT_TIMEOUT,
    Action.ACCEPT_NEGOTIATION: RefundReason.NEGOTIATION_ACCEPTED,
    Action.CONFIRM_RECEIPT: RefundReason.RECEIPT_CONFIRMED,
    Action.RECEIPT_TIMEOUT: RefundReason.RECEIPT_TIMEOUT,
    Action.RESOLVE_DISPUTE: RefundReason.PLATFORM_DISPUTE,
    Action.RETRY_REFUND: RefundReason.PLATFORM_RETRY,
}


def request_refund(step: Step, record: AfterSale) -> None:
    """Ask the payment service for a new refund: the request amount, the dispute's amount
    after a verdict, or the failed refund's amount on a retry."""
    previous = record.refund
    if step.action == Action.RESOLVE_DISPUTE and record.dispute and record.dispute.refund_amount:
        amount = record.dispute.refund_amount
    elif step.action == Action.RETRY_REFUND and previous is not None:
        amount = previous.amount
    else:
        amount = record.amount
    # Every refund gets a new attempt number, so a refund id is never reused for other money.
    attempt = previous.attempt + 1 if previous else 1
    record.refund = Refund(
        refund_id=f"{record.request_id}-R{attempt}",
        refund_reason=REFUND_REASONS[step.action],
        amount=amount,
        requested_at_ms=step.now_ms,
        attempt=attempt,
    )
    step.signals.append(Signal.REFUND_REQUESTED)


def _refunded(step: Step, record: AfterSale, _: State) -> None:
    assert record.refund is not None
    record.refund.succeeded_at_ms = step.now_ms


def _failed(step: Step, record: AfterSale, _: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.RefundFailed) and record.refund is not None
    record.refund.failure_reason = cmd.failure_reason
    record.refund.failed_at_ms = step.now_ms


def _offline_proof(step: Step, record: AfterSale, _: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.UploadRefundProof) and record.refund is not None
    record.refund.offline_proof_images = list(cmd.images)
    record.refund.offline_proof_message = cmd.message


def _remind(step: Step, record: AfterSale, _: State) -> None:
    """No payment result within the reminder period: ask again for the same refund (the
    payment service is idempotent on ``refund_id``); after the last reminder, flag it."""
    refund = record.refund
    assert refund is not None
    refund.reminders += 1
    step.signals.append(Signal.REFUND_REQUESTED)
    if refund.reminders >= step.policy.max_refund_reminders:
        refund.flagged_at_ms = step.now_ms
        step.signals.append(Signal.REFUND_UNANSWERED)


REFUND_EFFECTS: dict[Action, Effect] = {
    Action.REFUND_REMINDER: _remind,
    Action.REFUND_SUCCEEDED: _refunded,
    Action.REFUND_FAILED: _failed,
    Action.UPLOAD_REFUND_PROOF: _offline_proof,
    Action.CONFIRM_OFFLINE_REFUND: _refunded,
    Action.OFFLINE_REFUND_CONFIRM_TIMEOUT: _refunded,
}
