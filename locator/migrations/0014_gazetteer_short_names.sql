-- Places whose official name carries a qualifier are asked for by its first words: "Frankfurt" for Frankfurt am
-- Main (GeoNames has no "Frankfurt": the query answered Frankfort, Kentucky), "Halle" for Halle (Saale),
-- "Mülheim" for Mülheim an der Ruhr, "Newcastle" for Newcastle upon Tyne. The short name's key is kept beside
-- the full one (locator.geocoders.gazetteer matches either; the place with more postcodes wins, as among
-- namesakes). Every country's index is rebuilt on the next question (gazetteer_stale).
CREATE FUNCTION place_short_name(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN btrim(regexp_replace($1, '\s*(\(|/|,|\m(am|an der|an den|im|in der|ob der|bei|upon|on the)\M).*$', ''));

ALTER TABLE gazetteer_places ADD COLUMN short_key text;
CREATE INDEX gazetteer_places_short_key_idx ON gazetteer_places (short_key, country) WHERE short_key IS NOT NULL;
INSERT INTO gazetteer_stale (country) SELECT DISTINCT country FROM gazetteer_places ON CONFLICT DO NOTHING;
