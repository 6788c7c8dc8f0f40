-- A support line's working-day calendar: '' follows the hours as written (`PH` = the public holidays), 'official'
-- also follows the government's moves of days off (locator.working_days: Russia's decrees, e.g. 31 Dec 2026
-- off, Saturday 20 Feb 2027 a working day).
ALTER TABLE support_channels ADD COLUMN calendar text NOT NULL DEFAULT '';
