-- Staff mark that nobody came to a confirmed reservation (for the city's utilisation figures).
-- The reservation stays `confirmed` (the time was used up and paid); the mark is a fact beside it.
ALTER TABLE reservations
    ADD COLUMN no_show_at timestamptz,
    ADD COLUMN no_show_by text;
