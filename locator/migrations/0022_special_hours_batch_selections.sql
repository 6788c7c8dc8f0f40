-- What a batch of exceptions selected by filters was for (a country's shops, a region's repair desks), so that
-- places a later feed adds get it too while it is in force (locator.special_hours.extend_batches). A batch of
-- ids named one by one has none: it is for those places alone.
CREATE TABLE special_hours_batch_selections (
    batch          bigint PRIMARY KEY,
    country        text,
    region         text,
    source         text,
    kinds          text[] NOT NULL DEFAULT '{}',
    service        text NOT NULL,
    start_date     date NOT NULL,
    end_date       date NOT NULL,
    hours          text NOT NULL,
    comment        text,
    include_closed boolean NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
