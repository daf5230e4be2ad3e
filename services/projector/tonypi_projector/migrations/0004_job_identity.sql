-- Issue 9: a gen-2 job's identity is the robot + its own start_time claim (+ task_name),
-- so repeats of a job message after the job ended change nothing. Nullable: jobs counted
-- from scans and item counters (gen 1) have none. Unqualified, idempotent: `tonypi replay`
-- runs it in its staging schema too.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS robot_start_time VARCHAR;
-- Each batch loads every robot's newest two jobs (the active one and the last ended one).
CREATE INDEX IF NOT EXISTS idx_jobs_robot_id_id ON jobs(robot_id, id DESC);
