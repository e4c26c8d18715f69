"""Which actions an actor may take on a request now, and why not the others (SPEC §8).

Answered from the machine's transition table (read once from the class) and the record-only
rules: no machine is built, so reads stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

from aftersale import rules
from aftersale.exceptions import PermissionDenied, Refusal
from aftersale.model import Actor, AfterSale
from aftersale.policy import Policy
from aftersale.refusals import invalid_state, refusal
from aftersale.rejection import unlocked_reject_reasons
from aftersale.table import SOURCES_OF, actions_for
from aftersale.vocabulary import ACTION_ROLES, Action, Role


@dataclass(frozen=True, slots=True)
class ActionVerdict:
    """One action's answer: allowed now, or refused with the reason and the next step."""

    action: Action
    allowed: bool
    refusal: Refusal | None = None
    # negotiate: the options sendable now; reject: the reasons a failed negotiation unlocked
    options: tuple[str, ...] = ()


def allowed_actions(
    record: AfterSale, actor: Actor, now_ms: int, policy: Policy
) -> list[ActionVerdict]:
    """Every action ``actor``'s role may take in general, each allowed now or refused.

    Raises ``PermissionDenied`` when a buyer or merchant is not a party to the request."""
    why = rules.not_owner(record, actor)
    if why is not None:
        raise PermissionDenied(record.request_id, f"{actor.role.value}:{actor.id}", why)
    from_here = actions_for(record.state, actor.role)
    verdicts = []
    for action in Action:
        if action == Action.APPLY or actor.role not in ACTION_ROLES[action]:
            continue
        if action not in from_here:
            verdicts.append(ActionVerdict(action, False, _elsewhere(record, action)))
        elif actor.role == Role.SYSTEM:
            pending = record.timer is not None and record.timer.action == action
            stale = None if pending else refusal("STALE_TIMER", action=action.value)
            verdicts.append(ActionVerdict(action, pending, stale))
        else:
            found = rules.precondition(action, record, actor, now_ms, policy)
            verdicts.append(ActionVerdict(action, found is None, found, _options(record, action)))
    return verdicts


def _options(record: AfterSale, action: Action) -> tuple[str, ...]:
    if action == Action.NEGOTIATE:
        return tuple(o.value for o in rules.sendable_options(record))
    if action == Action.REJECT:
        return tuple(r.value for r in unlocked_reject_reasons(record))
    return ()


def _elsewhere(record: AfterSale, action: Action) -> Refusal:
    sources = tuple(s for s in SOURCES_OF[action] if s is not None)
    return invalid_state(action, record.state, sources)
