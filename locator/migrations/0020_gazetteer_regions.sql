-- Regions as customers write them after a town, and where they lie.
--
-- British addresses carry the postal county, which is often not the county GeoNames files the town under:
-- "Richmond, Surrey" is in Greater London there, "Stockport, Cheshire" in Greater Manchester, and the
-- former postal counties ("Harrow, Middlesex", "Middlesbrough, Cleveland") are in no division at all. With no
-- namesake in the region named, the region was read as the town: Surrey, North Dakota; Middlesex, North
-- Carolina; Cleveland, Ohio. gazetteer_regions says in which country a region of that name lies and where
-- (locator.geocoders.gazetteer._region_reading takes the town's namesake nearest to it).

-- Names of regions that GeoNames does not write. An alias names a region of its country (Britain's postal
-- abbreviations, American states abbreviated in the AP style); a former county (the Royal Mail's until 1996,
-- still in addresses) is a region of its own at its rough centre.
CREATE TABLE region_aliases (
    alias   text PRIMARY KEY,          -- place_key() form
    country char(2) NOT NULL,
    region  text,                      -- the region's name or code as GeoNames writes it; NULL: a former county
    lat     double precision,
    lon     double precision,
    CHECK ((region IS NULL) = (lat IS NOT NULL AND lon IS NOT NULL))
);

INSERT INTO region_aliases (alias, country, region) VALUES
    ('beds', 'GB', 'Bedfordshire'),
    ('berks', 'GB', 'Berkshire'),
    ('bucks', 'GB', 'Buckinghamshire'),
    ('cambs', 'GB', 'Cambridgeshire'),
    ('derbys', 'GB', 'Derbyshire'),
    ('glos', 'GB', 'Gloucestershire'),
    ('gloucs', 'GB', 'Gloucestershire'),
    ('hants', 'GB', 'Hampshire'),
    ('herts', 'GB', 'Hertfordshire'),
    ('lancs', 'GB', 'Lancashire'),
    ('leics', 'GB', 'Leicestershire'),
    ('lincs', 'GB', 'Lincolnshire'),
    ('northants', 'GB', 'Northamptonshire'),
    ('northumb', 'GB', 'Northumberland'),
    ('notts', 'GB', 'Nottinghamshire'),
    ('oxon', 'GB', 'Oxfordshire'),
    ('salop', 'GB', 'Shropshire'),
    ('staffs', 'GB', 'Staffordshire'),
    ('wilts', 'GB', 'Wiltshire'),
    ('worcs', 'GB', 'Worcestershire'),
    ('yorks', 'GB', 'Yorkshire'),       -- names North, South and West Yorkshire in part, as "Yorkshire" does
    ('ala', 'US', 'AL'),
    ('ariz', 'US', 'AZ'),
    ('ark', 'US', 'AR'),
    ('calif', 'US', 'CA'),
    ('colo', 'US', 'CO'),
    ('conn', 'US', 'CT'),
    ('fla', 'US', 'FL'),
    ('ill', 'US', 'IL'),
    ('kans', 'US', 'KS'),
    ('mass', 'US', 'MA'),
    ('mich', 'US', 'MI'),
    ('minn', 'US', 'MN'),
    ('miss', 'US', 'MS'),
    ('mont', 'US', 'MT'),
    ('neb', 'US', 'NE'),
    ('nebr', 'US', 'NE'),
    ('nev', 'US', 'NV'),
    ('okla', 'US', 'OK'),
    ('ore', 'US', 'OR'),
    ('oreg', 'US', 'OR'),
    ('penn', 'US', 'PA'),
    ('penna', 'US', 'PA'),
    ('tenn', 'US', 'TN'),
    ('tex', 'US', 'TX'),
    ('wash', 'US', 'WA'),
    ('wis', 'US', 'WI'),
    ('wisc', 'US', 'WI'),
    ('wyo', 'US', 'WY'),
    ('n y', 'US', 'NY'),                -- "N.Y.", "N.J.", ...: place_key() spaces the letters
    ('n j', 'US', 'NJ'),
    ('n c', 'US', 'NC'),
    ('s c', 'US', 'SC'),
    ('n d', 'US', 'ND'),
    ('s d', 'US', 'SD'),
    ('n h', 'US', 'NH'),
    ('n m', 'US', 'NM'),
    ('r i', 'US', 'RI'),
    ('w va', 'US', 'WV'),
    ('d c', 'US', 'DC');

INSERT INTO region_aliases (alias, country, lat, lon) VALUES
    ('middlesex', 'GB', 51.56, -0.33),
    ('cleveland', 'GB', 54.57, -1.18),
    ('humberside', 'GB', 53.70, -0.50),
    ('north humberside', 'GB', 53.85, -0.45),
    ('south humberside', 'GB', 53.58, -0.55),
    ('avon', 'GB', 51.45, -2.58),
    ('cumberland', 'GB', 54.65, -3.05),
    ('westmorland', 'GB', 54.45, -2.70),
    ('clwyd', 'GB', 53.10, -3.30),
    ('dyfed', 'GB', 51.95, -4.35),
    ('gwent', 'GB', 51.70, -2.95),
    ('mid glamorgan', 'GB', 51.62, -3.45),
    ('south glamorgan', 'GB', 51.47, -3.25),
    ('west glamorgan', 'GB', 51.65, -3.85),
    ('strathclyde', 'GB', 55.80, -4.50),
    ('grampian', 'GB', 57.25, -2.60),
    ('tayside', 'GB', 56.60, -3.20);

-- The key a region typed by a customer is compared with (region_names(), gazetteer_regions): place_key(),
-- without the "County"/"Co." British and Irish addresses write before a county ("County Durham" is GeoNames'
-- Durham), an alias read as the region it names.
CREATE FUNCTION region_key(name text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
    RETURN (SELECT coalesce(place_key(a.region), k.key)
              FROM (SELECT regexp_replace(place_key(name), '^(county|co) ', '') AS key) AS k
              LEFT JOIN region_aliases AS a ON a.alias = k.key AND a.region IS NOT NULL);

-- One row per name or code of a state (first-level division) and, outside the United States, of a county
-- (second-level: matched in part too, as region_names() does), at the mean of its places; and the former
-- counties. Rebuilt with gazetteer_places (locator.geocoders.gazetteer.refresh_places).
CREATE TABLE gazetteer_regions (
    country char(2) NOT NULL,
    key     text NOT NULL,
    county  boolean NOT NULL,
    lat     double precision NOT NULL,
    lon     double precision NOT NULL
);
CREATE INDEX gazetteer_regions_key_idx ON gazetteer_regions (key);

INSERT INTO gazetteer_stale (country) SELECT DISTINCT country FROM gazetteer_places ON CONFLICT DO NOTHING;
