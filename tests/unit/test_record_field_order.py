"""The record's field order is append-only: storage keeps records by position.

``service/storage/codec.py`` stores a record as a JSON array of ``AfterSale``'s fields in
declaration order, so the n-th element of every record already in Redis means the n-th field
listed here. Moving or removing a field would make those records read wrong values (or fail
to decode) without any error at write time.
"""

from __future__ import annotations

import msgspec

from aftersale.model import AfterSale
from aftersale.vocabulary import State
from service.storage.codec import RECORD_FIELDS, decode_record, encode_record
from tests.unit.builders import World

# The order of the first release that stored records by position. Append only.
PINNED = (
    "request_id",
    "order_id",
    "sku_id",
    "shop_id",
    "buyer_id",
    "type",
    "state",
    "amount",
    "paid_amount",
    "reason",
    "first_reason",
    "after_sale_deadline_ms",
    "created_at_ms",
    "updated_at_ms",
    "version",
    "description",
    "evidence",
    "return_address",
    "application_round",
    "waybill",
    "negotiation",
    "negotiations",
    "contact_attempts",
    "rejection",
    "escalation_deadline_ms",
    "dispute",
    "refund",
    "close_reason",
    "timer",
    "disputes",
    "contact_quota_requests",
)

WHY = (
    "AfterSale's field order changed. Records are stored by position (service/storage/"
    "codec.py), so every record already in Redis would read the wrong fields: keep the "
    "existing fields in their order and add new ones (with a default) at the end, then "
    "append them to PINNED here."
)


def test_the_pinned_fields_keep_their_positions() -> None:
    assert AfterSale.__struct_fields__[: len(PINNED)] == PINNED, WHY
    assert AfterSale.__struct_fields__ == RECORD_FIELDS


def test_fields_added_after_the_pinned_ones_have_defaults() -> None:
    """A record written before a field existed has no element for it: it must default."""
    added = msgspec.structs.fields(AfterSale)[len(PINNED) :]
    required = [f.name for f in added if f.required]
    assert not required, f"{required}: a field added to AfterSale needs a default ({WHY})"


def test_a_record_stored_before_a_field_was_appended_loads_with_it_at_default(
    world: World,
) -> None:
    """A record written before a field was appended is a shorter array."""
    record = world.reach(State.MERCHANT_PROCESSING)
    assert record.contact_quota_requests == 0
    shorter = msgspec.json.decode(encode_record(record))[: len(PINNED) - 1]

    assert decode_record(msgspec.json.encode(shorter)) == record
