-- The retention job (shared/retention.py) finds old bookkeeping rows by age, a batch at a
-- time: an index on each age column keeps every batch a short index scan instead of a scan of
-- the whole table. (`idempotency_keys_created` exists since 0001.)
CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (processed_at);
CREATE INDEX IF NOT EXISTS outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
