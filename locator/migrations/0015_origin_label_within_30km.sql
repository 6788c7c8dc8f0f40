-- A coordinate query's label is the postcode nearest the point, and 100 km was far too generous for a name
-- shown as the origin's own: with no postcodes loaded for Belgium, Brussels was labelled with a French
-- village 62 km away. Postcode areas are a few km across in towns and rarely past 15 km from their centroid
-- in the country; farther than 30 km the coordinates label the point. (The other half of the Brussels case,
-- a nearest postcode across a border, is checked in locator.geocoders.gazetteer.coordinates_origin from the
-- zone at the point.) Same signature, so the plan-per-connection setting and the partial index stay.
CREATE OR REPLACE FUNCTION origin_label(o_lat double precision, o_lon double precision)
RETURNS TABLE (postcode text, place_name text, country char(2))
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT p.postcode, p.place_name, p.country
      FROM postcodes AS p
     WHERE p.postcode NOT ILIKE '%cedex%'
       AND NOT (p.country = 'US' AND p.place_name ~ '^[ADF]PO ')
       AND ST_DWithin(p.geog, ST_SetSRID(ST_MakePoint(o_lon, o_lat), 4326)::geography, 30000)
     ORDER BY p.geog <-> ST_SetSRID(ST_MakePoint(o_lon, o_lat), 4326)::geography
     LIMIT 1;
END
$$;
