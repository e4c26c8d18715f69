"""One command against one record: the domain's single entry point for writes.

``decide`` copies the record, runs the machine over the copy with the command, bumps the
version and returns the new record, its transition event and its timer. A refused command
raises (an ``AfterSaleError``) and the stored record is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from aftersale.commands import Command
from aftersale.events import TransitionEvent
from aftersale.model import Actor, AfterSale, PendingTimer
from aftersale.policy import Policy


@dataclass(frozen=True, slots=True)
class Decision:
    record: AfterSale  # the new record (version + 1), or the unchanged one for a no-op
    event: TransitionEvent | None  # None: an idempotent no-op (nothing to commit)
    previous_timer: PendingTimer | None  # the timer the commit replaces

    @property
    def timer(self) -> PendingTimer | None:
        return self.record.timer


def decide(
    record: AfterSale | None, command: Command, actor: Actor, now_ms: int, policy: Policy
) -> Decision:
    """Run ``command`` by ``actor`` at ``now_ms`` over ``record`` (None only for ``Apply``)."""
    raise NotImplementedError
