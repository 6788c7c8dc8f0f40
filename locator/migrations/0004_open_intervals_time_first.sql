-- "Open at t" and nearness in one GiST, time first: the index splits pages by `during` first and, among rows
-- with equal ranges (a chain's places share their spells), by `geog`. A KNN scan at 03:00 then visits only the
-- subtrees of spells that contain 03:00; with (geog, during) every page held every time of day and the scan
-- walked through the closed places (at 10k places: sparse 5.2 ms -> 0.8 ms, busy unchanged at 0.5 ms).
DROP INDEX IF EXISTS open_intervals_geog_during_idx;
CREATE INDEX open_intervals_during_geog_idx ON open_intervals USING gist (during, geog);
