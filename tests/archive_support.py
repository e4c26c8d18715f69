"""PostgreSQL for the tests: one real server from the pgserver wheel for the session, its
schema migrated by the service's own runner; each test gets an emptied archive."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from service.archive.migrate import migrate

TABLES = ("requests", "events")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session (Unix socket), migrated.

    Its data directory is not under pytest's temporary root: run as root, pgserver runs the
    server as a `pgserver` user, and every pytest session starting on the machine resets that
    root to mode 0700, which locked a running server out of its own files."""
    directory = Path(tempfile.mkdtemp(prefix="aftersale-test-postgres-"))
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime directory, which warns when the machine has
        # no XDG_RUNTIME_DIR (CI, containers) and falls back to /tmp: harmless here.
        # Imported here: the warning comes at import time.
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server  # noqa: PLC0415

        server = get_server(directory, cleanup_mode="stop")
    url = server.get_uri()

    async def prepare() -> None:
        connection = await asyncpg.connect(url)
        try:
            await migrate(connection)
        finally:
            await connection.close()

    asyncio.run(prepare())
    try:
        yield url
    finally:
        server.cleanup()
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
