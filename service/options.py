"""The settings table: every option's `Settings` field, variable, TOML key, type and rule.

`service.config` reads settings through it; `config_table_markdown` renders it for the README.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")
CONFIG_FILE_ENV = "AFTERSALE_CONFIG"
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


def _redis_url(value: str) -> bool:
    return urlsplit(value).scheme in REDIS_SCHEMES


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


PARSERS: dict[str, Callable[[object], object]] = {
    "bool": _parse_bool,
    "int": _parse_int,
    "float": _parse_float,
    "str": _parse_str,
    "path": _parse_path,
    "level": lambda raw: _parse_str(raw).upper(),
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
LEVEL = Rule("must be one of " + ", ".join(LOG_LEVELS), lambda value: value in LOG_LEVELS)
URL = Rule("scheme must be one of " + ", ".join(REDIS_SCHEMES), _redis_url)

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
    _opt("redis_url", "redis.url", "str", URL,
         "Unset: start the embedded redis-server. `redis://`, `rediss://`, `unix://`; "
         "`redis+cluster://`, `rediss+cluster://` for a cluster", env="REDIS_URL"),
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
         "Transition-stream retention per shard (approximate, `MAXLEN ~`)"),
    _opt("idempotency_ttl_s", "storage.idempotency_ttl_s", "int", POSITIVE,
         "How long an idempotency key replays its first result"),
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
    _opt("tls_cert", "tls.cert", "path", None, "Server certificate (PEM); unset: plaintext"),
    _opt("tls_key", "tls.key", "path", None, "Server private key (PEM)"),
    _opt("tls_client_ca", "tls.client_ca", "path", None,
         "CA bundle (PEM); set: clients must present a certificate it signed"),
)
# fmt: on
