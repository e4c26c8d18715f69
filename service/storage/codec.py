"""The record's stored form: one JSON blob, encoded once per commit (msgspec).

The commit script stores the blob as the record hash's ``d`` field and, unchanged, as the
idempotency result, so a command serializes its record once; a load decodes it in one call.
Fields at their default are left out (``omit_defaults`` on the model), and unknown fields are
ignored, so a record written by a newer release with an extra field still loads here.

A record hash without ``d`` was written before the blob existed (every field its own hash
field, nested parts as JSON): ``legacy.record_from_flat`` reads it, so a data set written by
the previous release loads as it is; its next commit rewrites it as a blob.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from aftersale.model import AfterSale
from service.storage.legacy import record_from_flat

RECORD_FIELD = "d"  # the record hash's blob field (beside ``version`` and ``_timer_member``)

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(AfterSale)


def encode_record(record: AfterSale) -> bytes:
    """The record as compact UTF-8 JSON: what the record hash and an idempotency result hold."""
    return _ENCODER.encode(record)


def decode_record(blob: str | bytes) -> AfterSale:
    """Inverse of ``encode_record``."""
    return _DECODER.decode(blob)


def record_from_hash(fields: Mapping[str, str]) -> AfterSale:
    """The record a record hash holds: the blob, or the previous release's flat fields."""
    blob = fields.get(RECORD_FIELD)
    return decode_record(blob) if blob is not None else record_from_flat(fields)
