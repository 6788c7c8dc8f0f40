-- Migration 0024's function read the parent table, and a kept plan over a partitioned table locks every day's
-- table before it prunes all but one (PostgreSQL 15): 14 locks a call instead of 3, so a strong lock on any
-- day (a vacuum truncating it, DDL, and on a replica the replay of either) held up or cancelled every search,
-- where it used to hold up that day's only; and its check that the day was attached read the query's snapshot,
-- not the catalog the plan was made from (a review's findings). Each day's table now has its own function,
-- created with the table (open_intervals.ensure_partitions calls create_day_search) and dropped with it: it
-- names its table as the statement did (locator.search.knn_open_statement), keeps its plan per connection
-- with bitmap scans, sequential scans and sorts off (the one plan left is the statement's: an ordered scan of
-- each spell length's GiST, merged by distance), and a dropped day is the statement's own error
-- (undefined_table, or undefined_function once the function went too), which the search answers by
-- evaluating the hours directly.
--
-- The body is locator.search's statement for an unfiltered query (`_nearest_spells`, `_within_box`,
-- `LONG_SPELL`, SPHERE_SLACK = 0.99): change them together (tests/locator/test_search.py compares the two on
-- random data and reads the function's plan).
DROP FUNCTION IF EXISTS nearest_open_spells(date, double precision, double precision, timestamptz,
                                            double precision, bigint);

CREATE FUNCTION create_day_search(p_table text) RETURNS void
LANGUAGE plpgsql
AS $create$
BEGIN
    EXECUTE format($function$
CREATE OR REPLACE FUNCTION %1$I(p_lat double precision, p_lon double precision, p_at timestamptz,
                                p_radius_m double precision, p_k bigint)
RETURNS TABLE (id text, sphere_m double precision, distance_m double precision, version text,
               last_scanned boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_generic_plan
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_sort = off
AS $body$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT o.location_id, o.sphere_m,
           ST_Distance(o.geog, ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography, true), o.version, false
      FROM ((SELECT o.location_id, o.geog, o.version,
                    o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography AS sphere_m
               FROM %2$I AS o
              WHERE o.during @> p_at
                AND o.geog && _ST_Expand(ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography, p_radius_m / 0.99)
                AND o.service = ''
                AND NOT coalesce(upper(o.during) - lower(o.during) > interval '16 hours', true)
              ORDER BY o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography
              LIMIT p_k)
            UNION ALL
            (SELECT o.location_id, o.geog, o.version,
                    o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography AS sphere_m
               FROM %2$I AS o
              WHERE o.during @> p_at
                AND o.geog && _ST_Expand(ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography, p_radius_m / 0.99)
                AND o.service = ''
                AND coalesce(upper(o.during) - lower(o.during) > interval '16 hours', true)
              ORDER BY o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography
              LIMIT p_k)) AS o
     ORDER BY o.sphere_m
     LIMIT p_k;
END
$body$
$function$, p_table || '_nearest', p_table);
END
$create$;

SELECT create_day_search(c.relname)
  FROM pg_inherits AS i
  JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'open_intervals'::regclass;
