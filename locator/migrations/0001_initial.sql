-- The first schema. Applied once by `locator db init`; later changes go in new numbered files.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- unaccent() is only STABLE (it depends on the search path); an IMMUTABLE wrapper can be indexed.
CREATE FUNCTION unaccent_name(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);

CREATE TABLE locations (
    id            text PRIMARY KEY,              -- the feed's own id, unique across sources
    source        text NOT NULL,
    name          text NOT NULL,
    kind          text NOT NULL,
    kinds         text[] NOT NULL,               -- kind plus what the services imply (repair => service_centre)
    street        text,
    postcode      text,
    city          text,
    region        text,
    country       char(2) NOT NULL,
    geog          geography(Point, 4326) NOT NULL,
    geo_precision text NOT NULL DEFAULT 'coordinates',
    timezone      text NOT NULL,
    phone         text,
    url           text,
    products      text[] NOT NULL DEFAULT '{}',
    services      text[] NOT NULL DEFAULT '{}',
    hours_services text[] NOT NULL DEFAULT '{}', -- services with hours of their own
    content_hash  text NOT NULL,                 -- what the diff of an ingest compares
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX locations_geog_idx ON locations USING gist (geog);
CREATE INDEX locations_source_idx ON locations (source);

-- Hours per service; service '' holds the place's general hours (the `opening_hours` column).
CREATE TABLE location_hours (
    location_id text NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    service     text NOT NULL,
    raw         text NOT NULL,
    canonical   text NOT NULL,
    PRIMARY KEY (location_id, service)
);

-- Dated exceptions ops add beside the feed's hours (holiday hours, temporary closures).
CREATE TABLE special_hours (
    id          bigserial PRIMARY KEY,
    location_id text NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    service     text NOT NULL DEFAULT '',
    start_date  date NOT NULL,
    end_date    date NOT NULL,
    hours       text NOT NULL DEFAULT 'off',
    comment     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (end_date >= start_date)
);
CREATE INDEX special_hours_location_idx ON special_hours (location_id);

-- Open intervals materialised over a rolling window, so that "open at t" is an index condition.
CREATE TABLE open_intervals (
    location_id text NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    service     text NOT NULL,
    during      tstzrange NOT NULL,
    geog        geography(Point, 4326) NOT NULL
);
CREATE INDEX open_intervals_geog_during_idx ON open_intervals USING gist (geog, during);
CREATE INDEX open_intervals_location_idx ON open_intervals (location_id);

CREATE TABLE materialisation (
    id           int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now()
);

-- The postcode gazetteer (GeoNames postal files).
CREATE TABLE postcodes (
    country     char(2) NOT NULL,
    postcode    text NOT NULL,
    postcode_key text NOT NULL,                  -- upper case, no spaces: what queries match
    place_name  text NOT NULL,
    admin1      text,
    admin1_code text,
    admin2      text,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    accuracy    smallint,
    geog        geography(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) STORED
);
CREATE INDEX postcodes_geog_idx ON postcodes USING gist (geog);
CREATE INDEX postcodes_place_idx ON postcodes (lower(unaccent_name(place_name)));
CREATE INDEX postcodes_key_idx ON postcodes (postcode_key, country);
CREATE INDEX postcodes_country_idx ON postcodes (country);

CREATE TABLE ingest_runs (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    source      text NOT NULL,
    format      text NOT NULL,
    file_name   text,
    file_sha256 text,
    dry_run     boolean NOT NULL,
    outcome     text NOT NULL,                   -- published | dry-run | rejected | refused | failed
    added       int NOT NULL DEFAULT 0,
    changed     int NOT NULL DEFAULT 0,
    removed     int NOT NULL DEFAULT 0,
    unchanged   int NOT NULL DEFAULT 0,
    rejected    int NOT NULL DEFAULT 0,
    warnings    int NOT NULL DEFAULT 0,
    actor       text,
    report      jsonb
);
