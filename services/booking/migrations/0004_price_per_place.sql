-- A price may be per place booked (a swimmer in a lane) instead of per booking or hour.
ALTER TABLE price_rules ADD COLUMN per_place boolean NOT NULL DEFAULT false;
