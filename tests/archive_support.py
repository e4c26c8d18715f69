"""PostgreSQL for the tests: one real server from the pgserver wheel for the session, its
schema migrated by the service's own runner; each test gets an emptied archive."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from service.archive.migrate import migrate

TABLES = ("requests", "events")


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server for the whole session (Unix socket), migrated."""
    directory: Path = tmp_path_factory.mktemp("postgres")
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


@pytest.fixture
async def archive_db(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the session's archive, every archive table emptied first."""
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
        yield connection
    finally:
        await connection.close()
