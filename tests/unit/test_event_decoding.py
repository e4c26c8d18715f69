"""Decoding a stored transition event (``service.storage.decoding``) is strict enough that
whatever decodes can be delivered: every event it accepts converts to the API's message, and
every event a commit writes is accepted, in today's form and in the previous release's flat
form (fuzzed here; today's form is fuzzed in ``test_event_schema``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersale.events import NegotiationFacts, TransitionEvent
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    Role,
    Signal,
    State,
)
from service.api.convert_out import transition
from service.storage.decoding import UndecodableEntry, event_from_fields, stored_event
from service.storage.event_codec import encode_event
from service.storage.ports import StoredEvent
from tests.previous_event_form import previous_entry, previous_row

VALID: dict[str, list[str]] = {
    "request_id": ["AS01-x"],
    "order_id": ["o-1"],
    "sku_id": ["s-1"],
    "shop_id": ["shop-1"],
    "buyer_id": ["b-1"],
    "version": ["1", "7"],
    "action": [a.value for a in Action],
    "actor_role": [r.value for r in Role],
    "actor_id": ["b-1"],
    "from_state": [s.value for s in State],
    "to_state": [s.value for s in State],
    "occurred_at_ms": ["1790000000000"],
    "type": [t.value for t in AfterSaleType],
    "amount": ["6000"],
    "first_reason": [r.value for r in BuyerReason],
    "refund_amount": ["6000"],
    "deadline_ms": ["1790000000000"],
    "signals": ["refund_requested", "contact_quota_requested"],
}
JUNK = st.one_of(
    st.sampled_from(["", "x", "-1", "0", "1.5", "1e3", f"{2**63}", f"{10**30}", "null", "١",
                     "[]", "{}", "true", " 7"]),
    st.text(max_size=8),
)  # fmt: skip
NEGOTIATIONS = st.one_of(
    st.just(""),
    st.builds(
        json.dumps,
        st.fixed_dictionaries(
            {},
            optional={
                "round": st.one_of(st.integers(-5, 5), st.integers(), st.text(max_size=3)),
                "kind": st.sampled_from([k.value for k in NegotiationKind] + ["x", 1]),
                "option": st.sampled_from([o.value for o in NegotiationOption] + ["x"]),
                "outcome": st.sampled_from([o.value for o in NegotiationOutcome] + ["x"]),
                "proposed_type": st.sampled_from([t.value for t in AfterSaleType] + ["x"]),
                "proposed_amount": st.one_of(st.none(), st.integers(), st.text(max_size=3)),
            },
        ),
    ),
    st.sampled_from(["[]", "1", "not json"]),
)


@st.composite
def flat_events(draw: st.DrawFn) -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, good in VALID.items():  # mostly good, so that many events get through
        choice = draw(st.integers(0, 39))
        if choice < 36:
            flat[name] = draw(st.sampled_from(good))
        elif choice < 38:
            flat[name] = draw(JUNK)
    negotiation = draw(NEGOTIATIONS)
    if negotiation:
        flat["negotiation"] = negotiation
    return flat


@settings(max_examples=500, deadline=None, database=None)
@given(flat=flat_events())
def test_every_event_that_decodes_converts_to_the_api_message(flat: dict[str, str]) -> None:
    try:
        event = event_from_fields(flat)
    except UndecodableEntry:
        return

    transition(event, "1-0")


def test_an_event_as_a_commit_writes_it_decodes_unchanged_in_either_form() -> None:
    event = TransitionEvent(
        request_id="AS01-x", order_id="o", sku_id="s", shop_id="shop", buyer_id="b", version=2,
        action=Action.NEGOTIATE, actor_role=Role.MERCHANT, actor_id="shop",
        from_state=State.MERCHANT_PROCESSING, to_state=State.USER_WAIT_CONFIRM_UPDATE,
        occurred_at_ms=1_790_000_000_000, type=AfterSaleType.REFUND, amount=6_000,
        first_reason=BuyerReason.QUALITY_ISSUE,
        negotiation=NegotiationFacts(1, NegotiationKind.MODIFY_APPLICATION,
                                     NegotiationOption.AMOUNT_ONLY, NegotiationOutcome.OPEN,
                                     proposed_amount=5_000),
        deadline_ms=1_790_172_800_000, timer_action=Action.NEGOTIATION_TIMEOUT,
    )  # fmt: skip

    text = encode_event(event).decode()
    assert event_from_fields({"v": "1", "event": text}) == event
    assert stored_event('{"eventId":"5-0",' + text[1:]) == StoredEvent("5-0", event)
    assert event_from_fields(previous_entry(event)) == event
    assert stored_event(previous_row(event, "5-0")) == StoredEvent("5-0", event)


@pytest.mark.parametrize(
    "row",
    ["not json", "[1]", '{"event_id": 5}', '{"event_id": "1-0", "version": 2}', "[" * 5000],
)
def test_a_history_row_that_is_not_an_event_is_undecodable(row: str) -> None:
    with pytest.raises(UndecodableEntry):
        stored_event(row)


def test_an_event_of_empty_fields_is_undecodable() -> None:
    with pytest.raises(UndecodableEntry):
        event_from_fields({"garbage": "x"})


def test_an_event_with_an_unknown_signal_is_undecodable() -> None:
    flat: dict[str, Any] = {name: good[0] for name, good in VALID.items()}
    flat["signals"] = "refund_requested,launch_missiles"

    with pytest.raises(UndecodableEntry):
        event_from_fields(flat)


# -- today's form: the proto JSON of schema version 1 ---------------------------------------

GOOD = {
    "requestId": "AS01-x", "orderId": "o-1", "skuId": "s-1", "shopId": "shop-1",
    "buyerId": "b-1", "version": "2", "action": "ACTION_APPROVE",
    "actor": {"role": "ROLE_MERCHANT", "id": "shop-1"},
    "fromState": "AFTER_SALE_STATUS_MERCHANT_PROCESSING",
    "toState": "AFTER_SALE_STATUS_PLATFORM_REFUNDING", "occurredAt": "2026-09-21T14:16:20.042Z",
    "type": "AFTER_SALE_TYPE_REFUND", "amount": "6000",
    "refundReason": "REFUND_REASON_MERCHANT_APPROVED", "refundId": "AS01-x-R1",
    "firstReason": "BUYER_REASON_QUALITY_ISSUE", "signals": ["SIGNAL_REFUND_REQUESTED"],
    "refundAmount": "6000",
}  # fmt: skip
PROTO_JUNK: st.SearchStrategy[object] = st.one_of(
    st.sampled_from(["", "x", "0", "-1", f"{2**63}", "1.5", "ACTION_APPROVE", "ROLE_BUYER",
                     "AFTER_SALE_STATUS_UNSPECIFIED", "1969-12-31T23:59:59Z",
                     "2026-09-21T14:16:20.0421Z", "10000-01-01T00:00:00Z"]),
    st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2), st.just({}),
)  # fmt: skip


def entry(**changes: object) -> dict[str, str]:
    return {"v": "1", "event": json.dumps({**GOOD, **changes})}


def test_an_entry_in_todays_form_decodes() -> None:
    event = event_from_fields(entry())

    assert (event.action, event.to_state, event.signals) == (
        Action.APPROVE,
        State.PLATFORM_REFUNDING,
        (Signal.REFUND_REQUESTED,),
    )
    assert (event.occurred_at_ms, event.amount, event.refund_id) == (
        1_790_000_180_042,
        6_000,
        "AS01-x-R1",
    )


@settings(max_examples=500, deadline=None, database=None)
@given(changes=st.dictionaries(st.sampled_from([*GOOD, "negotiation", "deadline"]), PROTO_JUNK))
def test_every_entry_in_todays_form_that_decodes_converts_to_the_api_message(
    changes: dict[str, object],
) -> None:
    try:
        event = event_from_fields(entry(**changes))
    except UndecodableEntry:
        return

    transition(event, "1-0")


@pytest.mark.parametrize(
    "fields",
    [
        {"v": "2", "event": json.dumps(GOOD)},  # a later schema this release cannot read
        {"v": "", "event": json.dumps(GOOD)},
        {"v": "1"},
        {"v": "1", "event": json.dumps(GOOD), "extra": "x"},
        {"v": "1", "event": "not json"},
        entry(proofParty="PROOF_PARTY_BUYER"),  # a proto field no event carries
        entry(comment="x"),  # not a field at all
        entry(eventId="1-0"),  # the entry id is the event id
        entry(action="ROLE_BUYER"),  # another enum's value
        entry(action=2),  # a number, valid proto JSON, never written
        entry(action="ACTION_UNSPECIFIED"),
        entry(toState=None),
        entry(signals=["SIGNAL_LAUNCH_MISSILES"]),
        entry(version="0"),
        entry(version="1_0"),
        entry(amount=f"{2**63}"),
        entry(occurredAt="1969-12-31T23:59:59Z"),
        entry(occurredAt="2026-09-21T14:16:20.0421Z"),  # finer than a millisecond
        entry(occurredAt="2026-09-21T14:16:20"),  # no zone
        entry(negotiation={"round": -1}),
        entry(negotiation={"proposedAmount": "x"}),
    ],
)
def test_an_entry_in_todays_form_that_is_not_an_event_is_undecodable(
    fields: dict[str, str],
) -> None:
    with pytest.raises(UndecodableEntry):
        event_from_fields(fields)


def test_an_entry_of_an_unknown_schema_version_says_so() -> None:
    with pytest.raises(UndecodableEntry, match="schema version v='2'"):
        event_from_fields({"v": "2", "event": "{}"})


@pytest.mark.parametrize(
    "row",
    ['{"eventId":"","version":"1"}', '{"eventId":"1-0"', '{"eventId":"1-0","bad":1}'],
)
def test_a_history_row_in_todays_form_that_is_not_an_event_is_undecodable(row: str) -> None:
    with pytest.raises(UndecodableEntry):
        stored_event(row)
