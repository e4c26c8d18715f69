"""What the proto says matches what the server does, and what older releases stored still
reads: a negotiation stored before the filled message was kept, an event stored before
``forced_by`` existed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest
from google.protobuf import json_format

from aftersale.exceptions import ActionRefused
from aftersale.guide import OPTION_TEXTS
from aftersale.vocabulary import Action, NegotiationOption, Role, State
from service.api import convert_out
from service.config import Settings
from service.gen.aftersale.v1.types_pb2 import ROLE_PLATFORM
from service.gen.aftersale.v1.types_pb2 import TransitionEvent as TransitionEventMessage
from service.handlers import SYSTEM_ACTOR
from service.handlers import _pending as pending_timer
from service.storage.codec import decode_record, encode_record_object
from service.storage.decoding import event_from_fields
from service.storage.event_codec import SCHEMA_VERSION, encode_event
from tests.previous_event_form import previous_entry
from tests.unit.builders import World, merchant, negotiation_for

PROTO = Path(__file__).resolve().parents[2] / "proto/aftersale/v1"


def test_a_negotiation_stored_without_its_filled_message_shows_the_template_and_the_text(
    world: World,
) -> None:
    record = world.applied()
    ask = negotiation_for(NegotiationOption.EVIDENCE_UNCLEAR, record)
    sent = world.act(record, replace(ask, message="请补拍背面"), merchant(record))
    stored = json.loads(encode_record_object(sent))  # the previous release's form
    stored["negotiation"].pop("filled")  # as the previous release wrote it
    old = decode_record(json.dumps(stored)).negotiation
    assert old is not None and sent.negotiation is not None

    view = convert_out.negotiation(old)

    template = OPTION_TEXTS[NegotiationOption.EVIDENCE_UNCLEAR].message_zh
    assert view.message == f"{template}\n请补拍背面"
    assert view.merchant_message == "请补拍背面"
    assert convert_out.negotiation(sent.negotiation) == view  # the stored one says the same


def test_an_event_stored_without_forced_by_reads_as_forced_by_nobody(world: World) -> None:
    record = world.applied()
    flat = previous_entry(world.events[-1])  # the previous release's form had no such field

    event = event_from_fields(flat)

    assert "forced_by_role" not in flat and event.forced_by is None
    assert not convert_out.transition(event, "1-0").HasField("forced_by")
    assert record.version == event.version


def test_forced_by_goes_through_the_stored_form(world: World) -> None:
    world.applied()
    forced = replace(world.events[-1], forced_by_role=Role.PLATFORM, forced_by_id="ops-1")
    text = encode_event(forced).decode()

    again = event_from_fields({"v": SCHEMA_VERSION, "event": text})

    assert again.forced_by is not None
    assert (again.forced_by.role, again.forced_by.id) == (Role.PLATFORM, "ops-1")
    parsed = json_format.Parse(text, TransitionEventMessage())  # valid proto JSON
    assert parsed.forced_by.role == ROLE_PLATFORM and parsed.forced_by.id == "ops-1"


def test_the_proto_comments_say_what_the_server_sends() -> None:
    types = (PROTO / "types.proto").read_text(encoding="utf-8")
    service = (PROTO / "aftersale.proto").read_text(encoding="utf-8")

    assert "WRONG_STATE" not in types and "INVALID_STATE" in types
    assert f'"{SYSTEM_ACTOR.id}" for a timer' in types and '"system"' not in types
    assert "NOT a\n  // resume position" in types
    default = Settings().watch_keepalive_s
    assert "watch.keepalive_s" in service and f"{default:g} by default" in service


def test_no_pending_timer_names_the_timer_of_the_state_and_no_other(world: World) -> None:
    flagged = msgspec.structs.replace(world.reach(State.PLATFORM_REFUNDING), timer=None)
    closed = world.reach(State.USER_CANCELD)

    with pytest.raises(ActionRefused) as refunding:
        pending_timer(flagged)
    with pytest.raises(ActionRefused) as cancelled:
        pending_timer(closed)

    assert refunding.value.reason == cancelled.value.reason == "NO_PENDING_TIMER"
    assert refunding.value.action is Action.REFUND_REMINDER
    assert cancelled.value.action is None
