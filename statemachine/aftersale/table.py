"""The machine's transition table as plain data, read once from ``AfterSaleMachine``.

Reads that ask "which actions from here" (``aftersale.allowed``) and the generated README
(``aftersale.diagram``) use it, so neither builds a machine.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from aftersale.machine import NEW_STATE, AfterSaleMachine
from aftersale.refunds import REFUND_REASONS
from aftersale.vocabulary import ACTION_ROLES, NEGOTIATION_ANSWERS, Action, Role, State


@dataclass(frozen=True, slots=True)
class TransitionSpec:
    """One transition of the machine: ``source`` None is the pseudo-state before apply."""

    action: Action
    source: State | None
    target: State
    guards: tuple[str, ...]


def _read_table() -> tuple[TransitionSpec, ...]:
    table = []
    for state in AfterSaleMachine.states:
        for transition in state.transitions:
            source = None if state.value == NEW_STATE else State(state.value)
            guards = tuple(str(spec) for spec in transition.cond)
            for event in transition.events:
                table.append(
                    TransitionSpec(Action(event), source, State(transition.target.value), guards)
                )
    return tuple(table)


TRANSITIONS: tuple[TransitionSpec, ...] = _read_table()
ACTIONS_FROM: dict[State | None, tuple[Action, ...]] = {
    source: tuple(dict.fromkeys(t.action for t in TRANSITIONS if t.source == source))
    for source in (None, *State)
}
SOURCES_OF: dict[Action, tuple[State | None, ...]] = {
    action: tuple(dict.fromkeys(t.source for t in TRANSITIONS if t.action == action))
    for action in Action
}


def actions_for(state: State | None, role: Role) -> tuple[Action, ...]:
    """The actions ``role`` may take from ``state`` (None: no request yet) by the table, guards
    aside."""
    return tuple(a for a in ACTIONS_FROM[state] if role in ACTION_ROLES[a])


def drift(
    transitions: tuple[TransitionSpec, ...],
    refund_reasons: Collection[Action],
    negotiation_answers: Collection[Action],
) -> list[str]:
    """Where groups of actions kept as data beside the machine disagree with its table."""
    found = []
    moves_money = {
        t.action
        for t in transitions
        if t.target == State.PLATFORM_REFUNDING and t.source != State.PLATFORM_REFUNDING
    }
    if set(refund_reasons) != moves_money:
        found.append(
            f"refund reasons for {_names(refund_reasons)}, money moves on {_names(moves_money)}"
        )
    back = {t.action for t in transitions if "back_to_handling" in t.guards}
    if set(negotiation_answers) != back:
        found.append(
            f"negotiation answers {_names(negotiation_answers)}, back to handling on {_names(back)}"
        )
    return found


def _names(actions: Collection[Action]) -> str:
    return ", ".join(sorted(a.value for a in actions))


# A drift fails every import of the domain (and so every test), never a command at run time.
if _found := drift(TRANSITIONS, REFUND_REASONS, NEGOTIATION_ANSWERS):
    raise RuntimeError("the machine's table disagrees with: " + "; ".join(_found))
