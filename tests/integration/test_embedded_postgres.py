"""The embedded PostgreSQL (``service.archive.postgres_server``) and its supervision: it starts
in its directory (a cluster made on the first start), a SIGKILLed server is started again by
the supervisor with its data, a stop ends it and frees its directory, and the service built
without REDIS_URL or an archive URL runs one beside its embedded Redis and stops both."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from aftersale.clock import FakeClock
from service.archive.postgres_server import EmbeddedPostgres, EmbeddedPostgresError
from service.archive.startup import POSTGRES
from service.bootstrap import build
from service.config import Settings
from service.embedded_supervisor import EmbeddedRedisSupervisor


@pytest.fixture
def postgres(postgres_dir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(postgres_dir / "pg")
    try:
        yield server.start()
    finally:
        server.stop()


async def until(condition: Callable[[], bool], within_s: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        assert loop.time() < deadline, "not in time"
        await asyncio.sleep(0.05)


async def query(url: str, sql: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def test_a_killed_server_is_started_again_with_its_data(
    postgres: EmbeddedPostgres,
) -> None:
    await query(postgres.url, "CREATE TABLE kept AS SELECT 42 AS answer")
    killed = postgres.pid
    assert killed is not None
    exits: list[str] = []
    supervisor = EmbeddedRedisSupervisor(
        postgres, backoff_s=0.1, on_exit=exits.append, counters=POSTGRES
    )
    supervisor.start()
    try:
        os.kill(killed, signal.SIGKILL)
        await until(lambda: supervisor.restarts == 1)
        answer = await query(postgres.url, "SELECT answer FROM kept")
    finally:
        await supervisor.stop()

    assert answer == 42
    assert postgres.running and postgres.pid != killed
    assert exits == ["embedded postgres exited (signal 9)"]


async def test_a_stopped_server_frees_its_directory_for_the_next(postgres_dir: Path) -> None:
    first = EmbeddedPostgres(postgres_dir / "pg").start()
    with pytest.raises(EmbeddedPostgresError, match="used by another process"):
        EmbeddedPostgres(postgres_dir / "pg").start()
    url, pid = first.url, first.pid

    first.stop()

    assert not first.running and pid is not None and not Path(f"/proc/{pid}").exists()
    second = EmbeddedPostgres(postgres_dir / "pg").start()
    try:
        assert await query(url, "SELECT 1") == 1
    finally:
        second.stop()


async def test_the_service_runs_its_own_postgres_beside_its_own_redis(postgres_dir: Path) -> None:
    settings = Settings(
        listen="127.0.0.1:0", data_dir=postgres_dir / "data", metrics_listen="",
        timers_enabled=False,
    )  # fmt: skip
    app = await build(settings, clock=FakeClock(1_790_000_000_000))
    try:
        await app.start()
        assert app.archive.mode == "embedded" and app.archive_pool is not None
        server = app.archive.embedded
        assert server is not None and server.directory == postgres_dir / "data" / "postgres"
        tables = await app.archive_pool.fetchval(
            "SELECT count(*) FROM pg_tables WHERE tablename IN ('requests', 'events')"
        )
        pid = server.pid
        sweeping = app.ops.sweeping  # given the archive's pool: it reads the identity there
        assert sweeping is not None and sweeping.archive is app.archive_pool
        swept = await sweeping.sweep_once()
    finally:
        await app.stop(grace_s=1.0)

    assert swept is not None and sweeping.identity is not None  # read from the archive

    assert tables == 2
    assert pid is not None and not Path(f"/proc/{pid}").exists()
