-- Issue 17. Written only by the projector, from events; a replay reproduces every row.

-- The stream sequence of each robot's last message: the line saying the robot went
-- silent takes that message's reserved log slot (folds/clock.py), so its id is the same
-- however often the stream is replayed.
ALTER TABLE robots ADD COLUMN IF NOT EXISTS last_seen_seq BIGINT;
