"""What the previous release stored for a transition event, verbatim: its stream entry
(``TransitionEvent.to_flat``) and its history row (the commit script's cjson object of those
fields plus ``event_id``). Only the legacy reader reads this form now; tests write it raw."""

from __future__ import annotations

import json
from dataclasses import fields

from aftersale.events import NegotiationFacts, TransitionEvent

_ALWAYS = frozenset({"version", "amount"})


def previous_entry(event: TransitionEvent) -> dict[str, str]:
    """The stream entry's fields, in field order; empty values left out but the version and
    the amount."""
    flat: dict[str, str] = {}
    for f in fields(event):
        value = getattr(event, f.name)
        if not value and f.name not in _ALWAYS:
            continue
        if isinstance(value, NegotiationFacts):
            flat[f.name] = json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"))
        elif isinstance(value, tuple):
            flat[f.name] = ",".join(value)
        else:
            flat[f.name] = str(value)  # an enum's value, a number's digits
    return flat


def previous_row(event: TransitionEvent, event_id: str) -> str:
    """The history row (cjson wrote the same object, in its own key order)."""
    return json.dumps({"event_id": event_id, **previous_entry(event)}, separators=(",", ":"))
