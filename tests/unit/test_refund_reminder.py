"""SPEC §3, §6: a refund whose result never comes is not forgotten. In PLATFORM_REFUNDING the
``refund_reminder`` timer re-signals the same refund (same id, same amount) every reminder
period; after the configured number of reminders the refund is flagged for ops and the
reminders stop. A result that comes late still lands."""

from __future__ import annotations

from aftersale.commands import RefundSucceeded
from aftersale.vocabulary import Action, Signal, State
from tests.unit.builders import PAYMENT, World


def test_a_reminder_re_signals_the_same_refund(world: World) -> None:
    record = world.refunding()
    assert record.refund is not None and record.timer is not None
    requested = world.events[-1]

    reminded = world.fire(record, Action.REFUND_REMINDER)

    event = world.events[-1]
    assert reminded.state is State.PLATFORM_REFUNDING
    assert reminded.version == record.version + 1
    assert Signal.REFUND_REQUESTED in event.signals
    assert (event.refund_id, event.refund_amount, event.refund_reason) == (
        requested.refund_id,
        requested.refund_amount,
        requested.refund_reason,
    )
    assert reminded.timer is not None and reminded.timer.due_ms > record.timer.due_ms


def test_after_the_last_reminder_the_refund_is_flagged_and_the_reminders_stop(
    world: World,
) -> None:
    record = world.refunding()

    for _ in range(world.policy.max_refund_reminders):
        record = world.fire(record, Action.REFUND_REMINDER)

    assert record.refund is not None and record.refund.flagged_at_ms == world.now
    assert Signal.REFUND_UNANSWERED in world.events[-1].signals
    assert record.refund.reminders == world.policy.max_refund_reminders
    assert record.timer is None


def test_a_late_result_still_lands_after_reminders(world: World) -> None:
    record = world.refunding()
    record = world.fire(record, Action.REFUND_REMINDER)
    assert record.refund is not None

    paid = world.act(record, RefundSucceeded(record.refund.refund_id), PAYMENT)

    assert paid.state is State.MERCHANT_REFUND_SUCCESS
    assert paid.timer is None
