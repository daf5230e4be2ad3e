-- Indexes the query service's filters read through (owned by the query service; see
-- docs/query.md). Each list is keyset-paginated newest first, so every filter gets an
-- index that ends in the sort key and a page costs the same at any depth.
-- Idempotent, unqualified names: `tonypi replay` runs this in its staging schema too.

CREATE INDEX IF NOT EXISTS idx_system_logs_level_timestamp_id ON system_logs(level, timestamp DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_system_logs_category_timestamp_id ON system_logs(category, timestamp DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_jobs_status_start_time_id ON jobs(status, start_time DESC, id DESC);
-- /stats: jobs completed today, without reading every completed job.
CREATE INDEX IF NOT EXISTS idx_jobs_status_end_time ON jobs(status, end_time);
-- Category and level together: some pairs never occur (api lines are INFO), and without
-- this index such a filter scans every line of the level before it finds none.
CREATE INDEX IF NOT EXISTS idx_system_logs_category_level_timestamp_id
    ON system_logs(category, level, timestamp DESC, id DESC);
-- Level and category are far from independent; tell the planner how they go together.
CREATE STATISTICS IF NOT EXISTS system_logs_level_category (mcv, dependencies) ON level, category FROM system_logs;

-- `q` (substring search on the message) uses a trigram index when pg_trgm can be
-- installed; without it the search still works, by scanning. The extension goes to
-- `public`, not to whatever schema is first on the search_path: a replay's staging
-- schema is dropped after the swap and must not take the extension with it.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): log searches will scan', SQLERRM;
END
$$;

DO $$
DECLARE
    trgm_schema name;
BEGIN
    -- The operator class lives wherever the extension was installed, which need not be
    -- on the search_path this migration runs with.
    SELECT n.nspname INTO trgm_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        EXECUTE format('CREATE INDEX IF NOT EXISTS idx_system_logs_message_trgm '
                       'ON system_logs USING gin (message %I.gin_trgm_ops)', trgm_schema);
    END IF;
END
$$;
