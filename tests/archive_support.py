"""PostgreSQL for the tests: one real server for the session (the service's own embedded
PostgreSQL, from the pgserver wheel's binaries), its schema migrated by the service's own
runner; each test gets an emptied archive.

Server directories live under the system's temporary directory, not pytest's ``tmp_path``:
run as root, PostgreSQL runs as the user ``pgserver``, which must be let through every
directory above its own, and every pytest session that starts (another run beside this one)
makes ``/tmp/pytest-of-root`` private again (``service.archive.postgres_server``).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from service.archive.migrate import migrate
from service.archive.postgres_server import EmbeddedPostgres

TABLES = ("requests", "events")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session (Unix socket), migrated."""
    directory = Path(tempfile.mkdtemp(prefix="aftersale-test-pg-"))
    server = EmbeddedPostgres(directory / "postgres")
    try:
        server.start()

        async def prepare() -> None:
            connection = await asyncpg.connect(server.url)
            try:
                await migrate(connection)
            finally:
                await connection.close()

        asyncio.run(prepare())
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_dir() -> Iterator[Path]:
    """A fresh directory for a PostgreSQL of the test's own (removed after it)."""
    directory = Path(tempfile.mkdtemp(prefix="aftersale-test-pg-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def archive_db(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the session's archive, every archive table emptied first."""
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def archive_pool(
    archive_db: asyncpg.Connection, postgres_url: str
) -> AsyncIterator[asyncpg.Pool]:
    """A pool to the session's archive, emptied first (``archive_db``)."""
    async with asyncpg.create_pool(postgres_url, min_size=0, max_size=4) as opened:
        yield opened
