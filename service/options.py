"""The settings table: every option's `Settings` field, variable, TOML key, type and rule.

`service.config` reads settings through it; `config_table_markdown` renders it for the README.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aftersale.exceptions import InvalidInput
from service.storage.codec import RECORD_FORMS
from service.storage.subscriptions import Subscription

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("auto", "json", "text")
REDIS_SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "redis+cluster",
    "rediss+cluster",
    "redis+sentinel",
    "rediss+sentinel",
)
CONFIG_FILE_ENV = "AFTERSALE_CONFIG"
ARCHIVE_OFF = "off"
ARCHIVE_SCHEMES = ("postgresql", "postgres")
UNKNOWN = "unknown setting (see the configuration table in the README)"


class ConfigError(ValueError):
    """A setting has an invalid value; `name` is the variable or TOML key that holds it."""

    def __init__(self, name: str, value: object, rule: str) -> None:
        super().__init__(f"{name}={value!r}: {rule}")
        self.name = name
        self.value = value
        self.rule = rule


@dataclass(frozen=True)
class Rule:
    """A check on a parsed value, with the text an error shows."""

    text: str
    holds: Callable[[Any], bool]


def _at_least(minimum: float) -> Rule:
    return Rule(f"must be >= {minimum:g}", lambda value: value >= minimum)


def _between(low: int, high: int) -> Rule:
    return Rule(f"must be between {low} and {high}", lambda value: low <= value <= high)


POSITIVE = Rule("must be > 0", lambda value: value > 0)


def _listen_address(value: str) -> bool:
    host, _, port = value.rpartition(":")
    return bool(host) and port.isdigit() and int(port) <= 65535


def _listen_or_off(value: str) -> bool:
    return value == "" or _listen_address(value)


def _parse_off(raw: object) -> str:
    """An address, or "" for off (an empty value or the word ``off``)."""
    text = _parse_str(raw)
    return "" if text.lower() == "off" else text


def _redis_url(value: str) -> bool:
    return urlsplit(value).scheme in REDIS_SCHEMES


def _archive_url(value: str) -> bool:
    return value == ARCHIVE_OFF or urlsplit(value).scheme in ARCHIVE_SCHEMES


def _parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be a boolean: 1/0, true/false, yes/no, on/off")


def _parse_int(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError("must be an integer")
    try:
        return int(raw.replace("_", "") if isinstance(raw, str) else raw)
    except ValueError:
        raise ValueError("must be an integer") from None


def _parse_float(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("must be a number")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _parse_str(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    return raw.strip()


def _parse_path(raw: object) -> Path:
    return Path(_parse_str(raw))


def cpu_count() -> int:
    """The CPUs this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a
    container limited with `--cpus 2` on a 64-core host counts 2)."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit to read
    return count


def _parse_workers(raw: object) -> int:
    if isinstance(raw, str) and raw.strip().lower() == "auto":
        return cpu_count()
    try:
        return _parse_int(raw)
    except ValueError:
        raise ValueError("must be an integer or auto") from None


def _parse_subscriptions(raw: object) -> tuple[Any, ...]:
    """Subscriptions declared in config: a TOML array of tables (``[[subscriptions]]``), or
    the same as JSON in the variable. Each is checked like CreateSubscription checks it."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            raise ValueError("must be a JSON array of subscription tables") from None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ValueError("must be an array of subscription tables ([[subscriptions]])")
    parsed = []
    for i, table in enumerate(raw):
        try:
            parsed.append(Subscription.from_mapping(table))
        except InvalidInput as exc:
            raise ValueError(f"subscriptions[{i}].{exc.field}: {exc.rule}") from None
    names = [sub.name for sub in parsed]
    if len(set(names)) != len(names):
        raise ValueError("subscription names must be unique")
    return tuple(parsed)


PARSERS: dict[str, Callable[[object], object]] = {
    "subscriptions": _parse_subscriptions,
    "bool": _parse_bool,
    "int": _parse_int,
    "float": _parse_float,
    "str": _parse_str,
    "path": _parse_path,
    "workers": _parse_workers,
    "level": lambda raw: _parse_str(raw).upper(),
    "lower": lambda raw: _parse_str(raw).lower(),
    "address_or_off": _parse_off,
}


@dataclass(frozen=True)
class Option:
    """One setting: its `Settings` field (dotted for nested), variable, TOML key and rule."""

    field: str
    env: str
    toml: str
    kind: str
    help: str
    rule: Rule | None = None
    blank_is_value: bool = False  # an empty variable is this value ("" = off), not unset

    def get(self, settings: object) -> object:
        """This option's value in `settings`."""
        value: object = settings
        for part in self.field.split("."):
            value = getattr(value, part)
        return value

    def parse_from(self, name: str, raw: object) -> object:
        """`raw` converted to this option's type; errors name `name`."""
        try:
            value = PARSERS[self.kind](raw)
        except ValueError as exc:
            raise ConfigError(name, raw, str(exc)) from None
        if self.rule is not None and not self.rule.holds(value):
            raise ConfigError(name, raw, self.rule.text)
        return value


def _opt(
    field: str, toml: str, kind: str, rule: Rule | None, help: str, env: str | None = None
) -> Option:
    return Option(field, env or f"AFTERSALE_{field.upper()}", toml, kind, help, rule)


def _timer(name: str, help: str) -> Option:
    env = f"AFTERSALE_TIMER_{name.upper()}_S"
    return Option(f"timers.{name}", env, f"timers.{name}_s", "int", f"Seconds {help}", POSITIVE)


LISTEN = Rule("must be host:port", _listen_address)
LISTEN_OR_OFF = Rule("must be host:port, or empty or off", _listen_or_off)
FORMAT = Rule("must be one of " + ", ".join(LOG_FORMATS), lambda value: value in LOG_FORMATS)
LEVEL = Rule("must be one of " + ", ".join(LOG_LEVELS), lambda value: value in LOG_LEVELS)
URL = Rule("scheme must be one of " + ", ".join(REDIS_SCHEMES), _redis_url)
RECORD_FORM = Rule("must be one of " + ", ".join(RECORD_FORMS), lambda value: value in RECORD_FORMS)
ARCHIVE_URL = Rule("must be a postgresql:// URL, or off", _archive_url)

# fmt: off
OPTIONS: tuple[Option, ...] = (
    _opt("listen", "listen", "str", LISTEN, "gRPC address `host:port` (port 0: any free port)"),
    _opt("call_timeout_s", "call_timeout_s", "float", POSITIVE,
         "Longest a unary call runs (a hung Redis): then UNAVAILABLE, safe to retry with the "
         "same idempotency key"),
    _opt("data_dir", "data_dir", "path", None,
         "Embedded Redis files (`redis/`, owner-only: AOF, log, its password) and the "
         "default tokens file"),
    _opt("log_level", "log_level", "level", LEVEL, "Log level: " + ", ".join(LOG_LEVELS)),
    _opt("log_format", "log_format", "lower", FORMAT,
         "Log lines: `json`, `text` (key=value), or `auto`: text on a terminal, JSON otherwise"),
    Option("metrics_listen", "AFTERSALE_METRICS_LISTEN", "metrics.listen", "address_or_off",
           "Prometheus metrics over HTTP at `host:port` (port 0: any free port); empty or `off`: "
           "none", LISTEN_OR_OFF, blank_is_value=True),
    _opt("redis_url", "redis.url", "str", URL,
         "Unset: start the embedded redis-server. `redis://`, `rediss://`, `unix://`; "
         "`redis+cluster://`, `rediss+cluster://` for a cluster; "
         "`redis+sentinel://host:port[,host:port]/service_name[/db]` (`rediss+sentinel://`) "
         "for a Sentinel-managed master", env="REDIS_URL"),
    _opt("redis_cluster", "redis.cluster", "bool", None, "Use the Redis Cluster client"),
    _opt("redis_socket_timeout_s", "redis.socket_timeout_s", "float", POSITIVE,
         "Socket read/write timeout; blocking reads stay below it"),
    _opt("redis_socket_connect_timeout_s", "redis.socket_connect_timeout_s", "float", POSITIVE,
         "Connect timeout"),
    _opt("redis_max_connections", "redis.max_connections", "int", _at_least(1),
         "Connection pool size (per node in a cluster)"),
    _opt("redis_retry_attempts", "redis.retry_attempts", "int", _at_least(0),
         "Retries of a command after a connection error or timeout"),
    _opt("redis_retry_backoff_base_s", "redis.retry_backoff_base_s", "float", _at_least(0),
         "First retry delay, doubled on each further retry"),
    _opt("redis_retry_backoff_cap_s", "redis.retry_backoff_cap_s", "float", _at_least(0),
         "Longest retry delay"),
    _opt("redis_health_check_interval_s", "redis.health_check_interval_s", "float", _at_least(0),
         "PING a connection idle this long before reusing it (0: never)"),
    _opt("redis_coalesce", "redis.coalesce", "bool", None,
         "Send the reads and commits that concurrent calls make during one event-loop turn "
         "together, as one pipeline (`false`: a round trip each; never on a cluster)"),
    _opt("redis_record_form", "redis.record_form", "lower", RECORD_FORM,
         "How commits write a record: `positional` (a JSON array, ≈ 240 bytes smaller per open "
         "request) or `object` (the previous release's form, which its replicas can read: set "
         "it during a rolling upgrade from that release, README \"Redis data\"). Both are read"),
    _opt("watch_max_streams", "watch.max_streams", "int", _at_least(1),
         "WatchTransitions streams open at once in this process; they read through a Redis "
         "pool of their own of this size, apart from `redis.max_connections`"),
    _opt("watch_max_streams_per_caller", "watch.max_streams_per_caller", "int", _at_least(1),
         "Streams one caller (calling service and the party it speaks for) may hold"),
    _opt("watch_reserved_streams_per_service", "watch.reserved_streams_per_service", "int",
         _at_least(0),
         "Streams kept free for each calling service of the tokens file while it holds fewer "
         "(at most `watch.max_streams` shared evenly)"),
    _opt("redis_restart_backoff_s", "redis.restart_backoff_s", "float", POSITIVE,
         "Embedded Redis: wait before a redis-server that died is started again (doubled "
         "while it keeps dying)"),
    _opt("redis_restart_backoff_max_s", "redis.restart_backoff_max_s", "float", POSITIVE,
         "Embedded Redis: longest wait between restarts"),
    _opt("health_interval_s", "health.interval_s", "float", POSITIVE,
         "How often the server PINGs Redis on a connection of its own, for its readiness "
         "(grpc.health.v1)"),
    _opt("health_timeout_s", "health.timeout_s", "float", POSITIVE,
         "A health PING not answered within this has failed"),
    _opt("health_failures", "health.failures", "int", _at_least(1),
         "Failed health PINGs in a row that turn readiness NOT_SERVING (one success: "
         "SERVING again)"),
    _opt("shards", "storage.shards", "int", _between(1, 1024),
         "Logical shards (hash tags); fixed for the life of a data set"),
    _opt("stream_maxlen", "storage.stream_maxlen", "int", _at_least(1),
         "Hard cap of a transition stream, entries per shard: beyond it the oldest go even "
         "if a subscription has not acknowledged them (reported as lost: metric, log, "
         "`GetStatus`); enforced by the periodic trim, so it may be overshot by one "
         "period's commits"),
    _opt("stream_retention_s", "storage.stream_retention_s", "float", _at_least(0),
         "Soft retention of the transition streams: older events are trimmed once every "
         "subscription (consumer group) has acknowledged them; `WatchTransitions` cursors "
         "stay valid this long (within the cap)"),
    _opt("stream_trim_interval_s", "storage.stream_trim_interval_s", "float", POSITIVE,
         "How often each serving process trims the transition streams"),
    _opt("idempotency_ttl_s", "storage.idempotency_ttl_s", "int", POSITIVE,
         "How long an idempotency key replays its first result"),
    _opt("retention_terminal_s", "retention.terminal_s", "int", _at_least(0),
         "A finished request leaves Redis this long after it became terminal (never less "
         "than `storage.idempotency_ttl_s`), once the archive holds its final version (its "
         "order-line index stays until the line's after-sale deadline); with the archive off "
         "nothing is ever deleted"),
    _opt("retention_sweep_interval_s", "retention.sweep_interval_s", "float", POSITIVE,
         "How often each serving process sweeps the finished requests out of Redis"),
    _opt("retention_sweep_batch", "retention.sweep_batch", "int", _between(1, 10_000),
         "Finished requests one sweep script looks at (per shard and call; bounds how long "
         "it holds Redis)"),
    _timer("merchant_handling", "in `MERCHANT_PROCESSING`, then `merchant_timeout`"),
    _timer("negotiation_reply", "for the buyer's reply to a proposal, then `negotiation_timeout`"),
    _timer("merchant_after_negotiation",
           "for the merchant after a failed negotiation, then its handling timeout"),
    _timer("return_ship", "in `USER_WAIT_RETURN`, then `return_ship_timeout`"),
    _timer("receipt", "in `MERCHANT_WAIT_RECEIPT`, then `receipt_timeout`"),
    _timer("escalation_window",
           "in `MERCHANT_REJECT_*`, `RETURN_CLOSED`, then `escalation_expired`"),
    _timer("proof_deadline", "in `PLATFORM_ARBITRATING`, then `proof_timeout`"),
    _timer("offline_refund", "in `PLATFORM_REFUND_FAIL`, then `offline_refund_timeout`"),
    _timer("offline_refund_confirm",
           "in `USER_WAIT_CONFIRM`, then `offline_refund_confirm_timeout`"),
    _timer("refund_reminder",
           "in `PLATFORM_REFUNDING` without a payment result, then `refund_reminder`"),
    _opt("max_negotiation_rounds", "limits.max_negotiation_rounds", "int", _at_least(0),
         "Negotiation proposals per request"),
    _opt("max_attempts_per_line", "limits.max_attempts_per_line", "int", _at_least(1),
         "After-sale requests per order line"),
    _opt("max_evidence_images", "limits.max_evidence_images", "int", _at_least(1),
         "Evidence images one request keeps over its life"),
    _opt("max_contact_attempts", "limits.max_contact_attempts", "int", _at_least(1),
         "Contact attempts one request records"),
    _opt("max_contact_quota_requests", "limits.max_contact_quota_requests", "int",
         _at_least(1), "Contact quota requests per request"),
    _opt("max_disputes", "limits.max_disputes", "int", _at_least(1),
         "Escalations and interventions per request"),
    _opt("max_proof_requests", "limits.max_proof_requests", "int", _at_least(1),
         "Proof requests per dispute"),
    _opt("max_proofs", "limits.max_proofs", "int", _at_least(1), "Proof submissions per dispute"),
    _opt("max_refund_attempts", "limits.max_refund_attempts", "int", _at_least(1),
         "Refund attempts (the first and the platform's retries) per request"),
    _opt("max_refund_reminders", "limits.max_refund_reminders", "int", _at_least(1),
         "Reminders of an unanswered refund before it is flagged for ops"),
    _opt("max_proof_deadline_s", "limits.max_proof_deadline_s", "int", POSITIVE,
         "Furthest a proof deadline may be set, in seconds"),
    _opt("shutdown_grace_s", "shutdown.grace_s", "float", _at_least(0),
         "On SIGTERM, how long calls in flight may finish (then they are cancelled)"),
    _opt("shutdown_drain_s", "shutdown.drain_s", "float", _at_least(0),
         "On SIGTERM, how long health says NOT_SERVING before new calls are refused "
         "(for load balancers to notice)"),
    _opt("watch_keepalive_s", "watch.keepalive_s", "float", POSITIVE,
         "A `WatchTransitions` stream with nothing to send sends its cursor this often"),
    _opt("reuse_port", "reuse_port", "bool", None,
         "Let several service processes listen on the same address (SO_REUSEPORT)",
         env="AFTERSALE_REUSE_PORT"),
    _opt("workers", "workers.count", "workers", _at_least(1),
         "Service processes sharing the listen address under one supervisor that restarts "
         "them (`auto`: one per CPU the process may use); `serve --workers` overrides it",
         env="AFTERSALE_WORKERS"),
    _opt("worker_stop_timeout_s", "workers.stop_timeout_s", "float", POSITIVE,
         "On SIGTERM, how long the supervisor waits for its workers to drain before it "
         "kills them"),
    _opt("worker_restart_backoff_max_s", "workers.restart_backoff_max_s", "float", POSITIVE,
         "Longest wait before a dead worker is started again (0.5 s, doubling while "
         "workers die young)"),
    _opt("timers_enabled", "timer_worker.enabled", "bool", None,
         "Run the timer worker in this process", env="AFTERSALE_TIMERS"),
    _opt("timer_lease_s", "timer_worker.lease_s", "float", POSITIVE,
         "A claimed timer not committed within this is claimed again"),
    _opt("timer_batch", "timer_worker.batch", "int", _at_least(1),
         "Due timers claimed per round, over all shards"),
    _opt("timer_max_sleep_s", "timer_worker.max_sleep_s", "float", POSITIVE,
         "Longest sleep between rounds when nothing is due sooner"),
    _opt("timer_heartbeat_s", "timer_worker.heartbeat_s", "float", POSITIVE,
         "A timer worker's heartbeat period (in Redis); it counts as alive for 3 periods"),
    _opt("timer_absent_warning_s", "timer_worker.absent_warning_s", "float", POSITIVE,
         "A server warns when timers are due and no timer worker has been alive for this "
         "long (e.g. AFTERSALE_TIMERS=0 and no `timers` process)"),
    _opt("tokens_file", "auth.tokens_file", "path", None,
         "Bearer tokens of calling services and the roles each may act as"),
    _opt("token_key_file", "auth.token_key_file", "path", None,
         "Keys sealing page tokens and cursors (one URL-safe base64 32-byte key per line; the "
         "first seals, all open); every replica needs the same file. Unset and missing: "
         "written with a fresh key (owner-only)"),
    _opt("subscriptions", "subscriptions", "subscriptions", None,
         "Durable subscriptions created (or updated) at startup: `[[subscriptions]]` tables "
         "with `name`, `service`, `role` (PAYMENT, MERCHANT, PLATFORM), optional `actions`, "
         "`states`, `signals`, `shop_id`, `start` (`live`, `oldest`), `max_deliveries`; the "
         "variable takes the same as a JSON array"),
    _opt("subscription_ack_deadline_s", "subscription.ack_deadline_s", "float", POSITIVE,
         "A subscription delivery not acknowledged within this is delivered again"),
    _opt("subscription_max_deliveries", "subscription.max_deliveries", "int", _between(1, 100),
         "Deliveries without an ack before an event becomes a dead letter (a subscription "
         "may set its own)"),
    _opt("subscription_dead_letter_maxlen", "subscription.dead_letter_maxlen", "int",
         _at_least(1),
         "Dead letters kept per subscription and shard; beyond, the oldest is dropped "
         "(counted and logged as lost)"),
    _opt("subscription_lease_s", "subscription.lease_s", "float", POSITIVE,
         "How long a consumer holds its shards without renewing (renewed every third of it); "
         "a consumer that vanished without closing loses them after this"),
    _opt("subscription_max_in_flight", "subscription.max_in_flight", "int",
         _between(1, 1000), "Unacknowledged deliveries per consumer when it does not ask"),
    _opt("archive_url", "archive.url", "str", ARCHIVE_URL,
         "The archive (PostgreSQL) that keeps every request for good: a `postgresql://` URL; "
         "`off`: no archive, so nothing is ever deleted from Redis (said at start and by "
         "`GetStatus`); unset: a PostgreSQL from the `pgserver` wheel in `<data_dir>/postgres` "
         "beside the embedded Redis (supervised like it), or, with `REDIS_URL` set, off"),
    _opt("archiver_enabled", "archive.archiver", "bool", None,
         "Run an archiver in this process (`serve` and `timers`): the archivers of a "
         "deployment share the `archive` subscription's shards", env="AFTERSALE_ARCHIVER"),
    _opt("archive_batch", "archive.batch", "int", _between(1, 1000),
         "Transition events an archiver archives per PostgreSQL transaction, at most"),
    _opt("archive_pool_size", "archive.pool_size", "int", _at_least(1),
         "PostgreSQL connections per process (the archiver and archive reads)"),
    _opt("tls_cert", "tls.cert", "path", None, "Server certificate (PEM); unset: plaintext"),
    _opt("tls_key", "tls.key", "path", None, "Server private key (PEM)"),
    _opt("tls_client_ca", "tls.client_ca", "path", None,
         "CA bundle (PEM); set: clients must present a certificate it signed"),
)
# fmt: on
