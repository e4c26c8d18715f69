"""`redis+sentinel://` URLs: what they name, and the settings that refuse a bad one at start."""

from __future__ import annotations

import pytest

from service.config import ConfigError, Settings
from service.storage.sentinel_url import (
    SentinelUrl,
    is_sentinel_url,
    parse_sentinel_url,
    without_password,
)


def test_a_sentinel_url_names_every_sentinel_and_the_service() -> None:
    url = parse_sentinel_url("redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/aftersale")

    assert url == SentinelUrl(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26380)), service_name="aftersale"
    )


def test_the_database_credentials_and_sentinel_password_are_read() -> None:
    url = parse_sentinel_url(
        "rediss+sentinel://app:s%40cret@s1,s2:5000,[::1]:26381/main/3"
        "?sentinel_password=watch&sentinel_username=sent"
    )

    assert url.sentinels == (("s1", 26379), ("s2", 5000), ("::1", 26381))
    assert (url.service_name, url.db) == ("main", 3)
    assert (url.username, url.password) == ("app", "s@cret")
    assert (url.sentinel_username, url.sentinel_password) == ("sent", "watch")
    assert url.tls is True


def test_a_password_without_a_user_authenticates_as_default() -> None:
    url = parse_sentinel_url("redis+sentinel://:pw@s1:26379/main")

    assert (url.username, url.password) == (None, "pw")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+sentinel://s1:26379", "needs /service_name"),
        ("redis+sentinel://s1:26379/", "needs /service_name"),
        ("redis+sentinel://s1:26379/main/zero", "the database 'zero' must be a number"),
        ("redis+sentinel://s1:26379/main/0/extra", "needs /service_name"),
        ("redis+sentinel://s1:port/main", "has no valid port"),
        ("redis+sentinel://s1:70000/main", "has no valid port"),
        ("redis+sentinel://s1,,s2/main", "has no host"),
        ("redis+sentinel://s1/main?password=x", "unknown query parameter(s) password"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_with_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_sentinel_url(url)

    assert problem in str(raised.value)


def test_only_the_sentinel_schemes_are_sentinel_urls() -> None:
    assert is_sentinel_url("redis+sentinel://s1/main")
    assert is_sentinel_url("REDISS+SENTINEL://s1/main")
    assert not is_sentinel_url("redis+cluster://s1:7000")
    assert not is_sentinel_url("redis://s1:6379")


def test_settings_keep_a_sentinel_url_as_given_and_standalone() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis+sentinel://s1:26379,s2:26379/aftersale/1"})

    assert settings.redis_url == "redis+sentinel://s1:26379,s2:26379/aftersale/1"
    assert settings.redis_cluster is False


def test_settings_refuse_a_malformed_sentinel_url_without_showing_its_password() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"REDIS_URL": "redis+sentinel://app:hunter2@s1:26379"})

    assert raised.value.name == "REDIS_URL"
    assert "needs /service_name" in raised.value.rule
    assert "hunter2" not in str(raised.value)


def test_a_sentinel_url_cannot_be_used_with_the_cluster_client() -> None:
    env = {"REDIS_URL": "redis+sentinel://s1/main", "AFTERSALE_REDIS_CLUSTER": "1"}

    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)

    assert raised.value.name == "AFTERSALE_REDIS_CLUSTER"


def test_messages_show_a_sentinel_url_without_its_secrets() -> None:
    url = "redis+sentinel://app:hunter2@s1/main?sentinel_password=shh&sentinel_username=x"

    shown = without_password(url)

    assert shown == "redis+sentinel://app:***@s1/main?sentinel_password=***&sentinel_username=x"
