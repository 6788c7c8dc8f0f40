-- A service centre offers repair whether its feed lists the service or not (locator/places.py): the filtered
-- "open at an instant" function of each day reads the services a place offers as locator.search.OFFERED does.
-- Asked for by kind alone, service centres are open while their repair desk is (locator.search.NearestQuery
-- asks for the repair service then): a shop counted as one by its desk showed "open" at 20:30 on its own
-- hours, its desk closed at 20:00.
--
-- The rest of the body is migration 0026's, unchanged: it replaces create_day_search whole and runs it again
-- for every day's table, so that both of a day's functions keep being made by one function.
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
                   AND (l.services || CASE WHEN 'service_centre' = ANY(l.kinds) THEN ARRAY['repair']
                                       ELSE '{}'::text[] END) @> p_services
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
