"""The service's Prometheus metrics: one definition each, on prometheus-client's default
registry (so a counter another module defines there is served beside them).

Every label takes its values from a closed set: RPC names of the service, gRPC codes, the
domain's actions and states, ErrorInfo reasons (upper-snake constants), Redis command names,
exception class names. The ``*_label`` functions below fold anything else into ``OTHER``, so
an id can never become a label value (``tests/unit/test_observability_metrics.py`` checks the
label names too). The gauges read at scrape time (timer backlog, pool) are in ``collector``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import MethodDescriptor
from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from aftersale.decide import Decision
from aftersale.events import TransitionEvent
from aftersale.exceptions import AfterSaleError
from service.gen.aftersale.v1 import aftersale_pb2, subscriptions_pb2
from service.storage.ports import CommitResult

# No *_created twin per series: half the scrape, nothing a dashboard reads.
disable_created_metrics()  # type: ignore[no-untyped-call]
SERVICE = aftersale_pb2.DESCRIPTOR.services_by_name["AfterSaleService"]
SUBSCRIPTION_SERVICE = subscriptions_pb2.DESCRIPTOR.services_by_name["SubscriptionService"]
RPC_NAMES = frozenset(m.name for s in (SERVICE, SUBSCRIPTION_SERVICE) for m in s.methods)
OTHER = "OTHER"

# Seconds. RPCs: most take a few ms (one or two Redis round trips); the call timeout is 5 s.
RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Redis round trips: ~100 µs on loopback; blocking stream reads wait up to seconds.
REDIS_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5)

# -- gRPC (the go-grpc-prometheus names, so stock dashboards work) ---------------------------
RPC_LABELS = ("grpc_service", "grpc_method", "grpc_type")
rpc_started = Counter("grpc_server_started", "RPCs started on the server", RPC_LABELS)
rpc_handled = Counter(
    "grpc_server_handled",
    "RPCs completed on the server, by status code",
    (*RPC_LABELS, "grpc_code"),
)
rpc_seconds = Histogram(
    "grpc_server_handling_seconds",
    "Time from the call's arrival to its status (a stream: its whole life)",
    RPC_LABELS,
    buckets=RPC_BUCKETS,
)
refusals = Counter(
    "aftersale_refusals",
    "Calls the service refused (an error status with an ErrorInfo), by its reason",
    ("grpc_method", "grpc_code", "reason"),
)
watch_streams = Gauge("aftersale_watch_streams_open", "WatchTransitions streams open now")
subscribe_streams = Gauge(
    "aftersale_subscribe_streams_open",
    "Subscribe streams (durable subscription consumers) open now",
)
STREAMS_OPEN = {"WatchTransitions": watch_streams, "Subscribe": subscribe_streams}

# -- the machine ------------------------------------------------------------------------------
transitions = Counter(
    "aftersale_transitions",
    "Committed transitions (API calls and timers), by action and state reached",
    ("action", "to_state"),
)

# -- timers -----------------------------------------------------------------------------------
timers_fired = Counter(
    "aftersale_timers_fired", "Timers fired (each one a committed transition)", ("action",)
)
timers_dropped = Counter(
    "aftersale_timers_dropped", "Claimed timers dropped as stale (their request moved on)"
)
timer_reclaims = Counter(
    "aftersale_timer_lease_reclaims", "Expired timer leases handed back as due (a worker died)"
)
timer_round_errors = Counter(
    "aftersale_timer_round_errors", "Timer worker rounds or batches that failed (retried)"
)

# -- Redis ------------------------------------------------------------------------------------
redis_seconds = Histogram(
    "aftersale_redis_command_seconds",
    "Redis round trips of this process (a pipeline is one, PIPELINE), retries included",
    ("command",),
    buckets=REDIS_BUCKETS,
)
redis_errors = Counter(
    "aftersale_redis_errors",
    "Redis round trips that raised, by command and exception class",
    ("command", "error"),
)

# -- the archive (PostgreSQL) -------------------------------------------------------------
archive_reads = Counter(
    "aftersale_archive_reads",
    "Reads the archive answered (or could not), by what was read: record, records (a list "
    "page's), history, listing, figures",
    ("read", "outcome"),
)

_UPPER_SNAKE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_COMMAND = re.compile(r"[A-Z][A-Z_]{0,23}")
_CLASS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def _grpc_type(m: MethodDescriptor) -> str:
    client, server = m.client_streaming, m.server_streaming
    if client and server:
        return "bidi_stream"
    return "server_stream" if server else "client_stream" if client else "unary"


# RPC name → (grpc_service, grpc_type) labels, from the descriptors (names never repeat).
RPC_KINDS: dict[str, tuple[str, str]] = {
    m.name: (s.full_name, _grpc_type(m)) for s in (SERVICE, SUBSCRIPTION_SERVICE) for m in s.methods
}


def method_label(method: str) -> str:
    """An RPC name of ``aftersale.v1.AfterSaleService``, or OTHER."""
    return method if method in RPC_NAMES else OTHER


def reason_label(reason: str) -> str:
    """An ErrorInfo reason (``NEGOTIATION_REQUIRED``), or OTHER."""
    return reason if _UPPER_SNAKE.fullmatch(reason) else OTHER


def command_label(command: object) -> str:
    """A Redis command name (``EVALSHA``, ``HGETALL``), or OTHER."""
    text = command.decode(errors="replace") if isinstance(command, bytes) else str(command)
    name = text.upper()
    return name if _COMMAND.fullmatch(name) else OTHER


def error_label(exc: BaseException) -> str:
    name = type(exc).__name__
    return name if _CLASS_NAME.fullmatch(name) else OTHER


_TRANSITIONS: dict[tuple[str, str], Any] = {}  # labelled children, looked up once each


def count_transition(event: TransitionEvent | None) -> None:
    """Count one committed transition (None: an idempotent no-op, nothing was written)."""
    if event is not None:
        labels = (event.action.value, event.to_state.value)
        child = _TRANSITIONS.get(labels)
        if child is None:
            child = _TRANSITIONS[labels] = transitions.labels(*labels)
        child.inc()


def count_committed(
    decisions: Iterable[Decision], results: Iterable[CommitResult | AfterSaleError]
) -> None:
    """Count the transitions of the commits that wrote (not refused, not replayed)."""
    for decision, result in zip(decisions, results, strict=True):
        if isinstance(result, CommitResult) and not result.replayed:
            count_transition(decision.event)
