"""Which archive the settings choose, and the refusal of a bad archive URL."""

from __future__ import annotations

import pytest

from service.config import ConfigError, Settings


def test_no_url_means_the_embedded_archive_beside_the_embedded_redis() -> None:
    assert Settings.from_env({}).archive_mode == "embedded"


def test_no_url_beside_a_redis_url_means_no_archive() -> None:
    assert Settings.from_env({"REDIS_URL": "redis://db:6379"}).archive_mode == "off"


def test_off_turns_the_archive_off_and_a_url_names_one() -> None:
    assert Settings.from_env({"AFTERSALE_ARCHIVE_URL": "off"}).archive_mode == "off"
    named = Settings.from_env({"AFTERSALE_ARCHIVE_URL": "postgresql://u@db/archive"})
    assert named.archive_mode == "url" and named.archive_url == "postgresql://u@db/archive"


def test_a_url_of_another_database_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"AFTERSALE_ARCHIVE_URL": "mysql://db/archive"})

    assert refused.value.name == "AFTERSALE_ARCHIVE_URL"
    assert "postgresql://" in refused.value.rule


def test_the_archiver_and_its_batch_are_settings() -> None:
    settings = Settings.from_env({"AFTERSALE_ARCHIVER": "0", "AFTERSALE_ARCHIVE_BATCH": "64"})

    assert not settings.archiver_enabled and settings.archive_batch == 64
    with pytest.raises(ConfigError, match="AFTERSALE_ARCHIVE_BATCH"):
        Settings.from_env({"AFTERSALE_ARCHIVE_BATCH": "0"})
