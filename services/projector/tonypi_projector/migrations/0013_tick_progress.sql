-- A clock tick that silences more robots than one transaction should hold is folded in
-- slices (docs/alarms.md, "The offline storm"): while one is part-way, these say how far.
-- `tick_seq` is then always last_seq + 1; advancing the checkpoint clears them.
ALTER TABLE projection_checkpoint ADD COLUMN IF NOT EXISTS tick_seq BIGINT;
ALTER TABLE projection_checkpoint ADD COLUMN IF NOT EXISTS tick_after TEXT;  -- last robot folded
ALTER TABLE projection_checkpoint ADD COLUMN IF NOT EXISTS tick_next_id BIGINT;  -- next alarm id
-- The silent robots of a slice, in code point order from the last one folded.
CREATE INDEX IF NOT EXISTS idx_robots_online_seen ON robots ((robot_id COLLATE "C")) WHERE online;
