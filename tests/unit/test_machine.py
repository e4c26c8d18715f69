"""DESIGN §2: python-statemachine is the single source of the transition table. The machine
class must carry exactly the SPEC's states and actions, strictly, and the SPEC §3 table."""

from __future__ import annotations

from typing import Any

from aftersale.groups import TERMINAL_STATES
from aftersale.machine import AfterSaleMachine
from aftersale.refunds import REFUND_REASONS
from aftersale.table import TRANSITIONS, drift
from aftersale.vocabulary import NEGOTIATION_ANSWERS, Action, State
from tests.unit.builders import SPEC_TABLE, UNDECIDED_SOURCES


def machine_table() -> dict[str, dict[str, set[str]]]:
    """event id -> source state id -> target state ids, read from the machine class."""
    table: dict[str, dict[str, set[str]]] = {}
    for state in AfterSaleMachine.states:
        for transition in state.transitions:
            events: Any = transition.events
            for event in events:
                targets = table.setdefault(str(event), {}).setdefault(transition.source.id, set())
                targets.add(transition.target.id)
    return table


def test_the_machine_is_strict() -> None:
    assert AfterSaleMachine.allow_event_without_transition is False
    assert AfterSaleMachine.catch_errors_as_events is False


def test_the_machine_states_are_named_as_the_spec_states() -> None:
    names = {state.id for state in AfterSaleMachine.states if not state.initial}

    assert names == {s.value for s in State}


def test_a_pseudo_state_before_apply_is_left_only_by_apply() -> None:
    initial = next(state for state in AfterSaleMachine.states if state.initial)
    if initial.id in {s.value for s in State}:
        return  # no pseudo-state: the initial state is a request state

    leaving = {(str(e), t.target.id) for t in initial.transitions for e in t.events}

    assert leaving == {(Action.APPLY.value, State.MERCHANT_PROCESSING.value)}


def test_the_machine_final_states_are_the_terminal_states() -> None:
    final = {state.id for state in AfterSaleMachine.states if state.final}

    assert final == {s.value for s in TERMINAL_STATES}


def test_the_machine_events_are_named_as_the_spec_actions() -> None:
    events: Any = AfterSaleMachine.events  # a list on the class (typed as a method)
    names = {event.id for event in events}

    assert names - {Action.APPLY.value} == {a.value for a in Action} - {Action.APPLY.value}


def spec_allows(event: str, source: str, target: str) -> bool:
    if event not in {a.value for a in Action}:
        return False
    action = Action(event)
    if action is Action.APPLY or State(source) in UNDECIDED_SOURCES.get(action, frozenset()):
        return True
    targets = SPEC_TABLE[action].get(State(source), frozenset())
    return State(target) in targets


def test_every_machine_transition_is_a_row_of_the_spec_table() -> None:
    table = machine_table()

    extra = [
        (event, source, target)
        for event, sources in table.items()
        for source, targets in sources.items()
        for target in targets
        if not spec_allows(event, source, target)
    ]

    assert extra == []


def test_every_row_of_the_spec_table_is_a_machine_transition() -> None:
    table = machine_table()

    missing = [
        (action.value, source.value, target.value)
        for action, sources in SPEC_TABLE.items()
        for source, targets in sources.items()
        for target in targets
        if target.value not in table.get(action.value, {}).get(source.value, set())
    ]

    assert missing == []


def test_no_transition_leaves_a_terminal_state() -> None:
    table = machine_table()

    leaving = [
        (event, source)
        for event, sources in table.items()
        for source in sources
        if source in {s.value for s in TERMINAL_STATES}
    ]

    assert leaving == []


def test_the_groups_of_actions_kept_beside_the_machine_agree_with_its_table() -> None:
    assert drift(TRANSITIONS, REFUND_REASONS, NEGOTIATION_ANSWERS) == []


def test_an_action_that_moves_money_without_a_refund_reason_is_a_drift() -> None:
    reasons = {a: r for a, r in REFUND_REASONS.items() if a is not Action.RETRY_REFUND}

    found = drift(TRANSITIONS, reasons, NEGOTIATION_ANSWERS)

    assert len(found) == 1
    assert "retry_refund" in found[0]


def test_a_negotiation_answer_the_machine_does_not_send_back_to_handling_is_a_drift() -> None:
    answers = NEGOTIATION_ANSWERS | {Action.ACCEPT_NEGOTIATION}

    found = drift(TRANSITIONS, REFUND_REASONS, answers)

    assert len(found) == 1
    assert "accept_negotiation" in found[0]
