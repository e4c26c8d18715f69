"""Decoding what storage holds, strictly: transition events (stream entries, history rows) and
records. What does not decode raises ``UndecodableEntry`` (events) or ``UndecodableRecord``
(records), and every reader decides what that means for it: a stream, a history page, a list
page or a subscriber skips the entry (``service.observability.undecodable``: an error log
with the entry's id and a counter) and goes on; a direct read of one record answers a clear
error.

Events are read in both stored forms: the proto JSON of schema version 1 (``event_codec``: a
stream entry ``{v: "1", event: JSON}``, a history row that JSON with ``eventId`` first) and the
previous release's flat form (``legacy_events``: an entry without ``v``, a row with
``event_id``). An entry of another schema version is undecodable, like any other bad entry.

"Decodes" means more than "parses": the flat form's fields are text, so ``event_from_flat``
accepts any value, and one with an unknown action or state would only fail later, in whoever
converts it; proto JSON may hold any number. Here every field of either form is checked
against the domain's vocabulary and ranges, so an event that decodes can be delivered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum

import msgspec

from aftersale.events import NegotiationFacts, TransitionEvent
from aftersale.model import AfterSale
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    CloseReason,
    RefundReason,
    RejectReason,
    Role,
    Signal,
    State,
    Verdict,
)
from service.storage.codec import RECORD_FIELD, is_positional, position, record_from_hash
from service.storage.event_codec import SCHEMA_VERSION, decode_event
from service.storage.legacy_events import event_from_flat
from service.storage.ports import RecordOwner, StoredEvent, UndecodableRecord

INT64 = 2**63 - 1
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last time a Timestamp holds
INTS = ("version", "occurred_at_ms", "amount", "refund_amount", "deadline_ms")
# ``event_from_flat`` parses every value into its type once and leaves "" for a field it did
# not find: these must hold a member, the others a member or nothing.
REQUIRED: dict[str, type[Enum]] = {
    "action": Action,
    "actor_role": Role,
    "to_state": State,
    "type": AfterSaleType,
    "first_reason": BuyerReason,
}
OPTIONAL: dict[str, type[Enum]] = {
    "from_state": State,
    "refund_reason": RefundReason,
    "reject_reason": RejectReason,
    "verdict": Verdict,
    "close_reason": CloseReason,
    "timer_action": Action,
    "forced_by_role": Role,
}


ROW_START = '{"eventId":'  # a history row as the commit script writes it (commit.lua)


class UndecodableEntry(ValueError):
    """A stored transition event that does not decode; ``why`` says what is wrong."""


class _Owner(msgspec.Struct):
    """Whose a record is, read from a blob that does not decode as a whole."""

    buyer_id: str = ""
    shop_id: str = ""
    refund: msgspec.Raw | None = None


_OWNER_AT = {name: position(name) - 1 for name in _Owner.__struct_fields__}


def _blob_owner(blob: str) -> _Owner:
    """Whose a record blob (either form) is, read field by field; msgspec.DecodeError when
    even that much does not decode."""
    if not is_positional(blob):
        return msgspec.json.decode(blob, type=_Owner)
    items = msgspec.json.decode(blob, type=list[msgspec.Raw])
    found = {name: items[i] for name, i in _OWNER_AT.items() if i < len(items)}
    refund = found.get("refund")
    return _Owner(
        buyer_id=msgspec.json.decode(found.get("buyer_id", b'""'), type=str),
        shop_id=msgspec.json.decode(found.get("shop_id", b'""'), type=str),
        refund=None if refund is None or bytes(refund) == b"null" else refund,
    )


def event_from_fields(fields: Mapping[str, str]) -> TransitionEvent:
    """A stream entry's fields as an event that can be delivered; UndecodableEntry if not."""
    schema = fields.get("v")
    if schema is None:  # the previous release's flat form: none of its fields is called "v"
        return _from_flat(fields)
    if schema != SCHEMA_VERSION:
        raise UndecodableEntry(f"unknown event schema version v={schema[:20]!r}")
    if len(fields) != 2 or "event" not in fields:
        raise UndecodableEntry(f"a v{schema} entry holds v and event, not {sorted(fields)}"[:200])
    event_id, event = _from_proto_json(fields["event"])
    if event_id:
        raise UndecodableEntry("a stream entry's event has no eventId (the entry id is)")
    return event


def stored_event(row: str) -> StoredEvent:
    """A history row (the event's proto JSON with ``eventId`` first, or the previous
    release's flat fields and ``event_id`` as JSON); UndecodableEntry if it is not one."""
    if row.startswith(ROW_START):
        event_id, event = _from_proto_json(row)
        if not event_id:
            raise UndecodableEntry("a history row without an eventId")
        return StoredEvent(event_id, event)
    try:
        flat = json.loads(row)
        event_id = flat.pop("event_id")
    except Exception as error:  # not JSON, not an object, nested too deep, no event id
        raise _undecodable(error) from None
    if not isinstance(event_id, str) or not all(isinstance(v, str) for v in flat.values()):
        raise UndecodableEntry("a history row holds text fields and an event_id")
    return StoredEvent(event_id, _from_flat(flat))


def _from_proto_json(text: str) -> tuple[str, TransitionEvent]:
    try:
        event_id, event = decode_event(text)
    except Exception as error:  # msgspec's errors, a bad enum name or number: this entry's
        raise _undecodable(error) from None
    check_event(event)
    return event_id, event


def _from_flat(flat: Mapping[str, str]) -> TransitionEvent:
    try:
        event = event_from_flat(flat)
    except Exception as error:  # whatever a bad value makes a parser raise, it is this entry's
        raise _undecodable(error) from None
    check_event(event)
    return event


def _undecodable(error: Exception) -> UndecodableEntry:
    return UndecodableEntry(f"{type(error).__name__}: {error}"[:200])


def check_event(event: TransitionEvent) -> None:
    """UndecodableEntry unless every field is what a commit writes."""
    if not event.request_id:
        raise UndecodableEntry("no request_id")
    for name, enum in (*REQUIRED.items(), *OPTIONAL.items()):
        value = getattr(event, name)
        if (value or name in REQUIRED) and not isinstance(value, enum):
            raise UndecodableEntry(f"{name}={str(value)[:40]!r} is not a {enum.__name__}")
    for name in INTS:  # event_from_flat leaves "" for a missing one
        if type(getattr(event, name)) is not int:
            raise UndecodableEntry(f"{name} is not a number")
    if event.version < 1 or event.version > INT64:
        raise UndecodableEntry(f"version {event.version} out of range")
    for name in ("amount", "refund_amount"):
        if abs(getattr(event, name)) > INT64:
            raise UndecodableEntry(f"{name} out of range")
    for name in ("occurred_at_ms", "deadline_ms"):
        if not 0 <= getattr(event, name) <= MAX_MS:
            raise UndecodableEntry(f"{name} out of range")
    if not all(isinstance(signal, Signal) for signal in event.signals):
        raise UndecodableEntry("unknown signals")
    _check_negotiation(event.negotiation)


def _check_negotiation(facts: NegotiationFacts) -> None:
    proposed, round_ = facts.proposed_amount, facts.round
    if proposed is not None and (type(proposed) is not int or abs(proposed) > INT64):
        raise UndecodableEntry("negotiation.proposed_amount is not an amount")
    if round_ is not None and (type(round_) is not int or not 0 <= round_ <= 2**31 - 1):
        raise UndecodableEntry("negotiation.round is not a round")


def record_from_fields(request_id: str, fields: Mapping[str, str]) -> AfterSale:
    """A record hash as the record; UndecodableRecord (with whatever can be read of whose it
    is) if it does not decode."""
    try:
        return record_from_hash(fields)
    except Exception as error:  # msgspec, a legacy field's KeyError/ValueError/TypeError, ...
        why = f"{type(error).__name__}: {error}"[:200]
        raise UndecodableRecord(request_id, _owner(fields), why) from None


def _owner(fields: Mapping[str, str]) -> RecordOwner | None:
    """Whose the record is, if its blob (or legacy hash) still says; None if nothing does."""
    blob = fields.get(RECORD_FIELD)
    if blob is None:
        buyer_id, shop_id = fields.get("buyer_id", ""), fields.get("shop_id", "")
        has_refund = "refund" in fields
    else:
        try:
            owner = _blob_owner(blob)
        except msgspec.DecodeError:
            return None
        buyer_id, shop_id, has_refund = owner.buyer_id, owner.shop_id, owner.refund is not None
    if not buyer_id or not shop_id:
        return None
    return RecordOwner(buyer_id, shop_id, has_refund)
