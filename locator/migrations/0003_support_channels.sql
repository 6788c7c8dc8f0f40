-- Support lines (phone, chat, ...) with hours in a named timezone.
CREATE TABLE support_channels (
    id          text PRIMARY KEY,
    country     text NOT NULL,               -- ISO alpha-2, or '*' for a line that serves every country
    channel     text NOT NULL,               -- phone | chat | email | messaging | callback
    label       text NOT NULL,
    contact     text NOT NULL,               -- a phone number, a URL, an address
    languages   text[] NOT NULL DEFAULT '{}',
    products    text[] NOT NULL DEFAULT '{}',
    timezone    text NOT NULL,
    hours_raw   text NOT NULL,
    hours       text NOT NULL,               -- canonical OSM opening_hours
    region      text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_channels_country_idx ON support_channels (country);
