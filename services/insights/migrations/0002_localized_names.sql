-- The names of units and resources in every language booking gives (fi, sv, en), for the
-- staff pages in Swedish and English; NULL for rows saved before (the Finnish `name` stands in
-- until booking announces them again: python -m services.booking.announce).
ALTER TABLE units ADD COLUMN names jsonb;
ALTER TABLE resources ADD COLUMN names jsonb;
