"""The archive's event rows: the columns read from a history row in today's form and in the
previous release's flat form agree with the full decoder, and a row that does not decode is
archived as it is with empty columns."""

from __future__ import annotations

from datetime import UTC, datetime

from aftersale.events import transition_event
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import Action, AfterSaleType, BuyerReason, Role, State
from service.archive.writes import event_rows, request_row
from service.storage.codec import decode_record, encode_record, encode_record_object
from service.storage.event_codec import encode_event
from tests.previous_event_form import previous_row

AT_MS = 1_790_000_123_456


def record() -> AfterSale:
    return AfterSale(
        request_id="AS07-0000000000ABCDEFGHJK", order_id="O-1", sku_id="S-1", shop_id="shop-1",
        buyer_id="buyer-1", type=AfterSaleType.REFUND, state=State.MERCHANT_PROCESSING,
        amount=6_000, paid_amount=10_000, reason=BuyerReason.QUALITY_ISSUE,
        first_reason=BuyerReason.QUALITY_ISSUE, after_sale_deadline_ms=AT_MS + 10**9,
        created_at_ms=AT_MS, updated_at_ms=AT_MS, version=1,
    )  # fmt: skip


def today_row(applied: AfterSale, event_id: str) -> str:
    event = transition_event(None, applied, Action.APPLY, Actor(Role.BUYER, "buyer-1"), AT_MS)
    return '{"eventId":"' + event_id + '",' + encode_event(event).decode()[1:]


def test_the_columns_of_a_row_in_either_form_are_the_same() -> None:
    applied = record()
    event = transition_event(None, applied, Action.APPLY, Actor(Role.BUYER, "buyer-1"), AT_MS)
    rows = [today_row(applied, "1790000123456-0"), previous_row(event, "1790000123456-0")]

    today, previous = (event_rows(applied, [row])[0] for row in rows)

    expected_at = datetime.fromtimestamp(AT_MS / 1000, UTC)
    columns = (applied.request_id, 1, "1790000123456-0", expected_at, "ACTION_APPLY", "shop-1")
    assert today[:6] == columns and previous[:6] == columns
    assert (today[6], previous[6]) == tuple(rows)  # the row itself, verbatim


def test_an_undecodable_row_is_kept_with_empty_columns_at_its_position() -> None:
    rows = event_rows(record(), ["not json", '{"eventId":"1-0","version":"x"}'], first_version=4)

    assert [(r[1], r[2], r[4], r[6]) for r in rows] == [
        (4, "", "", "not json"),
        (5, "", "", '{"eventId":"1-0","version":"x"}'),
    ]


def test_the_record_column_is_the_stored_blob_when_given_in_the_object_form() -> None:
    blob = '{"request_id":"AS07-0000000000ABCDEFGHJK","whatever":"as Redis holds it"}'

    assert request_row(record(), blob)[-1] == blob
    assert request_row(record())[-1].startswith('{"request_id":"AS07-')


def test_the_record_column_keeps_the_object_form_of_a_positional_blob() -> None:
    """The archive is kept for good: its record names its fields."""
    stored = record()
    column = request_row(stored, encode_record(stored).decode())[-1]

    assert column.startswith('{"request_id":"AS07-')
    assert column == encode_record_object(stored).decode()
    assert decode_record(column) == stored
