-- The incident list's ?q= (a substring of the title, ASCII case folded, or
-- of the correlation key) from an index instead of a scan of every
-- incident, as SQLite's FTS5 trigram index (its migration 0013) does: GIN
-- trigram indexes answer the list's LIKE conditions on exactly these
-- expressions, and PostgreSQL rechecks every candidate against the
-- condition, so the rows are those a scan finds.
--
-- The indexes need the pg_trgm extension, which alertbridge's database
-- user may not be allowed to create (it is trusted since PostgreSQL 13, so
-- CREATE on the database is enough, but that is not always granted), and
-- which the server may not ship at all. Search is right without the
-- indexes, only slower, so then this migration skips them instead of
-- failing the daemon's start; the daemon warns at start while they are
-- missing (docs/operations.md says how to add them later).
--
-- The extension is one per database. It goes into public when it can, a
-- schema that outlives any one deployment's (or test's) schema: installed
-- into a schema that is later dropped with CASCADE, it would take every
-- other schema's trigram indexes with it. Failing that, into this
-- deployment's own schema (the first of the search path). The operator
-- class is named by the schema the extension is in, which need not be on
-- the search path.
DO $$
DECLARE
    ext name;
BEGIN
    -- Deployments (and tests) migrating other schemas of the database at
    -- once would race to create the extension; one at a time.
    PERFORM pg_advisory_xact_lock(hashtext('alertbridge'), hashtext('pg_trgm'));
    SELECT n.nspname INTO ext FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF ext IS NULL THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
            ext := 'public';
        EXCEPTION WHEN insufficient_privilege OR invalid_schema_name OR undefined_file OR feature_not_supported THEN
            BEGIN
                CREATE EXTENSION pg_trgm;
                ext := current_schema();
            EXCEPTION WHEN insufficient_privilege OR invalid_schema_name OR undefined_file OR feature_not_supported THEN
                RAISE WARNING 'alertbridge: pg_trgm cannot be created (%): the incident search scans', SQLERRM;
                RETURN;
            END;
        END;
    END IF;
    -- An extension someone else installed may be in a schema this user
    -- has no USAGE on: no indexes then either (both or neither).
    BEGIN
        EXECUTE format('CREATE INDEX IF NOT EXISTS incidents_title_trgm ON incidents USING gin (lower(title) %I.gin_trgm_ops)', ext);
        EXECUTE format('CREATE INDEX IF NOT EXISTS incidents_key_trgm ON incidents USING gin (correlation_key %I.gin_trgm_ops)', ext);
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'alertbridge: pg_trgm in schema % cannot be used (%): the incident search scans', ext, SQLERRM;
    END;
END $$;
