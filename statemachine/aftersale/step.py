"""One command running over one record: what the machine's guards and callbacks see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aftersale import commands as c
from aftersale.model import Actor, AfterSale, Negotiation
from aftersale.policy import Policy
from aftersale.vocabulary import Action, NegotiationOutcome, Signal, State


@dataclass(slots=True)
class Step:
    """The command, who sends it and when, and the working copy of the record it changes."""

    command: c.Command
    actor: Actor
    now_ms: int
    policy: Policy
    record: AfterSale | None = None  # the working copy; ``apply`` creates it
    signals: list[Signal] = field(default_factory=list)  # facts for subscribers, on the event
    touched: Negotiation | None = None  # the negotiation this step sent or ended, for the event

    @property
    def action(self) -> Action:
        return c.action_of(self.command)

    @property
    def working(self) -> AfterSale:
        assert self.record is not None, "only apply runs without a record"
        return self.record

    def send_negotiation(self, negotiation: Negotiation) -> None:
        """Open ``negotiation``: the buyer's answer is awaited."""
        self.working.negotiation = negotiation
        self.touched = negotiation

    def end_negotiation(self, outcome: NegotiationOutcome) -> Negotiation:
        """End the open negotiation with ``outcome`` and move it to the past rounds."""
        record = self.working
        negotiation = record.negotiation
        assert negotiation is not None
        negotiation.outcome = outcome
        negotiation.ended_at_ms = self.now_ms
        record.negotiations.append(negotiation)
        record.negotiation = None
        self.touched = negotiation
        return negotiation

    def supersede_negotiation(self) -> None:
        """An open negotiation the request moves past without an answer ends SUPERSEDED."""
        if self.working.negotiation is not None:
            self.end_negotiation(NegotiationOutcome.SUPERSEDED)


# What an action writes on the working record, given the state it leaves.
Effect = Callable[[Step, AfterSale, State], None]
