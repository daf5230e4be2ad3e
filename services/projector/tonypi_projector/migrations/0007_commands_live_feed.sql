-- Issue 13: operator commands, the emergency-stop latch, and the live feed.
-- Written only by the projector, from events; every time is an event's received_at, so a
-- replay reproduces every row.

-- One row per command (command_requested or emergency_stop event), by its id.
-- state: requested -> sent -> succeeded | failed | timed_out; expired (robot offline when
-- asked, and the caller did not ask to wait); timed_out also from requested (never sent).
CREATE TABLE IF NOT EXISTS commands (
    command_id VARCHAR PRIMARY KEY,
    seq BIGINT NOT NULL,                -- stream sequence of the request: keyset order
    robot_id VARCHAR NOT NULL,          -- the robot, or '_fleet' for a broadcast
    type VARCHAR NOT NULL,
    params JSONB NOT NULL DEFAULT '{}'::jsonb,
    state VARCHAR NOT NULL,
    wait BOOLEAN NOT NULL DEFAULT FALSE,
    timeout_s DOUBLE PRECISION NOT NULL,
    actor JSONB NOT NULL,
    requested_at TIMESTAMP WITH TIME ZONE NOT NULL,
    deadline TIMESTAMP WITH TIME ZONE NOT NULL,
    sent_at TIMESTAMP WITH TIME ZONE,
    sent_count INTEGER NOT NULL DEFAULT 0,
    finished_at TIMESTAMP WITH TIME ZONE,
    response JSONB,                     -- the robot's answer (a broadcast: {robot_id: answer})
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_commands_robot_seq ON commands(robot_id, seq DESC);
CREATE INDEX IF NOT EXISTS idx_commands_open ON commands(deadline) WHERE state IN ('requested', 'sent');

-- The emergency-stop latch per robot id ('_fleet': the whole fleet): the last press or release.
CREATE TABLE IF NOT EXISTS emergency_stops (
    robot_id VARCHAR PRIMARY KEY,
    engaged BOOLEAN NOT NULL,
    command_id VARCHAR NOT NULL,
    reason VARCHAR,
    actor JSONB NOT NULL,
    changed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    seq BIGINT NOT NULL
);

-- The live feed: one compact change record per applied event, keyed by its stream sequence,
-- written in the batch's transaction. The query service tails it for Server-Sent Events.
-- `rows` holds what the event wrote, by table (jobs, system_logs, commands, and any table a
-- later fold adds); `payload` the event's own payload.
CREATE TABLE IF NOT EXISTS live_feed (
    seq BIGINT PRIMARY KEY,
    robot_id VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL,
    kinds VARCHAR[] NOT NULL,           -- what changed: robot, job, log, command, alarm, ...
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_live_feed_at ON live_feed(at);
