"""The archiver as a real process (``python -m service timers`` with an archive URL), SIGKILLed
mid-burst and started again, and its PostgreSQL stopped and started again mid-burst: in the
end every event of every request is in the archive once, every request at its last version
and marked archived at it, and the ``archive`` subscription has nothing pending nor dead."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

from aftersale.model import AfterSale
from service.archive.archiver import SUBSCRIPTION
from service.archive.identity import archive_identity
from service.archive.marks import ARCHIVED_FIELD, archived_mark
from service.archive.migrate import migrate
from service.archive.postgres_server import EmbeddedPostgres
from service.storage.keys import Keys
from service.storage.redis_server import EmbeddedRedis
from service.storage.repository import RedisRepository
from tests.integration.archive_helpers import archived_events, archived_versions
from tests.integration.storage_support import applied, approved, commit, refunded

ROOT = Path(__file__).resolve().parents[2]
SHARDS = 8
REQUESTS = 120  # × 3 versions


@pytest.fixture
def postgres(postgres_dir: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, to stop and start again."""
    server = EmbeddedPostgres(postgres_dir / "pg")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
async def db(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(postgres.url)
    await migrate(connection)
    await connection.close()
    yield connection  # closed: reconnect with fresh() after the restart


class ArchiverProcess:
    """``python -m service timers`` running the archiver (and an idle timer worker)."""

    def __init__(self, redis_url: str, archive_url: str, directory: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALE_")}
        self.env.update({
            "REDIS_URL": redis_url,
            "AFTERSALE_ARCHIVE_URL": archive_url,
            "AFTERSALE_DATA_DIR": str(directory / "data"),
            "AFTERSALE_SHARDS": str(SHARDS),
            "AFTERSALE_ARCHIVE_BATCH": "16",  # many transactions: kills land between them
            "AFTERSALE_SUBSCRIPTION_LEASE_S": "1",
            "AFTERSALE_SUBSCRIPTION_ACK_DEADLINE_S": "2",
            "AFTERSALE_METRICS_LISTEN": "",
            "AFTERSALE_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        })  # fmt: skip
        self.log = directory / "archiver.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "timers"], env=self.env, cwd=ROOT,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


async def count_events(url: str) -> int:
    """Events archived so far (0 while PostgreSQL is down)."""
    try:
        connection = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return 0
    try:
        return int(await connection.fetchval("SELECT count(*) FROM events"))
    finally:
        await connection.close()


async def until_events(url: str, at_least: int, process: ArchiverProcess, within_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while await count_events(url) < at_least:
        assert loop.time() < deadline, process.log.read_text()[-3000:]
        await asyncio.sleep(0.05)


async def burst(repo: RedisRepository, keys: Keys, count: int) -> list[AfterSale]:
    """``count`` requests, each applied, approved and refunded (3 events)."""
    done = []
    for _ in range(count):
        record = await commit(repo, applied(keys))
        record = await commit(repo, approved(record))
        done.append(await commit(repo, refunded(record)))
    return done


async def test_every_event_is_archived_once_across_a_kill_9_and_a_postgres_restart(
    redis: Redis,
    redis_server: EmbeddedRedis,
    postgres: EmbeddedPostgres,
    db: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    keys = Keys(SHARDS)
    repo = RedisRepository(redis, keys)
    archiver = ArchiverProcess(redis_server.url, postgres.url, tmp_path)
    records: list[AfterSale] = []
    archiver.start()
    try:
        records += await burst(repo, keys, REQUESTS // 3)
        await until_events(postgres.url, 30, archiver, within_s=30)
        archiver.kill()  # mid-burst: some batches written and not acknowledged, or not marked
        records += await burst(repo, keys, REQUESTS // 3)
        archiver.start()
        # the restarted process archives (more than the first one can have done)
        await until_events(postgres.url, 3 * len(records) - 30, archiver, within_s=30)
        await asyncio.to_thread(postgres.stop)  # the archiver retries, acknowledging nothing
        records += await burst(repo, keys, REQUESTS - len(records))
        await until_logged(archiver, "requests failed")  # it met the outage, and waits
        await asyncio.to_thread(postgres.start)
        await until_events(postgres.url, 3 * REQUESTS, archiver, within_s=60)
        await until_settled(redis, keys)
    finally:
        archiver.stop()

    connection = await asyncpg.connect(postgres.url)
    try:
        events = await archived_events(connection)
        versions = await archived_versions(connection)
        archive = await archive_identity(connection)
    finally:
        await connection.close()
    assert events == sorted((r.request_id, v) for r in records for v in (1, 2, 3))
    assert versions == {r.request_id: 3 for r in records}
    for record in records:
        mark = archived_mark(archive, 3)
        assert await redis.hget(keys.record(record.request_id), ARCHIVED_FIELD) == mark
    dead = [await redis.xlen(keys.sub_dead(s, SUBSCRIPTION)) for s in keys.all_shards()]
    assert sum(dead) == 0


async def until_logged(process: ArchiverProcess, text: str, within_s: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while text not in process.log.read_text():
        assert loop.time() < deadline, f"never logged {text!r}"
        await asyncio.sleep(0.05)


async def until_settled(redis: Redis, keys: Keys, within_s: float = 30) -> None:
    """Until the archive subscription has nothing pending on any shard."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        pending = 0
        for shard in keys.all_shards():
            summary = await redis.xpending(keys.events(shard), SUBSCRIPTION)
            pending += int(summary["pending"])
        if pending == 0:
            return
        assert loop.time() < deadline, f"{pending} events still pending"
        await asyncio.sleep(0.1)
