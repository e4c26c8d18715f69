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

# -- retention of finished requests (service.sweeping) ---------------------------------------
retention_sweep_enabled = Gauge(
    "aftersale_retention_sweep_enabled",
    "1 while this process sweeps finished, archived requests out of Redis; 0: the archive is "
    "off and nothing is ever deleted",
)
retention_swept = Counter(
    "aftersale_retention_swept_requests",
    "Finished requests this process deleted from Redis (archived at their final version, "
    "past AFTERSALE_RETENTION_TERMINAL_S); their order-line index stays until its deadline",
)
retention_waiting = Gauge(
    "aftersale_retention_waiting_for_archive",
    "Finished requests past retention that the last sweep kept because the archive does not "
    "hold their final version (an archive behind or down)",
)
retention_oldest_age = Gauge(
    "aftersale_retention_oldest_terminal_age_seconds",
    "Age of the oldest finished request still in Redis, since it became terminal, as of the "
    "last sweep (0: none); well past the retention means the sweep or the archive lags",
)
retention_sweep_skipped = Counter(
    "aftersale_retention_sweep_skipped_passes",
    "Sweep passes skipped because the archive's identity could not be read from PostgreSQL "
    "(down, not migrated yet): nothing is deleted without knowing which archive holds it",
)
retention_queued_by_walk = Counter(
    "aftersale_retention_walk_queued_requests",
    "Finished requests of the previous release found by the sweep's walk and queued for it",
)
