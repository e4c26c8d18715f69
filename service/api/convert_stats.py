"""A shop's counters (``service.storage.counters``) → ``ShopStats`` with its rates (SPEC §10);
the window a ``GetShopStatsRequest`` asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from aftersale.exceptions import InvalidInput
from aftersale.policy import DAY_MS
from aftersale.vocabulary import NegotiationOption, NegotiationOutcome
from service.api import fields
from service.api.convert_out import OPTION, name
from service.gen.aftersale.v1 import types_pb2 as t

# A window is read from the archive's events of the shop in it: a year bounds that scan,
# and the platform judges a shop over 30 days (the all-time figures need no window).
MIN_WINDOW_MS = 1_000
MAX_WINDOW_MS = 366 * DAY_MS


def window_bound(ms: int) -> Timestamp:
    """A window's bound as a Timestamp (the epoch too: a bound is always set)."""
    at = Timestamp()
    at.FromMilliseconds(ms)
    return at


def stats_window(request: Any) -> tuple[int, int | None] | None:
    """The window a ``GetShopStatsRequest`` asks for, as (length ms, end ms or None: now);
    None: the all-time figures."""
    if not request.HasField("window"):
        if request.HasField("window_end"):
            raise InvalidInput("window_end", "only with window", "须与 window 一起使用")
        return None
    length = fields.duration_ms(request, "window")
    if not MIN_WINDOW_MS <= length <= MAX_WINDOW_MS:
        raise InvalidInput("window", "must be 1 s to 366 days", "须在 1 秒至 366 天之间")
    return length, fields.timestamp_ms(request, "window_end", required=False)


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _negotiations(counters: Mapping[str, int]) -> list[t.NegotiationCount]:
    counts: list[t.NegotiationCount] = []
    for option in NegotiationOption:
        sent = counters.get(f"negotiations:{option.value}", 0)
        ended = 0
        for outcome in NegotiationOutcome:
            if outcome is NegotiationOutcome.OPEN:
                continue
            count = counters.get(f"negotiation_outcomes:{option.value}:{outcome.value}", 0)
            ended += count
            if count:
                counts.append(_count(option, outcome, count))
        if sent > ended:  # sent and not ended yet: still waiting for the buyer
            counts.append(_count(option, NegotiationOutcome.OPEN, sent - ended))
    return counts


def _count(option: NegotiationOption, outcome: NegotiationOutcome, n: int) -> t.NegotiationCount:
    return t.NegotiationCount(
        option=name(OPTION, option), outcome=name("NEGOTIATION_OUTCOME_", outcome), count=n
    )


def shop_stats(shop_id: str, counters: Mapping[str, int]) -> t.ShopStats:
    """The figures of one shop; rates are 0 when their denominator is 0."""
    applications = counters.get("applications", 0)
    rejections = counters.get("rejections", 0)
    interventions = counters.get("interventions", 0)
    quality = counters.get("refunds:QUALITY", 0)
    other = counters.get("refunds:OTHER", 0)
    return t.ShopStats(
        shop_id=shop_id,
        applications=applications,
        rejections=rejections,
        interventions=interventions,
        negotiations=_negotiations(counters),
        quality_refunds=quality,
        non_quality_refunds=other,
        rejection_rate=_rate(rejections, applications),
        dispute_intervention_rate=_rate(interventions, applications),
        quality_refund_rate=_rate(quality, quality + other),
    )
