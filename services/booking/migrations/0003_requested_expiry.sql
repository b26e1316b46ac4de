-- Requested reservations expire too (undecided by their deadline, or at their start).
DROP INDEX IF EXISTS reservations_expiry;
CREATE INDEX reservations_expiry ON reservations (expires_at)
    WHERE state IN ('held', 'requested');
UPDATE reservations SET expires_at = lower(during)
    WHERE state = 'requested' AND expires_at IS NULL;
