from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from service.config import (
    OPTIONS,
    ConfigError,
    Settings,
    TimerSeconds,
    config_table_markdown,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_no_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.redis_url is None
    assert settings.listen == "127.0.0.1:50051"
    assert settings.data_dir == Path("var")
    assert settings.tokens_path == Path("var/tokens.json")
    assert (settings.shards, settings.stream_maxlen, settings.idempotency_ttl_s) == (
        64,
        100_000,
        86_400,
    )
    assert settings.timers.merchant_handling == 48 * 3600
    assert settings.timers.receipt == 10 * 86_400
    assert settings.timers.proof_deadline == 3 * 86_400


def test_environment_variables_set_each_kind_of_value() -> None:
    env = {
        "AFTERSALE_LISTEN": "0.0.0.0:0",
        "AFTERSALE_DATA_DIR": "/srv/aftersale",
        "AFTERSALE_LOG_LEVEL": "debug",
        "REDIS_URL": "rediss://cache.internal:6380/0",
        "AFTERSALE_REDIS_SOCKET_TIMEOUT_S": "0.5",
        "AFTERSALE_SHARDS": "16",
        "AFTERSALE_STREAM_MAXLEN": "1_000",
        "AFTERSALE_TIMER_RECEIPT_S": "60",
        "AFTERSALE_TIMER_OFFLINE_REFUND_CONFIRM_S": "5",
        "AFTERSALE_TIMERS": "off",
        "AFTERSALE_TIMER_LEASE_S": "2.5",
    }

    settings = Settings.from_env(env)

    assert settings.listen == "0.0.0.0:0"
    assert settings.data_dir == Path("/srv/aftersale")
    assert settings.tokens_path == Path("/srv/aftersale/tokens.json")
    assert settings.log_level == "DEBUG"
    assert settings.redis_url == "rediss://cache.internal:6380/0"
    assert settings.redis_cluster is False
    assert settings.redis_socket_timeout_s == 0.5
    assert (settings.shards, settings.stream_maxlen) == (16, 1000)
    assert settings.timers == TimerSeconds(receipt=60, offline_refund_confirm=5)
    assert settings.timers_enabled is False
    assert settings.timer_lease_s == 2.5


def test_an_empty_variable_counts_as_unset() -> None:
    settings = Settings.from_env({"REDIS_URL": "", "AFTERSALE_SHARDS": "  "})

    assert settings.redis_url is None
    assert settings.shards == 64


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis+cluster://10.0.0.1:7000", "redis://10.0.0.1:7000"),
        ("rediss+cluster://user:pw@10.0.0.1:7000", "rediss://user:pw@10.0.0.1:7000"),
    ],
)
def test_a_cluster_scheme_selects_the_cluster_client_with_a_plain_url(
    url: str, expected: str
) -> None:
    settings = Settings.from_env({"REDIS_URL": url})

    assert settings.redis_cluster is True
    assert settings.redis_url == expected


def test_the_cluster_flag_selects_the_cluster_client() -> None:
    settings = Settings.from_env(
        {"REDIS_URL": "redis://10.0.0.1:7000", "AFTERSALE_REDIS_CLUSTER": "1"}
    )

    assert settings.redis_cluster is True
    assert settings.redis_url == "redis://10.0.0.1:7000"


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("AFTERSALE_SHARDS", "many", "must be an integer"),
        ("AFTERSALE_SHARDS", "0", "must be between 1 and 1024"),
        ("AFTERSALE_TIMER_RECEIPT_S", "-1", "must be > 0"),
        ("AFTERSALE_TIMER_RECEIPT_S", "1.5", "must be an integer"),
        ("AFTERSALE_REDIS_SOCKET_TIMEOUT_S", "nan", "must be a finite number"),
        ("AFTERSALE_REDIS_RETRY_ATTEMPTS", "-1", "must be >= 0"),
        ("AFTERSALE_TIMERS", "maybe", "must be a boolean: 1/0, true/false, yes/no, on/off"),
        ("AFTERSALE_LISTEN", "50051", "must be host:port"),
        ("AFTERSALE_LOG_LEVEL", "loud", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("REDIS_URL", "http://cache:6379", "scheme must be one of"),
        ("AFTERSALE_TIMER_RECIEPT_S", "60", "unknown setting"),
    ],
)
def test_an_invalid_variable_is_named_with_its_value_and_rule(
    name: str, value: str, rule: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({name: value})

    assert raised.value.name == name
    assert raised.value.value == value
    assert raised.value.rule.startswith(rule)
    assert str(raised.value).startswith(f"{name}={value!r}: ")


def test_the_cluster_flag_without_a_url_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"AFTERSALE_REDIS_CLUSTER": "true"})

    assert raised.value.name == "AFTERSALE_REDIS_CLUSTER"


def test_a_tls_certificate_needs_its_key() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"AFTERSALE_TLS_CERT": "/etc/aftersale/cert.pem"})

    assert raised.value.name == "AFTERSALE_TLS_KEY"


def test_a_client_ca_needs_a_server_certificate() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"AFTERSALE_TLS_CLIENT_CA": "/etc/aftersale/ca.pem"})

    assert raised.value.name == "AFTERSALE_TLS_CLIENT_CA"


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings(timer_batch=0)

    assert raised.value.name == "AFTERSALE_TIMER_BATCH"


def write_toml(directory: Path, text: str) -> Path:
    path = directory / "aftersale.toml"
    path.write_text(text)
    return path


def test_a_toml_file_sets_values_by_section(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """
listen = "0.0.0.0:6000"
[redis]
url = "redis://cache:6379"
cluster = true
max_connections = 8
[storage]
shards = 8
[timers]
merchant_handling_s = 120
[timer_worker]
enabled = false
max_sleep_s = 0.25
[tls]
cert = "/etc/aftersale/cert.pem"
key = "/etc/aftersale/key.pem"
""",
    )

    settings = Settings.from_env({"AFTERSALE_CONFIG": str(path)})

    assert settings.listen == "0.0.0.0:6000"
    assert (settings.redis_url, settings.redis_cluster) == ("redis://cache:6379", True)
    assert settings.redis_max_connections == 8
    assert settings.shards == 8
    assert settings.timers.merchant_handling == 120
    assert settings.timers_enabled is False
    assert settings.timer_max_sleep_s == 0.25
    assert settings.tls_cert == Path("/etc/aftersale/cert.pem")


def test_environment_variables_override_the_toml_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[storage]\nshards = 8\nidempotency_ttl_s = 60\n")

    settings = Settings.from_env({"AFTERSALE_CONFIG": str(path), "AFTERSALE_SHARDS": "32"})

    assert settings.shards == 32
    assert settings.idempotency_ttl_s == 60


@pytest.mark.parametrize(
    ("text", "name", "rule"),
    [
        ("[storage]\nshard = 8\n", "storage.shard", "unknown setting"),
        ("[storage]\nshards = 8.0\n", "storage.shards", "must be an integer"),
        ('[redis]\ncluster = "sometimes"\n', "redis.cluster", "must be a boolean"),
        ("listen = 6000\n", "listen", "must be a string"),
        ("[timers]\nreceipt_s = 0\n", "timers.receipt_s", "must be > 0"),
    ],
)
def test_an_invalid_toml_value_is_named_with_its_key_and_file(
    tmp_path: Path, text: str, name: str, rule: str
) -> None:
    path = write_toml(tmp_path, text)

    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"AFTERSALE_CONFIG": str(path)})

    assert raised.value.name == f"{name} (in {path})"
    assert raised.value.rule.startswith(rule)


@pytest.mark.parametrize("text", [None, "shards = = 8\n"])
def test_a_missing_or_malformed_toml_file_is_named(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "aftersale.toml" if text is None else write_toml(tmp_path, text)

    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"AFTERSALE_CONFIG": str(path)})

    assert raised.value.name == "AFTERSALE_CONFIG"
    assert raised.value.value == str(path)


def test_every_setting_has_a_variable_and_a_toml_key() -> None:
    documented = {option.field for option in OPTIONS}
    timer_fields = {f"timers.{item.name}" for item in fields(TimerSeconds)}
    plain_fields = {item.name for item in fields(Settings) if item.name != "timers"}

    assert documented == plain_fields | timer_fields
    assert len({option.env for option in OPTIONS}) == len(OPTIONS)
    assert len({option.toml for option in OPTIONS}) == len(OPTIONS)


def test_the_table_lists_every_variable_with_its_default() -> None:
    table = config_table_markdown()

    for option in OPTIONS:
        assert f"| `{option.env}` | `{option.toml}` |" in table
    assert (
        "| `AFTERSALE_TIMER_MERCHANT_HANDLING_S` | `timers.merchant_handling_s` | `172800` (48 h)"
        in table
    )


def test_the_readme_carries_the_current_configuration_table() -> None:
    if not README.exists():
        pytest.skip("README.md not written yet")

    assert config_table_markdown() in README.read_text(), (
        "regenerate the README table with: python -m service.config"
    )
