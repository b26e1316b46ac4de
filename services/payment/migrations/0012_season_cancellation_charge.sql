-- A season occurrence cancelled by its organisation after the free cancellation period keeps
-- part of its price by the resource's policy (issue 19): heard before its month is invoiced,
-- the invoice bills what is kept (0: the occurrence is left out, as before).
ALTER TABLE season_cancellations ADD COLUMN kept_cents integer NOT NULL DEFAULT 0
    CHECK (kept_cents >= 0);
