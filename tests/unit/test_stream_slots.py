"""Stream slots (``service.api.stream_slots``): one caller holds at most its cap, one calling
service never takes the streams kept for the others, and the total is a hard cap; every
refusal names the limit it hit."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from aftersale.model import Actor
from aftersale.vocabulary import Role
from service.api.caller import Caller
from service.api.errors import ResourceExhausted
from service.api.stream_slots import StreamLimits, StreamSlots

SERVICES = ("order-system", "payment", "ops")


def buyer(buyer_id: str) -> Caller:
    return Caller(Actor(Role.BUYER, buyer_id), "order-system", frozenset({Role.BUYER}))


PAYMENT = Caller(Actor(Role.PAYMENT, "payment"), "payment", frozenset({Role.PAYMENT}))
OPS = Caller(Actor(Role.PLATFORM, "ops-1"), "ops", frozenset({Role.PLATFORM}))


def refusal(slots: StreamSlots, held: ExitStack, caller: Caller) -> str:
    """The reason ``caller`` is refused a stream now (fails if it is given one)."""
    with pytest.raises(ResourceExhausted) as refused:
        held.enter_context(slots.slot(caller))
    return refused.value.reason


def test_one_caller_holds_at_most_its_cap_and_others_of_its_service_still_open() -> None:
    slots = StreamSlots(StreamLimits(total=8, per_caller=2, reserved_per_service=2), SERVICES)

    with ExitStack() as held:
        held.enter_context(slots.slot(buyer("b-1")))
        held.enter_context(slots.slot(buyer("b-1")))
        reason = refusal(slots, held, buyer("b-1"))
        held.enter_context(slots.slot(buyer("b-2")))

        assert reason == "TOO_MANY_STREAMS_FOR_CALLER"
        assert slots.open == 3


def test_one_service_leaves_the_other_services_their_reserved_streams() -> None:
    slots = StreamSlots(StreamLimits(total=8, per_caller=1, reserved_per_service=2), SERVICES)

    with ExitStack() as held:
        for n in range(4):  # 8 in all, 2 kept for payment and 2 for ops
            held.enter_context(slots.slot(buyer(f"b-{n}")))
        reason = refusal(slots, held, buyer("b-4"))
        held.enter_context(slots.slot(PAYMENT))
        held.enter_context(slots.slot(OPS))

        assert reason == "STREAMS_RESERVED_FOR_OTHER_SERVICES"
        assert slots.open == 6


def test_a_service_may_borrow_what_no_one_keeps_until_the_total() -> None:
    slots = StreamSlots(StreamLimits(total=3, per_caller=5, reserved_per_service=1), ())

    with ExitStack() as held:
        for _ in range(3):
            held.enter_context(slots.slot(OPS))
        reason = refusal(slots, held, PAYMENT)

    assert reason == "TOO_MANY_STREAMS"
    assert slots.open == 0


def test_a_closed_stream_gives_its_slot_back() -> None:
    slots = StreamSlots(StreamLimits(total=8, per_caller=1, reserved_per_service=0), SERVICES)

    with slots.slot(buyer("b-1")):
        pass
    with slots.slot(buyer("b-1")):
        assert slots.open == 1

    assert slots.open == 0


def test_more_reserved_than_there_is_is_cut_to_an_even_share() -> None:
    slots = StreamSlots(StreamLimits(total=7, per_caller=4, reserved_per_service=4), SERVICES)

    assert slots.reserved == 2
