"""What a zh-CN message may contain in ASCII, and a scan for anything else.

The allowlist (README "Errors"): ids and references (any token with a digit, "-", "_", "." or
"/": request ids, refund ids, field paths, ``aftersale.v1.XRequest``), the proto's field and
RPC names, the call's header names (a message names the field to fix), the role names a caller sends
in ``x-actor-role``, and the word ``Bearer`` of the ``authorization`` header. Everything else
in ASCII letters is a stray English word.
"""

from __future__ import annotations

import re

from google.protobuf.descriptor import Descriptor

from service.gen.aftersale.v1 import aftersale_pb2, subscriptions_pb2, types_pb2

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-./]*")
_ID_LIKE = re.compile(r"[0-9_\-./]")


def _field_names() -> frozenset[str]:
    names: set[str] = set()

    def walk(message: Descriptor) -> None:
        names.update(f.name for f in message.fields)
        for nested in message.nested_types:
            walk(nested)

    for module in (aftersale_pb2, subscriptions_pb2, types_pb2):
        for message in module.DESCRIPTOR.message_types_by_name.values():
            walk(message)
        for service in module.DESCRIPTOR.services_by_name.values():
            names.update(m.name for m in service.methods)
    return frozenset(names)


ALLOWED: frozenset[str] = _field_names() | {
    "authorization",
    "Bearer",
    "BUYER",
    "MERCHANT",
    "PAYMENT",
    "PLATFORM",
    "live",  # a subscription's `start` in config, the value the caller writes
    "oldest",
}


def stray_english(message: str) -> list[str]:
    """The ASCII words of ``message`` a zh-CN reader should not meet."""
    return [
        word for word in _WORD.findall(message) if word not in ALLOWED and not _ID_LIKE.search(word)
    ]
