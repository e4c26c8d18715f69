"""The stored forms lose nothing: a record's blob (``service.storage.codec``), the previous
release's flat record hash (still read), and the previous release's flat event (still read;
today's event form is ``test_event_schema``)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersale.events import NegotiationFacts, TransitionEvent
from aftersale.model import (
    AfterSale,
    ContactAttempt,
    Dispute,
    Negotiation,
    PendingTimer,
    Proof,
    ProofRequest,
    Refund,
    Rejection,
    Waybill,
)
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    CloseReason,
    ContactChannel,
    ContactOutcome,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    ProofParty,
    RefundReason,
    RejectReason,
    Role,
    Signal,
    State,
    TimerKind,
    Verdict,
)
from service.storage.codec import (
    RECORD_FIELDS,
    decode_record,
    encode_record,
    encode_record_object,
    record_from_hash,
)
from service.storage.legacy_events import event_from_flat
from tests.previous_event_form import previous_entry
from tests.unit.builders import NON_TERMINAL, TERMINAL, World

ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
texts = st.text(st.characters(codec="utf-8"), max_size=40)
words = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
refs = st.lists(words, max_size=3)
times = st.integers(min_value=0, max_value=2**53)
money = st.integers(min_value=1, max_value=10**9)

negotiations = st.builds(
    Negotiation,
    round=st.integers(1, 9),
    kind=st.sampled_from(NegotiationKind),
    option=st.sampled_from(NegotiationOption),
    handling_state=st.sampled_from(State),
    application_round=st.integers(1, 5),
    message=texts,
    images=refs,
    proposed_type=st.none() | st.sampled_from(AfterSaleType),
    proposed_amount=st.none() | money,
    outcome=st.sampled_from(NegotiationOutcome),
    sent_at_ms=times,
    ended_at_ms=st.none() | times,
    buyer_images=refs,
    buyer_message=texts,
)
disputes = st.builds(
    Dispute,
    escalated_by=st.sampled_from([Role.BUYER, Role.PLATFORM]),
    escalated_from=st.sampled_from(State),
    escalated_at_ms=times,
    message=texts,
    proof_requests=st.lists(
        st.builds(
            ProofRequest,
            st.sampled_from(ProofParty),
            times,
            texts,
            times,
            submitted=st.lists(st.sampled_from([Role.BUYER, Role.MERCHANT]), max_size=2),
            missed=st.lists(st.sampled_from([Role.BUYER, Role.MERCHANT]), max_size=2),
        ),
        max_size=2,
    ),
    proofs=st.lists(
        st.builds(Proof, st.sampled_from([Role.BUYER, Role.MERCHANT]), texts, refs, times),
        max_size=2,
    ),
    missed_proof=st.lists(st.sampled_from([Role.BUYER, Role.MERCHANT]), max_size=2),
    verdict=st.none() | st.sampled_from(Verdict),
    refund_amount=st.none() | money,
    resolved_at_ms=st.none() | times,
)
refunds = st.builds(
    Refund,
    refund_id=ids,
    refund_reason=st.sampled_from(RefundReason),
    amount=money,
    requested_at_ms=times,
    attempt=st.integers(1, 5),
    failure_reason=texts,
    offline_proof_images=refs,
    offline_proof_message=texts,
    succeeded_at_ms=st.none() | times,
    failed_at_ms=st.none() | times,
)
records = st.builds(
    AfterSale,
    request_id=ids,
    order_id=ids,
    sku_id=ids,
    shop_id=ids,
    buyer_id=ids,
    type=st.sampled_from(AfterSaleType),
    state=st.sampled_from(State),
    amount=money,
    paid_amount=money,
    reason=st.sampled_from(BuyerReason),
    first_reason=st.sampled_from(BuyerReason),
    after_sale_deadline_ms=times,
    created_at_ms=times,
    updated_at_ms=times,
    version=st.integers(0, 10_000),
    description=texts,
    evidence=refs,
    return_address=texts,
    application_round=st.integers(1, 5),
    waybill=st.none() | st.builds(Waybill, words, ids, times),
    negotiation=st.none() | negotiations,
    negotiations=st.lists(negotiations, max_size=3),
    contact_attempts=st.lists(
        st.builds(
            ContactAttempt,
            st.sampled_from(ContactChannel),
            st.sampled_from(ContactOutcome),
            times,
            refs,
        ),
        max_size=2,
    ),
    rejection=st.none()
    | st.builds(
        Rejection, st.sampled_from(RejectReason), texts, refs, st.sampled_from(State), times
    ),
    escalation_deadline_ms=st.none() | times,
    dispute=st.none() | disputes,
    refund=st.none() | refunds,
    close_reason=st.none() | st.sampled_from(CloseReason),
    timer=st.none()
    | st.builds(PendingTimer, st.sampled_from(TimerKind), st.sampled_from(Action), times),
)

negotiation_facts = st.builds(
    NegotiationFacts,
    round=st.none() | st.integers(0, 10**6),
    kind=st.none() | st.sampled_from(NegotiationKind),
    option=st.none() | st.sampled_from(NegotiationOption),
    outcome=st.none() | st.sampled_from(NegotiationOutcome),
    proposed_type=st.none() | st.sampled_from(AfterSaleType),
    proposed_amount=st.none() | st.integers(0, 10**6),
)
events = st.builds(
    TransitionEvent,
    request_id=ids,
    order_id=ids,
    sku_id=ids,
    shop_id=ids,
    buyer_id=ids,
    version=st.integers(1, 10_000),
    action=st.sampled_from(Action),
    actor_role=st.sampled_from(Role),
    actor_id=ids,
    from_state=st.none() | st.sampled_from(State),
    to_state=st.sampled_from(State),
    occurred_at_ms=st.integers(1, 2**53),
    type=st.sampled_from(AfterSaleType),
    amount=money,
    first_reason=st.sampled_from(BuyerReason),
    refund_reason=st.none() | st.sampled_from(RefundReason),
    refund_id=st.just("") | ids,
    refund_amount=st.integers(0, 10**9),
    negotiation=negotiation_facts,
    reject_reason=st.none() | st.sampled_from(RejectReason),
    verdict=st.none() | st.sampled_from(Verdict),
    close_reason=st.none() | st.sampled_from(CloseReason),
    deadline_ms=times,
    timer_action=st.none() | st.sampled_from(Action),
    signals=st.lists(st.sampled_from(Signal), max_size=2, unique=True).map(tuple),
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(records)
def test_a_record_survives_its_blob(record: AfterSale) -> None:
    blob = encode_record(record)

    assert isinstance(json.loads(blob), list)
    assert decode_record(blob) == record
    assert decode_record(blob.decode()) == record  # the client hands replies over as text


@FAST
@given(records)
def test_a_record_survives_the_previous_releases_object_blob(record: AfterSale) -> None:
    blob = encode_record_object(record)

    assert isinstance(json.loads(blob), dict)
    assert decode_record(blob.decode()) == record
    assert record_from_hash({"d": blob.decode(), "_timer_member": "AS01-X|1|x"}) == record


@FAST
@given(records)
def test_a_record_copy_is_equal_and_independent(record: AfterSale) -> None:
    copy = record.copy()
    copy.evidence.append("media/extra.jpg")

    assert copy != record
    assert record.copy() == record


@FAST
@given(records)
def test_a_record_hash_in_the_previous_releases_flat_form_still_loads(record: AfterSale) -> None:
    stored = {**previous_release_flat(record), "_timer_member": "AS01-X|1|merchant_timeout"}

    assert record_from_hash(stored) == record


def test_a_blob_leaves_out_what_is_unset_at_its_end(world: World) -> None:
    record = world.reach(State.MERCHANT_PROCESSING)

    stored = json.loads(encode_record(record))
    named = dict(zip(RECORD_FIELDS, stored, strict=False))

    assert named["state"] == "MERCHANT_PROCESSING" and named["version"] == record.version
    assert named["negotiation"] is None and named["dispute"] is None
    assert named["timer"] == msgspec.to_builtins(record.timer)
    assert len(stored) == RECORD_FIELDS.index("timer") + 1  # disputes, ... at their default

    stored = json.loads(encode_record_object(record))  # the archive's form names its fields

    assert "negotiation" not in stored and "negotiations" not in stored
    assert "dispute" not in stored and "refund" not in stored and "waybill" not in stored
    assert stored["state"] == "MERCHANT_PROCESSING" and stored["version"] == record.version


def test_a_longer_blob_from_a_newer_release_still_loads(world: World) -> None:
    """A newer release appends fields: their elements are ignored here."""
    record = world.reach(State.MERCHANT_PROCESSING)
    newer = [*msgspec.structs.astuple(record), "a field of a newer release"]

    assert decode_record(msgspec.json.encode(newer)) == record


@FAST
@given(events)
def test_an_event_in_the_previous_releases_flat_form_still_reads_whole(
    event: TransitionEvent,
) -> None:
    flat = previous_entry(event)

    assert all(isinstance(k, str) and isinstance(v, str) for k, v in flat.items())
    assert event_from_flat(flat) == event


@pytest.mark.parametrize("state", [*NON_TERMINAL, *TERMINAL], ids=lambda s: s.value)
def test_records_and_events_made_by_real_actions_survive_their_stored_forms(
    world: World, state: State
) -> None:
    record = world.reach(state)

    assert decode_record(encode_record(record)) == record
    assert decode_record(encode_record_object(record)) == record
    assert record_from_hash(previous_release_flat(record)) == _as_the_previous_release(record)
    for event in world.events:
        assert event_from_flat(previous_entry(event)) == event


def previous_release_flat(record: AfterSale) -> dict[str, str]:
    """What the previous release stored as a record hash (its ``AfterSale.to_flat``): every
    set field its own hash field, scalars as text, nested parts as compact JSON."""
    flat: dict[str, str] = {}
    for name in record.__struct_fields__:
        value = getattr(record, name)
        if value is None or value in ([], ""):
            continue
        if isinstance(value, str | int):  # StrEnum is a str
            flat[name] = str(value)
        else:
            flat[name] = json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))
    return flat


# Negotiation fields the previous release did not have (its flat form never holds them).
_NEWER = frozenset({"filled", "return_address"})


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, msgspec.Struct):
        newer = _NEWER if isinstance(value, Negotiation) else frozenset()
        return {
            name: _plain(getattr(value, name))
            for name in value.__struct_fields__
            if getattr(value, name) not in (None, [], "") and name not in newer
        }
    return value


def _as_the_previous_release(record: AfterSale) -> AfterSale:
    """``record`` without what the previous release could not store (its negotiations' filled
    message and proposed address: read back, the message is filled from the template)."""

    def older(n: Negotiation) -> Negotiation:
        return msgspec.structs.replace(n, filled="", return_address="")

    return msgspec.structs.replace(
        record,
        negotiation=older(record.negotiation) if record.negotiation else None,
        negotiations=[older(n) for n in record.negotiations],
    )


def test_an_events_stream_entry_of_the_previous_release_reads_as_the_event() -> None:
    event = TransitionEvent(
        request_id="AS07-01J9ZK3Q8W2E5R7T9Y1U3I5O7P",
        order_id="order-1",
        sku_id="sku-1",
        shop_id="shop-1",
        buyer_id="buyer-1",
        version=3,
        action=Action.ACCEPT_NEGOTIATION,
        actor_role=Role.BUYER,
        actor_id="buyer-1",
        from_state=State.USER_WAIT_CONFIRM_UPDATE,
        to_state=State.PLATFORM_REFUNDING,
        occurred_at_ms=1_790_000_180_000,
        type=AfterSaleType.REFUND,
        amount=6_000,
        first_reason=BuyerReason.QUALITY_ISSUE,
        refund_reason=RefundReason.NEGOTIATION_ACCEPTED,
        refund_id="AS07-01J9ZK3Q8W2E5R7T9Y1U3I5O7P-R1",
        refund_amount=6_000,
        negotiation=NegotiationFacts(
            2,
            NegotiationKind.MODIFY_APPLICATION,
            NegotiationOption.PARTIAL_REFUND,
            NegotiationOutcome.ACCEPTED,
            proposed_amount=6_000,
        ),
        signals=(Signal.REFUND_REQUESTED,),
    )

    flat = dict([
        ("request_id", "AS07-01J9ZK3Q8W2E5R7T9Y1U3I5O7P"),
        ("order_id", "order-1"),
        ("sku_id", "sku-1"),
        ("shop_id", "shop-1"),
        ("buyer_id", "buyer-1"),
        ("version", "3"),
        ("action", "accept_negotiation"),
        ("actor_role", "BUYER"),
        ("actor_id", "buyer-1"),
        ("from_state", "USER_WAIT_CONFIRM_UPDATE"),
        ("to_state", "PLATFORM_REFUNDING"),
        ("occurred_at_ms", "1790000180000"),
        ("type", "REFUND"),
        ("amount", "6000"),
        ("first_reason", "QUALITY_ISSUE"),
        ("refund_reason", "NEGOTIATION_ACCEPTED"),
        ("refund_id", "AS07-01J9ZK3Q8W2E5R7T9Y1U3I5O7P-R1"),
        ("refund_amount", "6000"),
        (
            "negotiation",
            '{"round":2,"kind":"MODIFY_APPLICATION","option":"PARTIAL_REFUND",'
            '"outcome":"ACCEPTED","proposed_amount":6000}',
        ),
        ("signals", "refund_requested"),
    ])  # fmt: skip

    assert event_from_flat(flat) == event
    assert previous_entry(event) == flat


def test_an_apply_events_stream_entry_leaves_out_the_state_it_came_from() -> None:
    flat = {
        "request_id": "AS07-x",
        "order_id": "order-1",
        "sku_id": "sku-1",
        "shop_id": "shop-1",
        "buyer_id": "buyer-1",
        "version": "1",
        "action": "apply",
        "actor_role": "BUYER",
        "actor_id": "buyer-1",
        "to_state": "MERCHANT_PROCESSING",
        "occurred_at_ms": "1790000000000",
        "type": "RETURN",
        "amount": "6000",
        "first_reason": "OTHERS",
        "deadline_ms": "1790172800000",
        "timer_action": "merchant_timeout",
    }

    event = event_from_flat(flat)

    assert (event.action, event.from_state, event.to_state) == (
        Action.APPLY,
        None,
        State.MERCHANT_PROCESSING,
    )
    assert (event.timer_action, event.signals) == (Action.MERCHANT_TIMEOUT, ())
    assert event.negotiation == {}
    assert list(previous_entry(event).items()) == list(flat.items())
