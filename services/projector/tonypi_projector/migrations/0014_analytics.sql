-- Analytics per robot and UTC day, folded from the events by the projector (docs/analytics.md).
-- Every number is a sum of integers the batches add, so `tonypi replay` rebuilds them exactly.

-- The stream time up to which the robot's online and busy time is counted.
ALTER TABLE robots ADD COLUMN IF NOT EXISTS accrued_at TIMESTAMP WITH TIME ZONE;
-- The robot's own estimate of the job's duration, seconds (gen 2's estimated_duration).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS estimated_duration DOUBLE PRECISION;

CREATE TABLE IF NOT EXISTS analytics_utilization (
    robot_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    online_us BIGINT NOT NULL DEFAULT 0,  -- microseconds online (projected)
    busy_us BIGINT NOT NULL DEFAULT 0,    -- of them, with an active job
    PRIMARY KEY (robot_id, day)
);
CREATE INDEX IF NOT EXISTS idx_analytics_utilization_day ON analytics_utilization (day);

CREATE TABLE IF NOT EXISTS analytics_job_outcomes (
    robot_id VARCHAR NOT NULL,
    day DATE NOT NULL,        -- of the job's end
    status VARCHAR NOT NULL,  -- completed | failed | cancelled | superseded
    reason VARCHAR NOT NULL,  -- the reason's template; '' when none
    jobs BIGINT NOT NULL,
    PRIMARY KEY (robot_id, day, status, reason)
);
CREATE INDEX IF NOT EXISTS idx_analytics_job_outcomes_day ON analytics_job_outcomes (day);

CREATE TABLE IF NOT EXISTS analytics_performance (
    robot_id VARCHAR NOT NULL,
    day DATE NOT NULL,               -- of the job's end; completed jobs only
    jobs BIGINT NOT NULL,
    items BIGINT NOT NULL,           -- items done
    duration_us BIGINT NOT NULL,     -- sum of end_time - start_time
    PRIMARY KEY (robot_id, day)
);
CREATE INDEX IF NOT EXISTS idx_analytics_performance_day ON analytics_performance (day);

-- Fixed-bucket histograms of completed jobs: measure 'duration_s' (seconds) or 'vs_estimate'
-- (duration / the robot's estimate); le = the bucket's upper bound, 'Infinity' the open one.
CREATE TABLE IF NOT EXISTS analytics_job_buckets (
    robot_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    measure VARCHAR NOT NULL,
    le DOUBLE PRECISION NOT NULL,
    jobs BIGINT NOT NULL,
    PRIMARY KEY (robot_id, day, measure, le)
);
CREATE INDEX IF NOT EXISTS idx_analytics_job_buckets_day ON analytics_job_buckets (day);

CREATE TABLE IF NOT EXISTS analytics_errors (
    robot_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    level VARCHAR NOT NULL,
    template VARCHAR NOT NULL,   -- folds/templates.py, at most 200 characters
    occurrences BIGINT NOT NULL,
    example VARCHAR NOT NULL,    -- the day's first message of the template, at most 500 characters
    PRIMARY KEY (robot_id, day, level, template)
);
CREATE INDEX IF NOT EXISTS idx_analytics_errors_day ON analytics_errors (day);
