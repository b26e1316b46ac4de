-- Limits on one customer's open holds (issue 14: hold squatting). A resource may set its own
-- limit per customer; NULL takes the service's default (BOOKING_MAX_OPEN_HOLDS_PER_RESOURCE).
ALTER TABLE resources ADD COLUMN max_open_holds_per_customer int
    CHECK (max_open_holds_per_customer BETWEEN 1 AND 1000);

-- A customer's open holds (held, or requested and waiting for staff), found without reading
-- their history.
CREATE INDEX reservations_customer_open ON reservations (customer, resource_id)
    WHERE state IN ('held', 'requested');

-- Take the customer's lock (until the end of the transaction), then count their open holds
-- by resource (and its department, whose staff are not limited there). The count is a statement of its own inside this VOLATILE function, so it gets a
-- fresh snapshot taken after the lock was granted: it sees the holds of a request of the same
-- customer that held the lock before and has committed. (Counting in the statement that took
-- the lock would use that statement's older snapshot and miss them.) Holds past their expiry
-- that the sweeper has not expired yet are not open. A NULL key (a customer who is not limited)
-- takes no lock and counts nothing.
CREATE FUNCTION open_holds_locked(p_key bigint, p_customer text)
RETURNS TABLE (resource_id uuid, merchant_id text, open int)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
BEGIN
    IF p_key IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(p_key);
    RETURN QUERY
        SELECT r.resource_id, r.merchant_id, count(*)::int FROM reservations r
        WHERE r.customer = p_customer AND r.state IN ('held', 'requested')
          AND (r.expires_at IS NULL OR r.expires_at >= now())
        GROUP BY r.resource_id, r.merchant_id;
END
$$;
