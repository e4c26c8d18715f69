"""The stored event is the proto's ``aftersale.v1.TransitionEvent`` in proto JSON
(``service.storage.event_codec``): any proto library parses it (unknown fields refused) into
the message the API sends, it reads back into the same domain event, and every domain enum
member has its proto value, checked against the generated descriptors."""

from __future__ import annotations

import json
from dataclasses import replace
from enum import Enum

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersale.commands import AcceptNegotiation, FireTimer, SupplementEvidence
from aftersale.events import NegotiationFacts, TransitionEvent
from aftersale.exceptions import AfterSaleError
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    RefundReason,
    Role,
    Signal,
    State,
)
from service.api.convert_out import transition
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.decoding import MAX_MS, event_from_fields, stored_event
from service.storage.event_codec import PROTO_ENUMS, decode_event, encode_event, proto_names
from service.storage.ports import StoredEvent
from tests.unit.builders import IMAGES, NON_TERMINAL, World, buyer
from tests.unit.test_flat_form import events as any_events
from tests.unit.test_properties import actors, commands

EVENT = t.TransitionEvent.DESCRIPTOR


def parsed(text: str | bytes) -> t.TransitionEvent:
    """What a consumer's proto library makes of stored JSON (unknown fields refused)."""
    return json_format.Parse(text, t.TransitionEvent(), ignore_unknown_fields=False)


def api_message(event: TransitionEvent, event_id: str = "") -> t.TransitionEvent:
    """The API's message for ``event``, as stored: the refund id kept on every event of a
    request with a refund (the API shows it with the refund reason only)."""
    message = transition(event, event_id)
    message.refund_id = event.refund_id
    return message


@st.composite
def walks(draw: st.DrawFn) -> list[TransitionEvent]:
    """The events of a request taken to a random state, then sent random commands."""
    world = World()
    record = world.reach(draw(st.sampled_from(NON_TERMINAL)))
    for _ in range(draw(st.integers(1, 20))):
        command = draw(commands(record, world.now))
        actor = draw(actors(record, command))
        if record.timer is not None and isinstance(command, FireTimer):
            world.clock.set(max(world.now, record.timer.due_ms))
        try:
            decision = world.decide(record, command, actor)
        except AfterSaleError:
            continue
        record = decision.record
    return world.events


def check_stored_form(event: TransitionEvent) -> None:
    text = encode_event(event)

    assert parsed(text) == api_message(event)
    assert json.loads(text) == json_format.MessageToDict(api_message(event))  # canonical
    assert decode_event(text) == ("", event)
    row = '{"eventId":"1790000000000-7",' + text.decode()[1:]  # as the commit script writes
    assert parsed(row) == api_message(event, "1790000000000-7")
    assert stored_event(row) == StoredEvent("1790000000000-7", event)
    assert event_from_fields({"v": "1", "event": text.decode()}) == event


def test_events_of_every_action_are_stored_as_the_api_message_and_read_back_whole() -> None:
    seen: set[Action] = set()

    @settings(
        derandomize=True,
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(walks())
    def every_event_of(walk: list[TransitionEvent]) -> None:
        for event in walk:
            check_stored_form(event)
            seen.add(event.action)

    every_event_of()
    for event in stories():
        check_stored_form(event)
        seen.add(event.action)

    assert seen == set(Action)


def stories() -> list[TransitionEvent]:
    """The events of a request taken to every state, and of the answers to a negotiation
    that random walks seldom reach."""
    world = World()
    for state in State:
        world.reach(state)
    record = world.negotiating(world.applied(), NegotiationOption.AMOUNT_ONLY)
    world.act(record, AcceptNegotiation(), buyer(record))
    record = world.reach(State.USER_WAIT_CONFIRM_UPDATE)  # an INVITE_VERIFY
    world.act(record, SupplementEvidence(IMAGES, "a clearer photo"), buyer(record))
    return world.events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    any_events.map(
        lambda e: replace(
            e, occurred_at_ms=e.occurred_at_ms % MAX_MS, deadline_ms=e.deadline_ms % MAX_MS
        )
    )
)
def test_any_event_replies_the_same_from_its_stored_form(event: TransitionEvent) -> None:
    """Facts the proto has no field for (a round 0, an armed timer's action) may read back
    otherwise; what the API sends is byte for byte the same."""
    text = encode_event(event)

    _, back = decode_event(text)

    assert parsed(text) == api_message(event)
    wire = transition(back, "5-0").SerializeToString(deterministic=True)
    assert wire == transition(event, "5-0").SerializeToString(deterministic=True)


def test_an_event_is_stored_in_the_canonical_proto_json() -> None:
    event = TransitionEvent(
        request_id="AS07-x", order_id="order-1", sku_id="sku-1", shop_id="shop-1",
        buyer_id="buyer-1", version=3, action=Action.ACCEPT_NEGOTIATION, actor_role=Role.BUYER,
        actor_id="buyer-1", from_state=State.USER_WAIT_CONFIRM_UPDATE,
        to_state=State.PLATFORM_REFUNDING, occurred_at_ms=1_790_000_180_042,
        type=AfterSaleType.REFUND, amount=6_000, first_reason=BuyerReason.QUALITY_ISSUE,
        refund_reason=RefundReason.NEGOTIATION_ACCEPTED, refund_id="AS07-x-R1",
        refund_amount=6_000,
        negotiation=NegotiationFacts(2, NegotiationKind.MODIFY_APPLICATION,
                                     NegotiationOption.PARTIAL_REFUND,
                                     NegotiationOutcome.ACCEPTED, proposed_amount=6_000),
        deadline_ms=1_790_007_380_000, timer_action=Action.REFUND_REMINDER,
        signals=(Signal.REFUND_REQUESTED,),
    )  # fmt: skip

    text = encode_event(event).decode()

    assert text == (
        '{"requestId":"AS07-x","orderId":"order-1","skuId":"sku-1","shopId":"shop-1",'
        '"buyerId":"buyer-1","version":"3","action":"ACTION_ACCEPT_NEGOTIATION",'
        '"actor":{"role":"ROLE_BUYER","id":"buyer-1"},'
        '"fromState":"AFTER_SALE_STATUS_USER_WAIT_CONFIRM_UPDATE",'
        '"toState":"AFTER_SALE_STATUS_PLATFORM_REFUNDING",'
        '"occurredAt":"2026-09-21T14:16:20.042Z","type":"AFTER_SALE_TYPE_REFUND",'
        '"amount":"6000","refundReason":"REFUND_REASON_NEGOTIATION_ACCEPTED",'
        '"refundId":"AS07-x-R1","negotiation":{"round":2,'
        '"kind":"NEGOTIATION_KIND_MODIFY_APPLICATION",'
        '"option":"NEGOTIATION_OPTION_PARTIAL_REFUND",'
        '"proposedAmount":"6000","outcome":"NEGOTIATION_OUTCOME_ACCEPTED"},'
        '"firstReason":"BUYER_REASON_QUALITY_ISSUE","deadline":"2026-09-21T16:16:20Z",'
        '"signals":["SIGNAL_REFUND_REQUESTED"],"refundAmount":"6000"}'
    )
    assert decode_event(text) == ("", event)


@pytest.mark.parametrize("enum", list(PROTO_ENUMS), ids=lambda e: e.__name__)
def test_every_member_of_every_domain_enum_has_its_proto_value(enum: type[Enum]) -> None:
    proto = t.DESCRIPTOR.enum_types_by_name[PROTO_ENUMS[enum]]

    names = proto_names(enum)

    assert set(names.values()) <= set(proto.values_by_name)
    assert len(set(names.values())) == len(enum)


@pytest.mark.parametrize(
    ("field", "enum"),
    [("action", Action), ("from_state", State), ("to_state", State), ("type", AfterSaleType),
     ("refund_reason", RefundReason), ("first_reason", BuyerReason), ("signals", Signal)],
)  # fmt: skip
def test_each_event_field_holds_the_proto_enum_its_domain_enum_maps_to(
    field: str, enum: type[Enum]
) -> None:
    proto = EVENT.fields_by_name[field].enum_type

    assert proto is not None and proto.name == PROTO_ENUMS[enum]


def test_every_enum_the_event_message_holds_has_a_domain_enum() -> None:
    held = {
        f.enum_type.name
        for message in (EVENT, t.Actor.DESCRIPTOR, t.Negotiation.DESCRIPTOR)
        for f in message.fields
        if f.enum_type is not None
    }

    assert held - set(PROTO_ENUMS.values()) <= {"ProofParty"}  # never set on an event
