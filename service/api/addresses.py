"""Return addresses: the proto message ↔ the record's one text field.

The record keeps an address as text (the domain only needs to know one is there), stored as
compact JSON of the three proto fields. Text that is not such JSON (written by other tools) is
shown as the ``address`` line alone.
"""

from __future__ import annotations

import json
from functools import lru_cache

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
    contact_name, contact_phone, address = _address_fields(text)
    return types_pb2.ReturnAddress(
        contact_name=contact_name, contact_phone=contact_phone, address=address
    )


# Every reply carrying a request converts its address: a shop's few addresses are parsed once.
@lru_cache(maxsize=4096)
def _address_fields(text: str) -> tuple[str, str, str]:
    """(contact name, phone, address line) of the stored text; a text that is not a JSON
    object is the address line alone."""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return "", "", text
    return (
        str(document.get("contact_name", "")),
        str(document.get("contact_phone", "")),
        str(document.get("address", "")),
    )
