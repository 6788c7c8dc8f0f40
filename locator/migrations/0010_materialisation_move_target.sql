-- The window a daily move (locator.open_intervals.advance) is writing, while it runs: its batches commit one
-- by one and the window row moves in the last, so until then a change to a place it has passed must write
-- that window too, whatever the writer's own clock says (a writer a few seconds behind the mover left the
-- place without rows for the day gained, for a week). NULL when no move is under way.
ALTER TABLE materialisation ADD COLUMN moving_start timestamptz, ADD COLUMN moving_end timestamptz;
