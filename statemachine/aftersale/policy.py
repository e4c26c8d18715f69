"""The configurable rules: timer durations (SPEC §6) and limits (SPEC §4, §8)."""

from __future__ import annotations

from dataclasses import dataclass, field

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class TimerDurations:
    merchant_handling_ms: int = 48 * HOUR_MS
    negotiation_reply_ms: int = 48 * HOUR_MS  # inferred
    merchant_after_negotiation_ms: int = 48 * HOUR_MS  # inferred: a fresh 48 h
    return_ship_ms: int = 7 * DAY_MS
    receipt_ms: int = 10 * DAY_MS
    escalation_window_ms: int = 7 * DAY_MS
    proof_deadline_ms: int = 3 * DAY_MS  # inferred
    offline_refund_ms: int = 3 * DAY_MS  # inferred
    offline_refund_confirm_ms: int = 7 * DAY_MS  # inferred
    refund_reminder_ms: int = 2 * HOUR_MS  # inferred: the payment result is overdue


@dataclass(frozen=True, slots=True)
class Policy:
    durations: TimerDurations = field(default_factory=TimerDurations)
    max_negotiation_rounds: int = 3  # inferred: stops stalling by endless evidence requests
    max_attempts_per_line: int = 5  # applications + modifications per order line
    max_text_chars: int = 500
    max_images: int = 9
    max_dispute_proof_images: int = 20
    # What a request accumulates, capped so a record has a known maximum size (SPEC §8):
    max_evidence_images: int = 30  # the buyer's evidence over the request's life
    max_contact_attempts: int = 10
    max_contact_quota_requests: int = 10
    max_disputes: int = 3  # escalations and interventions
    max_proof_requests: int = 10  # per dispute
    max_proofs: int = 20  # submissions per dispute
    max_refund_attempts: int = 5  # payment retries after failures
    max_refund_reminders: int = 3  # then the unanswered refund is flagged for ops
    max_media_ref_chars: int = 512
    max_proof_deadline_ms: int = 30 * DAY_MS  # a proof deadline ops may set: never years away
    max_amount: int = 10**12  # fen: far above any order, keeps sums well inside int64
