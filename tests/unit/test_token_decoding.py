"""The storage's own cursor and page-token forms decode only what the service makes: every other
input is ``InvalidInput`` naming the field, never another exception (it would be INTERNAL)."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest
from hypothesis import given, settings

from aftersale.exceptions import InvalidInput
from service.storage.listing import decode_page_token, encode_page_token
from service.storage.stream import StreamCursor, parse_stream_id
from tests.reliability import fuzz


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_of(document: Any) -> bytes:
    return zlib.compress(json.dumps(document).encode())


def test_a_cursor_survives_its_round_trip() -> None:
    cursor = StreamCursor.start(8).advanced(3, "1790000000000-7").advanced(0, "5-0")

    assert StreamCursor.from_bytes(cursor.to_bytes(), 8) == cursor
    assert StreamCursor.decode(cursor.encode(), 8) == cursor


@pytest.mark.parametrize(
    "event_id",
    ["1 ", " 1-0", "١-0", "１-0", f"{10**25}-0", f"{2**64}-0", "1-0\n", "+1-0", "1", "-1-0", ""],
)
def test_a_stream_id_redis_could_not_have_issued_is_refused(event_id: str) -> None:
    with pytest.raises(ValueError):
        parse_stream_id(event_id)


def test_the_largest_stream_id_is_accepted() -> None:
    assert parse_stream_id(f"{2**64 - 1}-{2**64 - 1}") == (2**64 - 1, 2**64 - 1)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(cursor_of({"n": 8, "ids": {"0": "1 "}}), id="space"),
        pytest.param(cursor_of({"n": 8, "ids": {"0": "١-0"}}), id="arabic-digit"),
        pytest.param(cursor_of({"n": 8, "ids": {"0": f"{10**25}-0"}}), id="ten-to-the-25"),
        pytest.param(cursor_of({"n": 8, "ids": {"-1": "1-0"}}), id="negative-shard"),
        pytest.param(cursor_of({"n": 8, "ids": {"8": "1-0"}}), id="shard-out-of-range"),
        pytest.param(cursor_of({"n": 8, "ids": {"٣": "1-0"}}), id="non-ascii-shard"),
        pytest.param(cursor_of({"n": 8, "ids": []}), id="ids-a-list"),
        pytest.param(cursor_of({"n": True, "ids": {}}), id="n-a-boolean"),
        pytest.param(cursor_of({"n": 8, "ids": {}, "extra": 1}), id="unknown-key"),
        pytest.param(zlib.compress(b"[" * 5_000 + b"]" * 5_000), id="deeply-nested"),
        pytest.param(zlib.compress(b" " * 100_000 + b"{}"), id="inflates-too-far"),
        pytest.param(zlib.compress(b'{"n":8,"ids":{}}') + b"trailing", id="trailing-bytes"),
    ],
)
def test_a_malformed_cursor_is_invalid_input_naming_the_cursor(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        StreamCursor.from_bytes(raw, 8)

    assert refused.value.field == "cursor"


def test_a_list_page_token_of_true_and_text_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_page_token(b64(b'[true,"x"]'))

    assert refused.value.field == "page_token"


def test_a_page_token_survives_its_round_trip() -> None:
    assert decode_page_token(encode_page_token((1_790_000_000_000, "AS01-x"))) == (
        1_790_000_000_000,
        "AS01-x",
    )


@settings(max_examples=300, deadline=None, database=None)
@given(token=fuzz.tokens())
def test_any_forged_token_decodes_or_is_invalid_input(token: str) -> None:
    for decode, field in (
        (lambda: StreamCursor.decode(token, 64), "cursor"),
        (lambda: decode_page_token(token), "page_token"),
    ):
        try:
            decode()
        except InvalidInput as refused:
            assert refused.field == field
