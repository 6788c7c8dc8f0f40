-- The unfiltered "open at an instant" KNN (locator.search.knn_open_sql), the API's most frequent statement, as
-- a function whose plan is made once per connection: the API plans its statements afresh for each query
-- (`plan_cache_mode=force_custom_plan`, since a generic plan of a filtered shape was a bitmap scan of
-- everything open: 2.7 s), and for this statement that planning was ~0.16 ms of the ~0.5 ms it cost at 1M
-- places (BENCHMARKS.md, API, note 39).
--
-- A kept plan cannot name the day's table, so it reads the parent with `o.day = p_day` and PostgreSQL prunes
-- the other days when the plan starts. Bitmap scans, sequential scans and sorts are turned off inside it, so
-- that the one plan it keeps is the statement's own: an ordered scan of each spell length's GiST (migration
-- 0023), each with its own limit, merged by distance. The body is locator.search's statement with the day's
-- table replaced by the parent (`_nearest_spells`, `_within_box`, `LONG_SPELL`, SPHERE_SLACK = 0.99): change
-- them together (tests/locator/test_search.py compares the two on random data and reads the function's plan).
--
-- The statement names the day's table, so a day dropped under a process's cached window is an error the
-- search answers by evaluating the hours directly; on the parent it would be an empty answer, so the
-- function raises the same error itself when the day's table is not attached (dropped, or detached first as
-- open_intervals.drop_expired_partitions does).
CREATE FUNCTION nearest_open_spells(p_day date, p_lat double precision, p_lon double precision,
                                    p_at timestamptz, p_radius_m double precision, p_k bigint)
RETURNS TABLE (id text, sphere_m double precision, distance_m double precision, version text,
               last_scanned boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_generic_plan
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_sort = off
AS $$
#variable_conflict use_column
BEGIN
    IF NOT EXISTS (SELECT 1
                     FROM pg_inherits
                    WHERE inhrelid = to_regclass('open_intervals_d' || to_char(p_day, 'YYYYMMDD'))
                      AND inhparent = 'open_intervals'::regclass
                      AND NOT inhdetachpending) THEN
        RAISE EXCEPTION 'relation "open_intervals_d%" does not exist', to_char(p_day, 'YYYYMMDD')
              USING ERRCODE = 'undefined_table';
    END IF;
    RETURN QUERY
    SELECT o.location_id, o.sphere_m,
           ST_Distance(o.geog, ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography, true), o.version, false
      FROM ((SELECT o.location_id, o.geog, o.version,
                    o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography AS sphere_m
               FROM open_intervals AS o
              WHERE o.day = p_day
                AND o.during @> p_at
                AND o.geog && _ST_Expand(ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography, p_radius_m / 0.99)
                AND o.service = ''
                AND NOT coalesce(upper(o.during) - lower(o.during) > interval '16 hours', true)
              ORDER BY o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography
              LIMIT p_k)
            UNION ALL
            (SELECT o.location_id, o.geog, o.version,
                    o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography AS sphere_m
               FROM open_intervals AS o
              WHERE o.day = p_day
                AND o.during @> p_at
                AND o.geog && _ST_Expand(ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography, p_radius_m / 0.99)
                AND o.service = ''
                AND coalesce(upper(o.during) - lower(o.during) > interval '16 hours', true)
              ORDER BY o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography
              LIMIT p_k)) AS o
     ORDER BY o.sphere_m
     LIMIT p_k;
END
$$;
