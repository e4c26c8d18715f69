"""The Prometheus metrics of health, self-healing and timer oversight (SPEC §13).

They live on prometheus-client's default registry, so whatever serves that registry serves
them. No label takes an id: ``outcome`` has two values, ``subscription`` is a subscription's
name (one per consuming service).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

# -- readiness and liveness (service.health) -------------------------------------------------
redis_reachable = Gauge(
    "aftersale_redis_reachable",
    "1 while this server's health probe reaches Redis; 0 once it failed enough times in a row "
    "(the readiness of grpc.health.v1)",
)
health_probe_failures = Counter(
    "aftersale_health_probe_failures",
    "Health PINGs of Redis that failed or were not answered in time",
)
event_loop_lag = Gauge(
    "aftersale_event_loop_lag_seconds",
    "How late the health loop woke up last time (a busy or blocked event loop)",
)

# -- the embedded redis-server (service.redis_supervision) ----------------------------------
embedded_redis_exits = Counter(
    "aftersale_embedded_redis_exits",
    "Times the embedded redis-server exited while the service was running",
)
embedded_redis_restarts = Counter(
    "aftersale_embedded_redis_restarts",
    "Times the embedded redis-server was started again after it exited",
)
embedded_redis_restart_failures = Counter(
    "aftersale_embedded_redis_restart_failures",
    "Attempts to start the embedded redis-server again that failed (retried with backoff)",
)

# -- the embedded PostgreSQL, the archive (service.archive.startup) ---------------------------
embedded_postgres_exits = Counter(
    "aftersale_embedded_postgres_exits",
    "Times the embedded PostgreSQL exited while the service was running",
)
embedded_postgres_restarts = Counter(
    "aftersale_embedded_postgres_restarts",
    "Times the embedded PostgreSQL was started again after it exited",
)
embedded_postgres_restart_failures = Counter(
    "aftersale_embedded_postgres_restart_failures",
    "Attempts to start the embedded PostgreSQL again that failed (retried with backoff)",
)

# -- tokens (service.bootstrap, SIGHUP) ------------------------------------------------------
token_reloads = Counter(
    "aftersale_token_reloads",
    "Reloads of the tokens file (SIGHUP), by outcome: ok, or failed (the old tokens stay)",
    ("outcome",),
)

# -- timer workers (service.oversight) -------------------------------------------------------
timer_workers_alive = Gauge(
    "aftersale_timer_workers_alive",
    "Timer workers with a recent heartbeat in Redis (any process), as this server last saw",
)
timers_unattended = Gauge(
    "aftersale_timers_unattended",
    "1 while timers are due and no timer worker is alive: nothing fires them",
)

# -- stream retention (service.trimming) -----------------------------------------------------
stream_entries_trimmed = Counter(
    "aftersale_stream_entries_trimmed",
    "Transition-stream entries this process trimmed (soft retention and hard cap)",
)
