"""SPEC §3: a RETURN always has the shop's return address before the buyer is asked to ship.

The order system passes the shop's default at ``apply``; ``approve`` may override it; every
way to become a RETURN and every way into USER_WAIT_RETURN (approve, the merchant timeout,
an accepted modification) shares one guard, so no timer sends a buyer off with nowhere to
ship to.
"""

from __future__ import annotations

import pytest

from aftersale.commands import FireTimer, ModifyApplication, Negotiate
from aftersale.exceptions import ActionRefused
from aftersale.vocabulary import Action, BuyerReason, NegotiationKind, NegotiationOption, State
from tests.unit.builders import PAID, REFUND, RETURN, SYSTEM, World, buyer, merchant, refused


def test_a_return_without_a_return_address_is_refused_at_apply(world: World) -> None:
    with pytest.raises(ActionRefused) as caught:
        world.applied(type=RETURN, return_address="")

    assert caught.value.reason == "RETURN_ADDRESS_REQUIRED"


def test_a_refund_needs_no_return_address(world: World) -> None:
    record = world.applied(type=REFUND, return_address="")

    assert record.state is State.MERCHANT_PROCESSING


def test_the_merchant_timeout_never_asks_for_a_return_without_an_address(world: World) -> None:
    record = world.applied(type=RETURN)
    record.return_address = ""  # stored before a RETURN had to carry one
    assert record.timer is not None
    world.clock.set(record.timer.due_ms)

    fire = FireTimer(Action.MERCHANT_TIMEOUT, record.version)
    error = refused(world, record, fire, SYSTEM, ActionRefused)

    assert error.reason == "RETURN_ADDRESS_REQUIRED"


def test_modifying_a_refund_into_a_return_needs_an_address(world: World) -> None:
    record = world.applied(type=REFUND, return_address="")
    modify = ModifyApplication(RETURN, PAID, BuyerReason.NO_LONGER_WANT)

    error = refused(world, record, modify, buyer(record), ActionRefused)

    assert error.reason == "RETURN_ADDRESS_REQUIRED"


def test_a_plan_that_makes_a_refund_a_return_needs_an_address(world: World) -> None:
    record = world.applied(type=REFUND, return_address="")
    plan = Negotiate(
        NegotiationKind.MODIFY_APPLICATION,
        NegotiationOption.NEW_PLAN_AGREED,
        ("media/chat.png",),
        proposed_type=RETURN,
    )

    error = refused(world, record, plan, merchant(record), ActionRefused)

    assert error.reason == "RETURN_ADDRESS_REQUIRED"
