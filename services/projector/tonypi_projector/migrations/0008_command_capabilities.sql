-- Issues 16 and 17: commands settled per robot, capabilities per robot, jobs linked to the
-- command that started them (docs/commands.md). Written only by the projector, from events.

-- The robot's firmware profile as its messages reveal it: gen1, gen2, gen2_sim (null: not
-- known yet). Decides which command types the API sends it (tonypi_events.commanding).
ALTER TABLE robots ADD COLUMN IF NOT EXISTS firmware VARCHAR;
-- A start_job command asked of the robot and not yet matched to the job it started:
-- {command_id, task_name}. The next job the robot announces as started takes its id.
ALTER TABLE robots ADD COLUMN IF NOT EXISTS pending_start JSONB;

-- Per targeted robot: {robot_id: {outcome, message?, via?}} (commanding.Outcome).
ALTER TABLE commands ADD COLUMN IF NOT EXISTS outcomes JSONB;

-- The start_job command that started this job, if one did.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS command_id VARCHAR;
