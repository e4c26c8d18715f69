"""The archive's identity (``migrations/0002_archive_identity.sql``): a random id made when
the archive's schema was created, read from PostgreSQL by the archiver (written into its marks
on the Redis records) and by the retention sweep (which deletes only what is marked for the
archive it reads now). See ``service.archive.marks`` for the mark's form."""

from __future__ import annotations

from typing import Any

SELECT_IDENTITY = "SELECT id::text FROM archive_identity"


class NoIdentity(Exception):
    """The archive has no identity row (someone deleted it): nothing can be marked for it or
    swept against it until it has one again."""


async def archive_identity(connection: Any) -> str:
    """The identity of the archive ``connection`` (an asyncpg connection or pool) reaches."""
    identity = await connection.fetchval(SELECT_IDENTITY)
    if not identity:
        raise NoIdentity("the archive has no identity (table archive_identity is empty)")
    return str(identity)
