"""Hypothesis strategies for bad input: any request message of the API, field by field from
its descriptor, with values a careless or hostile client sends.

- strings: real ids, ids of the wrong shape or shard, empty, unicode (CJK, emoji, RTL marks),
  control characters and NUL, very long (up to 100k characters);
- integers: 0, -1, the type's extremes, and everything between;
- enums: known values and numbers the proto does not define (proto3 enums are open);
- messages: missing, or filled the same way (Timestamps and Durations with out-of-range
  seconds and nanos);
- repeated fields: empty to 40 entries;
- page tokens and cursors (``tokens``): any string, or base64 of JSON (plain or zlib'd, as a
  cursor is) of any shape, of the shape a token has but with odd parts, or nested deeply.

`raw_bodies` also yields bytes that are not a valid encoding of the message (truncated varints,
wrong wire types, invalid UTF-8 in a string field).
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
ID_FIELDS = {"request_id", "order_id", "sku_id", "shop_id", "buyer_id", "refund_id"}
TOKEN_FIELDS = {"page_token", "cursor"}

# Text without surrogates (protobuf cannot encode them; invalid UTF-8 comes via raw bodies).
_TEXT = st.characters(exclude_categories=["Cs"])
_CONTROL = st.characters(min_codepoint=0, max_codepoint=31) | st.sampled_from("\x7f\u2028\u202e")
_NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "AS00-",
        "AS99-0000000000",
        "AS-1-x",
        "../../etc/passwd",
        "'; DROP TABLE x; --",
        "{as:00}:req:x",
        "*",
        "a|1|cancel",
        "退款",
        "🙂" * 70,
        "\u202eevil",
        "A" * 65,
        "A" * 513,
        "B" * 10_000,
        "%s%s%n",
        "null",
        "-1",
    ]
)


def strings(pool: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Any string a hostile client might send; ``pool`` adds known-good values (real ids)."""
    parts: list[st.SearchStrategy[str]] = [
        _NASTY,
        st.text(_TEXT, max_size=40),
        st.text(_CONTROL, min_size=1, max_size=10),
        st.text(_TEXT, min_size=490, max_size=520),
        st.integers(min_value=1, max_value=100_000).map(lambda n: "x" * n),
        st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    ]
    if pool:
        parts.insert(0, st.sampled_from(list(pool)))
    return st.one_of(*parts)


_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_TEXT, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(_TEXT, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_STREAM_IDS = st.one_of(
    st.from_regex(r"[0-9]{1,20}-[0-9]{1,20}", fullmatch=True),
    st.sampled_from(["1 ", "١-0", f"{10**25}-0", "-1-0", "0-0", "1-1\n", "1", "+1-0"]),
    st.text(_TEXT, max_size=12),
)
_CURSOR_LIKE = st.fixed_dictionaries(
    {
        "n": st.one_of(st.sampled_from([64, 8, 1]), st.integers(), st.booleans(), _JSON),
        "ids": st.one_of(
            st.dictionaries(
                st.from_regex(r"-?[0-9]{1,4}", fullmatch=True) | st.text(_TEXT, max_size=4),
                _STREAM_IDS | _JSON,
                max_size=4,
            ),
            _JSON,
        ),
    }
)
_PAGE_LIKE = st.lists(st.one_of(st.integers(), st.booleans(), st.text(max_size=20), _JSON),
                      min_size=0, max_size=3)  # fmt: skip


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def tokens() -> st.SearchStrategy[str]:
    """Page tokens and cursors a client may forge: any string, or base64 of JSON (plain and
    zlib'd) of any shape, of a token's shape with odd parts, or nested thousands deep."""
    documents = st.one_of(
        st.builds(json.dumps, _JSON),
        st.builds(json.dumps, _CURSOR_LIKE),
        st.builds(json.dumps, _PAGE_LIKE),
        st.integers(1, 20_000).map(lambda depth: "[" * depth + "]" * depth),
        st.integers(1, 20_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    )
    encoded = documents.map(str.encode)
    return st.one_of(
        strings(),
        encoded.map(_b64),
        encoded.map(lambda raw: _b64(zlib.compress(raw))),
    )


def integers(low: int, high: int) -> st.SearchStrategy[int]:
    edges = [v for v in (0, 1, -1, 2, 100, low, high, low + 1, high - 1) if low <= v <= high]
    return st.one_of(st.sampled_from(edges), st.integers(min_value=low, max_value=high))


def _int_range(field: FieldDescriptor) -> tuple[int, int]:
    kind = field.type
    if kind in (
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SFIXED32,
    ):
        return INT32
    if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return UINT32
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return UINT64
    return INT64


def _scalar(field: FieldDescriptor, pool: Sequence[str]) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING and field.name in TOKEN_FIELDS:
        return tokens()
    if kind == FieldDescriptor.TYPE_STRING:
        return strings(pool if field.name in ID_FIELDS else ())
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    if kind == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        known = [v.number for v in enum.values] if enum is not None else [0]
        return st.one_of(st.sampled_from(known), integers(*INT32))
    return integers(*_int_range(field))


def messages(
    descriptor: Descriptor, pool: Sequence[str] = (), depth: int = 3
) -> st.SearchStrategy[dict[str, Any]]:
    """Field values for ``descriptor``'s message: a dict of the fields that are set."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth == 0:
                continue
            if field.message_type is None:
                continue
            inner = messages(field.message_type, pool, depth - 1)
            if field.is_repeated:
                value: st.SearchStrategy[Any] = st.lists(inner, max_size=4)
            else:
                value = inner
        elif field.is_repeated:
            value = st.lists(_scalar(field, pool), max_size=40)
        else:
            value = _scalar(field, pool)
        fields[field.name] = value
    return st.fixed_dictionaries({}, optional=fields)


def build(cls: type[Message], values: dict[str, Any]) -> Message:
    """A message of ``cls`` with ``values`` set (nested dicts become sub-messages)."""
    message = cls()
    _fill(message, values)
    return message


def _fill(message: Message, values: dict[str, Any]) -> None:
    descriptor = message.DESCRIPTOR
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                for item in value:
                    _fill(getattr(message, name).add(), item)
            else:
                getattr(message, name).SetInParent()
                _fill(getattr(message, name), value)
        elif field.is_repeated:
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def raw_bodies(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Request bodies that do not decode as ``descriptor`` cleanly, or decode oddly."""
    string_fields = [f.number for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING]
    numbers = [f.number for f in descriptor.fields] or [1]

    def bad_utf8(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    def wrong_wire(number: int, wire: int) -> bytes:
        return _varint(number << 3 | wire) + b"\x01\x02\x03\x04\x05\x06\x07\x08"

    invalid_utf8 = st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80"])
    parts: list[st.SearchStrategy[bytes]] = [
        st.binary(max_size=200),
        st.builds(wrong_wire, st.sampled_from(numbers), st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7])),
        st.just(b"\x0a\xff\xff\xff\xff\x0f"),  # a length far past the end
        st.just(b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),  # an 11-byte varint
        st.just(b"\x00"),  # field number 0
    ]
    if string_fields:
        parts.append(st.builds(bad_utf8, st.sampled_from(string_fields), invalid_utf8))
    return st.one_of(*parts)
