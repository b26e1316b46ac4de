-- The sellers as they were at checkout (names in fi/sv/en, business ID): a receipt shows
-- them even after the registry changes. NULL for orders made before this column existed.
ALTER TABLE orders ADD COLUMN merchants jsonb;
