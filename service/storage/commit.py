"""The commit script and its payload: one command's whole write (DESIGN §2 step 4).

KEYS come from one NamedTuple, ``CommitKeys``, whose field names are the script's local
names: the script's first line is generated from it, so the order is written once. ARGV is
``[header, record]``: the header is one JSON object (``CommitHeader``, decoded once by the
script and read by field name), the record is the codec's blob, which the script stores as it
is in the record hash (``d``, beside ``version``). The record's pending timer has a zset member
(``keys.timer_member``: id, version, action) that the hash does not store, since the record
tells it: the header names the new timer's member and the one of the timer the record had at
the version read (``Decision.previous_timer``), which the script removes; a record written by
the previous release still stores its member as ``_timer_member``, which the script removes
instead. The idempotency result is a reference: the body hash, the version the
call made, its event id (and an application's request id); a replay rebuilds the reply from
the record while it is still at that version, and is told the call was superseded once the
request moved on (the record as of that version is kept nowhere). The header's ``event`` is
the stream entry's fields: ``v`` (the schema version) and ``event`` (the event's proto JSON,
see ``event_codec``); the history row is that JSON with the entry's id spliced in as text, so
the script never decodes an event.

The script checks first and writes after, so a refused commit writes nothing (and its first
write is a denyoom command, so a Redis out of memory refuses it whole): the idempotency key
(same body: the first result comes back, nothing is written; another body: refused), the
version read, the order-line rules (SPEC §8: the line belongs to the buyer of its first
application, then one open request, none after a success, at most N attempts). A replay of a
committed call is a no-op: it finds its idempotency key or, without a key, fails the version
check.

Beside the request's own keys the script keeps the shard's index of requests flagged for ops
(``{as:NN}:flagged``, read by the ops status instead of a scan): the request is added when its
new record is flagged (``flagged_since_ms``) and removed otherwise; and the shard's queue of
terminal requests (``{as:NN}:terminal``, scored by when each became terminal), which the
retention sweep (``lifecycle``) works through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import NamedTuple

import msgspec

from aftersale.decide import Decision
from aftersale.exceptions import (
    IdempotencyKeyReused,
    IdempotentCallSuperseded,
    Refusal,
    VersionConflict,
)
from aftersale.groups import SUCCESS_STATES, TERMINAL_STATES
from aftersale.model import Actor, AfterSale
from aftersale.refusals import error_for, refusal
from aftersale.vocabulary import Action, Role, State
from service.access import hidden
from service.storage.codec import (
    RecordForm,
    decode_record,
    encode_record,
    encode_record_object,
    lua_blob_reader,
)
from service.storage.counters import shop_counter_increments
from service.storage.event_codec import SCHEMA_VERSION, encode_event
from service.storage.keys import Keys, timer_member
from service.storage.ports import CommitResult, IdempotencyKey

LINE_NOT_YOURS = ""  # the subject of refusing another's order line: no request id at all
_LINE_OPS = {Action.APPLY: "apply", Action.MODIFY_APPLICATION: "modify"}


class CommitKeys(NamedTuple):
    """The commit's KEYS, in order; each field name is the script's name for that key. All
    share the request's ``{as:NN}`` hash tag (one slot)."""

    record_key: str  # hash: d (blob), version; _timer_member in a previous release's record
    history_key: str
    events_key: str
    timers_key: str
    leased_key: str
    line_key: str
    idempotency_key: str
    shop_listing_key: str
    buyer_listing_key: str
    order_listing_key: str
    shop_stats_key: str
    shard_listing_key: str
    flagged_key: str  # zset: the shard's requests flagged for ops (status without a scan)
    terminal_key: str  # zset: the shard's terminal requests by when (the retention sweep's)


class CommitHeader(msgspec.Struct):
    """ARGV[1]: every scalar the script needs, by name."""

    request_id: str
    read_version: int
    new_version: int
    event: list[str]  # the stream entry: ["v", SCHEMA_VERSION, "event", proto JSON]
    timer_member: str  # the new pending timer's member; "" for none
    read_timer_member: str  # the member of the timer the record had at read_version; "" none
    timer_due_ms: int
    leased_member: str  # the leased member this commit fires (its lease goes); "" for none
    line_op: str  # "apply" | "modify" | ""
    sku_id: str  # the order line's sku (the order is the shard's)
    buyer_id: str  # the request's buyer: an order line belongs to the buyer of its first apply
    max_attempts: int  # per order line, applications + modifications
    terminal: bool  # the new state is terminal: the line has no open request any more
    terminal_ms: int  # when it became terminal (the record's updated ms; 0: it is not)
    success: bool  # the new state is a success: the line is refunded for good
    listing_score: int  # created ms, the listings' order (written by "apply")
    use_idempotency: bool
    body_hash: str
    idempotency_ttl_s: int
    counters: list[str]  # shop counters, [field, increment, ...]
    flagged_ms: int  # the new record is flagged for ops since then (0: it is not)
    write_timer_member: bool  # keep _timer_member on the record (the earlier release's form)


@dataclass(frozen=True, slots=True)
class CommitLimits:
    """The settings a commit carries into the script."""

    idempotency_ttl_s: int = 86_400
    max_attempts_per_line: int = 5
    # "object": write the record as the earlier release did (object blob + _timer_member),
    # while replicas of that release, which cannot read the positional form, still run.
    record_form: RecordForm = "positional"


def _lua_locals(names: Sequence[str], table: str) -> str:
    """``local a, b = T[1], T[2]``: the script names ``table``'s entries once, in order."""
    return f"local {', '.join(names)} = " + ", ".join(
        f"{table}[{i}]" for i in range(1, len(names) + 1)
    )


# Returns {"OK", event_id} | {"REPLAY", first event_id, first record blob}
#       | {"SUPERSEDED", first event_id, the version it made, its request id} (the request
#         moved on since: the first call's record is kept nowhere)
#       | {"VERSION", actual_version} | {"IDEMPOTENCY_MISMATCH"} | {"LIMIT", reason, detail}
#       | {"NOT_YOURS"} (the order line belongs to another buyer)
COMMIT = (
    _lua_locals(CommitKeys._fields, "KEYS")
    + "\n"
    + lua_blob_reader("sku_id", "buyer_id")  # first_buyer's fields of a record blob
    + (files("service.storage").joinpath("commit.lua").read_text(encoding="utf-8"))
)

_HEADER = msgspec.json.Encoder()


def commit_keys(keys: Keys, record: AfterSale, idempotency: IdempotencyKey | None) -> CommitKeys:
    """The KEYS of a commit of ``record`` (and of its ``idempotency`` key on the record's
    order, if any)."""
    rid, shard = record.request_id, keys.shard_of_request(record.request_id)
    if shard != keys.shard_of_order(record.order_id):
        raise ValueError(f"{rid} is not in the shard of order {record.order_id}")
    if idempotency is None:
        idempotency_key = keys.no_idempotency(shard)
    else:
        idempotency_key = keys.idempotency(record.order_id, *idempotency)
    return CommitKeys(
        record_key=keys.record(rid),
        history_key=keys.history(rid),
        events_key=keys.events(shard),
        timers_key=keys.timers(shard),
        leased_key=keys.leased(shard),
        line_key=keys.line(record.order_id, record.sku_id),
        idempotency_key=idempotency_key,
        shop_listing_key=keys.shop(shard, record.shop_id),
        buyer_listing_key=keys.buyer(shard, record.buyer_id),
        order_listing_key=keys.order(record.order_id),
        shop_stats_key=keys.stats(shard, record.shop_id),
        shard_listing_key=keys.all_requests(shard),
        flagged_key=keys.flagged(shard),
        terminal_key=keys.terminal(shard),
    )


def commit_call(
    keys: Keys,
    limits: CommitLimits,
    decision: Decision,
    read_version: int,
    *,
    idempotency: IdempotencyKey | None = None,
    body_hash: str = "",
    leased_timer_member: str | None = None,
) -> tuple[CommitKeys, list[bytes]]:
    """The script's KEYS and ARGV for one step; ValueError for a decision that is not one
    version step of one request."""
    record, event = decision.record, decision.event
    if event is None:
        raise ValueError("a no-op decision (event None) has nothing to commit")
    if record.version != read_version + 1 or event.version != record.version:
        raise ValueError(
            f"{record.request_id}: read version {read_version}, new record version "
            f"{record.version}, event version {event.version}: not a single step"
        )
    timer, read_timer = record.timer, decision.previous_timer
    counters = shop_counter_increments(event, record)
    header = CommitHeader(
        request_id=record.request_id,
        read_version=read_version,
        new_version=record.version,
        event=["v", SCHEMA_VERSION, "event", encode_event(event).decode()],
        timer_member=timer_member(record.request_id, record.version, timer.action) if timer else "",
        read_timer_member=(
            timer_member(record.request_id, read_version, read_timer.action) if read_timer else ""
        ),
        timer_due_ms=timer.due_ms if timer else 0,
        leased_member=leased_timer_member or "",
        line_op=_LINE_OPS.get(event.action, ""),
        sku_id=record.sku_id,
        buyer_id=record.buyer_id,
        max_attempts=limits.max_attempts_per_line,
        terminal=record.state in TERMINAL_STATES,
        terminal_ms=record.updated_at_ms if record.state in TERMINAL_STATES else 0,
        success=record.state in SUCCESS_STATES,
        listing_score=record.created_at_ms,
        use_idempotency=idempotency is not None,
        body_hash=body_hash,
        idempotency_ttl_s=limits.idempotency_ttl_s,
        counters=[x for name, n in counters.items() for x in (name, str(n))],
        flagged_ms=flagged_since_ms(record),
        write_timer_member=limits.record_form == "object",
    )
    # once (the idempotency result is a reference to it)
    positional = limits.record_form == "positional"
    blob = encode_record(record) if positional else encode_record_object(record)
    return commit_keys(keys, record, idempotency), [_HEADER.encode(header), blob]


def flagged_since_ms(record: AfterSale) -> int:
    """Since when ``record`` waits for ops (0: it does not): a refund whose reminders ran out
    with no answer from the payment service, while it is still PLATFORM_REFUNDING."""
    refund = record.refund
    if record.state is not State.PLATFORM_REFUNDING or refund is None:
        return 0
    return refund.flagged_at_ms or 0


def commit_result(
    reply: list[str], decision: Decision, read_version: int, idempotency_key: str, max_attempts: int
) -> CommitResult:
    """What the script's ``reply`` means for ``decision``: the result, or the refusal raised
    (VersionConflict, IdempotencyKeyReused, IdempotentCallSuperseded, LimitExceeded,
    PermissionDenied)."""
    status = reply[0]
    record, event = decision.record, decision.event
    assert event is not None
    if status == "OK":
        return CommitResult(reply[1], False)
    if status == "REPLAY":
        return CommitResult(reply[1], True, decode_record(reply[2]))
    if status == "SUPERSEDED":
        raise IdempotentCallSuperseded(idempotency_key, reply[3], int(reply[2]), reply[1])
    if status == "VERSION":
        raise VersionConflict(record.request_id, read_version, int(reply[1]))
    if status == "IDEMPOTENCY_MISMATCH":
        raise IdempotencyKeyReused(idempotency_key)
    if status == "NOT_YOURS":  # the refusal of another's request, naming none of the line's
        raise hidden(LINE_NOT_YOURS, Actor(Role.BUYER, record.buyer_id))
    if status == "LIMIT":
        state = event.from_state
        refused = _line_refusal(reply[1], reply[2] or "0", record, max_attempts)
        raise error_for(refused, record.request_id, state, event.action)
    raise RuntimeError(f"unexpected commit script reply {reply!r}")


def _line_refusal(reason: str, detail: str, record: AfterSale, max_attempts: int) -> Refusal:
    """The refusal of the order-line rule (SPEC §8) the script reported."""
    line = {"order_id": record.order_id, "sku_id": record.sku_id}
    if reason == "LINE_HAS_OPEN_REQUEST":
        return refusal(reason, open_request_id=detail, **line)
    if reason == "LINE_ALREADY_REFUNDED":
        return refusal(reason, refunded_request_id=detail, **line)
    return refusal("ATTEMPT_LIMIT", limit=max_attempts, used=detail, **line)
