"""The effects of platform arbitration (平台介入, SPEC §3): escalation, intervention, proof
requests and submissions, missed deadlines, withdrawal and the verdict."""

from __future__ import annotations

from aftersale import commands as c
from aftersale.model import AfterSale, Dispute, Proof, ProofRequest
from aftersale.step import Effect, Step
from aftersale.vocabulary import Action, CloseReason, ProofParty, Role, State, Verdict


def _escalate(step: Step, record: AfterSale, source: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.Escalate)
    record.dispute = Dispute(Role.BUYER, source, step.now_ms, cmd.message)
    record.disputes += 1
    if cmd.images:  # the buyer's escalation evidence counts toward the dispute's images
        record.dispute.proofs.append(Proof(Role.BUYER, cmd.message, list(cmd.images), step.now_ms))


def _intervene(step: Step, record: AfterSale, source: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.Intervene)
    step.supersede_negotiation()
    if source == State.PLATFORM_ARBITRATING and record.dispute is not None:
        # The platform takes over a buyer's escalation: the buyer can no longer withdraw it.
        record.dispute.escalated_by = Role.PLATFORM
    else:
        record.dispute = Dispute(Role.PLATFORM, source, step.now_ms, cmd.message)
        record.disputes += 1


def _request_proof(step: Step, record: AfterSale, _: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.RequestProof) and record.dispute is not None
    relative = cmd.deadline_in_ms or step.policy.durations.proof_deadline_ms
    deadline = cmd.deadline_at_ms or step.now_ms + relative
    record.dispute.proof_requests.append(
        ProofRequest(ProofParty(cmd.party), deadline, cmd.note, step.now_ms)
    )


def _submit_proof(step: Step, record: AfterSale, _: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.SubmitProof) and record.dispute is not None
    role = step.actor.role
    record.dispute.proofs.append(Proof(role, cmd.message, list(cmd.images), step.now_ms))
    for request in record.dispute.proof_requests:
        if role in request.open_parties and request.deadline_ms >= step.now_ms:
            request.submitted.append(role)


def _proof_timeout(step: Step, record: AfterSale, _: State) -> None:
    assert record.dispute is not None
    # A timer ops fire early counts as its deadline having come.
    cutoff = max(step.now_ms, record.timer.due_ms if record.timer else step.now_ms)
    for request in record.dispute.proof_requests:
        if request.deadline_ms <= cutoff:
            for role in request.open_parties:
                request.missed.append(role)
                record.dispute.missed_proof.append(role)


def _withdraw(step: Step, record: AfterSale, _: State) -> None:
    record.dispute = None  # the escalation deadline keeps running; history keeps the dispute


def _resolve(step: Step, record: AfterSale, _: State) -> None:
    cmd = step.command
    assert isinstance(cmd, c.ResolveDispute) and record.dispute is not None
    verdict = Verdict(cmd.verdict)
    record.dispute.verdict = verdict
    record.dispute.resolved_at_ms = step.now_ms
    if verdict == Verdict.BUYER_LIABLE:
        record.close_reason = CloseReason.DISPUTE_BUYER_LIABLE
    else:
        record.dispute.refund_amount = cmd.refund_amount or record.amount


DISPUTE_EFFECTS: dict[Action, Effect] = {
    Action.ESCALATE: _escalate,
    Action.INTERVENE: _intervene,
    Action.REQUEST_PROOF: _request_proof,
    Action.SUBMIT_PROOF: _submit_proof,
    Action.PROOF_TIMEOUT: _proof_timeout,
    Action.WITHDRAW_ESCALATION: _withdraw,
    Action.RESOLVE_DISPUTE: _resolve,
}
