"""Return addresses: the proto message ↔ the record's one text field.

The record keeps an address as text (the domain only needs to know one is there), stored as
compact JSON of the three proto fields. Text that is not such JSON (written by other tools) is
shown as the ``address`` line alone.
"""

from __future__ import annotations

import json

from service.api import fields
from service.gen.aftersale.v1 import types_pb2


def address_text(message: types_pb2.ReturnAddress, field: str) -> str:
    """A validated proto address as the record's text."""
    name = fields.text(message.contact_name, f"{field}.contact_name", required=True, limit=64)
    phone = fields.text(message.contact_phone, f"{field}.contact_phone", required=True, limit=32)
    line = fields.text(message.address, f"{field}.address", required=True, limit=500)
    document = {"contact_name": name, "contact_phone": phone, "address": line}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def address_message(text: str) -> types_pb2.ReturnAddress | None:
    """The record's address text as the proto message; None when there is none."""
    if not text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return types_pb2.ReturnAddress(address=text)
    return types_pb2.ReturnAddress(
        contact_name=str(document.get("contact_name", "")),
        contact_phone=str(document.get("contact_phone", "")),
        address=str(document.get("address", "")),
    )
