-- The filtered "open at an instant" KNN (kinds, products, services: what the mobile app asks most, a product
-- and a shop or a repair desk) through a function of its day too, beside migration 0025's unfiltered one: it
-- was planned for each query, 0.30-0.50 ms of its ~1 ms at 1M places (BENCHMARKS.md, API, note 40). A generic
-- plan of this statement was once a bitmap scan of everything open plus a sort (2.7 s at 1M places); inside
-- the function bitmap scans, sequential scans and sorts are off, so the one plan it keeps is the statement's:
-- the ordered scans of the two spell-length GiSTs merged by distance, each row's place looked up by its key.
--
-- The body is locator.search.knn_open_statement's for a filtered query (`_open_scan_sql`, `_place_filters`,
-- `_EFFECTIVE_SERVICE`), each filter written so that an empty list passes every place (the statement leaves
-- a filter not asked for out of its text; a kept plan serves every combination): change them together
-- (tests/locator/test_search.py compares the two on random data and reads the function's plan).
CREATE OR REPLACE FUNCTION create_day_search(p_table text) RETURNS void
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

    EXECUTE format($function$
CREATE OR REPLACE FUNCTION %1$I(p_lat double precision, p_lon double precision, p_at timestamptz,
                                p_radius_m double precision, p_k bigint, p_scan bigint,
                                p_kinds text[], p_products text[], p_services text[])
RETURNS TABLE (id text, sphere_m double precision, distance_m double precision, version text,
               last_scanned boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_generic_plan
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_sort = off
AS $body$
#variable_conflict use_column
DECLARE
    first_service text := coalesce(p_services[1], '');
    more_services text[] := coalesce(p_services[2:], '{}');
BEGIN
    RETURN QUERY
    SELECT CASE WHEN f.passes THEN o.location_id END, o.sphere_m,
           ST_Distance(o.geog, ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography, true), o.version,
           o.n = p_scan
      FROM (SELECT s.*, row_number() OVER (ORDER BY s.sphere_m) AS n
              FROM (SELECT s.*
                      FROM ((SELECT o.location_id, o.service, o.geog, o.version,
                                    o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography AS sphere_m
                               FROM %2$I AS o
                              WHERE o.during @> p_at
                                AND o.service IN ('', first_service)
                                AND o.geog && _ST_Expand(ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography,
                                                         p_radius_m / 0.99)
                                AND NOT coalesce(upper(o.during) - lower(o.during) > interval '16 hours', true)
                              ORDER BY o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography
                              LIMIT p_scan)
                            UNION ALL
                            (SELECT o.location_id, o.service, o.geog, o.version,
                                    o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography AS sphere_m
                               FROM %2$I AS o
                              WHERE o.during @> p_at
                                AND o.service IN ('', first_service)
                                AND o.geog && _ST_Expand(ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography,
                                                         p_radius_m / 0.99)
                                AND coalesce(upper(o.during) - lower(o.during) > interval '16 hours', true)
                              ORDER BY o.geog <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography
                              LIMIT p_scan)) AS s
                     ORDER BY s.sphere_m
                     LIMIT p_scan) AS s) AS o
     CROSS JOIN LATERAL (
            SELECT (cardinality(p_kinds) = 0 OR l.kinds && p_kinds)
                   AND (cardinality(p_products) = 0 OR l.products && p_products)
                   AND l.services @> p_services
                   AND o.service = CASE WHEN first_service <> '' AND first_service = ANY(l.hours_services)
                                        THEN first_service ELSE '' END
                   AND NOT EXISTS (
                         SELECT 1
                           FROM unnest(more_services) AS s(name)
                          WHERE NOT EXISTS (
                                  SELECT 1
                                    FROM %2$I AS o2
                                   WHERE o2.location_id = l.id
                                     AND o2.service = CASE WHEN s.name = ANY(l.hours_services) THEN s.name ELSE '' END
                                     AND o2.during @> p_at)) AS passes
              FROM locations AS l
             WHERE l.id = o.location_id
            OFFSET 0) AS f
     WHERE f.passes OR o.n = p_scan
     ORDER BY o.sphere_m
     LIMIT p_k;
END
$body$
$function$, p_table || '_nearest_filtered', p_table);
END
$create$;

SELECT create_day_search(c.relname)
  FROM pg_inherits AS i
  JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'open_intervals'::regclass;
