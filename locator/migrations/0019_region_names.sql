-- Whether a region typed after a town (its key, place_key()) names the region of a gazetteer place
-- (locator.geocoders.gazetteer._place_match: "Paris, TX", "Portland Maine", "Lewes, Sussex"): the state or
-- region by code or whole name, or, outside the United States, the county, whose name may carry more words
-- ("Sussex" for East Sussex, "Durham" for County Durham). American counties are not how American towns are
-- told apart (the state is), and they share English county names: "Dover, Kent" was Dover, Delaware, in Kent
-- County.
CREATE FUNCTION region_names(region_key text, country text, admin1 text, admin1_code text, admin2 text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN region_key = place_key(admin1_code)
        OR region_key = place_key(admin1)
        OR (country <> 'US' AND string_to_array(region_key, ' ') <@ string_to_array(place_key(admin2), ' '));
