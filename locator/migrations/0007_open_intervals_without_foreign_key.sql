-- No foreign key from open_intervals to locations. On a partitioned table the key is cloned onto every new
-- partition: ATTACH PARTITION then takes SHARE ROW EXCLUSIVE on locations until the publish that created the
-- day commits (two publishes of different sources could deadlock on it), and dropping a detached day takes
-- ACCESS EXCLUSIVE on locations, which every search reads (measured on PostgreSQL 15 by a review).
--
-- The intervals are derived data, rebuilt by every refresh. What the key guaranteed is kept otherwise:
-- - a deleted place's intervals go with it, in the same statement (the trigger below);
-- - a search never shows an interval row without its place (the chosen places are joined to locations, so
--   a row left by a refresh racing a delete cannot take a result's slot; the next refresh removes it).
ALTER TABLE open_intervals DROP CONSTRAINT IF EXISTS open_intervals_location_id_fkey;

CREATE FUNCTION open_intervals_forget_locations() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM open_intervals AS o USING gone WHERE o.location_id = gone.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER locations_forget_open_intervals
AFTER DELETE ON locations
REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION open_intervals_forget_locations();
