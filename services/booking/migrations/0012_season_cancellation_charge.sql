-- A season occurrence (issue 19) cancelled by its organisation after the resource's free
-- cancellation period keeps part of its price by the cancellation policy: what is kept is
-- billed with the occurrence's month (booking.v1.season_month lists it); 0 for everything
-- else (a cart order's refund follows from the cancellation event's refund_cents).
ALTER TABLE reservations ADD COLUMN kept_cents integer NOT NULL DEFAULT 0 CHECK (kept_cents >= 0);
