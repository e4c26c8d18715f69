"""The checker itself: silent on a consistent store, loud on each kind of damage (so a green
crash run means the invariants held, not that the checker looked away)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from aftersale.vocabulary import State
from service.storage.codec import encode_record, encode_record_object
from tests.reliability.checker import Ack, Snapshot, _record_fields, check_all
from tests.unit.builders import World

RID = "AS07-0000000001"
NOW = 1_000_000
LEASE = 2_000


def _event(version: int, action: str, source: str, target: str, **extra: Any) -> dict[str, Any]:
    event = {
        "event_id": f"{version}-0",
        "request_id": RID,
        "version": str(version),
        "action": action,
        "actor_role": extra.pop("role", "SYSTEM" if action.endswith("timeout") else "BUYER"),
        "from_state": source,
        "to_state": target,
        "occurred_at_ms": str(extra.pop("at", NOW - 10_000 + version)),
    }
    event.update({k: str(v) for k, v in extra.items()})
    if not source:
        del event["from_state"]
    return event


def _consistent() -> tuple[Snapshot, list[Ack]]:
    """apply → merchant_timeout (refund R1) → refund_failed, with the offline timer pending."""
    history = [
        _event(
            1,
            "apply",
            "",
            "MERCHANT_PROCESSING",
            deadline_ms=NOW - 9_000,
            timer_action="merchant_timeout",
        ),
        _event(
            2,
            "merchant_timeout",
            "MERCHANT_PROCESSING",
            "PLATFORM_REFUNDING",
            at=NOW - 8_000,
            signals="refund_requested",
            refund_id=f"{RID}-R1",
        ),
        _event(
            3,
            "refund_failed",
            "PLATFORM_REFUNDING",
            "PLATFORM_REFUND_FAIL",
            role="PAYMENT",
            deadline_ms=NOW + 5_000,
            timer_action="offline_refund_timeout",
        ),
    ]
    timer = {"kind": "OFFLINE_REFUND", "action": "offline_refund_timeout", "due_ms": NOW + 5_000}
    member = f"{RID}|3|offline_refund_timeout"
    snap = Snapshot(
        records={
            RID: {
                "version": "3",
                "state": "PLATFORM_REFUND_FAIL",
                "timer": json.dumps(timer),
                "_timer_member": member,
            }
        },
        histories={RID: history},
        stream={
            RID: [(e["event_id"], {k: v for k, v in e.items() if k != "event_id"}) for e in history]
        },
        timers={member: float(NOW + 5_000)},
    )
    acks = [Ack(RID, 1, "MERCHANT_PROCESSING"), Ack(RID, 3, "PLATFORM_REFUND_FAIL")]
    return snap, acks


def _findings(snap: Snapshot, acks: list[Ack]) -> list[str]:
    return [f.invariant for f in check_all(snap, now_ms=NOW, lease_ms=LEASE, acks=acks)]


def test_a_consistent_store_has_no_findings() -> None:
    snap, acks = _consistent()

    assert _findings(snap, acks) == []


def _lost_last_event(s: Snapshot, acks: list[Ack]) -> None:
    s.histories[RID].pop()


def _duplicate_stream_entry(s: Snapshot, acks: list[Ack]) -> None:
    s.stream[RID].append(("9-0", dict(s.stream[RID][1][1])))


def _lost_timer(s: Snapshot, acks: list[Ack]) -> None:
    s.timers.clear()


def _overdue_timer(s: Snapshot, acks: list[Ack]) -> None:
    member = next(iter(s.timers))
    s.timers[member] = float(NOW - 60_000)
    timer = json.loads(s.records[RID]["timer"])
    timer["due_ms"] = NOW - 60_000
    s.records[RID]["timer"] = json.dumps(timer)


def _refund_asked_twice(s: Snapshot, acks: list[Ack]) -> None:
    entry = copy.deepcopy(s.stream[RID][1])
    s.stream["AS08-0000000002"] = [("8-0", {**entry[1], "request_id": "AS08-0000000002"})]


def _acknowledged_but_missing(s: Snapshot, acks: list[Ack]) -> None:
    acks.append(Ack(RID, 4, "USER_WAIT_CONFIRM"))


def _ghost_commit(s: Snapshot, acks: list[Ack]) -> None:
    acks.remove(Ack(RID, 3, "PLATFORM_REFUND_FAIL"))


def _illegal_transition(s: Snapshot, acks: list[Ack]) -> None:
    s.histories[RID][2]["to_state"] = "MERCHANT_REFUND_SUCCESS"
    s.records[RID]["state"] = "MERCHANT_REFUND_SUCCESS"


def _early_timer(s: Snapshot, acks: list[Ack]) -> None:
    s.histories[RID][1]["occurred_at_ms"] = str(NOW - 9_500)


@pytest.mark.parametrize(
    ("damage", "invariant"),
    [
        (_lost_last_event, "history"),
        (_duplicate_stream_entry, "stream"),
        (_lost_timer, "timers"),
        (_overdue_timer, "timers"),
        (_refund_asked_twice, "refunds"),
        (_acknowledged_but_missing, "acknowledged"),
        (_ghost_commit, "acknowledged"),
        (_illegal_transition, "transition"),
        (_early_timer, "timers"),
    ],
)
def test_each_kind_of_damage_is_found(damage: Any, invariant: str) -> None:
    snap, acks = _consistent()

    damage(snap, acks)

    assert invariant in _findings(snap, acks)


def test_a_superseded_retry_acknowledges_the_version_it_names() -> None:
    """A retry answered IDEMPOTENT_CALL_SUPERSEDED tells its client the version its call made
    (not the state): that version was acknowledged, so it is no ghost commit; a version the
    history does not have is still found."""
    snap, acks = _consistent()
    acks.remove(Ack(RID, 3, "PLATFORM_REFUND_FAIL"))
    acks.append(Ack(RID, 3, state=""))

    assert _findings(snap, acks) == []

    acks.append(Ack(RID, 4, state=""))
    assert "acknowledged" in _findings(snap, acks)


@pytest.mark.parametrize("form", ["positional", "object"])
def test_a_record_blob_of_either_form_spreads_into_the_fields_the_checks_read(form: str) -> None:
    record = World().reach(State.MERCHANT_PROCESSING)
    encode = encode_record if form == "positional" else encode_record_object
    stored = {"d": encode(record).decode(), "version": str(record.version)}

    fields = _record_fields(stored)

    assert record.timer is not None
    assert fields["state"] == "MERCHANT_PROCESSING" and fields["version"] == str(record.version)
    assert json.loads(fields["timer"])["action"] == record.timer.action.value
    assert "negotiation" not in fields  # null in the positional form: unset
