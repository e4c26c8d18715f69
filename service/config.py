"""Service settings: environment variables over an optional TOML file over defaults.

`Settings.from_env()` reads every `AFTERSALE_*` variable (and `REDIS_URL`); the TOML file named
by `AFTERSALE_CONFIG` uses the keys in the table below, grouped in sections (`[redis] url = ...`).
An empty variable counts as unset (but an empty `AFTERSALE_METRICS_LISTEN` means off). Unknown
`AFTERSALE_*` variables and unknown TOML keys are errors, so a misspelt timer name fails at
start instead of silently keeping its default.
Every invalid value raises `ConfigError(name, value, rule)` naming the variable or key.

Redis Cluster: set `REDIS_URL=redis://host:port` and `AFTERSALE_REDIS_CLUSTER=1`, or use the
scheme `redis+cluster://host:port` (`rediss+cluster://` with TLS), which implies it. Redis
Sentinel: `redis+sentinel://host:port[,host:port]/service_name[/db]` (see
`service.storage.sentinel_url`).

`config_table_markdown()` renders the README table; `python -m service.config` prints it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.options import (
    ARCHIVE_OFF,
    CONFIG_FILE_ENV,
    LOG_LEVELS,
    OPTIONS,
    REDIS_SCHEMES,
    UNKNOWN,
    ConfigError,
    Option,
)
from service.storage.sentinel_url import is_sentinel_url, parse_sentinel_url, without_password

__all__ = ["LOG_LEVELS", "OPTIONS", "REDIS_SCHEMES", "ConfigError", "Settings", "TimerSeconds"]

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class TimerSeconds:
    """How long each after-sale timer waits, in seconds (names as in SPEC §6)."""

    merchant_handling: int = 48 * HOUR
    negotiation_reply: int = 48 * HOUR
    merchant_after_negotiation: int = 48 * HOUR
    return_ship: int = 7 * DAY
    receipt: int = 10 * DAY
    escalation_window: int = 7 * DAY
    proof_deadline: int = 3 * DAY
    offline_refund: int = 3 * DAY
    offline_refund_confirm: int = 7 * DAY
    refund_reminder: int = 2 * HOUR


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment; build with `from_env`."""

    listen: str = "127.0.0.1:50051"
    reuse_port: bool = False  # several service processes may share `listen` (SO_REUSEPORT)
    call_timeout_s: float = 5.0  # a unary call without a deadline is answered within this
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    log_format: str = "auto"  # json, text, or auto: text on a terminal, JSON otherwise
    metrics_listen: str = "127.0.0.1:9464"  # "": no metrics endpoint
    redis_url: str | None = None  # None: start the embedded redis-server
    redis_cluster: bool = False
    redis_socket_timeout_s: float = 5.0
    redis_socket_connect_timeout_s: float = 2.0
    redis_max_connections: int = 64
    redis_retry_attempts: int = 3
    redis_retry_backoff_base_s: float = 0.05
    redis_retry_backoff_cap_s: float = 1.0
    redis_health_check_interval_s: float = 15.0
    # Concurrent calls' reads and commits share round trips: one pipeline per event-loop turn.
    redis_coalesce: bool = True
    # The record form commits write: "object" while replicas of the previous release still run.
    redis_record_form: str = "positional"
    watch_max_streams: int = 32  # also the size of the streams' own Redis pool
    watch_max_streams_per_caller: int = 4
    watch_reserved_streams_per_service: int = 4
    redis_restart_backoff_s: float = 0.5  # the embedded redis-server, after it died
    redis_restart_backoff_max_s: float = 30.0
    health_interval_s: float = 1.0  # readiness: PING Redis this often on a connection of its own
    health_timeout_s: float = 0.5
    health_failures: int = 3  # failed PINGs in a row: NOT_SERVING (within ~3.5 s by default)
    shards: int = 64
    # Stream retention (service.storage.retention). The hard cap is the previous release's
    # MAXLEN, so Redis never holds more than it did (≈ 64 × 100,000 entries of ≈ 0.5 KB:
    # ≈ 3 GB at worst); the soft retention keeps a day, less memory than that whenever fewer
    # than ≈ 74 events/s are committed on average, and a subscriber down for up to a day (or
    # more, up to the cap) loses nothing.
    stream_maxlen: int = 100_000
    stream_retention_s: float = 86_400.0
    stream_trim_interval_s: float = 10.0
    idempotency_ttl_s: int = DAY
    # Retention of finished requests (service.storage.lifecycle, service.sweeping)
    retention_terminal_s: int = 30 * DAY
    retention_sweep_interval_s: float = 60.0
    retention_sweep_batch: int = 100
    timers: TimerSeconds = field(default_factory=TimerSeconds)
    max_negotiation_rounds: int = 3
    max_attempts_per_line: int = 5
    # What one request may accumulate (the domain Policy's caps, SPEC §8)
    max_evidence_images: int = 30
    max_contact_attempts: int = 10
    max_contact_quota_requests: int = 10
    max_disputes: int = 3
    max_proof_requests: int = 10
    max_proofs: int = 20
    max_refund_attempts: int = 5
    max_refund_reminders: int = 3
    max_proof_deadline_s: int = 30 * DAY
    workers: int = 1  # `serve`: processes on the listen address (service.supervisor)
    worker_stop_timeout_s: float = 30.0  # > the workers' own grace (bootstrap.GRACE_S)
    worker_restart_backoff_max_s: float = 30.0
    shutdown_grace_s: float = 10.0  # calls in flight may finish this long after a stop begins
    shutdown_drain_s: float = 0.0  # NOT_SERVING this long before calls are refused
    watch_keepalive_s: float = 5.0
    timers_enabled: bool = True
    timer_lease_s: float = 30.0
    timer_batch: int = 512
    timer_max_sleep_s: float = 1.0
    timer_heartbeat_s: float = 5.0
    timer_absent_warning_s: float = 60.0
    tokens_file: Path | None = None  # None: <data_dir>/tokens.json, see tokens_path
    token_key_file: Path | None = None  # None: <data_dir>/token.key, see token_key_path
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    subscriptions: tuple[Any, ...] = ()  # service.storage.subscriptions.Subscription
    subscription_ack_deadline_s: float = 30.0
    subscription_max_deliveries: int = 5
    subscription_dead_letter_maxlen: int = 10_000
    subscription_lease_s: float = 10.0
    subscription_max_in_flight: int = 100
    # The archive (service.archive): None = the embedded PostgreSQL beside the embedded Redis
    # (off when REDIS_URL names a Redis: see archive_mode); "off"; or a postgresql:// URL.
    archive_url: str | None = None
    archiver_enabled: bool = True  # run an archiver (a consumer of the archive subscription)
    archive_batch: int = 256
    archive_pool_size: int = 4

    def __post_init__(self) -> None:
        for option in OPTIONS:
            value = option.get(self)
            if value is not None and option.rule is not None and not option.rule.holds(value):
                raise ConfigError(option.env, value, option.rule.text)
        if self.redis_url is not None and is_sentinel_url(self.redis_url):
            _check_sentinel_url(self.redis_url, cluster=self.redis_cluster)
        elif self.redis_url is not None:
            scheme, _, rest = self.redis_url.partition("://")
            if scheme.endswith("+cluster"):
                # Normalised once here so connect() has one truth: a plain URL plus the flag.
                url = f"{scheme.removesuffix('+cluster')}://{rest}"
                object.__setattr__(self, "redis_url", url)
                object.__setattr__(self, "redis_cluster", True)
        elif self.redis_cluster:
            rule = "needs REDIS_URL (the embedded server is standalone)"
            raise ConfigError("AFTERSALE_REDIS_CLUSTER", True, rule)
        if (self.tls_cert is None) != (self.tls_key is None):
            rule = "AFTERSALE_TLS_CERT and AFTERSALE_TLS_KEY are set together"
            raise ConfigError("AFTERSALE_TLS_KEY", self.tls_key, rule)
        if self.tls_client_ca is not None and self.tls_cert is None:
            rule = "needs AFTERSALE_TLS_CERT"
            raise ConfigError("AFTERSALE_TLS_CLIENT_CA", self.tls_client_ca, rule)

    @property
    def archive_mode(self) -> str:
        """``url`` (archive_url names a PostgreSQL), ``embedded`` (no archive_url and no
        REDIS_URL: a PostgreSQL beside the embedded Redis) or ``off`` (``off``, or REDIS_URL
        without an archive_url: an archive per replica would split the archive)."""
        if self.archive_url == ARCHIVE_OFF:
            return "off"
        if self.archive_url is not None:
            return "url"
        return "embedded" if self.redis_url is None else "off"

    @property
    def tokens_path(self) -> Path:
        """The bearer-token file: `tokens_file`, or `<data_dir>/tokens.json` when unset."""
        return self.tokens_file if self.tokens_file is not None else self.data_dir / "tokens.json"

    @property
    def token_key_path(self) -> Path:
        """The key file sealing page tokens and cursors: `token_key_file`, or
        `<data_dir>/token.key` when unset."""
        if self.token_key_file is not None:
            return self.token_key_file
        return self.data_dir / "token.key"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `env` (default `os.environ`) and the TOML file it names."""
        env = os.environ if env is None else env
        known = {option.env for option in OPTIONS} | {CONFIG_FILE_ENV}
        for name in sorted(env):
            if name.startswith("AFTERSALE_") and name not in known:
                raise ConfigError(name, env[name], UNKNOWN)
        config_file = env.get(CONFIG_FILE_ENV, "").strip()
        from_file = _load_toml(Path(config_file)) if config_file else {}
        values: dict[str, Any] = {}
        for option in OPTIONS:
            raw_env = env.get(option.env, "").strip()
            if raw_env or (option.blank_is_value and option.env in env):
                values[option.field] = option.parse_from(option.env, raw_env)
            elif option.toml in from_file:
                name = f"{option.toml} (in {config_file})"
                values[option.field] = option.parse_from(name, from_file[option.toml])
        timer_values = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("timers.")}
        plain = {k: v for k, v in values.items() if not k.startswith("timers.")}
        return cls(**plain, timers=TimerSeconds(**timer_values))


def _check_sentinel_url(url: str, *, cluster: bool) -> None:
    try:
        parse_sentinel_url(url)
    except ValueError as exc:
        raise ConfigError("REDIS_URL", without_password(url), str(exc)) from None
    if cluster:
        rule = "a Sentinel-managed master is not a cluster"
        raise ConfigError("AFTERSALE_REDIS_CLUSTER", True, rule)


def _load_toml(path: Path) -> dict[str, object]:
    """The file's keys flattened to dotted names (`redis.url`); unknown keys are errors."""
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(CONFIG_FILE_ENV, str(path), f"a readable TOML file ({exc})") from exc
    flat: dict[str, object] = {}

    def walk(table: Mapping[str, object], prefix: str) -> None:
        for key, value in table.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = value

    walk(document, "")
    known = {option.toml for option in OPTIONS}
    for key, value in flat.items():
        if key not in known:
            raise ConfigError(f"{key} (in {path})", value, UNKNOWN)
    return flat


def _default_text(option: Option, defaults: Settings) -> str:
    if option.field == "tokens_file":
        return "`<data_dir>/tokens.json`"
    if option.field == "token_key_file":
        return "`<data_dir>/token.key`"
    if option.field == "subscriptions":
        return "none"
    if option.field == "archive_url":
        return "unset (embedded, see its meaning)"
    value = option.get(defaults)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if option.field.startswith("timers.") and isinstance(value, int):
        if value % DAY == 0 and value >= 3 * DAY:
            return f"`{value}` ({value // DAY} d)"
        if value % HOUR == 0:
            return f"`{value}` ({value // HOUR} h)"
    return f"`{value}`"


def config_table_markdown() -> str:
    """The README's configuration table, generated from `OPTIONS` and the defaults."""
    defaults = Settings()
    lines = [
        "| Variable | TOML key | Default | Meaning |",
        "|---|---|---|---|",
        f"| `{CONFIG_FILE_ENV}` | | unset | TOML file with these keys; variables override it |",
    ]
    for option in OPTIONS:
        default = _default_text(option, defaults)
        lines.append(f"| `{option.env}` | `{option.toml}` | {default} | {option.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(config_table_markdown(), end="")
