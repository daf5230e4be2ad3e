-- Issue 12: online as projected state, alarms with their history, and the counters /stats
-- reads. Unqualified names: `tonypi replay` runs this in its staging schema too.

-- Online, folded from the stream's time (clock_tick): heard within the tick's inactivity
-- timeout and not cleanly reported offline. Existing rows start as their status says; the
-- first tick ages out those that went silent.
ALTER TABLE robots ADD COLUMN IF NOT EXISTS online BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE robots SET online = (last_seen IS NOT NULL AND status IS DISTINCT FROM 'offline');
-- A tick looks for online robots last heard before its cutoff.
CREATE INDEX IF NOT EXISTS idx_robots_online_last_seen ON robots(last_seen) WHERE online;

-- Ids derive from the stream sequence of the event that wrote the row
-- (sequence * 2^20 + n), so a replay reproduces them.
CREATE TABLE IF NOT EXISTS alarms (
    id BIGINT PRIMARY KEY,
    robot_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    state VARCHAR NOT NULL CHECK (state IN ('open', 'cleared')),
    message TEXT NOT NULL,
    raised_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    value DOUBLE PRECISION,
    threshold DOUBLE PRECISION,
    cleared_at TIMESTAMP WITH TIME ZONE,
    acknowledged_at TIMESTAMP WITH TIME ZONE,
    acknowledged_by JSON,
    details JSON,
    CHECK ((state = 'cleared') = (cleared_at IS NOT NULL))
);
-- Exactly one open alarm per robot and kind, whatever redelivers, races or crashes.
CREATE UNIQUE INDEX IF NOT EXISTS uq_alarms_one_open_per_robot_kind ON alarms(robot_id, kind) WHERE state = 'open';
-- Keyset pages, newest raised first: overall, per robot, per state, per kind.
CREATE INDEX IF NOT EXISTS idx_alarms_raised_at_id ON alarms(raised_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_alarms_robot_raised_at_id ON alarms(robot_id, raised_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_alarms_state_raised_at_id ON alarms(state, raised_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_alarms_kind_raised_at_id ON alarms(kind, raised_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS alarm_transitions (
    id BIGINT PRIMARY KEY,
    alarm_id BIGINT NOT NULL,
    robot_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    event_seq BIGINT NOT NULL,
    value DOUBLE PRECISION,
    actor JSONB,
    message TEXT
);
CREATE INDEX IF NOT EXISTS idx_alarm_transitions_alarm_id ON alarm_transitions(alarm_id, id);

-- What /stats reads, moved by each batch in its own transaction (tonypi_projector.counters).
CREATE TABLE IF NOT EXISTS projection_counters (
    name VARCHAR PRIMARY KEY,
    value BIGINT NOT NULL DEFAULT 0
);
-- Absent means 0 (the projector drops a counter that returns to 0).
INSERT INTO projection_counters (name, value)
SELECT name, value FROM (
    SELECT 'robots_total' AS name, count(*) AS value FROM robots WHERE is_active
    UNION ALL SELECT 'robots_online', count(*) FROM robots WHERE is_active AND online
    UNION ALL SELECT 'jobs_total', count(*) FROM jobs
    UNION ALL SELECT 'jobs_active', count(*) FROM jobs WHERE status = 'active'
    UNION ALL
    SELECT 'jobs_completed:' || to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*)
      FROM jobs WHERE status = 'completed' AND end_time IS NOT NULL
     GROUP BY to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')
) AS counted
WHERE value <> 0
ON CONFLICT (name) DO NOTHING;
