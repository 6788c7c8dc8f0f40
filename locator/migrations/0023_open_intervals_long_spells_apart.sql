-- Spells longer than 16 hours (round the clock, or open into the night) under a GiST of their own, the rest
-- under another (locator.search.LONG_SPELL; the search reads both, merged by distance). With one index, at
-- 03:00 almost every leaf page near the origin held a round-the-clock spell, so its subtree could not be
-- skipped and the scan walked the leaves for the 1% open: at 1M places the raw KNN read 44 buffers at 03:00
-- against 15 at 14:00 (0.49 against 0.34 ms). The short spells' index now ends at its upper pages at 03:00 (1
-- buffer), and the long ones' index is a hundredth of the size (BENCHMARKS.md, API, note 37).
-- An unbounded spell (NULL) counts as long, so that each row is under exactly one index (the bounds are
-- written from Python datetimes: never 'infinity', which the subtraction would refuse).
--
-- The new indexes are built first, under SHARE locks (writes wait, searches go on with the old index), and
-- the old one dropped last: its ACCESS EXCLUSIVE lock, which searches would queue behind, is held only from
-- there to the commit (the builds take ~2 minutes at 1M places).
CREATE INDEX open_intervals_short_geog_during_idx ON open_intervals USING gist (geog, during)
    WHERE NOT coalesce(upper(during) - lower(during) > interval '16 hours', true);
CREATE INDEX open_intervals_long_geog_during_idx ON open_intervals USING gist (geog, during)
    WHERE coalesce(upper(during) - lower(during) > interval '16 hours', true);
DROP INDEX IF EXISTS open_intervals_geog_during_idx;
