-- Seasonal fixed slots ("vakiovuorot", issue 19): an organisation's weekly slot over a season,
-- applied for as one series of `requested` reservations (their `series_id` is the season's id)
-- and approved or denied by staff as a whole.
CREATE TABLE seasons (
    id               uuid PRIMARY KEY,
    resource_id      uuid NOT NULL REFERENCES resources (id),
    merchant_id      text NOT NULL,
    organisation_id  uuid NOT NULL,                 -- payment's organisation (invoiced)
    applicant        text NOT NULL,                 -- the contact person (or clerk) who applied
    weekday          smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    starts_at_local  time NOT NULL,
    ends_at_local    time NOT NULL,
    first_day        date NOT NULL,
    last_day         date NOT NULL,
    state            text NOT NULL DEFAULT 'applied'
                     CHECK (state IN ('applied', 'approved', 'denied')),
    conflicts        jsonb NOT NULL DEFAULT '[]',   -- [{starts_at, reason}] at application
    decided_by       text,
    decided_at       timestamptz,
    reason           text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at_local > starts_at_local),
    CHECK (last_day >= first_day)
);
CREATE INDEX seasons_organisation ON seasons (organisation_id);
CREATE INDEX seasons_applied ON seasons (merchant_id) WHERE state = 'applied';
