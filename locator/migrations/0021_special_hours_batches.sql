-- Exceptions added to many places at once (holiday hours for a country's shops, a region's repair desks closed
-- for a day) share a batch number, so that ops can take a mistaken batch back whole
-- (locator.special_hours.add_to_places / remove_batch). One-place exceptions have none.
CREATE SEQUENCE special_hours_batch_seq;
ALTER TABLE special_hours ADD COLUMN batch bigint;
CREATE INDEX special_hours_batch_idx ON special_hours (batch) WHERE batch IS NOT NULL;
