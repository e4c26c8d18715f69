"""statemachine/README.md is generated from the machine; it must never drift from it."""

from __future__ import annotations

from pathlib import Path

from aftersale.diagram import render
from aftersale.vocabulary import Action, State

README = Path(__file__).resolve().parents[2] / "statemachine" / "README.md"


def test_the_committed_state_diagram_matches_the_machine() -> None:
    committed = README.read_text(encoding="utf-8") if README.exists() else ""

    rendered = render()

    assert rendered == committed, "statemachine/README.md is stale: run `make diagram`"


def test_the_diagram_names_every_state_and_action() -> None:
    rendered = render()

    assert "mermaid" in rendered
    missing = [s.value for s in State if s.value not in rendered]
    missing += [a.value for a in Action if a.value not in rendered and a is not Action.APPLY]
    assert missing == []
