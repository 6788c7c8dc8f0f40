-- Each interval row carries the version of the place it was computed from (locator.open_intervals.PLACE_VERSION:
-- the locations row's xmin and its exceptions' xmins), so the search's KNN statement names the versions of its
-- candidates by itself and an answer whose places are all in the worker's cache at those versions needs no
-- join to locations (at 1M places the statement the API sends went from ~1.0-1.4 to ~0.7-1.0 ms).
--
-- Rows written before this migration have none: their places are read from `locations` on every answer, as
-- before, until the next refresh (the daily one, or `locator refresh` at once) writes the versions.
ALTER TABLE open_intervals ADD COLUMN version text;
