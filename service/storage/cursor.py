"""A position in the transition streams: the last stream id read in each shard (DESIGN §5).

``to_bytes`` is its compact form (zlib'd JSON), ``encode`` that form as a URL-safe token. The
API never hands either out as it is: it seals ``to_bytes`` for the caller (``service.api.
sealing``), because the ids are other tenants' commit times. Parsing accepts only what this
service makes: the shard count it runs with, shard numbers in range, and ids Redis could have
issued; anything else is ``InvalidInput("cursor")``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import dataclass

import msgspec

from aftersale.exceptions import InvalidInput

NOT_ISSUED = "not a cursor issued by this service"
NOT_ISSUED_ZH = "不是本服务签发的游标"

ZERO = "0-0"
# What Redis can have issued: ``<ms>-<seq>``, ASCII digits, each part a 64-bit unsigned. Python's
# ``int`` is laxer ("1 ", "١", 10**25 all parse), and Redis refuses those at XREAD time.
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
_SHARD = re.compile(r"[0-9]{1,4}")
_U64 = 2**64 - 1
MAX_CURSOR_JSON = 64 * 1024  # a cursor of 1,024 shards inflates to ~40 KiB


class _CursorDocument(msgspec.Struct, forbid_unknown_fields=True):
    """A cursor's JSON: the shard count and the moved shards' last ids."""

    n: int
    ids: dict[str, str]


def stream_id_order(event_id: str) -> tuple[int, int]:
    """The sort key of a stream id Redis returned (trusted: see ``parse_stream_id``)."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def parse_stream_id(text: str) -> tuple[int, int]:
    """A stream id from outside as (ms, seq); ValueError unless Redis could have issued it."""
    if _STREAM_ID.fullmatch(text) is None:
        raise ValueError("not a stream id")
    ms, seq = (int(part) for part in text.split("-"))
    if ms > _U64 or seq > _U64:
        raise ValueError("stream id out of range")
    return ms, seq


@dataclass(frozen=True, slots=True)
class StreamCursor:
    """The last stream id read in each shard (``0-0``: nothing yet)."""

    shards: int
    last: tuple[str, ...]

    @classmethod
    def start(cls, shards: int) -> StreamCursor:
        return cls(shards, (ZERO,) * shards)

    def advanced(self, shard: int, event_id: str) -> StreamCursor:
        last = list(self.last)
        last[shard] = event_id
        return StreamCursor(self.shards, tuple(last))

    def to_bytes(self) -> bytes:
        """The compact form: zlib of ``{"n": shards, "ids": {shard: last id}}`` (moved only)."""
        moved = {str(s): i for s, i in enumerate(self.last) if i != ZERO}
        raw = json.dumps({"n": self.shards, "ids": moved}, separators=(",", ":")).encode()
        return zlib.compress(raw, 9)

    def encode(self) -> str:
        """The URL-safe token form (storage's own; the API seals ``to_bytes`` instead)."""
        return base64.urlsafe_b64encode(self.to_bytes()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, shards: int) -> StreamCursor:
        """Parse a token from ``encode``; InvalidInput("cursor") if it is not one."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, binascii.Error):
            raise InvalidInput("cursor", NOT_ISSUED, NOT_ISSUED_ZH, "TOKEN_NOT_ISSUED") from None
        return cls.from_bytes(raw, shards)

    @classmethod
    def from_bytes(cls, raw: bytes, shards: int) -> StreamCursor:
        """Parse ``to_bytes``' form; InvalidInput("cursor") unless every part is one this
        service issues: the shard count, shard numbers in range, ids Redis could have made."""
        try:
            inflate = zlib.decompressobj()
            text = inflate.decompress(raw, MAX_CURSOR_JSON)
            if inflate.unconsumed_tail or inflate.unused_data or not inflate.eof:
                raise ValueError("not one whole, small enough zlib stream")
            document = msgspec.json.decode(text, type=_CursorDocument)
            if document.n != shards:
                raise ValueError("shard count differs")
            last = [ZERO] * shards
            for shard, event_id in document.ids.items():
                if _SHARD.fullmatch(shard) is None or int(shard) >= shards:
                    raise ValueError("no such shard")
                parse_stream_id(event_id)
                last[int(shard)] = event_id
            return cls(shards, tuple(last))
        except (ValueError, zlib.error, msgspec.DecodeError):
            raise InvalidInput("cursor", NOT_ISSUED, NOT_ISSUED_ZH, "TOKEN_NOT_ISSUED") from None
