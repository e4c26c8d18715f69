"""Transition events as stored: the proto ``aftersale.v1.TransitionEvent`` in proto JSON.

A shard stream entry has two fields, ``v`` (the schema version, ``SCHEMA_VERSION``) and
``event`` (the event's proto JSON without ``eventId``: the entry id is the event id). The
request's history row is the same JSON with ``"eventId"`` spliced in first by the commit
script. So a consumer in any language reads Redis with its proto library
(``protojson.Unmarshal``, ``JsonFormat.parser()``) and sees the API's vocabulary
(``ACTION_APPROVE``, ``AFTER_SALE_STATUS_PLATFORM_REFUNDING``, ``SIGNAL_REFUND_REQUESTED``).

The JSON is the canonical form ``json_format.MessageToJson`` writes (lowerCamelCase names,
int64 as strings, enum value names, RFC 3339 times with 0 or 3 fraction digits, default values
left out), written compactly by msgspec from precomputed enum-name tables: a commit is the hot
path, and building a message to hand to ``json_format`` costs several times more.

Two domain facts differ from the API's reply (``convert_out.transition``): ``refundId`` is
stored on every event of a request that has a refund (the payment role's visibility reads it;
replies carry it with ``refundReason`` only), and the armed timer's action has no field: it is
the one timer of ``toState`` (``TIMER_TABLE``) whenever ``deadline`` is set.

Enum names follow the proto's rule: the proto enum's UPPER_SNAKE name + ``_`` + the domain
member's name; the domain's ``State`` is the proto's ``AfterSaleStatus``. A unit test checks
every member against the generated descriptors, so drift fails there, not in a consumer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import lru_cache
from typing import Annotated, TypeVar

import msgspec

from aftersale.events import NegotiationFacts, TransitionEvent
from aftersale.timers import TIMER_TABLE
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    CloseReason,
    NegotiationKind,
    NegotiationOption,
    NegotiationOutcome,
    RefundReason,
    RejectReason,
    Role,
    Signal,
    State,
    Verdict,
)

SCHEMA_VERSION = "1"
E = TypeVar("E", bound=Enum)

# The domain enums an event holds, each with its proto enum's name.
PROTO_ENUMS: dict[type[Enum], str] = {
    enum: "AfterSaleStatus" if enum is State else enum.__name__
    for enum in (Action, AfterSaleType, BuyerReason, CloseReason, NegotiationKind,
                 NegotiationOption, NegotiationOutcome, RefundReason, RejectReason, Role,
                 Signal, State, Verdict)
}  # fmt: skip


def value_prefix(proto_enum: str) -> str:
    """``AfterSaleStatus`` → ``AFTER_SALE_STATUS_``: the prefix of the enum's value names."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", proto_enum).upper() + "_"


def proto_names(enum: type[E]) -> dict[E, str]:
    """Every member of ``enum`` → its proto enum value name."""
    prefix = value_prefix(PROTO_ENUMS[enum])
    return {member: prefix + member.name for member in enum}


def _members(enum: type[E]) -> dict[str, E]:
    return {name: member for member, name in proto_names(enum).items()}


_ACTION = proto_names(Action)
_ROLE = proto_names(Role)
_STATE = proto_names(State)
_TYPE = proto_names(AfterSaleType)
_BUYER_REASON = proto_names(BuyerReason)
_SIGNAL = proto_names(Signal)
_REFUND_REASON = proto_names(RefundReason)
_REJECT_REASON = proto_names(RejectReason)
_VERDICT = proto_names(Verdict)
_CLOSE_REASON = proto_names(CloseReason)
_KIND = proto_names(NegotiationKind)
_OPTION = proto_names(NegotiationOption)
_OUTCOME = proto_names(NegotiationOutcome)

_EPOCH = datetime(1970, 1, 1)  # naive: isoformat writes no offset, the writer adds "Z"
_EPOCH_UTC = _EPOCH.replace(tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


# -- writing ------------------------------------------------------------------------------
# Fields in proto field-number order, defaults ("", None) left out as proto JSON does.


class _ActorOut(msgspec.Struct, omit_defaults=True):
    role: str
    id: str = ""


class _NegotiationOut(msgspec.Struct, omit_defaults=True, rename="camel"):
    round: int = 0
    kind: str = ""
    option: str = ""
    proposed_type: str = ""
    proposed_amount: str = ""  # optional int64: "0" is written, None is not
    outcome: str = ""


class _EventOut(msgspec.Struct, omit_defaults=True, rename="camel"):
    request_id: str = ""
    order_id: str = ""
    sku_id: str = ""
    shop_id: str = ""
    buyer_id: str = ""
    version: str = ""  # int64
    action: str = ""
    actor: _ActorOut | None = None
    from_state: str = ""
    to_state: str = ""
    occurred_at: str = ""
    type: str = ""
    amount: str = ""
    refund_reason: str = ""
    refund_id: str = ""
    negotiation: _NegotiationOut | None = None
    reject_reason: str = ""
    verdict: str = ""
    close_reason: str = ""
    first_reason: str = ""
    deadline: str = ""
    signals: list[str] = msgspec.field(default_factory=list)
    refund_amount: str = ""
    forced_by: _ActorOut | None = None


_ENCODE = msgspec.json.Encoder().encode


def _int64(n: int) -> str:
    return str(n) if n else ""


@lru_cache(maxsize=64)
def _date(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).date().isoformat() + "T"


_TWO = [f"{n:02}" for n in range(100)]
_FRACTION = ["Z"] + [f".{n:03}Z" for n in range(1, 1000)]  # whole seconds have none


def _stamp(ms: int) -> str:
    """UTC milliseconds as proto JSON's Timestamp (``""``: unset, for 0), as json_format
    writes it; by tables, as ``datetime.isoformat`` takes several times longer."""
    if not ms:
        return ""
    s, fraction = divmod(ms, 1000)
    day, s = divmod(s, 86_400)
    hour, s = divmod(s, 3600)
    minute, s = divmod(s, 60)
    return "".join((_date(day), _TWO[hour], ":", _TWO[minute], ":", _TWO[s], _FRACTION[fraction]))


def _negotiation(facts: NegotiationFacts) -> _NegotiationOut | None:
    if not facts:
        return None
    kind, option, type_, outcome = facts.kind, facts.option, facts.proposed_type, facts.outcome
    return _NegotiationOut(
        facts.round or 0,
        _KIND[kind] if kind else "",
        _OPTION[option] if option else "",
        _TYPE[type_] if type_ else "",
        "" if facts.proposed_amount is None else str(facts.proposed_amount),
        _OUTCOME[outcome] if outcome else "",
    )


def encode_event(e: TransitionEvent) -> bytes:
    """The event's proto JSON without ``eventId`` (never ``{}``: a version is always there)."""
    return _ENCODE(
        _EventOut(
            e.request_id,
            e.order_id,
            e.sku_id,
            e.shop_id,
            e.buyer_id,
            str(e.version),
            _ACTION[e.action],
            _ActorOut(_ROLE[e.actor_role], e.actor_id),
            _STATE[e.from_state] if e.from_state else "",
            _STATE[e.to_state],
            _stamp(e.occurred_at_ms),
            _TYPE[e.type],
            _int64(e.amount),
            _REFUND_REASON[e.refund_reason] if e.refund_reason else "",
            e.refund_id,
            _negotiation(e.negotiation),
            _REJECT_REASON[e.reject_reason] if e.reject_reason else "",
            _VERDICT[e.verdict] if e.verdict else "",
            _CLOSE_REASON[e.close_reason] if e.close_reason else "",
            _BUYER_REASON[e.first_reason],
            _stamp(e.deadline_ms),
            [_SIGNAL[s] for s in e.signals],
            _int64(e.refund_amount),
            _ActorOut(_ROLE[e.forced_by_role], e.forced_by_id) if e.forced_by_role else None,
        )
    )


# -- reading ------------------------------------------------------------------------------
# What the writer writes, strictly: unknown fields, enum numbers and sub-millisecond times are
# refused (ValueError or msgspec.ValidationError); ranges are checked by ``decoding``.

Int64 = int | str  # proto JSON allows both; the writer writes strings
Stamp = Annotated[datetime, msgspec.Meta(tz=True)]
_DIGITS = re.compile(r"-?(0|[1-9][0-9]*)")


class _ActorIn(msgspec.Struct, forbid_unknown_fields=True):
    role: str = ""
    id: str = ""


class _NegotiationIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    round: int = 0
    kind: str = ""
    option: str = ""
    proposed_type: str = ""
    proposed_amount: Int64 | None = None
    outcome: str = ""


class _EventIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    event_id: str = ""  # in a history row only
    request_id: str = ""
    order_id: str = ""
    sku_id: str = ""
    shop_id: str = ""
    buyer_id: str = ""
    version: Int64 = 0
    action: str = ""
    actor: _ActorIn = msgspec.field(default_factory=_ActorIn)
    from_state: str = ""
    to_state: str = ""
    occurred_at: Stamp | None = None
    type: str = ""
    amount: Int64 = 0
    refund_reason: str = ""
    refund_id: str = ""
    negotiation: _NegotiationIn | None = None
    reject_reason: str = ""
    verdict: str = ""
    close_reason: str = ""
    first_reason: str = ""
    deadline: Stamp | None = None
    signals: list[str] = msgspec.field(default_factory=list)
    refund_amount: Int64 = 0
    forced_by: _ActorIn | None = None


_DECODE = msgspec.json.Decoder(_EventIn).decode
_ACTIONS = _members(Action)
_ROLES = _members(Role)
_STATES = _members(State)
_TYPES = _members(AfterSaleType)
_BUYER_REASONS = _members(BuyerReason)
_SIGNALS = _members(Signal)
_REFUND_REASONS = _members(RefundReason)
_REJECT_REASONS = _members(RejectReason)
_VERDICTS = _members(Verdict)
_CLOSE_REASONS = _members(CloseReason)
_KINDS = _members(NegotiationKind)
_OPTIONS = _members(NegotiationOption)
_OUTCOMES = _members(NegotiationOutcome)


def _member(table: dict[str, E], field: str, name: str) -> E | None:
    """The member named ``name`` (None for unset); ValueError naming ``field`` otherwise."""
    if not name:
        return None
    member = table.get(name)
    if member is None:
        raise ValueError(f"{field}={name[:60]!r} is not a value of its enum")
    return member


def _required(table: dict[str, E], field: str, name: str) -> E:
    member = _member(table, field, name)
    if member is None:
        raise ValueError(f"{field} is not set")
    return member


def _int(field: str, value: Int64) -> int:
    if isinstance(value, int):
        return value
    if not _DIGITS.fullmatch(value):
        raise ValueError(f"{field}={value[:40]!r} is not an int64")
    return int(value)


def _ms(field: str, at: datetime | None) -> int:
    if at is None:
        return 0
    delta = at - _EPOCH_UTC
    if delta % _ONE_MS:
        raise ValueError(f"{field} is finer than a millisecond")
    return delta // _ONE_MS


def _facts(n: _NegotiationIn | None) -> NegotiationFacts:
    if n is None:
        return NegotiationFacts()
    proposed = n.proposed_amount
    return NegotiationFacts(
        round=n.round,  # present (0 too) whenever the negotiation object is
        kind=_member(_KINDS, "negotiation.kind", n.kind),
        option=_member(_OPTIONS, "negotiation.option", n.option),
        outcome=_member(_OUTCOMES, "negotiation.outcome", n.outcome),
        proposed_type=_member(_TYPES, "negotiation.proposedType", n.proposed_type),
        proposed_amount=None if proposed is None else _int("negotiation.proposedAmount", proposed),
    )


def decode_event(text: str | bytes) -> tuple[str, TransitionEvent]:
    """The event id (``""`` in a stream entry) and the event of stored proto JSON; ValueError
    (or msgspec's errors) for anything the writer does not write. A missing required field
    is one of them; ranges are left to ``decoding.check_event``."""
    d = _DECODE(text)
    to_state = _required(_STATES, "toState", d.to_state)
    deadline_ms = _ms("deadline", d.deadline)
    timer = TIMER_TABLE.get(to_state) if deadline_ms else None
    event = TransitionEvent(
        request_id=d.request_id,
        order_id=d.order_id,
        sku_id=d.sku_id,
        shop_id=d.shop_id,
        buyer_id=d.buyer_id,
        version=_int("version", d.version),
        action=_required(_ACTIONS, "action", d.action),
        actor_role=_required(_ROLES, "actor.role", d.actor.role),
        actor_id=d.actor.id,
        from_state=_member(_STATES, "fromState", d.from_state),
        to_state=to_state,
        occurred_at_ms=_ms("occurredAt", d.occurred_at),
        type=_required(_TYPES, "type", d.type),
        amount=_int("amount", d.amount),
        first_reason=_required(_BUYER_REASONS, "firstReason", d.first_reason),
        refund_reason=_member(_REFUND_REASONS, "refundReason", d.refund_reason),
        refund_id=d.refund_id,
        refund_amount=_int("refundAmount", d.refund_amount),
        negotiation=_facts(d.negotiation),
        reject_reason=_member(_REJECT_REASONS, "rejectReason", d.reject_reason),
        verdict=_member(_VERDICTS, "verdict", d.verdict),
        close_reason=_member(_CLOSE_REASONS, "closeReason", d.close_reason),
        deadline_ms=deadline_ms,
        timer_action=timer.action if timer else None,
        signals=tuple(_signal(name) for name in d.signals),
        forced_by_role=_required(_ROLES, "forcedBy.role", d.forced_by.role)
        if d.forced_by
        else None,
        forced_by_id=d.forced_by.id if d.forced_by else "",
    )
    return d.event_id, event


def _signal(name: str) -> Signal:
    return _required(_SIGNALS, "signals", name)
