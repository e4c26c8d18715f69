"""The archive: every request's final record and full history, kept for good in PostgreSQL
(SPEC §12, DESIGN §7). Redis holds live work; a terminal request leaves Redis once the archive
holds its final version, and reads fall back to the archive."""
