"""``ActionVerdict`` list → ``GetAllowedActionsResponse``: what may happen now, and why not.

A refusal names its reason (the ErrorInfo.reason the action would fail with) and the next
step; where the next step is an action, it is given as ``recommended_action`` too.
"""

from __future__ import annotations

from aftersale.allowed import ActionVerdict
from aftersale.model import AfterSale
from aftersale.vocabulary import Action, NegotiationOption, RejectReason
from service.api.convert_out import ACTION, OPTION, STATUS, name
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t

# refusal reason → the action that resolves it
RECOMMENDED: dict[str, Action] = {
    "NEGOTIATION_REQUIRED": Action.NEGOTIATE,
    "REJECTION_FORBIDDEN": Action.APPROVE,
    "CONTACT_ATTEMPT_REQUIRED": Action.RECORD_CONTACT_ATTEMPT,
    "PLAIN_ACCEPT_NOT_ALLOWED": Action.SUPPLEMENT_EVIDENCE,
    "EVIDENCE_NOT_REQUESTED": Action.ACCEPT_NEGOTIATION,
}


def _allowed(verdict: ActionVerdict) -> t.AllowedAction:
    options = reasons = ()
    if verdict.action is Action.NEGOTIATE:
        options = tuple(name(OPTION, NegotiationOption(o)) for o in verdict.options)
    elif verdict.action is Action.REJECT:
        reasons = tuple(name("REJECT_REASON_", RejectReason(r)) for r in verdict.options)
    return t.AllowedAction(
        action=name(ACTION, verdict.action),
        negotiation_options=options,
        reject_reasons=reasons,
    )


def _refused(verdict: ActionVerdict, sendable: frozenset[str]) -> t.RefusedAction:
    refusal = verdict.refusal
    reason = refusal.reason if refusal else "NOT_ALLOWED"
    recommended = RECOMMENDED.get(reason)
    options: list[str] = []
    if recommended is Action.NEGOTIATE:
        named = refusal.metadata.get("options", "") if refusal else ""
        options = [o for o in named.split(",") if o in sendable]
        if not options:  # none of them can be sent now (rounds used up): approve instead
            recommended = Action.APPROVE
    return t.RefusedAction(
        action=name(ACTION, verdict.action),
        reason=reason,
        explanation_zh=refusal.message_zh if refusal else "",
        explanation_en=refusal.message_en if refusal else "",
        next_step_zh=refusal.next_step_zh if refusal else "",
        next_step_en=refusal.next_step_en if refusal else "",
        recommended_action=name(ACTION, recommended),
        recommended_options=[name(OPTION, NegotiationOption(o)) for o in options],
    )


def allowed_actions(
    record: AfterSale, verdicts: list[ActionVerdict]
) -> pb.GetAllowedActionsResponse:
    """The response for ``record`` (its state and version) and the role's verdicts."""
    sendable = frozenset(
        o for v in verdicts if v.action is Action.NEGOTIATE and v.allowed for o in v.options
    )
    return pb.GetAllowedActionsResponse(
        state=name(STATUS, record.state),
        version=record.version,
        allowed=[_allowed(v) for v in verdicts if v.allowed],
        refused=[_refused(v, sendable) for v in verdicts if not v.allowed],
    )
