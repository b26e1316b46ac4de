-- When staff approved a request. An approved reservation is held for its payment time
-- (BOOKING_APPROVED_PAYMENT_HOURS): an order of it that is cancelled (its payment given up,
-- expired or cancelled) does not release it before then.
ALTER TABLE reservations ADD COLUMN approved_at timestamptz;
