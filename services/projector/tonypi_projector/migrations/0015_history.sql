-- Telemetry history (issue 20, docs/history.md): every numeric reading as a time series.
-- Parents partitioned by range on time; the projector creates the partitions
-- (tonypi_projector.history_store: history_raw by day, history_minute by 7 days,
-- history_hour by 30 days, aligned on the Unix epoch, named <parent>_pYYYYMMDD after their
-- start) and retention drops them whole. Written only by the projector, in each batch's
-- transaction, so `tonypi replay` rebuilds them identically.

CREATE TABLE history_raw (
    robot_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    t TIMESTAMPTZ NOT NULL,  -- the event's received_at
    value DOUBLE PRECISION NOT NULL
) PARTITION BY RANGE (t);
CREATE INDEX idx_history_raw_series ON history_raw (robot_id, metric, t);

-- Rollups: per bucket min, max, sum (exact: numeric, so any batching sums the same),
-- count, and the last value (the latest t; of equal t, the last applied).
CREATE TABLE history_minute (
    robot_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    bucket TIMESTAMPTZ NOT NULL,
    min DOUBLE PRECISION NOT NULL,
    max DOUBLE PRECISION NOT NULL,
    sum NUMERIC NOT NULL,
    count BIGINT NOT NULL,
    last DOUBLE PRECISION NOT NULL,
    last_t TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (robot_id, metric, bucket)
) PARTITION BY RANGE (bucket);

CREATE TABLE history_hour (
    robot_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    bucket TIMESTAMPTZ NOT NULL,
    min DOUBLE PRECISION NOT NULL,
    max DOUBLE PRECISION NOT NULL,
    sum NUMERIC NOT NULL,
    count BIGINT NOT NULL,
    last DOUBLE PRECISION NOT NULL,
    last_t TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (robot_id, metric, bucket)
) PARTITION BY RANGE (bucket);
