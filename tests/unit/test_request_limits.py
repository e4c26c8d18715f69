"""SPEC §8: what one request accumulates is capped, so a record has a known maximum size.

Each cap is taken up to its limit and one past it (refused with its own reason, the record
untouched); then the worst sequence of allowed calls, every text and reference at its longest
in three-byte characters, builds the largest record the default policy allows, which must
stay under ``MAX_RECORD_BYTES``.
"""

from __future__ import annotations

from aftersale.commands import (
    Escalate,
    Negotiate,
    RecordContactAttempt,
    RefundFailed,
    RejectNegotiation,
    RequestContactQuota,
    RequestProof,
    ResolveDispute,
    RetryRefund,
    SubmitProof,
    SupplementEvidence,
    UploadRefundProof,
    WithdrawEscalation,
)
from aftersale.exceptions import LimitExceeded
from aftersale.limits import MAX_RECORD_BYTES
from aftersale.model import AfterSale
from aftersale.policy import Policy
from aftersale.vocabulary import (
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    ProofParty,
    RejectReason,
    Verdict,
)
from service.storage.codec import encode_record, encode_record_object
from tests.unit.builders import (
    PAYMENT,
    PLATFORM,
    RETURN,
    World,
    buyer,
    merchant,
    refused,
    rejection,
)

LONGEST_TEXT = "字" * 500  # 1,500 bytes in UTF-8
LONGEST_REF = "图" * 512
NINE_LONGEST = (LONGEST_REF,) * 9
VERIFY = NegotiationKind.INVITE_VERIFY


def contact_attempt(world: World, screenshots: tuple[str, ...] = ()) -> RecordContactAttempt:
    return RecordContactAttempt(
        ContactChannel.PHONE, ContactOutcome.NO_ANSWER, world.now, screenshots
    )


def reason_of_refusal(world: World, record: AfterSale, command: object, who: object) -> str:
    error = refused(world, record, command, who, LimitExceeded)  # type: ignore[arg-type]
    assert isinstance(error, LimitExceeded)
    return error.reason


def test_contact_attempts_stop_at_their_cap(world: World) -> None:
    record = world.applied()
    for _ in range(world.policy.max_contact_attempts):
        record = world.act(record, contact_attempt(world), merchant(record))

    reason = reason_of_refusal(world, record, contact_attempt(world), merchant(record))

    assert reason == "CONTACT_ATTEMPT_LIMIT"
    assert len(record.contact_attempts) == world.policy.max_contact_attempts


def test_contact_quota_requests_stop_at_their_cap(world: World) -> None:
    record = world.applied()
    for _ in range(world.policy.max_contact_quota_requests):
        record = world.act(record, RequestContactQuota(), merchant(record))

    reason = reason_of_refusal(world, record, RequestContactQuota(), merchant(record))

    assert reason == "CONTACT_QUOTA_LIMIT"


def test_evidence_stops_at_its_cap_over_the_requests_life() -> None:
    world = World(policy=Policy(max_evidence_images=12))
    ask = Negotiate(VERIFY, NegotiationOption.EVIDENCE_UNCLEAR)
    applied = world.applied()
    record = world.act(applied, ask, merchant(applied))
    record = world.act(record, SupplementEvidence(("media/more.jpg",) * 9), buyer(record))
    record = world.act(record, ask, merchant(record))

    supplement = SupplementEvidence(("media/again.jpg",) * 9)
    reason = reason_of_refusal(world, record, supplement, buyer(record))

    assert reason == "EVIDENCE_LIMIT"
    assert len(record.evidence) == 11


def test_disputes_stop_at_their_cap(world: World) -> None:
    record = world.rejected(RETURN)
    for _ in range(world.policy.max_disputes):
        record = world.act(record, Escalate("help"), buyer(record))
        record = world.act(record, WithdrawEscalation(), buyer(record))

    reason = reason_of_refusal(world, record, Escalate("again"), buyer(record))

    assert reason == "DISPUTE_LIMIT"
    assert record.disputes == world.policy.max_disputes


def test_proof_requests_and_proofs_stop_at_their_caps(world: World) -> None:
    record = world.rejected(RETURN)
    record = world.act(record, Escalate("help"), buyer(record))
    for _ in range(world.policy.max_proof_requests):
        record = world.act(record, RequestProof(ProofParty.BOTH, "more"), PLATFORM)
    for _ in range(world.policy.max_proofs):
        record = world.act(record, SubmitProof("look"), buyer(record))

    asking = reason_of_refusal(world, record, RequestProof(ProofParty.BOTH), PLATFORM)
    proving = reason_of_refusal(world, record, SubmitProof("more"), buyer(record))

    assert (asking, proving) == ("PROOF_REQUEST_LIMIT", "PROOF_LIMIT")


def test_refund_retries_stop_at_their_cap(world: World) -> None:
    record = world.refund_failed()
    while record.refund is not None and record.refund.attempt < world.policy.max_refund_attempts:
        record = world.act(record, RetryRefund(), PLATFORM)
        record = world.act(record, RefundFailed(record.refund.refund_id, "again"), PAYMENT)  # type: ignore[union-attr]

    reason = reason_of_refusal(world, record, RetryRefund(), PLATFORM)

    assert reason == "REFUND_ATTEMPT_LIMIT"


def test_no_sequence_of_allowed_calls_grows_a_record_past_its_maximum(world: World) -> None:
    record = worst_record(world)

    # the larger of Redis's positional blob and the archive's object form
    size = max(len(encode_record(record)), len(encode_record_object(record)))

    assert size <= MAX_RECORD_BYTES, f"{size} bytes"
    assert size > MAX_RECORD_BYTES // 4, "the worst case should come near the stated maximum"


def worst_record(world: World) -> AfterSale:
    """Every list a record keeps filled to its cap, every text and reference at its longest."""
    policy = world.policy
    record = world.applied(type=RETURN)
    for _ in range(policy.max_contact_attempts):
        record = world.act(record, contact_attempt(world, NINE_LONGEST), merchant(record))
    for round_ in range(policy.max_negotiation_rounds):
        ask = Negotiate(VERIFY, NegotiationOption.EVIDENCE_UNCLEAR, NINE_LONGEST, LONGEST_TEXT)
        record = world.act(record, ask, merchant(record))
        last = round_ == policy.max_negotiation_rounds - 1  # refused: it unlocks the rejection
        answer = (
            RejectNegotiation(LONGEST_TEXT)
            if last
            else SupplementEvidence(NINE_LONGEST, LONGEST_TEXT)
        )
        record = world.act(record, answer, buyer(record))
    reject = rejection(RejectReason.EVIDENCE_NOT_PROVIDED, NINE_LONGEST)
    record = world.act(record, reject, merchant(record))
    record = world.act(record, Escalate(LONGEST_TEXT, NINE_LONGEST), buyer(record))
    for _ in range(policy.max_proof_requests):
        record = world.act(record, RequestProof(ProofParty.BOTH, LONGEST_TEXT), PLATFORM)
    images = policy.max_dispute_proof_images - 9
    for index in range(policy.max_proofs - 1):
        batch = NINE_LONGEST[: max(0, min(9, images - 9 * index))]
        record = world.act(record, SubmitProof(LONGEST_TEXT, batch), buyer(record))
    record = world.act(
        record, ResolveDispute(Verdict.MERCHANT_LIABLE, None, LONGEST_TEXT), PLATFORM
    )
    assert record.refund is not None
    record = world.act(record, RefundFailed(record.refund.refund_id, LONGEST_TEXT), PAYMENT)
    return world.act(record, UploadRefundProof(NINE_LONGEST, LONGEST_TEXT), merchant(record))
