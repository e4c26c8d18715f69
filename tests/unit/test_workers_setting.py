"""`serve --workers` / AFTERSALE_WORKERS, and the per-worker addresses."""

from __future__ import annotations

import argparse
import os

import pytest

from service.__main__ import main
from service.config import ConfigError, Settings
from service.options import cpu_count
from service.workers import WorkerLink, add_serve_arguments, offset_port, serve_workers


def serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(argv)


def test_one_process_serves_unless_asked_for_more() -> None:
    assert Settings.from_env({}).workers == 1
    assert serve_workers(serve_args(), Settings()) == 1


def test_the_flag_overrides_the_variable() -> None:
    settings = Settings.from_env({"AFTERSALE_WORKERS": "3"})

    assert serve_workers(serve_args(), settings) == 3
    assert serve_workers(serve_args("--workers", "5"), settings) == 5


def test_auto_is_one_worker_per_usable_cpu() -> None:
    usable = len(os.sched_getaffinity(0))

    assert 1 <= cpu_count() <= usable
    assert Settings.from_env({"AFTERSALE_WORKERS": "auto"}).workers == cpu_count()
    assert serve_workers(serve_args("--workers", "AUTO"), Settings()) == cpu_count()


@pytest.mark.parametrize(("value", "rule"), [("0", "must be >= 1"), ("many", "integer or auto")])
def test_a_bad_worker_count_is_refused(value: str, rule: str) -> None:
    with pytest.raises(ConfigError) as from_env:
        Settings.from_env({"AFTERSALE_WORKERS": value})
    with pytest.raises(ConfigError) as from_flag:
        serve_workers(serve_args("--workers", value), Settings())

    assert rule in from_env.value.rule
    assert from_flag.value.name == "--workers"
    assert rule in from_flag.value.rule


def test_serve_with_a_bad_worker_count_exits_2_before_starting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("AFTERSALE_") or n == "REDIS_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.setattr("service.__main__.configure_logging", lambda *args: None)

    status = main(["serve", "--workers", "0"])

    assert status == 2
    assert "--workers='0': must be >= 1" in capsys.readouterr().err


def test_worker_i_listens_on_the_base_port_plus_i() -> None:
    assert offset_port("0.0.0.0:9100", 0) == "0.0.0.0:9100"
    assert offset_port("0.0.0.0:9100", 3) == "0.0.0.0:9103"
    assert offset_port("[::]:9100", 1) == "[::]:9101"
    assert offset_port("127.0.0.1:0", 2) == "127.0.0.1:0"


def test_a_worker_shares_the_port_and_only_a_worker_has_a_link() -> None:
    link = WorkerLink.of(serve_args("--worker-index", "1", "--ready-fd", "9"))

    assert WorkerLink.of(serve_args("--workers", "2")) is None
    assert link is not None and (link.index, link.ready_fd) == (1, 9)
    assert link.settings(Settings()).reuse_port is True
