-- More of the qualifiers German official names carry (migration 0014 read "am", "an der", "im", "(...)"...):
-- "vor der" (Bad Homburg vor der Höhe, asked for as "Bad Homburg"), "in" (Oettingen in Bayern) and the
-- abbreviated "i." and "a." (Freiburg i. Br., Frankfurt a. M.). The same function shortens a long form the
-- customer typed (locator.geocoders.gazetteer._place_match), so "Frankfurt a.M." and "Halle (Saale)" meet
-- GeoNames' names. Every country's index is rebuilt on the next question.
CREATE OR REPLACE FUNCTION place_short_name(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN btrim(regexp_replace(
        $1, '\s*(\(|/|,|\m(am|an der|an den|im|in der|in|ob der|vor der|bei|upon|on the)\M|\m[ia]\.).*$', ''));

INSERT INTO gazetteer_stale (country) SELECT DISTINCT country FROM gazetteer_places ON CONFLICT DO NOTHING;
