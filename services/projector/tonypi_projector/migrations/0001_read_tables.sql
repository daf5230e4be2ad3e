-- The read tables: the seed's robots, jobs and system_logs (every seed column and index),
-- plus the projector's bookkeeping. Unqualified names: `tonypi replay` runs the same
-- migrations into a staging schema through search_path, then swaps the tables in.
--
-- Ids are not SERIAL: each row's id is derived from the stream sequence of the event
-- that created it (robots, jobs: that sequence; system_logs: sequence * 16 + n), so a
-- replay reproduces every id and a crash that rolls back a batch burns no ids.

CREATE TABLE IF NOT EXISTS robots (
    id BIGINT PRIMARY KEY,
    robot_id VARCHAR UNIQUE NOT NULL,
    name VARCHAR,
    description VARCHAR,
    location VARCHAR,
    status VARCHAR DEFAULT 'offline',
    battery_threshold_low DOUBLE PRECISION DEFAULT 20.0,
    battery_threshold_critical DOUBLE PRECISION DEFAULT 10.0,
    temp_threshold_warning DOUBLE PRECISION DEFAULT 70.0,
    temp_threshold_critical DOUBLE PRECISION DEFAULT 80.0,
    settings JSON,
    last_seen TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE,
    is_active BOOLEAN DEFAULT TRUE,
    -- Added: the latest telemetry snapshot. Keys battery, location, system_info, sensors
    -- ({type: {value, unit, received_at}}), servos, vision; each part carries its own
    -- received_at (server clock, ISO 8601 UTC).
    telemetry JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS idx_robots_robot_id ON robots(robot_id);
CREATE INDEX IF NOT EXISTS idx_robots_status ON robots(status);
CREATE INDEX IF NOT EXISTS idx_robots_last_seen ON robots(last_seen);

CREATE TABLE IF NOT EXISTS jobs (
    id BIGINT PRIMARY KEY,
    robot_id VARCHAR NOT NULL,
    start_time TIMESTAMP WITH TIME ZONE NOT NULL,
    end_time TIMESTAMP WITH TIME ZONE,
    items_total INTEGER,
    items_done INTEGER DEFAULT 0,
    percent_complete DOUBLE PRECISION DEFAULT 0.0,
    last_item JSON,
    status VARCHAR DEFAULT 'active',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE,
    -- Added (gen 2): the task's name, its phase and why it was cancelled or failed.
    task_name VARCHAR,
    phase VARCHAR,
    reason VARCHAR
);
CREATE INDEX IF NOT EXISTS idx_jobs_robot_id ON jobs(robot_id);
CREATE INDEX IF NOT EXISTS idx_jobs_status ON jobs(status);
-- At most one active job per robot, enforced by the database as well as the fold.
CREATE UNIQUE INDEX IF NOT EXISTS uq_jobs_one_active_per_robot ON jobs(robot_id) WHERE status = 'active';
-- Keyset pagination, newest first.
CREATE INDEX IF NOT EXISTS idx_jobs_start_time_id ON jobs(start_time DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_jobs_robot_start_time_id ON jobs(robot_id, start_time DESC, id DESC);

CREATE TABLE IF NOT EXISTS system_logs (
    id BIGINT PRIMARY KEY,
    level VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    message TEXT NOT NULL,
    robot_id VARCHAR,
    details JSON,
    timestamp TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_system_logs_level ON system_logs(level);
CREATE INDEX IF NOT EXISTS idx_system_logs_category ON system_logs(category);
CREATE INDEX IF NOT EXISTS idx_system_logs_timestamp ON system_logs(timestamp);
-- Keyset pagination (newest first), overall and per robot.
CREATE INDEX IF NOT EXISTS idx_system_logs_timestamp_id ON system_logs(timestamp DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_system_logs_robot_timestamp_id ON system_logs(robot_id, timestamp DESC, id DESC);

-- The projector's position in the stream, committed in the same transaction as the rows.
CREATE TABLE IF NOT EXISTS projection_checkpoint (
    projection VARCHAR PRIMARY KEY,
    stream VARCHAR NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

-- Events the projector could not apply, with the error; the stream moves on past them.
CREATE TABLE IF NOT EXISTS projection_dead_letters (
    stream_seq BIGINT PRIMARY KEY,
    event_id VARCHAR,
    event_type VARCHAR,
    schema_version INTEGER,
    robot_id VARCHAR,
    error TEXT NOT NULL,
    raw BYTEA NOT NULL,
    failed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
