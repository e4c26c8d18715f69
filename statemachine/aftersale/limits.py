"""Caps on what one request accumulates (SPEC §8): evidence, contact attempts and quota
requests, disputes, proof requests and proofs, refund attempts.

Each cap keeps a record, its history and every stored copy of it at a known maximum size
(``MAX_RECORD_BYTES``, tested over the worst sequence of allowed calls), so no caller can grow
a request until no client can read it. A cap that is reached refuses the action with its own
reason (``LimitExceeded``, FAILED_PRECONDITION); the request itself stays usable.
"""

from __future__ import annotations

from aftersale import commands as c
from aftersale.exceptions import Refusal
from aftersale.model import AfterSale
from aftersale.policy import Policy
from aftersale.refusals import refusal

# The largest a record can get under the default policy (the worst case is built in
# tests/unit/test_request_limits.py measured 358 KB): far below gRPC's 4 MiB messages.
MAX_RECORD_BYTES = 512 * 1024


def proof_images_used(record: AfterSale) -> int:
    """Proof images already submitted in the current dispute."""
    return sum(len(p.images) for p in record.dispute.proofs) if record.dispute else 0


def limit_refusal(record: AfterSale, command: c.Command, policy: Policy) -> Refusal | None:
    """The cap ``command`` would push ``record`` past, if any."""
    match command:
        case c.SupplementEvidence():
            return _over("EVIDENCE_LIMIT", len(record.evidence), len(command.images),
                         policy.max_evidence_images)  # fmt: skip
        case c.RecordContactAttempt():
            return _over("CONTACT_ATTEMPT_LIMIT", len(record.contact_attempts), 1,
                         policy.max_contact_attempts)  # fmt: skip
        case c.RequestContactQuota():
            return _over("CONTACT_QUOTA_LIMIT", record.contact_quota_requests, 1,
                         policy.max_contact_quota_requests)  # fmt: skip
        case c.Escalate() | c.Intervene() if record.dispute is None:
            return _over("DISPUTE_LIMIT", record.disputes, 1, policy.max_disputes)
        case c.RequestProof() if record.dispute is not None:
            return _over("PROOF_REQUEST_LIMIT", len(record.dispute.proof_requests), 1,
                         policy.max_proof_requests)  # fmt: skip
        case c.SubmitProof() if record.dispute is not None:
            used = proof_images_used(record)
            if used + len(command.images) > policy.max_dispute_proof_images:
                limit = policy.max_dispute_proof_images
                return refusal("PROOF_IMAGE_LIMIT", limit=limit, used=used)
            return _over("PROOF_LIMIT", len(record.dispute.proofs), 1, policy.max_proofs)
        case c.RetryRefund() if record.refund is not None:
            return _over("REFUND_ATTEMPT_LIMIT", record.refund.attempt, 1,
                         policy.max_refund_attempts)  # fmt: skip
    return None


def _over(reason: str, used: int, adding: int, limit: int) -> Refusal | None:
    return refusal(reason, limit=limit, used=used) if used + adding > limit else None
