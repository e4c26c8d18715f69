"""A shop's figures over a time window, from the archive's events (SPEC §10).

The same counts as the live counters (``service.storage.counters``), of the events that
happened in the window: one SQL query groups the shop's events of the window by the facts
the counters read (action, from and to state, first reason, negotiation option and
outcome), and each group adds ``counters.counted`` of its facts times its size. So a window
covering a shop's whole life answers what the live counters do, and the rules stay written
once. The amounts (``refund_fen``) are not summed: no figure shows them.

History rows are kept as Redis held them, in the proto JSON form (``toState``,
``AFTER_SALE_STATUS_…``) or, for events of the previous release, the flat form
(``to_state``, ``PLATFORM_REFUNDING``, the negotiation as a JSON text); the query reads
either and ``_member`` takes either spelling.
"""

from __future__ import annotations

from enum import Enum
from functools import cache
from typing import TypeVar

from aftersale.vocabulary import Action, BuyerReason, NegotiationOption, NegotiationOutcome, State
from service.archive.reads import ArchiveReads, at_ms
from service.observability.undecodable import undecodable
from service.storage.counters import counted
from service.storage.event_codec import proto_names

E = TypeVar("E", bound=Enum)

_FACTS = """
SELECT e.action,
       coalesce(e.event->>'fromState', e.event->>'from_state') AS from_state,
       coalesce(e.event->>'toState', e.event->>'to_state') AS to_state,
       coalesce(e.event->>'firstReason', e.event->>'first_reason') AS first_reason,
       n.facts->>'option' AS option,
       n.facts->>'outcome' AS outcome,
       count(*) AS events
FROM events e
CROSS JOIN LATERAL (
    SELECT CASE json_typeof(e.event->'negotiation')
               WHEN 'object' THEN e.event->'negotiation'
               WHEN 'string' THEN (e.event->>'negotiation')::json
           END AS facts
) n
WHERE e.shop_id = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3
GROUP BY 1, 2, 3, 4, 5, 6
"""


class UnknownFact(ValueError):
    """An archived event names a value this release does not know."""


async def shop_figures(
    archive: ArchiveReads, shop_id: str, start_ms: int, end_ms: int
) -> dict[str, int]:
    """The shop's counters over the events that happened in ``[start_ms, end_ms)``."""
    window = (at_ms(start_ms), at_ms(end_ms))
    rows = await archive.run("figures", lambda c: c.fetch(_FACTS, shop_id, *window))
    total: dict[str, int] = {}
    for action, from_state, to_state, first_reason, option, outcome, events in rows:
        try:
            increments = counted(
                _required(Action, action),
                _member(State, from_state),
                _required(State, to_state),
                _member(NegotiationOption, option),
                _member(NegotiationOutcome, outcome),
                _required(BuyerReason, first_reason),
            )
        except UnknownFact as error:  # skipped like any undecodable row: counted and logged
            undecodable("history", f"archive:events:shop:{shop_id}", f"{events} events", error)
            continue
        for name, by in increments.items():
            total[name] = total.get(name, 0) + by * events
    return total


@cache
def _spellings(enum: type[E]) -> dict[str, E]:
    """Every member by its proto name (``ACTION_APPLY``) and by its value (``apply``)."""
    return {**{m.value: m for m in enum}, **{name: m for m, name in proto_names(enum).items()}}


def _member(enum: type[E], text: str | None) -> E | None:
    if not text:
        return None
    member: E | None = _spellings(enum).get(text)
    if member is None:
        raise UnknownFact(f"an archived event names {text[:60]!r}, not a {enum.__name__}")
    return member


def _required(enum: type[E], text: str | None) -> E:
    member = _member(enum, text)
    if member is None:
        raise UnknownFact(f"an archived event has no {enum.__name__}")
    return member
