"""Rejection with evidence (SPEC §5): before rejecting, the merchant must have negotiated.

A reject reason is unlocked only by a negotiation of a matching option that answered the
buyer's latest application or modification, was sent from where the request is now, and
ended REJECTED or TIMED_OUT. A refusal names the negotiation to send first.
"""

from __future__ import annotations

from aftersale import commands as c
from aftersale.catalog import REJECT_REASONS, RejectReasonSpec, negotiation_spec, reject_reason_spec
from aftersale.exceptions import Refusal
from aftersale.model import AfterSale
from aftersale.policy import Policy
from aftersale.refusals import refusal
from aftersale.vocabulary import FAILED_OUTCOMES, RejectReason


def negotiate_allowed(record: AfterSale, policy: Policy) -> Refusal | None:
    """Whether the merchant may open a negotiation at all (one open, round cap)."""
    if record.negotiation is not None:
        return refusal("NEGOTIATION_OPEN")
    if record.negotiation_rounds >= policy.max_negotiation_rounds:
        return refusal("ROUND_LIMIT", limit=policy.max_negotiation_rounds)
    return None


def unlocked_reject_reasons(record: AfterSale) -> list[RejectReason]:
    """The reject reasons a failed negotiation has unlocked for the current application."""
    return [
        spec.reason
        for spec in REJECT_REASONS.values()
        if record.state in spec.from_states and _unlocked(record, spec)
    ]


def _unlocked(record: AfterSale, spec: RejectReasonSpec) -> bool:
    # Only a negotiation answering the latest application, sent from where the request is now
    # and refused or ignored by the buyer, shows the merchant negotiated first (seed §1–§3).
    return any(
        n.option in spec.unlocking_options
        and n.outcome in FAILED_OUTCOMES
        and n.application_round == record.application_round
        and n.handling_state == record.state
        for n in record.negotiations
    )


def reject_refusal(record: AfterSale, reason: RejectReason, policy: Policy) -> Refusal | None:
    """Whether the merchant may reject with ``reason`` now (images aside)."""
    spec = reject_reason_spec(reason)
    if spec.always_forbidden:
        return refusal("REJECTION_FORBIDDEN", reject_reason=reason)
    if record.state not in spec.from_states:
        return refusal("REASON_NOT_FOR_STATE", reject_reason=reason, state=record.state)
    if _unlocked(record, spec):
        return None
    next_en, next_zh = _negotiate_first(record, spec, policy)
    return refusal(
        "NEGOTIATION_REQUIRED",
        reject_reason=reason,
        options=spec.unlocking_options,
        next_en=next_en,
        next_zh=next_zh,
    )


def _negotiate_first(record: AfterSale, spec: RejectReasonSpec, policy: Policy) -> tuple[str, str]:
    """The recommended next step for a rejection that needs a failed negotiation first."""
    if negotiate_allowed(record, policy) is not None:
        return (
            "No negotiation round is left: approve the request.",
            "协商次数已用完,请同意售后。",
        )
    options = [o for o in spec.unlocking_options if record.state in negotiation_spec(o).from_states]
    if spec.reason == RejectReason.BUYER_UNREACHABLE and not record.contact_attempts:
        return (
            "Record a failed contact attempt, then send UNABLE_TO_CONTACT; if the buyer rejects "
            "it or lets it time out, you may reject with BUYER_UNREACHABLE.",
            "请先记录联系买家未果,再发起“无法联系或联系不上买家”协商;买家拒绝或超时未处理后,"
            "方可以“联系不上买家”拒绝。",
        )
    names = " or ".join(o.value for o in options)
    titles = "”或“".join(negotiation_spec(o).title_zh for o in options)
    return (
        f"Send {names} first; if the buyer rejects it or lets it time out, you may reject "
        f"with {spec.reason.value}.",
        f"请先发起协商“{titles}”;买家拒绝或超时未处理后,方可以“{spec.title_zh}”拒绝。",
    )


def reject_allowed(record: AfterSale, policy: Policy) -> Refusal | None:
    """Whether any reject reason is unlocked now; if none, what to negotiate first."""
    if unlocked_reject_reasons(record):
        return None
    usable = [s for s in REJECT_REASONS.values() if record.state in s.from_states]
    steps = list(dict.fromkeys(_negotiate_first(record, spec, policy) for spec in usable))
    return refusal(
        "NEGOTIATION_REQUIRED",
        reject_reason_en="any reason",
        reject_reason_zh="任何理由",
        options=tuple(o for s in usable for o in s.unlocking_options),
        next_en=" ".join(en for en, _ in steps),
        next_zh="".join(zh for _, zh in steps),
    )


def reject_command(record: AfterSale, command: c.Reject, policy: Policy) -> Refusal | None:
    """Every guard of one rejection that depends on the request (its images are checked with
    the command's shape: ``aftersale.validation``)."""
    return reject_refusal(record, command.reason, policy)
