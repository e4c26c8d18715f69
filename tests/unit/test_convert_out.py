"""The reply conversion's shortcuts give what the library's slow paths give."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from aftersale.vocabulary import AfterSaleType, State
from service.api.addresses import address_message
from service.api.convert_out import STATUS, TYPE, name, stamp


@pytest.mark.parametrize("ms", [1, 999, 1_000, 1_790_000_000_123, -1, -1_001, 253_402_300_799_999])
def test_stamp_is_from_milliseconds(ms: int) -> None:
    expected = Timestamp()
    expected.FromMilliseconds(ms)
    assert stamp(ms) == expected


@pytest.mark.parametrize("ms", [253_402_300_800_000, -62_135_596_800_001])
def test_a_time_out_of_the_timestamp_range_is_refused_as_before(ms: int) -> None:
    with pytest.raises(ValueError, match="Timestamp is not valid"):
        stamp(ms)


def test_unset_times_stay_unset() -> None:
    assert stamp(None) is None
    assert stamp(0) is None


def test_names_are_prefix_and_member_name() -> None:
    for _ in range(2):  # the first call fills the table, the second reads it
        assert name(STATUS, State.MERCHANT_PROCESSING) == "AFTER_SALE_STATUS_MERCHANT_PROCESSING"
        assert name(TYPE, AfterSaleType.RETURN) == "AFTER_SALE_TYPE_RETURN"
        assert name(TYPE, None) == "AFTER_SALE_TYPE_UNSPECIFIED"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ('{"contact_name":"张三","contact_phone":"1","address":"杭州"}', ("张三", "1", "杭州")),
        (' \n{"address":"line"}', ("", "", "line")),
        ("1 Test Road, Hangzhou", ("", "", "1 Test Road, Hangzhou")),
        ('["not", "an object"]', ("", "", '["not", "an object"]')),
        ("{broken", ("", "", "{broken")),
    ],
)
def test_address_text_as_message(text: str, fields: tuple[str, str, str]) -> None:
    for _ in range(2):  # parsed, then from the cache
        message = address_message(text)
        assert message is not None
        assert (message.contact_name, message.contact_phone, message.address) == fields
