-- GET /robots pages (owned by the query service, issue 18): keyset pages of active robots
-- by robot id in code point order (COLLATE "C", whatever the database's collation), each
-- filter an index range ending in the page key, so a page costs the same at any depth and
-- a filter that matches few robots reads only those.
CREATE INDEX IF NOT EXISTS idx_robots_active_page ON robots ((robot_id COLLATE "C")) WHERE is_active;
CREATE INDEX IF NOT EXISTS idx_robots_active_online_page
    ON robots (online, (robot_id COLLATE "C")) WHERE is_active;
CREATE INDEX IF NOT EXISTS idx_robots_active_status_page
    ON robots (status, (robot_id COLLATE "C")) WHERE is_active;
CREATE INDEX IF NOT EXISTS idx_robots_active_location_page
    ON robots (location, (robot_id COLLATE "C")) WHERE is_active;
