"""The archive's migration runner on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from service.archive.migrate import MIGRATIONS, migrate, migrations


async def test_every_migration_is_recorded_once_and_a_second_run_applies_nothing(
    archive_db: asyncpg.Connection,
) -> None:
    recorded = [
        r["version"] for r in await archive_db.fetch("SELECT version FROM schema_migrations")
    ]
    assert sorted(recorded) == [m.version for m in migrations()]
    assert await migrate(archive_db) == []
    tables = {r["tablename"] for r in await archive_db.fetch("SELECT tablename FROM pg_tables")}
    assert {"requests", "events", "schema_migrations"} <= tables


async def test_a_new_file_is_applied_in_order_and_only_once(
    archive_db: asyncpg.Connection, tmp_path: Path
) -> None:
    for source in MIGRATIONS.glob("*.sql"):
        (tmp_path / source.name).write_text(source.read_text())
    (tmp_path / "9000_probe.sql").write_text("CREATE TABLE migration_probe (x int);")
    try:
        assert await migrate(archive_db, tmp_path) == [9000]
        assert await migrate(archive_db, tmp_path) == []
    finally:
        await archive_db.execute("DROP TABLE IF EXISTS migration_probe")
        await archive_db.execute("DELETE FROM schema_migrations WHERE version = 9000")


def test_a_misnamed_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_x.sql").write_text("")
    with pytest.raises(ValueError, match="NNNN_name"):
        migrations(tmp_path)
