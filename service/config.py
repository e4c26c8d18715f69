"""Service settings: environment variables over an optional TOML file over defaults.

`Settings.from_env()` reads every `AFTERSALE_*` variable (and `REDIS_URL`); the TOML file named
by `AFTERSALE_CONFIG` uses the keys in the table below, grouped in sections (`[redis] url = ...`).
An empty variable counts as unset. Unknown `AFTERSALE_*` variables and unknown TOML keys are
errors, so a misspelt timer name fails at start instead of silently keeping its default.
Every invalid value raises `ConfigError(name, value, rule)` naming the variable or key.

Redis Cluster: set `REDIS_URL=redis://host:port` and `AFTERSALE_REDIS_CLUSTER=1`, or use the
scheme `redis+cluster://host:port` (`rediss+cluster://` with TLS), which implies it.

`config_table_markdown()` renders the README table; `python -m service.config` prints it.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HOUR = 3600
DAY = 24 * HOUR
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


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment; build with `from_env`."""

    listen: str = "127.0.0.1:50051"
    reuse_port: bool = False  # several service processes may share `listen` (SO_REUSEPORT)
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    redis_url: str | None = None  # None: start the embedded redis-server
    redis_cluster: bool = False
    redis_socket_timeout_s: float = 5.0
    redis_socket_connect_timeout_s: float = 2.0
    redis_max_connections: int = 64
    redis_retry_attempts: int = 3
    redis_retry_backoff_base_s: float = 0.05
    redis_retry_backoff_cap_s: float = 1.0
    redis_health_check_interval_s: float = 15.0
    shards: int = 64
    stream_maxlen: int = 100_000
    idempotency_ttl_s: int = DAY
    timers: TimerSeconds = field(default_factory=TimerSeconds)
    max_negotiation_rounds: int = 3
    max_attempts_per_line: int = 5
    timers_enabled: bool = True
    timer_lease_s: float = 30.0
    timer_batch: int = 512
    timer_max_sleep_s: float = 1.0
    tokens_file: Path | None = None  # None: <data_dir>/tokens.json, see tokens_path
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None

    def __post_init__(self) -> None:
        for option in OPTIONS:
            value = option.get(self)
            if value is not None and option.rule is not None and not option.rule.holds(value):
                raise ConfigError(option.env, value, option.rule.text)
        if self.redis_url is not None:
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
    def tokens_path(self) -> Path:
        """The bearer-token file: `tokens_file`, or `<data_dir>/tokens.json` when unset."""
        return self.tokens_file if self.tokens_file is not None else self.data_dir / "tokens.json"

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
            if raw_env:
                values[option.field] = option.parse_from(option.env, raw_env)
            elif option.toml in from_file:
                name = f"{option.toml} (in {config_file})"
                values[option.field] = option.parse_from(name, from_file[option.toml])
        timer_values = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("timers.")}
        plain = {k: v for k, v in values.items() if not k.startswith("timers.")}
        return cls(**plain, timers=TimerSeconds(**timer_values))


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

    def get(self, settings: Settings) -> object:
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
    _opt("data_dir", "data_dir", "path", None,
         "Embedded Redis files (`redis/`: AOF, log) and the default tokens file"),
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
    _opt("max_negotiation_rounds", "limits.max_negotiation_rounds", "int", _at_least(0),
         "Negotiation proposals per request"),
    _opt("max_attempts_per_line", "limits.max_attempts_per_line", "int", _at_least(1),
         "After-sale requests per order line"),
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
    _opt("tokens_file", "auth.tokens_file", "path", None,
         "Bearer tokens of calling services and the roles each may act as"),
    _opt("tls_cert", "tls.cert", "path", None, "Server certificate (PEM); unset: plaintext"),
    _opt("tls_key", "tls.key", "path", None, "Server private key (PEM)"),
    _opt("tls_client_ca", "tls.client_ca", "path", None,
         "CA bundle (PEM); set: clients must present a certificate it signed"),
)
# fmt: on


def _default_text(option: Option, defaults: Settings) -> str:
    if option.field == "tokens_file":
        return "`<data_dir>/tokens.json`"
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
