"""The machine's transition table as plain data, read once from ``AfterSaleMachine``.

Reads that ask "which actions from here" (``aftersale.allowed``) and the generated README
(``aftersale.diagram``) use it, so neither builds a machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from aftersale.machine import NEW_STATE, AfterSaleMachine
from aftersale.vocabulary import ACTION_ROLES, Action, Role, State


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


def actions_for(state: State, role: Role) -> tuple[Action, ...]:
    """The actions ``role`` may take from ``state`` by the table (guards aside)."""
    return tuple(a for a in ACTIONS_FROM[state] if role in ACTION_ROLES[a])
