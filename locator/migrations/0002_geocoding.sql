-- Geocoding: a place index over the postcode gazetteer, a few exonyms, and the provider answer cache.

-- What a place name matches on, the same function on both sides of the comparison: lower case, no accents,
-- punctuation and hyphens as spaces, the Saint/Sankt/St and Sainte/Ste families folded to one token each
-- (so "st etienne", "Saint-Étienne" and "ST-ETIENNE" meet), trailing district numbers dropped ("Paris 08",
-- "Москва 194" are Paris and Moscow). IMMUTABLE so that it can be indexed.
CREATE FUNCTION place_key(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN btrim(
        regexp_replace(
            regexp_replace(
                regexp_replace(lower(unaccent_name($1)), '[^[:alnum:]]+', ' ', 'g'),
                '\ms(ain|ank)?t(e?)\M', 'st\2', 'g'),
            '( [0-9]+)+ *$', ''));

-- One row per place of the gazetteer: a name in one first-level and second-level division of a country.
-- It is derived from `postcodes` rather than indexed there because an expression index on place_key()
-- doubles the cost of loading a country (the loader's COPY runs under the service's statement timeout);
-- a statement trigger marks the countries a load touched and the geocoder rebuilds them on its next
-- question (locator.geocode.refresh_places), so loading stays as fast as it was.
CREATE TABLE gazetteer_places (
    country     char(2) NOT NULL,
    place_key   text NOT NULL,
    place_name  text NOT NULL,                   -- the spelling most of its postcodes carry
    admin1      text,
    admin1_code text,
    admin2      text,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    n_postcodes int NOT NULL,                    -- distinct postcodes: the place's rank, as no population is known
    postcodes   text[] NOT NULL
);
CREATE INDEX gazetteer_places_key_idx ON gazetteer_places (place_key, country);
CREATE INDEX gazetteer_places_trgm_idx ON gazetteer_places USING gin (place_key gin_trgm_ops);
CREATE INDEX gazetteer_places_country_idx ON gazetteer_places (country);

-- Countries whose rows in `postcodes` changed since gazetteer_places was built for them.
CREATE TABLE gazetteer_stale (
    country char(2) PRIMARY KEY
);

CREATE FUNCTION gazetteer_mark_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gazetteer_stale (country) SELECT DISTINCT country FROM inserted ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION gazetteer_mark_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gazetteer_stale (country) SELECT DISTINCT country FROM deleted ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION gazetteer_mark_all() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gazetteer_stale (country) SELECT DISTINCT country FROM gazetteer_places ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER postcodes_inserted AFTER INSERT ON postcodes
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION gazetteer_mark_inserted();
CREATE TRIGGER postcodes_deleted AFTER DELETE ON postcodes
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION gazetteer_mark_deleted();
CREATE TRIGGER postcodes_updated AFTER UPDATE ON postcodes
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION gazetteer_mark_inserted();
CREATE TRIGGER postcodes_truncated AFTER TRUNCATE ON postcodes
    FOR EACH STATEMENT EXECUTE FUNCTION gazetteer_mark_all();

-- A database that already holds postcodes gets its place index on the first question.
INSERT INTO gazetteer_stale (country) SELECT DISTINCT country FROM postcodes;

-- Names customers type for places the gazetteer spells otherwise (GeoNames writes Russian places in
-- Cyrillic and German ones in German). Compared through place_key() on both columns.
CREATE TABLE place_aliases (
    alias      text NOT NULL,
    country    char(2) NOT NULL,
    place_name text NOT NULL,
    PRIMARY KEY (alias, country)
);

INSERT INTO place_aliases (alias, country, place_name) VALUES
    ('Moscow', 'RU', 'Москва'),
    ('Moskva', 'RU', 'Москва'),
    ('Moscou', 'RU', 'Москва'),
    ('Moskau', 'RU', 'Москва'),
    ('Saint Petersburg', 'RU', 'Санкт-Петербург'),
    ('Sankt-Peterburg', 'RU', 'Санкт-Петербург'),
    ('Saint-Pétersbourg', 'RU', 'Санкт-Петербург'),
    ('Kazan', 'RU', 'Казань'),
    ('Novosibirsk', 'RU', 'Новосибирск'),
    ('Yekaterinburg', 'RU', 'Екатеринбург'),
    ('Munich', 'DE', 'München'),
    ('Cologne', 'DE', 'Köln'),
    ('Nuremberg', 'DE', 'Nürnberg');

-- Answers of the external providers (Nominatim, Photon, Pelias, BAN), so that the same question is never
-- asked twice while the answer is fresh. `answer` NULL records that the provider found nothing; failures
-- (timeouts, 5xx) are never stored. The gazetteer is not cached: it is the database already.
CREATE TABLE geocode_cache (
    provider   text NOT NULL,
    query_key  text NOT NULL,                    -- the normalised question (locator/geocoders/cache.py)
    country    text NOT NULL DEFAULT '',         -- the country hint, '' for none
    answer     jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (provider, query_key, country)
);
CREATE INDEX geocode_cache_expires_idx ON geocode_cache (expires_at);
