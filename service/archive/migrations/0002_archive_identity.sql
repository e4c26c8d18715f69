-- Which archive this is: a random id made once, when this schema is created (one row, ever).
-- The archiver writes it into the mark it sets on a Redis record once PostgreSQL holds the
-- record's version (`a` = "<id>:<version>", service/archive/marks.py), and the retention sweep
-- deletes a request from Redis only when its mark names the archive it reads now. An archive
-- wiped, replaced by a new cluster, or pointed elsewhere has another id (or none: nothing is
-- swept), so the marks made for the archive that held the requests count for nothing, and
-- the archiver's backfill archives every request still in Redis again (service/archive/
-- backfill.py). A restored backup keeps the id of the archive it was taken from: give it a
-- new one before the service uses it (README "Archive": UPDATE archive_identity SET id = ...).
CREATE TABLE archive_identity (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),  -- at most one row
    id         uuid NOT NULL DEFAULT gen_random_uuid(),        -- built in since PostgreSQL 13
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO archive_identity DEFAULT VALUES;
