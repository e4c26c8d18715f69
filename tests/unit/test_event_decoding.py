"""Decoding a stored transition event (``service.storage.decoding``) is strict enough that
whatever decodes can be delivered: every event it accepts converts to the API's message, and
every event a commit writes is accepted."""

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
    State,
)
from service.api.convert_out import transition
from service.storage.decoding import UndecodableEntry, event_from_fields, stored_event

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


def test_an_event_as_a_commit_writes_it_decodes_unchanged() -> None:
    event = TransitionEvent(
        request_id="AS01-x", order_id="o", sku_id="s", shop_id="shop", buyer_id="b", version=2,
        action=Action.NEGOTIATE, actor_role=Role.MERCHANT, actor_id="shop",
        from_state=State.MERCHANT_PROCESSING, to_state=State.USER_WAIT_CONFIRM_UPDATE,
        occurred_at_ms=1_790_000_000_000, type=AfterSaleType.REFUND, amount=6_000,
        first_reason=BuyerReason.QUALITY_ISSUE,
        negotiation=NegotiationFacts(1, NegotiationKind.MODIFY_APPLICATION,
                                     NegotiationOption.AMOUNT_ONLY, NegotiationOutcome.OPEN,
                                     proposed_amount=5_000),
        deadline_ms=1_790_172_800_000,
    )  # fmt: skip

    assert event_from_fields(event.to_flat()) == event
    row = json.dumps({**event.to_flat(), "event_id": "5-0"})
    assert stored_event(row).event == event


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
