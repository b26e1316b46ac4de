-- Seasonal fixed slots (issue 19): the season a payment invoices a month of (its order is no
-- cart order: cart ignores its events), and the way back from a cancelled occurrence to the
-- month's invoice that billed it (a credit note for it).
ALTER TABLE payments ADD COLUMN season_id uuid;
CREATE INDEX payments_season ON payments (season_id) WHERE season_id IS NOT NULL;
-- Season occurrences heard cancelled before an invoice billed them (booking listed them as
-- confirmed to an invoicing under way): the month's invoice leaves them out.
CREATE TABLE season_cancellations (
    reservation_id uuid PRIMARY KEY,
    season_id      uuid NOT NULL,
    cancelled_at   timestamptz NOT NULL DEFAULT now()
);
