"""The record's stored form: one JSON blob, encoded once per commit (msgspec).

The commit script stores the blob as the record hash's ``d`` field, so a command serializes
its record once; a load decodes it in one call.

The blob is **positional**: a JSON array of ``AfterSale``'s fields in declaration order
(``RECORD_FIELDS``), trailing fields at their default left out. Field names were more than a
third of an open request's blob, and Redis keeps every open request. Positions hold only
because ``AfterSale``'s field order is append-only (its docstring; a unit test pins it). A
longer array, written by a newer release that appended a field, still loads here: msgspec
ignores trailing elements, as it ignores unknown names in the object form.

Nested parts (waybill, negotiations, timer, ...) stay JSON objects inside the array: a fresh
request has none of them (null or trimmed), so positions there would save little on an open
request but would pin nine more field orders, and the Lua scripts that read a nested field
(the sweep's ``timer.action``) read it by name.

Every reader takes both forms: a blob starting with ``{`` is the previous release's object
form (``msgspec`` object JSON, defaults left out), ``[`` the positional one. The Lua scripts
read blobs through ``lua_blob_reader`` (positions formatted from ``RECORD_FIELDS``: one
source). The archive keeps the object form (``encode_record_object``), which names its
fields and so needs no position table to be read years later.

A record hash without ``d`` was written before the blob existed (every field its own hash
field, nested parts as JSON): ``legacy.record_from_flat`` reads it, so a data set written by
the release before that loads as it is; its next commit rewrites it as a blob.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec
from msgspec.structs import astuple

from aftersale.model import AfterSale
from service.storage.legacy import record_from_flat

# What a commit writes: "positional" (this release's form) or "object" (the earlier release's,
# which its replicas can read: for a rolling upgrade, README "Redis data"). Both always read.
RecordForm = Literal["positional", "object"]
RECORD_FORMS: tuple[RecordForm, ...] = ("positional", "object")

RECORD_FIELD = "d"  # the record hash's blob field (beside ``version``, and ``a`` once archived)
RECORD_FIELDS: tuple[str, ...] = AfterSale.__struct_fields__  # the blob's positions, in order

_ARRAY_START = ("[", b"[")  # a reply's text, or bytes
_NO_DEFAULT = object()  # a required field: never trimmed


def _default(field: msgspec.structs.FieldInfo) -> Any:
    if field.default is not msgspec.NODEFAULT:
        return field.default
    if field.default_factory is not msgspec.NODEFAULT:
        return field.default_factory()
    return _NO_DEFAULT


_DEFAULTS = tuple(_default(f) for f in msgspec.structs.fields(AfterSale))

# The positional twin of AfterSale: its fields, types and defaults (inherited: said once),
# decoded from an array. Decoding goes through it; the record handed on is an AfterSale.
_Positional = msgspec.defstruct("_PositionalAfterSale", [], bases=(AfterSale,), array_like=True)

_ENCODER = msgspec.json.Encoder()
_OBJECT_DECODER = msgspec.json.Decoder(AfterSale)
_POSITIONAL_DECODER = msgspec.json.Decoder(_Positional)


def encode_record(record: AfterSale) -> bytes:
    """The record as a compact UTF-8 JSON array (the positional form): what the record hash
    holds."""
    values = astuple(record)
    n = len(values)
    while n and values[n - 1] == _DEFAULTS[n - 1]:
        n -= 1
    return _ENCODER.encode(values[:n])


def encode_record_object(record: AfterSale) -> bytes:
    """The record as a compact JSON object, fields at their default left out (the previous
    release's blob; what the archive keeps: it names its fields)."""
    return _ENCODER.encode(record)


def is_positional(blob: str | bytes) -> bool:
    """Whether ``blob`` is the positional form (else the object form)."""
    return blob[:1] in _ARRAY_START


def decode_record(blob: str | bytes) -> AfterSale:
    """Inverse of ``encode_record`` and of ``encode_record_object``: either form."""
    if is_positional(blob):
        return AfterSale(*astuple(_POSITIONAL_DECODER.decode(blob)))
    return _OBJECT_DECODER.decode(blob)


def record_from_hash(fields: Mapping[str, str]) -> AfterSale:
    """The record a record hash holds: the blob, or the previous release's flat fields."""
    blob = fields.get(RECORD_FIELD)
    return decode_record(blob) if blob is not None else record_from_flat(fields)


def position(name: str) -> int:
    """The Lua (1-based) index of field ``name`` in a positional blob."""
    return RECORD_FIELDS.index(name) + 1


def lua_blob_reader(*names: str) -> str:
    """Lua source of ``blob_fields(blob)``: the named fields of a record blob of either form,
    as a table by name (the object form's table as it is; in the positional form a null or
    trimmed field is nil). Raises, as ``cjson.decode`` does, on a blob that is not JSON;
    a blob that is JSON but no array or object comes back as it decoded (not a table)."""
    at = ", ".join(f"{name} = {position(name)}" for name in names)
    return f"""local BLOB_AT = {{{at}}}
local function blob_fields(blob)
  local t = cjson.decode(blob)
  if type(t) ~= 'table' or string.sub(blob, 1, 1) ~= '[' then return t end
  local named = {{}}
  for name, i in pairs(BLOB_AT) do
    if t[i] ~= cjson.null then named[name] = t[i] end
  end
  return named
end
"""


def lua_leading_id_pattern(name: str) -> str:
    """A Lua pattern capturing field ``name`` of a positional blob whose earlier fields are
    all ids (``[A-Za-z0-9_-]``, no escapes), without decoding it."""
    before = position(name) - 1
    return "^%[" + '"[^"]*",' * before + '"([^"]*)"'
