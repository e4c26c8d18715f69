"""What only the API can check: the proto's own shapes, before a command exists.

Enum numbers (0 is ``*_UNSPECIFIED``, and numbers the proto does not define), Timestamps,
page sizes, and the ids, tokens and text parts that never reach a command (metadata, filters,
cursors, address parts). Every rule a command's fields must keep is the domain's
(``aftersale.validation``), checked once by the handlers. Each check here raises
``InvalidInput(field, rule)`` naming the proto field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum
from typing import Any, TypeVar

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from aftersale.exceptions import InvalidInput
from aftersale.validation import ID, REFUND_ID, check_id

__all__ = ["ID", "REFUND_ID", "check_id"]

E = TypeVar("E", bound=Enum)


def require_id(value: str, field: str, pattern: re.Pattern[str] = ID) -> str:
    """A required id outside a command (metadata, a read's request id)."""
    return check_id(value, field, pattern)


def optional_id(value: str, field: str) -> str:
    """An id that may be empty (a filter)."""
    return check_id(value, field) if value else value


def text(value: str, field: str, *, limit: int, required: bool = False) -> str:
    """Free text of at most ``limit`` characters (tokens, address parts)."""
    if required and not value.strip():
        raise InvalidInput(field, "required", "必填")
    if len(value) > limit:
        raise InvalidInput(field, f"at most {limit} characters", f"最多 {limit} 个字符")
    return value


def enum_value(proto_enum: Any, prefix: str, domain: type[E], value: int, field: str) -> E | None:
    """The domain member for a proto enum number; None for 0 (not given).

    ``proto_enum`` is the generated enum wrapper (``types_pb2.AfterSaleType``); its names are
    ``prefix`` + the domain member's name."""
    if value == 0:
        return None
    try:
        name: str = proto_enum.Name(value)
        return domain[name.removeprefix(prefix)]
    except (ValueError, KeyError):
        raise InvalidInput(field, f"unknown value {value}", f"未知取值 {value}") from None


def required_enum(proto_enum: Any, prefix: str, domain: type[E], value: int, field: str) -> E:
    """Like :func:`enum_value`, but 0 (``*_UNSPECIFIED``) is invalid too."""
    member = enum_value(proto_enum, prefix, domain, value, field)
    if member is None:
        raise InvalidInput(field, "required (UNSPECIFIED is not a value)", "必填")
    return member


def enum_list(
    proto_enum: Any, prefix: str, domain: type[E], values: Sequence[int], field: str
) -> frozenset[E]:
    """A repeated enum filter; every entry must be a defined, non-zero value."""
    return frozenset(
        required_enum(proto_enum, prefix, domain, v, f"{field}[{i}]") for i, v in enumerate(values)
    )


# The ranges the protobuf well-known types define: a Timestamp within years 1..9999 (we take
# 1970.. since no after-sale time is older), a Duration within ±10,000 years.
MAX_TIMESTAMP_S = 253_402_300_799  # 9999-12-31T23:59:59Z
MAX_DURATION_S = 315_576_000_000


def timestamp_ms(message: Any, field: str, *, required: bool = True) -> int | None:
    """``message.field`` (a Timestamp) as UTC milliseconds; None when unset and optional."""
    if not message.HasField(field):
        if required:
            raise InvalidInput(field, "required", "必填")
        return None
    stamp: Timestamp = getattr(message, field)
    if not 0 <= stamp.seconds <= MAX_TIMESTAMP_S or not 0 <= stamp.nanos < 1_000_000_000:
        raise InvalidInput(
            field, "must be a valid time from 1970 to 9999", "须为 1970 至 9999 年之间的有效时间"
        )
    return stamp.ToMilliseconds()


def duration_ms(message: Any, field: str) -> int:
    """``message.field`` (a Duration) as milliseconds, inside the Duration's defined range."""
    duration: Duration = getattr(message, field)
    seconds, nanos = duration.seconds, duration.nanos
    in_range = abs(seconds) <= MAX_DURATION_S and abs(nanos) < 1_000_000_000
    if not in_range or (seconds > 0 > nanos) or (seconds < 0 < nanos):
        raise InvalidInput(field, "not a valid Duration", "不是有效的时长")
    return duration.ToMilliseconds()


def page_size(value: int, field: str = "page_size", *, default: int = 50, cap: int = 200) -> int:
    """0 → ``default``; large values are capped; negative is invalid."""
    if value < 0:
        raise InvalidInput(field, "must not be negative", "不得为负数")
    return default if value == 0 else min(value, cap)
