-- Issue 17. Written only by the projector, from events; a replay reproduces every row.

-- The stream sequence of each robot's last message: the line saying the robot went
-- silent takes that message's reserved log slot (folds/clock.py), so its id is the same
-- however often the stream is replayed.
ALTER TABLE robots ADD COLUMN IF NOT EXISTS last_seen_seq BIGINT;

-- Scheduled job dispatches (docs/schedules.md), folded from job_scheduled and
-- schedule_paused/resumed/cancelled; next_fire_at moves on as the clock fires them.
CREATE TABLE IF NOT EXISTS schedules (
    schedule_id VARCHAR PRIMARY KEY,
    seq BIGINT NOT NULL,                -- stream sequence of job_scheduled: list order
    robot_ids JSONB NOT NULL,           -- the robots it dispatches to, in the order given
    task_name VARCHAR NOT NULL,
    items_total INTEGER NOT NULL,
    timeout_s DOUBLE PRECISION NOT NULL,
    actor JSONB NOT NULL,
    state VARCHAR NOT NULL,             -- active | paused | cancelled | done
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    at TIMESTAMP WITH TIME ZONE,        -- once at this time, or
    cron VARCHAR,                       -- on this 5-field recurrence, in UTC
    next_fire_at TIMESTAMP WITH TIME ZONE,
    fired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_schedules_seq ON schedules(seq DESC);
CREATE INDEX IF NOT EXISTS idx_schedules_due ON schedules(next_fire_at) WHERE state = 'active';

-- One row per occurrence and robot: due (its start_job is to be appended under command_id),
-- dispatched (it is in the stream: commands has its outcome), or missed (reason).
CREATE TABLE IF NOT EXISTS schedule_firings (
    command_id VARCHAR PRIMARY KEY,
    schedule_id VARCHAR NOT NULL,
    robot_id VARCHAR NOT NULL,
    due_at TIMESTAMP WITH TIME ZONE NOT NULL,
    fired_at TIMESTAMP WITH TIME ZONE NOT NULL,
    seq BIGINT NOT NULL,
    state VARCHAR NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    reason TEXT,
    dispatched_at TIMESTAMP WITH TIME ZONE
);
CREATE INDEX IF NOT EXISTS idx_schedule_firings_schedule ON schedule_firings(schedule_id, due_at DESC, robot_id);
CREATE INDEX IF NOT EXISTS idx_schedule_firings_due ON schedule_firings(fired_at) WHERE state = 'due';
