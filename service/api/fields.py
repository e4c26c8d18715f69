"""Field rules of SPEC §8, checked on the proto before any handler runs.

Each check raises ``InvalidInput(field, rule)`` naming the proto field (``images[3]``) so the
client gets a BadRequest it can point at. Enums: 0 (``*_UNSPECIFIED``) and numbers the proto
does not define are invalid where a value is required.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from aftersale.exceptions import InvalidInput

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
REFUND_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,80}")  # "<request id>-R<attempt>"
MAX_TEXT = 500
MAX_SHORT_TEXT = 64
MAX_IMAGES = 9
MAX_MEDIA_REF = 512
MAX_AMOUNT = 10**12  # fen; far above any order, keeps sums well inside int64

E = TypeVar("E", bound=Enum)


def require_id(value: str, field: str, pattern: re.Pattern[str] = ID_PATTERN) -> str:
    """A required id: 1..64 (``pattern``: refund ids 1..80) of ``[A-Za-z0-9_-]``."""
    if not value:
        raise InvalidInput(field, "required", "必填")
    return optional_id(value, field, pattern)


def optional_id(value: str, field: str, pattern: re.Pattern[str] = ID_PATTERN) -> str:
    """An id that may be empty (a filter), else 1..64 of ``[A-Za-z0-9_-]``."""
    if value and pattern.fullmatch(value) is None:
        size = "1..80" if pattern is REFUND_ID_PATTERN else "1..64"
        rule = f"must be {size} characters of A-Z a-z 0-9 _ -"
        raise InvalidInput(field, rule, f"须为 {size} 个字符,仅限字母、数字、_ 和 -")
    return value


def text(value: str, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """Free text of at most ``limit`` characters."""
    if required and not value.strip():
        raise InvalidInput(field, "required", "必填")
    if len(value) > limit:
        raise InvalidInput(field, f"at most {limit} characters", f"最多 {limit} 个字符")
    return value


def images(
    values: Sequence[str], field: str, *, required: bool = False, limit: int = MAX_IMAGES
) -> tuple[str, ...]:
    """Media references: at most ``limit``, each 1..512 characters."""
    if required and not values:
        raise InvalidInput(field, "at least one image is required", "至少需要一张图片")
    if len(values) > limit:
        raise InvalidInput(field, f"at most {limit} images", f"最多 {limit} 张图片")
    for index, ref in enumerate(values):
        if not ref.strip() or len(ref) > MAX_MEDIA_REF:
            rule = f"a media reference of 1..{MAX_MEDIA_REF} characters"
            raise InvalidInput(
                f"{field}[{index}]", rule, f"须为 1..{MAX_MEDIA_REF} 个字符的媒体引用"
            )
    return tuple(values)


def amount(value: int, field: str, *, paid: int | None = None) -> int:
    """Money in fen: at least 1, at most ``paid`` when it is known here."""
    if value < 1:
        raise InvalidInput(field, "must be at least 1 fen", "金额至少为 1 分")
    upper = MAX_AMOUNT if paid is None else paid
    if value > upper:
        rule = f"must not exceed the paid amount ({upper} fen)"
        raise InvalidInput(field, rule, f"不得超过实付金额 ({upper} 分)")
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


def timestamp_ms(message: Any, field: str, *, required: bool = True) -> int | None:
    """``message.field`` (a Timestamp) as UTC milliseconds; None when unset and optional."""
    if not message.HasField(field):
        if required:
            raise InvalidInput(field, "required", "必填")
        return None
    stamp: Timestamp = getattr(message, field)
    if stamp.seconds < 0 or not 0 <= stamp.nanos < 1_000_000_000:
        raise InvalidInput(field, "must be a valid time after 1970", "须为 1970 年之后的有效时间")
    return stamp.ToMilliseconds()


def page_size(value: int, field: str = "page_size", *, default: int = 50, cap: int = 200) -> int:
    """0 → ``default``; large values are capped; negative is invalid."""
    if value < 0:
        raise InvalidInput(field, "must not be negative", "不得为负数")
    return default if value == 0 else min(value, cap)
