"""Schema migrations: a small versioned-SQL runner.

``migrations/NNNN_name.sql`` files are applied in order, each in its own transaction together
with its row in ``schema_migrations``, under a transaction-level advisory lock so that replicas
starting at once apply each file exactly once. Why not a migration tool (alembic, yoyo): the
archive has a handful of tables written by one service, plain SQL is what a DBA reviews, and
this is forty lines with no ORM or second driver to install.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK = 0x61667465  # "afte": the advisory lock every replica takes while migrating


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(directory: Path = MIGRATIONS) -> list[Migration]:
    """Every migration file, in version order; a misnamed or duplicated file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"{path.name}: a migration is named NNNN_name.sql")
        version = int(match[1])
        if version in found:
            raise ValueError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, match[2], path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(connection: asyncpg.Connection, directory: Path = MIGRATIONS) -> list[int]:
    """Apply the migrations not applied yet; returns the versions applied now."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    applied: list[int] = []
    for migration in migrations(directory):
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            done = await connection.fetchval(
                "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
            )
            if done:
                continue
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            applied.append(migration.version)
    return applied
