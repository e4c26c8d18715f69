"""Invariants over what Redis holds after a run, read straight from the keys (no service code
path in between, so a bug in the service's readers cannot hide one in its writers).

Key names come from ``service.storage.keys.Keys`` (the storage contract); the data is parsed
here, from what the commit script writes (a record hash's blob ``d`` is spread out into its
fields, nested parts as JSON text, like the flat hash it replaced; an event's proto JSON is
read back into the flat event fields of the previous release, which are read as they are).
Checked per request:

- ``history``: versions 1..v in order, ``v`` = the record's version; the first event is
  ``apply`` from nothing; each event starts where the previous one ended; the last ends in the
  record's state; every (action, from, to) is a row of SPEC §3 (``refmodel.TRANSITIONS``).
- ``stream``: every version has exactly one entry in its shard stream, the one the history
  names (same event id).
- ``actors``: timer actions come from SYSTEM only, and SYSTEM does nothing else; a timer event
  fires the action the previous event armed, not before its deadline.
- ``timers``: the record's pending timer is registered (member ``rid|version|action``) in the
  due set at its deadline or in the lease set; after settling none is due past deadline+lease.
- ``refunds``: a refund is requested exactly on entering PLATFORM_REFUNDING, with a refund id
  never used before (per request and across requests).
- ``acknowledged``: every transition a client was told about is in the history with the state
  it was told; every non-SYSTEM transition was acknowledged to some client (no ghost commits).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from service.storage.codec import RECORD_FIELDS
from service.storage.keys import Keys
from tests.reliability.spec import REFUNDING, STATE_TIMERS, TIMER_ACTIONS, TRANSITIONS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Finding:
    """One broken invariant."""

    invariant: str
    request_id: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.request_id}: {self.detail}"


@dataclass(frozen=True)
class Ack:
    """A client was told: request ``rid`` is at ``version`` in ``state`` (an OK answer), or
    that its call made ``version`` and the request moved on since (``state`` "": a retry
    answered IDEMPOTENT_CALL_SUPERSEDED, which names the version, not the state)."""

    rid: str
    version: int
    state: str


@dataclass
class Snapshot:
    records: dict[str, dict[str, str]] = field(default_factory=dict)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stream: dict[str, list[tuple[str, dict[str, str]]]] = field(default_factory=dict)
    timers: dict[str, float] = field(default_factory=dict)  # member -> due ms
    leased: dict[str, float] = field(default_factory=dict)  # member -> lease deadline ms
    stream_entries: int = 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def snapshot(client: Redis, keys: Keys) -> Snapshot:
    """Everything the checks read, from a quiet Redis (call it once the run has settled)."""
    snap = Snapshot()
    record_keys = [_text(k) async for k in client.scan_iter(match="*:req:*", count=1000)]
    for key in record_keys:
        rid = key.split(":req:", 1)[1]
        stored = await client.hgetall(key)
        snap.records[rid] = _record_fields({_text(k): _text(v) for k, v in stored.items()})
        rows = await client.lrange(keys.history(rid), 0, -1)
        snap.histories[rid] = [_flat_event(json.loads(_text(row))) for row in rows]
    for shard in keys.all_shards():
        entries: list[Any] = list(await client.xrange(keys.events(shard), "-", "+") or [])
        for entry_id, fields in entries:
            flat = {_text(k): _text(v) for k, v in (fields or {}).items()}
            if "v" in flat:  # today's form: the event's proto JSON
                flat = _flat_event(json.loads(flat["event"]))
            snap.stream.setdefault(flat.get("request_id", ""), []).append((_text(entry_id), flat))
            snap.stream_entries += 1
        due: list[Any] = await client.zrange(keys.timers(shard), 0, -1, withscores=True)
        for member, score in due:
            snap.timers[_text(member)] = float(score)
        leased: list[Any] = await client.zrange(keys.leased(shard), 0, -1, withscores=True)
        for member, score in leased:
            snap.leased[_text(member)] = float(score)
    return snap


_PROTO_NAMES = {  # proto JSON name -> the flat form's field, and the enum prefix to drop
    "requestId": ("request_id", ""),
    "eventId": ("event_id", ""),
    "version": ("version", ""),
    "action": ("action", "ACTION_"),
    "fromState": ("from_state", "AFTER_SALE_STATUS_"),
    "toState": ("to_state", "AFTER_SALE_STATUS_"),
    "refundId": ("refund_id", ""),
}
_LOWER = {"action"}  # actions and signals are snake_case in the flat form


def _flat_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event's fields as the previous release's flat form names them (a flat one as it
    is): what the checks read, with the armed timer's action taken from the state (SPEC §6)."""
    if "eventId" not in event and "requestId" not in event:
        return event
    flat: dict[str, Any] = {}
    for name, (flat_name, prefix) in _PROTO_NAMES.items():
        if name in event:
            value = str(event[name]).removeprefix(prefix)
            flat[flat_name] = value.lower() if flat_name in _LOWER else value
    flat["actor_role"] = str(event.get("actor", {}).get("role", "")).removeprefix("ROLE_")
    flat["signals"] = ",".join(s.removeprefix("SIGNAL_").lower() for s in event.get("signals", []))
    for name, ms_name in (("occurredAt", "occurred_at_ms"), ("deadline", "deadline_ms")):
        if name in event:
            at = datetime.fromisoformat(event[name])
            flat[ms_name] = str((at - EPOCH) // timedelta(milliseconds=1))
    if "deadline_ms" in flat:
        flat["timer_action"] = STATE_TIMERS.get(flat.get("to_state", ""), "")
    return flat


def _record_fields(stored: dict[str, str]) -> dict[str, str]:
    """A record hash as field -> text: the blob ``d`` (positional, or the previous release's
    object) spread out beside the hash's own ``version`` (and a previous release's
    ``_timer_member``); a hash without ``d`` is already flat. Null fields are left out."""
    blob = stored.pop("d", None)
    if blob is not None:
        decoded = json.loads(blob)
        if isinstance(decoded, list):
            decoded = dict(zip(RECORD_FIELDS, decoded, strict=False))
        for name, value in decoded.items():
            if value is not None:
                stored.setdefault(name, value if isinstance(value, str) else json.dumps(value))
    return stored


def _signals(event: dict[str, Any]) -> set[str]:
    return {s for s in str(event.get("signals", "")).split(",") if s}


def check_history(rid: str, record: dict[str, str], history: list[dict[str, Any]]) -> list[Finding]:
    """The record's state is the one its history leads to, through SPEC §3 rows only."""
    out: list[Finding] = []
    version = int(record.get("version", "0"))
    versions = [int(e.get("version", -1)) for e in history]
    if versions != list(range(1, version + 1)):
        out.append(Finding("history", rid, f"versions {versions} but record v{version}"))
    previous = ""
    for event in history:
        action = str(event.get("action"))
        source, target = str(event.get("from_state", "")), str(event.get("to_state", ""))
        if source != previous:
            out.append(
                Finding(
                    "history",
                    rid,
                    f"v{event.get('version')} {action} starts in "
                    f"{source or '(new)'} but v-1 ended in {previous or '(new)'}",
                )
            )
        if (source, target) not in TRANSITIONS.get(action, frozenset()):
            out.append(
                Finding(
                    "transition",
                    rid,
                    f"v{event.get('version')} {action}: {source} -> {target} "
                    "is not a row of SPEC §3",
                )
            )
        previous = target
    if history and previous != record.get("state"):
        out.append(Finding("history", rid, f"ends in {previous}, record is {record.get('state')}"))
    return out


def check_stream(
    rid: str, history: list[dict[str, Any]], entries: list[tuple[str, dict[str, str]]]
) -> list[Finding]:
    """Exactly one stream entry per version, the one the history names."""
    out: list[Finding] = []
    by_version: dict[int, list[str]] = defaultdict(list)
    for entry_id, flat in entries:
        by_version[int(flat.get("version", "-1"))].append(entry_id)
    for event in history:
        v = int(event.get("version", -1))
        ids = by_version.pop(v, [])
        if len(ids) != 1:
            out.append(Finding("stream", rid, f"v{v} has {len(ids)} stream entries {ids}"))
        elif ids[0] != event.get("event_id"):
            out.append(
                Finding(
                    "stream",
                    rid,
                    f"v{v} history names {event.get('event_id')}, stream has {ids[0]}",
                )
            )
    for v, ids in sorted(by_version.items()):
        out.append(Finding("stream", rid, f"stream entries {ids} for v{v}, not in the history"))
    return out


def check_actors(rid: str, history: list[dict[str, Any]], *, fire_now_used: bool) -> list[Finding]:
    """Timers act as SYSTEM only, fire what was armed, and never before the deadline."""
    out: list[Finding] = []
    for before, event in itertools.pairwise(history):
        action, role = str(event.get("action")), str(event.get("actor_role"))
        v = event.get("version")
        if (action in TIMER_ACTIONS) != (role == "SYSTEM"):
            out.append(Finding("actors", rid, f"v{v} {action} by {role}"))
        if action not in TIMER_ACTIONS:
            continue
        if before.get("timer_action") != action:
            out.append(
                Finding(
                    "timers",
                    rid,
                    f"v{v} {action} fired, v{before.get('version')} "
                    f"armed {before.get('timer_action') or 'nothing'}",
                )
            )
        due = int(before.get("deadline_ms", 0) or 0)
        occurred = int(event.get("occurred_at_ms", 0) or 0)
        if not fire_now_used and due and occurred < due:
            out.append(Finding("timers", rid, f"v{v} {action} fired {due - occurred} ms early"))
    return out


def timer_lateness_ms(histories: Iterable[list[dict[str, Any]]]) -> list[int]:
    """How late each fired timer was (ms after its deadline)."""
    late: list[int] = []
    for history in histories:
        for before, event in itertools.pairwise(history):
            if str(event.get("action")) in TIMER_ACTIONS and before.get("deadline_ms"):
                late.append(int(event["occurred_at_ms"]) - int(before["deadline_ms"]))
    return late


def check_timer(
    rid: str, record: dict[str, str], snap: Snapshot, now_ms: int, lease_ms: int, slack_ms: int
) -> list[Finding]:
    """The pending timer is registered, and (after settling) not overdue."""
    out: list[Finding] = []
    raw = record.get("timer")
    if not raw:
        return out
    timer = json.loads(raw)
    member = f"{rid}|{record.get('version')}|{timer['action']}"
    stored = record.get("_timer_member")
    if stored is not None and stored != member:
        out.append(Finding("timers", rid, f"record names member {stored}, expected {member}"))
    due = int(timer["due_ms"])
    if member in snap.timers:
        if int(snap.timers[member]) != due:
            out.append(Finding("timers", rid, f"{member} scored {snap.timers[member]}, due {due}"))
        if due + lease_ms + slack_ms < now_ms:
            out.append(Finding("timers", rid, f"{member} due {now_ms - due} ms ago, unfired"))
    elif member in snap.leased:
        if snap.leased[member] + slack_ms < now_ms:
            out.append(
                Finding(
                    "timers",
                    rid,
                    f"{member} leased, lease expired {now_ms - int(snap.leased[member])} ms ago",
                )
            )
    else:
        out.append(
            Finding(
                "timers",
                rid,
                f"pending {timer['action']} (due {due}) is in neither "
                "the due nor the lease set: it will never fire",
            )
        )
    return out


def check_stray_timers(snap: Snapshot) -> list[Finding]:
    """Members that belong to no record's current timer (a commit should have removed them)."""
    current = set()
    for rid, record in snap.records.items():
        if record.get("timer"):
            action = json.loads(record["timer"])["action"]
            current.add(f"{rid}|{record.get('version')}|{action}")
    out = []
    for member in sorted((set(snap.timers) | set(snap.leased)) - current):
        out.append(Finding("timers", member.split("|")[0], f"stray timer member {member}"))
    return out


def check_refunds(snap: Snapshot) -> list[Finding]:
    """``refund_requested`` exactly on entering PLATFORM_REFUNDING; each refund id once. A
    ``refund_reminder`` (no result came) re-signals the refund in progress: same state, the id
    already requested."""
    out: list[Finding] = []
    requested: Counter[str] = Counter()
    owner: dict[str, str] = {}
    for rid, entries in snap.stream.items():
        for _, event in entries:
            signals = _signals(event)
            enters = event.get("to_state") == REFUNDING and event.get("from_state") != REFUNDING
            asks = "refund_requested" in signals
            v = event.get("version")
            if event.get("action") == "refund_reminder":
                if not asks or event.get("refund_id", "") not in owner:
                    out.append(Finding("refunds", rid, f"v{v} reminds of no refund in progress"))
                continue
            if enters != asks:
                out.append(
                    Finding(
                        "refunds",
                        rid,
                        f"v{v} {event.get('action')} "
                        f"{'enters refunding without' if enters else 'has'} "
                        "refund_requested",
                    )
                )
            if asks:
                refund_id = event.get("refund_id", "")
                if not refund_id:
                    out.append(Finding("refunds", rid, f"v{v} requests a refund without an id"))
                    continue
                requested[refund_id] += 1
                if owner.setdefault(refund_id, rid) != rid:
                    out.append(
                        Finding(
                            "refunds", rid, f"refund id {refund_id} also used by {owner[refund_id]}"
                        )
                    )
    for refund_id, count in requested.items():
        if count > 1:
            out.append(
                Finding("refunds", owner[refund_id], f"refund {refund_id} requested {count} times")
            )
    return out


def check_acknowledged(snap: Snapshot, acks: Iterable[Ack]) -> list[Finding]:
    """Every acknowledged transition is stored; every stored client transition was acked."""
    out: list[Finding] = []
    acked: dict[str, set[int]] = defaultdict(set)
    for ack in acks:
        acked[ack.rid].add(ack.version)
        history = snap.histories.get(ack.rid, [])
        if ack.version > len(history):
            out.append(
                Finding(
                    "acknowledged",
                    ack.rid,
                    f"v{ack.version} ({ack.state}) was "
                    f"acknowledged, history has {len(history)} events",
                )
            )
        elif ack.state and history[ack.version - 1].get("to_state") != ack.state:
            out.append(
                Finding(
                    "acknowledged",
                    ack.rid,
                    f"v{ack.version} acknowledged as "
                    f"{ack.state}, stored {history[ack.version - 1].get('to_state')}",
                )
            )
    for rid, history in snap.histories.items():
        for event in history:
            if event.get("actor_role") == "SYSTEM":
                continue
            if int(event.get("version", 0)) not in acked.get(rid, set()):
                out.append(
                    Finding(
                        "acknowledged",
                        rid,
                        f"v{event.get('version')} "
                        f"{event.get('action')} by {event.get('actor_role')} "
                        "was never acknowledged to a client (ghost commit)",
                    )
                )
    return out


def check_all(
    snap: Snapshot,
    *,
    now_ms: int,
    lease_ms: int,
    slack_ms: int = 3_000,
    acks: Iterable[Ack] = (),
    check_ghosts: bool = True,
    fire_now_used: bool = False,
) -> list[Finding]:
    """Every invariant of the module docstring."""
    out: list[Finding] = []
    for rid, record in sorted(snap.records.items()):
        history = snap.histories.get(rid, [])
        out += check_history(rid, record, history)
        out += check_stream(rid, history, snap.stream.get(rid, []))
        out += check_actors(rid, history, fire_now_used=fire_now_used)
        out += check_timer(rid, record, snap, now_ms, lease_ms, slack_ms)
    for rid in sorted(set(snap.stream) - set(snap.records)):
        out.append(Finding("stream", rid, "stream entries of a request with no record"))
    out += check_stray_timers(snap)
    out += check_refunds(snap)
    acks = list(acks)
    if acks or check_ghosts:
        found = check_acknowledged(snap, acks)
        if not check_ghosts:
            found = [f for f in found if "ghost" not in f.detail]
        out += found
    return out
