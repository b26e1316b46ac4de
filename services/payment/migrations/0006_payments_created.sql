-- The metrics collector counts the last day's payments by state every 15 s: an index on the
-- creation time keeps that a scan of one day's payments, not of every payment ever made.
CREATE INDEX payments_created ON payments (created_at);
