-- The postcode that labels a coordinate query (locator.geocoders.gazetteer.NEAREST_POSTCODE_SQL reads it), as a
-- function so that its plan is made once per connection: the search plans its own statement for each query
-- (custom plans: a generic plan of the KNN over the open intervals can be a scan of everything open, see
-- BENCHMARKS.md), and the label's share of that planning was ~0.1 ms of the database's CPU per coordinate
-- answer at 1M places. The label's plan has one sensible shape (the partial GiST of migration 0009, nearest
-- first), so a generic plan is safe here.
-- Two kinds of rows are not where a point is: CEDEX codes (mail bags of big senders) and the US military codes
-- (APO/FPO/DPO), which GeoNames places at bases abroad. Those two conditions are also the predicate of the
-- partial index: change them together, or the scan falls back to the full index. A postcode farther than
-- 100 km says nothing about the point (mid-ocean): the coordinates label it instead.
CREATE FUNCTION origin_label(o_lat double precision, o_lon double precision)
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
       AND ST_DWithin(p.geog, ST_SetSRID(ST_MakePoint(o_lon, o_lat), 4326)::geography, 100000)
     ORDER BY p.geog <-> ST_SetSRID(ST_MakePoint(o_lon, o_lat), 4326)::geography
     LIMIT 1;
END
$$;
