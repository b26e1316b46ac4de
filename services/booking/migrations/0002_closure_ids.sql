-- Closures are managed as a whole (one request = one closure over its days).
ALTER TABLE hours_exceptions ADD COLUMN closure_id uuid;
CREATE INDEX hours_exceptions_closure ON hours_exceptions (closure_id);
